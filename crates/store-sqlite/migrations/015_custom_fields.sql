-- Cardfile schema 15: custom user fields (`UF_USR_*`), their enumeration options and users'
-- values. A field's ID comes from the account's `next_custom_field` (options' IDs too) and is
-- never reused, so that values of a deleted field, left for housekeeping to purge, are never
-- read as a later field's. A value row holds one of `num` (integers, booleans, option and user
-- IDs), `real` (doubles) or `txt` (text, dates); `pos` orders a multiple field's values.
ALTER TABLE accounts ADD COLUMN next_custom_field INTEGER NOT NULL DEFAULT 0;

CREATE TABLE custom_fields (
    account_no INTEGER NOT NULL,
    id INTEGER NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    multiple INTEGER NOT NULL,
    mandatory INTEGER NOT NULL,
    show_filter TEXT NOT NULL,
    show_in_list INTEGER NOT NULL,
    edit_in_list INTEGER NOT NULL,
    searchable INTEGER NOT NULL,
    sort INTEGER NOT NULL,
    xml_id TEXT NOT NULL,
    settings TEXT NOT NULL,
    labels TEXT NOT NULL,
    PRIMARY KEY (account_no, id),
    UNIQUE (account_no, name)
) WITHOUT ROWID;

CREATE TABLE custom_field_options (
    account_no INTEGER NOT NULL,
    field INTEGER NOT NULL,
    id INTEGER NOT NULL,
    value TEXT NOT NULL,
    def INTEGER NOT NULL,
    sort INTEGER NOT NULL,
    xml_id TEXT NOT NULL,
    PRIMARY KEY (account_no, field, id)
) WITHOUT ROWID;

CREATE TABLE custom_values (
    uid INTEGER NOT NULL,
    field INTEGER NOT NULL,
    pos INTEGER NOT NULL,
    num INTEGER,
    real REAL,
    txt TEXT,
    PRIMARY KEY (uid, field, pos)
) WITHOUT ROWID;

-- Filters on a field's values (`custom_matches`): by value within the field, then the
-- account's uid range.
CREATE INDEX custom_values_by_num ON custom_values(field, num, uid) WHERE num IS NOT NULL;
CREATE INDEX custom_values_by_real ON custom_values(field, real, uid) WHERE real IS NOT NULL;
CREATE INDEX custom_values_by_txt ON custom_values(field, txt, uid) WHERE txt IS NOT NULL;
