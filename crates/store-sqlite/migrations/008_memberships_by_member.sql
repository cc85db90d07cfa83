-- Cardfile schema 8: department memberships keyed by member, with the department page as an
-- index.
--
-- Keyed by (account, department, last name, member), `user_departments` took each new
-- membership at a random place: a 1M-user load spent ~5 s of its ~37 s there, and a table's
-- key cannot be set aside during a load the way an index can. Keyed by member, a load's rows
-- (numbered in order) go to the table's end, and the department page's key becomes a covering
-- index, which a bulk load drops and builds again by sorting, at its commit (store-sqlite's
-- bulk.rs). The page and its count still read that index alone, in key order; removing a
-- user's memberships seeks the table's key.
--
-- A new name rather than `ALTER TABLE ... RENAME`: renaming reads the temporary schema too,
-- which opens the connection's temporary database, and then SQLite refuses to move temporary
-- files to disk inside a transaction, which a load's index builds do (bulk.rs, `SortInRuns`).
CREATE TABLE department_members (
    uid INTEGER NOT NULL,
    department INTEGER NOT NULL,
    account_no INTEGER NOT NULL,
    last_name TEXT NOT NULL,
    role INTEGER NOT NULL,
    PRIMARY KEY (uid, department)
) WITHOUT ROWID;
INSERT OR IGNORE INTO department_members (uid, department, account_no, last_name, role)
    SELECT uid, department, account_no, last_name, role FROM user_departments ORDER BY uid, department;
DROP TABLE user_departments;
CREATE INDEX department_members_page ON department_members(account_no, department, last_name, uid, role);
