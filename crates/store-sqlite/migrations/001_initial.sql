-- Cardfile schema 1. All SQL of the project lives in this crate.
-- Users of all accounts share one table; uid = (account_no << 32) | user ID, so an account's
-- users are one contiguous rowid range and a lookup by ID is a rowid lookup.
-- Empty text is stored as NULL: it costs nothing and keeps partial indexes small.

CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;

CREATE TABLE accounts (
    no INTEGER PRIMARY KEY,
    id BLOB NOT NULL UNIQUE,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    renamed INTEGER NOT NULL,
    invite_policy INTEGER NOT NULL,
    registration INTEGER NOT NULL,
    whitelisted_domains TEXT NOT NULL,
    greeting TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    next_user INTEGER NOT NULL DEFAULT 0,
    next_department INTEGER NOT NULL DEFAULT 0,
    next_workgroup INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE users (
    uid INTEGER PRIMARY KEY,
    account_no INTEGER NOT NULL,
    role INTEGER NOT NULL,
    active INTEGER NOT NULL,
    departments TEXT,
    birthday INTEGER,
    employment_date INTEGER,
    registered_at INTEGER NOT NULL,
    last_login INTEGER,
    last_activity INTEGER,
    updated_at INTEGER NOT NULL,
    xml_id TEXT,
    name TEXT,
    last_name TEXT,
    second_name TEXT,
    title TEXT,
    email TEXT,
    time_zone TEXT,
    personal_gender TEXT,
    personal_profession TEXT,
    personal_www TEXT,
    personal_icq TEXT,
    personal_photo TEXT,
    personal_phone TEXT,
    personal_fax TEXT,
    personal_mobile TEXT,
    personal_pager TEXT,
    personal_street TEXT,
    personal_city TEXT,
    personal_state TEXT,
    personal_zip TEXT,
    personal_country TEXT,
    personal_mailbox TEXT,
    personal_notes TEXT,
    work_company TEXT,
    work_position TEXT,
    work_department TEXT,
    work_www TEXT,
    work_phone TEXT,
    work_fax TEXT,
    work_pager TEXT,
    work_street TEXT,
    work_mailbox TEXT,
    work_city TEXT,
    work_state TEXT,
    work_zip TEXT,
    work_country TEXT,
    work_profile TEXT,
    work_notes TEXT,
    work_logo TEXT,
    uf_timeman TEXT,
    uf_interests TEXT,
    uf_skills TEXT,
    uf_web_sites TEXT,
    uf_xing TEXT,
    uf_linkedin TEXT,
    uf_facebook TEXT,
    uf_twitter TEXT,
    uf_skype TEXT,
    uf_skype_link TEXT,
    uf_zoom TEXT,
    uf_district TEXT,
    uf_phone_inner TEXT
);

CREATE UNIQUE INDEX users_email ON users(account_no, email) WHERE email IS NOT NULL;
CREATE INDEX users_last_name ON users(account_no, last_name);
CREATE INDEX users_name ON users(account_no, name);
CREATE INDEX users_registered ON users(account_no, registered_at);
CREATE INDEX users_updated ON users(account_no, updated_at);
CREATE INDEX users_role ON users(account_no, role, active);
CREATE INDEX users_birthday ON users(account_no, birthday) WHERE birthday IS NOT NULL;
CREATE INDEX users_employment_date ON users(account_no, employment_date) WHERE employment_date IS NOT NULL;
CREATE INDEX users_last_login ON users(account_no, last_login) WHERE last_login IS NOT NULL;
CREATE INDEX users_last_activity ON users(account_no, last_activity) WHERE last_activity IS NOT NULL;
CREATE INDEX users_second_name ON users(account_no, second_name) WHERE second_name IS NOT NULL;
CREATE INDEX users_xml_id ON users(account_no, xml_id) WHERE xml_id IS NOT NULL;
CREATE INDEX users_work_position ON users(account_no, work_position) WHERE work_position IS NOT NULL;
CREATE INDEX users_personal_city ON users(account_no, personal_city) WHERE personal_city IS NOT NULL;
CREATE INDEX users_work_city ON users(account_no, work_city) WHERE work_city IS NOT NULL;
CREATE INDEX users_personal_mobile ON users(account_no, personal_mobile) WHERE personal_mobile IS NOT NULL;
CREATE INDEX users_work_phone ON users(account_no, work_phone) WHERE work_phone IS NOT NULL;
CREATE INDEX users_uf_phone_inner ON users(account_no, uf_phone_inner) WHERE uf_phone_inner IS NOT NULL;
CREATE INDEX users_work_company ON users(account_no, work_company) WHERE work_company IS NOT NULL;

-- Every other field an equality or range filter may name: partial, so an empty field adds no
-- entry, and such a filter seeks instead of scanning the account. (Sorting by these rarely set
-- fields sorts the matches.) Free text, addresses, URLs and files (notes, profile, street,
-- mailbox, www, photo, logo, interests, skills, web sites) have none: they are searched with
-- "contains", which no B-tree index serves, and every partial index costs each insert an
-- evaluation of its condition (40 of them doubled the cost of inserting a row).
CREATE INDEX users_title ON users(account_no, title) WHERE title IS NOT NULL;
CREATE INDEX users_time_zone ON users(account_no, time_zone) WHERE time_zone IS NOT NULL;
CREATE INDEX users_personal_gender ON users(account_no, personal_gender) WHERE personal_gender IS NOT NULL;
CREATE INDEX users_personal_profession ON users(account_no, personal_profession) WHERE personal_profession IS NOT NULL;
CREATE INDEX users_personal_icq ON users(account_no, personal_icq) WHERE personal_icq IS NOT NULL;
CREATE INDEX users_personal_phone ON users(account_no, personal_phone) WHERE personal_phone IS NOT NULL;
CREATE INDEX users_personal_fax ON users(account_no, personal_fax) WHERE personal_fax IS NOT NULL;
CREATE INDEX users_personal_pager ON users(account_no, personal_pager) WHERE personal_pager IS NOT NULL;
CREATE INDEX users_personal_state ON users(account_no, personal_state) WHERE personal_state IS NOT NULL;
CREATE INDEX users_personal_zip ON users(account_no, personal_zip) WHERE personal_zip IS NOT NULL;
CREATE INDEX users_personal_country ON users(account_no, personal_country) WHERE personal_country IS NOT NULL;
CREATE INDEX users_work_department ON users(account_no, work_department) WHERE work_department IS NOT NULL;
CREATE INDEX users_work_fax ON users(account_no, work_fax) WHERE work_fax IS NOT NULL;
CREATE INDEX users_work_pager ON users(account_no, work_pager) WHERE work_pager IS NOT NULL;
CREATE INDEX users_work_state ON users(account_no, work_state) WHERE work_state IS NOT NULL;
CREATE INDEX users_work_zip ON users(account_no, work_zip) WHERE work_zip IS NOT NULL;
CREATE INDEX users_work_country ON users(account_no, work_country) WHERE work_country IS NOT NULL;
CREATE INDEX users_uf_timeman ON users(account_no, uf_timeman) WHERE uf_timeman IS NOT NULL;
CREATE INDEX users_uf_xing ON users(account_no, uf_xing) WHERE uf_xing IS NOT NULL;
CREATE INDEX users_uf_linkedin ON users(account_no, uf_linkedin) WHERE uf_linkedin IS NOT NULL;
CREATE INDEX users_uf_facebook ON users(account_no, uf_facebook) WHERE uf_facebook IS NOT NULL;
CREATE INDEX users_uf_twitter ON users(account_no, uf_twitter) WHERE uf_twitter IS NOT NULL;
CREATE INDEX users_uf_skype ON users(account_no, uf_skype) WHERE uf_skype IS NOT NULL;
CREATE INDEX users_uf_skype_link ON users(account_no, uf_skype_link) WHERE uf_skype_link IS NOT NULL;
CREATE INDEX users_uf_zoom ON users(account_no, uf_zoom) WHERE uf_zoom IS NOT NULL;
CREATE INDEX users_uf_district ON users(account_no, uf_district) WHERE uf_district IS NOT NULL;
-- Dismissed users are few: filtering for them seeks.
CREATE INDEX users_dismissed ON users(account_no) WHERE active = 0;

-- UF_DEPARTMENT memberships. They carry the member's last name ('' when empty) and role, so
-- the directory's most common page, a department sorted by last name, and its count are read
-- from this table alone, in key order, without visiting 'users'.
CREATE TABLE user_departments (
    account_no INTEGER NOT NULL,
    department INTEGER NOT NULL,
    last_name TEXT NOT NULL,
    uid INTEGER NOT NULL,
    role INTEGER NOT NULL,
    PRIMARY KEY (account_no, department, last_name, uid)
) WITHOUT ROWID;
CREATE INDEX user_departments_uid ON user_departments(uid);

CREATE TABLE departments (
    account_no INTEGER NOT NULL,
    id INTEGER NOT NULL,
    name TEXT NOT NULL,
    sort INTEGER NOT NULL,
    parent INTEGER,
    head INTEGER,
    PRIMARY KEY (account_no, id)
) WITHOUT ROWID;
CREATE INDEX departments_parent ON departments(account_no, parent);
CREATE INDEX departments_head ON departments(account_no, head) WHERE head IS NOT NULL;

CREATE TABLE workgroups (
    account_no INTEGER NOT NULL,
    id INTEGER NOT NULL,
    name TEXT NOT NULL,
    external INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (account_no, id)
) WITHOUT ROWID;

CREATE TABLE workgroup_members (
    account_no INTEGER NOT NULL,
    workgroup INTEGER NOT NULL,
    uid INTEGER NOT NULL,
    PRIMARY KEY (account_no, workgroup, uid)
) WITHOUT ROWID;
CREATE INDEX workgroup_members_uid ON workgroup_members(uid, workgroup);

-- Quick search: one document per user (see profile_core::query::user_search_words), already
-- split and folded by Cardfile; rowid = uid. Email words start with a private-use mark, so
-- prefixes run to 5 characters: the mark and the 4 letters a search may type. Contentless, no positions: prefix queries need
-- neither, and it keeps the index at ~60 bytes a user.
CREATE VIRTUAL TABLE user_fts USING fts5(
    words, content='', contentless_delete=1, detail=none,
    prefix='1 2 3 4 5', tokenize='unicode61 remove_diacritics 0'
);

-- How many users of an account match each 1-4 character prefix, per audience class
-- (0 = administrators and employees, 1 = integrators and external users) and per tier
-- (0 = without email words, for readers below user_basic; 1 = with them), so that a quick
-- search's total is one lookup instead of counting up to a million index entries.
CREATE TABLE search_prefix_counts (
    account_no INTEGER NOT NULL,
    class INTEGER NOT NULL,
    tier INTEGER NOT NULL,
    prefix TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (account_no, class, tier, prefix)
) WITHOUT ROWID;
