-- Cardfile schema 11: delivery. The outbox becomes `messages`, each with its delivery state
-- (pending, sent, failed, obsolete), attempts, the time before which it is not tried again,
-- the lease a worker holds on it, the last error, its HTML part, when what it delivers expires
-- and which invitation or code that is. A new table rather than ALTER TABLE (schema 8). Also:
-- server-wide settings (the public base URL every process writes links with), and the index
-- an inviter's hourly allowance counts on.
CREATE TABLE messages (
    seq INTEGER PRIMARY KEY,
    id BLOB NOT NULL UNIQUE,
    account_no INTEGER,
    kind TEXT NOT NULL,
    channel TEXT NOT NULL,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    html TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    source BLOB,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    not_before INTEGER NOT NULL,
    lease_until INTEGER,
    last_error TEXT,
    sent_at INTEGER
);
INSERT INTO messages (seq, id, account_no, kind, channel, recipient, subject, body, html, created_at,
                      expires_at, source, state, attempts, not_before, lease_until, last_error, sent_at)
    SELECT seq, id, account_no, CASE kind WHEN 'notice' THEN 'registration_approved' ELSE kind END,
           channel, recipient, subject, body, '', created_at,
           -- What a message queued before delivery existed delivers lasts as long as it did
           -- then: an invitation 14 days, a code 15 minutes, a notice 7 days (so a transport
           -- configured later never sends what has long expired).
           created_at + CASE kind WHEN 'invitation' THEN 1209600 WHEN 'confirmation_code' THEN 900 ELSE 604800 END,
           NULL,
           CASE WHEN sent_at IS NULL THEN 'pending' ELSE 'sent' END, 0, created_at, NULL, NULL, sent_at
    FROM outbox;
DROP TABLE outbox;
CREATE INDEX messages_account ON messages(account_no, seq);
CREATE INDEX messages_sent ON messages(sent_at, seq) WHERE sent_at IS NOT NULL;
-- What a worker's claim reads: the pending messages of a channel, soonest due first.
CREATE INDEX messages_due ON messages(channel, not_before, seq) WHERE state = 'pending';
-- What the sweep of expired bodies reads.
CREATE INDEX messages_expiring ON messages(expires_at) WHERE body != '' AND state IN ('pending', 'failed');
CREATE INDEX invitations_by_inviter ON invitations(account_no, invited_by, created_at) WHERE invited_by IS NOT NULL;
CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
