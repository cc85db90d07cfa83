-- Cardfile schema 3: a registration request remembers the link it came through, so replacing
-- or switching off the link stops registrations already under way.
ALTER TABLE registration_requests ADD COLUMN link_hash BLOB;
