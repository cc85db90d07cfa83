-- Cardfile schema 12: web sessions. The cookie's token is stored as its SHA-256 only; an
-- identity's sessions are listed and ended together; idle and old ones are purged.
CREATE TABLE sessions (
    id BLOB PRIMARY KEY,
    identity BLOB NOT NULL,
    hash BLOB NOT NULL UNIQUE,
    device TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_seen INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_identity ON sessions(identity, created_at);
CREATE INDEX sessions_seen ON sessions(last_seen);
