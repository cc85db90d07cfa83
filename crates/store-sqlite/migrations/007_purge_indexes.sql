-- Cardfile schema 7: what the housekeeping purge (profile_core::usecase::maintenance) seeks by,
-- so each of its chunks reads only the rows it deletes instead of scanning a table under the
-- write lock. Sent messages only: unsent ones are never purged.
CREATE INDEX confirmation_codes_expires ON confirmation_codes(expires_at);
CREATE INDEX login_failures_last ON login_failures(last);
CREATE INDEX outbox_sent ON outbox(sent_at, seq) WHERE sent_at IS NOT NULL;
