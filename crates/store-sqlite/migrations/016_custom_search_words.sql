-- Cardfile schema 16: the values of string custom fields are search words too, marked with
-- their field (profile_core::query::custom_word), so that `IS_SEARCHABLE` fields take part in
-- the quick search. No table changes: every document is written again by the store, after
-- this script (search::rebuild).
SELECT 1;
