-- Cardfile schema 2: identities, invitations and registration, credentials, the outbox.
-- UUIDs are 16-byte blobs; stored secrets are their SHA-256 (32-byte blobs) or, for passwords,
-- argon2id PHC strings. The exception: an unsent outbox message holds the link, code or password
-- it delivers, until it is marked sent. Lists that are read "oldest first" carry an
-- INTEGER PRIMARY KEY `seq` in insertion order.

CREATE TABLE identities (
    id BLOB PRIMARY KEY,
    password TEXT,
    name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    photo TEXT NOT NULL,
    totp_secret BLOB,
    totp_enabled INTEGER NOT NULL DEFAULT 0,
    totp_last_step INTEGER,
    -- SHA-256 hex of each unused recovery code, space-separated.
    totp_recovery TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
) WITHOUT ROWID;

-- Every handle (the login at position 0, then confirmed contacts) is unique on the server.
CREATE TABLE identity_handles (
    handle TEXT PRIMARY KEY,
    identity BLOB NOT NULL,
    position INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX identity_handles_identity ON identity_handles(identity, position);

CREATE TABLE identity_socials (
    provider TEXT NOT NULL,
    subject TEXT NOT NULL,
    identity BLOB NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (provider, subject)
) WITHOUT ROWID;
CREATE INDEX identity_socials_identity ON identity_socials(identity, position);

CREATE TABLE app_passwords (
    id BLOB PRIMARY KEY,
    identity BLOB NOT NULL,
    name TEXT NOT NULL,
    hash BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    position INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX app_passwords_identity ON app_passwords(identity, position);

-- Which identity each user record is: at most one per record.
CREATE TABLE identity_users (
    account_no INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    identity BLOB NOT NULL,
    PRIMARY KEY (account_no, user_id)
) WITHOUT ROWID;
CREATE INDEX identity_users_identity ON identity_users(identity);

-- Failed logins per typed handle, whether or not an identity has it.
CREATE TABLE login_failures (
    handle TEXT PRIMARY KEY,
    count INTEGER NOT NULL,
    last INTEGER NOT NULL
) WITHOUT ROWID;

-- purpose: 0 add contact, 1 change login, 2 reset password (subject = identity),
-- 3 registration (subject = request).
CREATE TABLE confirmation_codes (
    id BLOB PRIMARY KEY,
    purpose INTEGER NOT NULL,
    subject BLOB NOT NULL,
    target TEXT NOT NULL,
    hash BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    attempts_left INTEGER NOT NULL,
    used INTEGER NOT NULL
) WITHOUT ROWID;

-- state: 0 pending, 1 accepted (state_at, identity), 2 revoked (state_at), 3 expired.
CREATE TABLE invitations (
    seq INTEGER PRIMARY KEY,
    id BLOB NOT NULL UNIQUE,
    account_no INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    address TEXT NOT NULL,
    hash BLOB NOT NULL UNIQUE,
    invited_by INTEGER,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    state INTEGER NOT NULL,
    state_at INTEGER,
    identity BLOB
);
CREATE INDEX invitations_account ON invitations(account_no, seq);
CREATE INDEX invitations_pending ON invitations(expires_at) WHERE state = 0;

CREATE TABLE registration_links (
    account_no INTEGER PRIMARY KEY,
    hash BLOB NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);

-- state: 0 unconfirmed, 1 pending, 2 approved (user_id), 3 rejected.
CREATE TABLE registration_requests (
    seq INTEGER PRIMARY KEY,
    id BLOB NOT NULL UNIQUE,
    account_no INTEGER NOT NULL,
    email TEXT NOT NULL,
    name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    password TEXT,
    identity BLOB,
    state INTEGER NOT NULL,
    user_id INTEGER,
    created_at INTEGER NOT NULL
);
CREATE INDEX registration_requests_account ON registration_requests(account_no, seq);

CREATE TABLE credentials (
    seq INTEGER PRIMARY KEY,
    id BLOB NOT NULL UNIQUE,
    account_no INTEGER NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    owner INTEGER NOT NULL,
    -- Scope codes, space-separated.
    scopes TEXT NOT NULL,
    hash BLOB NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    revoked_at INTEGER
);
CREATE INDEX credentials_account ON credentials(account_no, seq);

-- account_no NULL: a message of no account (identity codes).
CREATE TABLE outbox (
    seq INTEGER PRIMARY KEY,
    id BLOB NOT NULL UNIQUE,
    account_no INTEGER,
    kind TEXT NOT NULL,
    channel TEXT NOT NULL,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    sent_at INTEGER
);
CREATE INDEX outbox_account ON outbox(account_no, seq);
