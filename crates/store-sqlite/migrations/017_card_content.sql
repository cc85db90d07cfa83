-- Cardfile schema 17: the card's content beyond the user record. Absences (inclusive
-- `YYYY-MM-DD` ranges, numbered per account), "about me" texts, the badges administrators add
-- to the built-in ones, appreciations (numbered per account; `at` in seconds), and form
-- layouts (owner 0: the account's default; else a user's own). Interest tags are search words
-- (their holders counted in search_prefix_counts): every document is written again by the
-- store, after this script (search::rebuild).
ALTER TABLE accounts ADD COLUMN next_absence INTEGER NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN next_appreciation INTEGER NOT NULL DEFAULT 0;

CREATE TABLE absences (
    account_no INTEGER NOT NULL,
    id INTEGER NOT NULL,
    uid INTEGER NOT NULL,
    kind TEXT NOT NULL,
    date_from TEXT NOT NULL,
    date_to TEXT NOT NULL,
    note TEXT NOT NULL,
    recorded_by INTEGER NOT NULL,
    PRIMARY KEY (account_no, id)
) WITHOUT ROWID;
-- A person's absences by last day ("away until", the chart of a department's people).
CREATE INDEX absences_by_user ON absences(uid, date_to);
-- An account's absences by last day (everyone away on a day, a period's listing).
CREATE INDEX absences_by_day ON absences(account_no, date_to, date_from);

CREATE TABLE user_about (
    uid INTEGER PRIMARY KEY,
    text TEXT NOT NULL
);

CREATE TABLE badges (
    account_no INTEGER NOT NULL,
    code TEXT NOT NULL,
    label TEXT NOT NULL,
    PRIMARY KEY (account_no, code)
) WITHOUT ROWID;

CREATE TABLE appreciations (
    account_no INTEGER NOT NULL,
    id INTEGER NOT NULL,
    recipient INTEGER NOT NULL,
    giver INTEGER NOT NULL,
    badge TEXT NOT NULL,
    message TEXT NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (account_no, id)
) WITHOUT ROWID;
-- A recipient's appreciations, newest last (counts by badge read the same range).
CREATE INDEX appreciations_by_recipient ON appreciations(recipient, at, id, badge, giver);

CREATE TABLE layouts (
    account_no INTEGER NOT NULL,
    owner INTEGER NOT NULL,
    fields TEXT NOT NULL,
    PRIMARY KEY (account_no, owner)
) WITHOUT ROWID;
