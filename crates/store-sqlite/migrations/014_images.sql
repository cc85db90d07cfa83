-- Cardfile schema 14: images (photos and backgrounds) and the background each user chose.
-- An image's 16-byte random ID is its capability: `/photo/{id}/{size}.{ext}` is readable by
-- whoever knows it, so it is looked up by ID alone. It belongs to a user (`uid`) or to a
-- network profile (`identity`). Its copies, one row per size, are read one at a time.
CREATE TABLE images (
    id BLOB PRIMARY KEY,
    uid INTEGER,
    identity BLOB,
    purpose TEXT NOT NULL,
    format TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE image_copies (
    id BLOB NOT NULL,
    size TEXT NOT NULL,
    bytes BLOB NOT NULL,
    UNIQUE (id, size)
);

-- A built-in background's name, or `image:{id}.{ext}`.
CREATE TABLE user_backgrounds (
    uid INTEGER PRIMARY KEY,
    background TEXT NOT NULL
);
