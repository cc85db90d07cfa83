-- Schema 4: the presence status a user sets (`im.user.status.set`): online, dnd, away or
-- break. A user who never set one has no row.
CREATE TABLE user_status (
    uid BIGINT PRIMARY KEY,
    status TEXT NOT NULL
);
