-- Cardfile schema 3 on PostgreSQL, SQLite's schema 12: web sessions, the same columns. The
-- cookie's token is stored as its SHA-256 only; every replica finds every session.
CREATE TABLE sessions (
    id BYTEA PRIMARY KEY,
    identity BYTEA NOT NULL,
    hash BYTEA NOT NULL UNIQUE,
    device TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen BIGINT NOT NULL
);
CREATE INDEX sessions_identity ON sessions(identity, created_at);
CREATE INDEX sessions_seen ON sessions(last_seen);
