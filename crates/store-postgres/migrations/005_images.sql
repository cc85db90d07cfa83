-- Schema 5: images (photos and backgrounds) and the background each user chose, as SQLite's
-- schema 14. An image's 16-byte random ID is its capability and is looked up alone; it belongs
-- to a user (`uid`) or a network profile (`identity`); its copies are one row per size.
CREATE TABLE images (
    id BYTEA PRIMARY KEY,
    uid BIGINT,
    identity BYTEA,
    purpose TEXT NOT NULL,
    format TEXT NOT NULL
);

CREATE TABLE image_copies (
    id BYTEA NOT NULL,
    size TEXT NOT NULL,
    bytes BYTEA NOT NULL,
    UNIQUE (id, size)
);

CREATE TABLE user_backgrounds (
    uid BIGINT PRIMARY KEY,
    background TEXT NOT NULL
);
