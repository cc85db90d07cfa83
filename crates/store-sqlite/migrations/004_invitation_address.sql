-- Cardfile schema 4: invitations are looked up by address (is one pending? which record to
-- take up again?) on every invitation; without this index that read every invitation of the
-- account, which made a batch of 50 user.add quadratic.
CREATE INDEX invitations_address ON invitations(account_no, address, seq);
