-- Schema 8: the card's content, as SQLite's schema 17: absences (dates as `YYYY-MM-DD` text),
-- "about me", added badges, appreciations (`at` in seconds) and form layouts (owner 0: the
-- account's default). Interest tags are search words: every user's words are written again
-- by the store, after this script (search::rebuild).
ALTER TABLE accounts ADD COLUMN next_absence BIGINT NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN next_appreciation BIGINT NOT NULL DEFAULT 0;

CREATE TABLE absences (
    account_no BIGINT NOT NULL,
    id BIGINT NOT NULL,
    uid BIGINT NOT NULL,
    kind TEXT NOT NULL,
    date_from TEXT COLLATE "C" NOT NULL,
    date_to TEXT COLLATE "C" NOT NULL,
    note TEXT NOT NULL,
    recorded_by BIGINT NOT NULL,
    PRIMARY KEY (account_no, id)
);
CREATE INDEX absences_by_user ON absences(uid, date_to);
CREATE INDEX absences_by_day ON absences(account_no, date_to, date_from);

CREATE TABLE user_about (
    uid BIGINT PRIMARY KEY,
    text TEXT NOT NULL
);

CREATE TABLE badges (
    account_no BIGINT NOT NULL,
    code TEXT COLLATE "C" NOT NULL,
    label TEXT NOT NULL,
    PRIMARY KEY (account_no, code)
);

CREATE TABLE appreciations (
    account_no BIGINT NOT NULL,
    id BIGINT NOT NULL,
    recipient BIGINT NOT NULL,
    giver BIGINT NOT NULL,
    badge TEXT COLLATE "C" NOT NULL,
    message TEXT NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (account_no, id)
);
CREATE INDEX appreciations_by_recipient ON appreciations(recipient, at, id, badge, giver);

CREATE TABLE layouts (
    account_no BIGINT NOT NULL,
    owner BIGINT NOT NULL,
    fields TEXT NOT NULL,
    PRIMARY KEY (account_no, owner)
);
