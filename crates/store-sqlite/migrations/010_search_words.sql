-- Cardfile schema 10: users are found by their whole email address and their phone numbers
-- too (profile_core::query::user_search_words), so every document is written again (by the
-- store, after this script: search::rebuild). The index now splits words only where
-- Cardfile does: `ascii` takes every non-ASCII character as part of a word, so a word that
-- Cardfile split and folded (any script, the private-use marks and the characters an address
-- is written with) is exactly one token, and FTS5 folds nothing itself.
DROP TABLE user_fts;
CREATE VIRTUAL TABLE user_fts USING fts5(
    words, content='', contentless_delete=1, detail=none,
    prefix='1 2 3 4 5', tokenize='ascii'
);
DELETE FROM search_prefix_counts;
