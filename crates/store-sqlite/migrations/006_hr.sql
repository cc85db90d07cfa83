-- Cardfile schema 6: HR personal details and the HR permission (profile_core::model::hr).
-- uid is (account_no << 32) | user ID, as in users, so a user's rows are one key range.
CREATE TABLE hr_fields (
    account_no INTEGER NOT NULL,
    position INTEGER NOT NULL,
    key TEXT NOT NULL,
    label TEXT NOT NULL,
    PRIMARY KEY (account_no, position)
) WITHOUT ROWID;

CREATE TABLE hr_values (
    uid INTEGER NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (uid, key)
) WITHOUT ROWID;

CREATE TABLE hr_holders (
    uid INTEGER PRIMARY KEY
);
