-- Schema 6: custom user fields, their options and users' values, as SQLite's schema 15 (flags
-- as 0/1 integers, as everywhere here, so that both stores hold the same columns).
ALTER TABLE accounts ADD COLUMN next_custom_field BIGINT NOT NULL DEFAULT 0;

CREATE TABLE custom_fields (
    account_no BIGINT NOT NULL,
    id BIGINT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    multiple BIGINT NOT NULL,
    mandatory BIGINT NOT NULL,
    show_filter TEXT NOT NULL,
    show_in_list BIGINT NOT NULL,
    edit_in_list BIGINT NOT NULL,
    searchable BIGINT NOT NULL,
    sort BIGINT NOT NULL,
    xml_id TEXT NOT NULL,
    settings TEXT NOT NULL,
    labels TEXT NOT NULL,
    PRIMARY KEY (account_no, id),
    UNIQUE (account_no, name)
);

CREATE TABLE custom_field_options (
    account_no BIGINT NOT NULL,
    field BIGINT NOT NULL,
    id BIGINT NOT NULL,
    value TEXT NOT NULL,
    def BIGINT NOT NULL,
    sort BIGINT NOT NULL,
    xml_id TEXT NOT NULL,
    PRIMARY KEY (account_no, field, id)
);

CREATE TABLE custom_values (
    uid BIGINT NOT NULL,
    field BIGINT NOT NULL,
    pos BIGINT NOT NULL,
    num BIGINT,
    real DOUBLE PRECISION,
    txt TEXT,
    PRIMARY KEY (uid, field, pos)
);

CREATE INDEX custom_values_by_num ON custom_values(field, num, uid) WHERE num IS NOT NULL;
CREATE INDEX custom_values_by_real ON custom_values(field, real, uid) WHERE real IS NOT NULL;
CREATE INDEX custom_values_by_txt ON custom_values(field, txt COLLATE "C", uid) WHERE txt IS NOT NULL;
