-- Cardfile schema 9: a version per account that moves on with every committed change to what
-- user queries read (users, memberships, departments, workgroups), so that cached pages and
-- totals are reused exactly while it stands, by every process on the file. Writes that change
-- none of those (sessions, outbox, codes) leave it alone. A new table, not a column of
-- `accounts`: no ALTER TABLE (see schema 8 on what renaming did to temporary files).
CREATE TABLE query_versions (
    account_no INTEGER PRIMARY KEY,
    version INTEGER NOT NULL
);
