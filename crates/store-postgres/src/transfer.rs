//! Copying a Cardfile database into an empty PostgreSQL one, table by table (`cardfile
//! migrate`): the rows go in with `COPY`, in one transaction that also writes every user's
//! search words, and each table is read back and checked against the source (its row count
//! and a SHA-256 of its rows in key order).

use std::fmt::Write as _;

use profile_core::ports::{StoreResult, Tx};
use profile_core::StoreError;
use sha2::{Digest, Sha256};
use tokio_postgres::types::Type;

use crate::error::backend;
use std::collections::HashMap;

use profile_core::query::user_search_words;

use crate::{PgDb, PgTx};

/// The tables a migration copies, each with the order its rows are compared in (a unique
/// key, so both sides list rows alike). The rest are derived: the search index and its counts
/// (SQLite) or the search words (here), and `meta`.
pub const TABLES: [(&str, &str); 36] = [
    ("accounts", "no"),
    // Before the users: their search words hold their departments' names.
    ("departments", "account_no, id"),
    ("users", "uid"),
    ("department_members", "uid, department"),
    ("workgroups", "account_no, id"),
    ("workgroup_members", "account_no, workgroup, uid"),
    ("identities", "id"),
    ("identity_handles", "handle"),
    ("identity_socials", "provider, subject"),
    ("app_passwords", "id"),
    ("identity_users", "account_no, user_id"),
    ("login_failures", "handle"),
    ("confirmation_codes", "id"),
    ("invitations", "seq"),
    ("registration_links", "account_no"),
    ("registration_requests", "seq"),
    ("credentials", "seq"),
    ("messages", "seq"),
    ("hr_fields", "account_no, position"),
    ("hr_values", "uid, key"),
    ("hr_holders", "uid"),
    ("query_versions", "account_no"),
    ("settings", "key"),
    ("sessions", "id"),
    ("user_status", "uid"),
    ("images", "id"),
    ("image_copies", "id, size"),
    ("user_backgrounds", "uid"),
    ("custom_fields", "account_no, id"),
    ("custom_field_options", "account_no, field, id"),
    ("custom_values", "uid, field, pos"),
    ("absences", "account_no, id"),
    ("user_about", "uid"),
    ("badges", "account_no, code"),
    ("appreciations", "account_no, id"),
    ("layouts", "account_no, owner"),
];

/// One stored value, as both stores hold it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Column {
    /// NULL.
    Null,
    /// An integer.
    Int(i64),
    /// Text.
    Text(String),
    /// Bytes (UUIDs, hashes, TOTP secrets).
    Bytes(Vec<u8>),
    /// A double (custom fields' values), by its bits so that rows compare exactly.
    Real(u64),
}

/// A table's row count and SHA-256 over its rows in key order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checksum {
    /// Rows.
    pub rows: u64,
    /// The digest, hex.
    pub sha256: String,
}

/// Builds a [`Checksum`] row by row.
#[derive(Default)]
pub struct Summer {
    hash: Sha256,
    rows: u64,
}

impl Summer {
    /// Adds one row.
    pub fn add(&mut self, row: &[Column]) {
        for c in row {
            let (tag, bytes): (u8, &[u8]) = match c {
                Column::Null => (0, &[]),
                Column::Int(i) => {
                    self.hash.update([1]);
                    self.hash.update(i.to_be_bytes());
                    continue;
                }
                Column::Text(s) => (2, s.as_bytes()),
                Column::Bytes(b) => (3, b),
                Column::Real(bits) => {
                    self.hash.update([4]);
                    self.hash.update(bits.to_be_bytes());
                    continue;
                }
            };
            self.hash.update([tag]);
            self.hash.update((bytes.len() as u64).to_be_bytes());
            self.hash.update(bytes);
        }
        self.rows += 1;
    }

    /// The checksum of the rows added.
    pub fn finish(self) -> Checksum {
        let digest = self.hash.finalize();
        Checksum {
            rows: self.rows,
            sha256: digest.iter().fold(String::new(), |mut s, b| {
                let _ = write!(s, "{b:02x}");
                s
            }),
        }
    }
}

/// A migration in progress: one write transaction on an empty database.
pub struct TableCopy<'a> {
    tx: PgTx<'a>,
    /// The indexes set aside while rows go in (`CREATE INDEX` statements), built at the end:
    /// one sort per index instead of an insertion per row (with them in place, 100k users took
    /// 12.5 s).
    indexes: Vec<String>,
    users: u64,
}

impl PgDb {
    /// Starts copying into this database, which must hold no account yet.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when it holds data, or on a failure of the server.
    pub fn begin_copy(&self) -> StoreResult<TableCopy<'_>> {
        let tx = PgTx::begin_write(self)?;
        let has: bool = tx
            .query_one("SELECT EXISTS (SELECT 1 FROM accounts) OR EXISTS (SELECT 1 FROM identities)", &[])?
            .try_get(0)
            .map_err(backend)?;
        if has {
            return Err(StoreError::Backend(
                "the PostgreSQL database already holds Cardfile data; migrate into an empty one".into(),
            ));
        }
        let tables: Vec<&str> = TABLES.iter().map(|t| t.0).collect();
        let found = tx.query(
            "SELECT indexname::text, indexdef FROM pg_indexes WHERE schemaname = current_schema() \
             AND tablename = ANY($1) AND indexname NOT IN (SELECT conname FROM pg_constraint) ORDER BY indexname",
            &[&tables],
        )?;
        let mut indexes = Vec::with_capacity(found.len());
        let mut drop = String::new();
        for r in &found {
            let name: String = r.try_get(0).map_err(backend)?;
            indexes.push(r.try_get(1).map_err(backend)?);
            let _ = write!(drop, "DROP INDEX {name}; ");
        }
        crate::run(&mut tx.conn(), &drop)?;
        Ok(TableCopy { tx, indexes, users: 0 })
    }
}

impl TableCopy<'_> {
    /// The columns of `table` a migration copies, in table order.
    ///
    /// # Errors
    /// On a failure of the server.
    pub fn columns(&self, table: &str) -> StoreResult<Vec<String>> {
        self.tx
            .query(
                "SELECT column_name::text FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = $1 AND column_name <> 'words' \
                 ORDER BY ordinal_position",
                &[&table],
            )?
            .iter()
            .map(|r| r.try_get(0).map_err(backend))
            .collect()
    }

    /// Writes rows of `table` that an [`Encoder`] made (for `columns`, in that order).
    ///
    /// # Errors
    /// On a value the column refuses or a failure of the server; the copy is then void.
    pub fn write(&mut self, table: &str, columns: &[String], encoded: Encoded) -> StoreResult<()> {
        if encoded.rows == 0 {
            return Ok(());
        }
        if !TABLES.iter().any(|t| t.0 == table) || !columns.iter().all(|c| plain(c)) {
            return Err(StoreError::Backend(format!("not a table of Cardfile: {table}")));
        }
        let words = if table == "users" { ", words" } else { "" };
        let sql = format!("COPY {table} ({}{words}) FROM STDIN", columns.join(", "));
        self.tx.conn().copy_in(&sql, encoded.text.into_bytes()).map_err(backend)?;
        if table == "users" {
            self.users += encoded.rows;
        }
        Ok(())
    }

    /// The checksum of `table` as written, over `columns` in the order of [`TABLES`].
    ///
    /// # Errors
    /// On a failure of the server.
    pub fn checksum(&self, table: &str, columns: &[String]) -> StoreResult<Checksum> {
        let order = TABLES
            .iter()
            .find(|t| t.0 == table)
            .map(|t| t.1)
            .ok_or_else(|| StoreError::Backend(format!("not a table of Cardfile: {table}")))?;
        let sql = format!("SELECT {} FROM {table} ORDER BY {order}", columns.join(", "));
        let mut sum = Summer::default();
        let mut cells = Vec::with_capacity(columns.len());
        self.tx.conn().each_row(&sql, |row| -> StoreResult<()> {
            cells.clear();
            for (i, col) in row.columns().iter().enumerate() {
                let cell = match *col.type_() {
                    Type::INT8 => {
                        row.try_get::<_, Option<i64>>(i).map(|v| v.map_or(Column::Null, Column::Int))
                    }
                    Type::BYTEA => {
                        row.try_get::<_, Option<Vec<u8>>>(i).map(|v| v.map_or(Column::Null, Column::Bytes))
                    }
                    Type::FLOAT8 => row
                        .try_get::<_, Option<f64>>(i)
                        .map(|v| v.map_or(Column::Null, |r| Column::Real(r.to_bits()))),
                    _ => row.try_get::<_, Option<String>>(i).map(|v| v.map_or(Column::Null, Column::Text)),
                }
                .map_err(backend)?;
                cells.push(cell);
            }
            sum.add(&cells);
            Ok(())
        })?;
        Ok(sum.finish())
    }

    /// Builds the indexes set aside, sets the identity columns past the rows copied and commits;
    /// returns how many users were copied.
    ///
    /// # Errors
    /// On a failure of the server; then nothing was written.
    pub fn finish(self) -> StoreResult<u64> {
        for (table, col) in [
            ("accounts", "no"),
            ("invitations", "seq"),
            ("registration_requests", "seq"),
            ("credentials", "seq"),
            ("messages", "seq"),
        ] {
            self.tx.query_one(
                &format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', '{col}'), (SELECT COALESCE(max({col}), 0) + 1 FROM {table}), false)"
                ),
                &[],
            )?;
        }
        // Each index is one sort: give it room.
        let mut build = String::from("SET LOCAL maintenance_work_mem = '256MB'; ");
        for def in &self.indexes {
            let _ = write!(build, "{def}; ");
        }
        crate::run(&mut self.tx.conn(), &build)?;
        // Users' words were written before their custom values were copied.
        crate::search::rewrite_custom_holders(&self.tx)?;
        let indexed = self.users;
        // Statistics at once, from a small sample (a tenth of the default: ANALYZE at the
        // default took 0.54 s of a 100k-user copy): without any, the planner takes the tables
        // for empty and reads a whole account to find a search's matches. Autovacuum gathers
        // the full statistics in its first rounds.
        crate::run(&mut self.tx.conn(), "SET LOCAL default_statistics_target = 10; ANALYZE")?;
        Box::new(self.tx).commit()?;
        Ok(indexed)
    }
}

fn plain(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c == '_')
}

/// Rows in `COPY`'s text format, for [`TableCopy::write`].
pub struct Encoded {
    text: String,
    rows: u64,
}

/// Turns copied rows into `COPY`'s text format, and users' rows into rows with their search
/// words, on whichever thread reads them: it knows the departments' names from the
/// departments' rows it was shown ([`Encoder::learn_departments`]), which come first.
#[derive(Default)]
pub struct Encoder {
    names: HashMap<(i64, u32), String>,
}

impl Encoder {
    /// Remembers the names in rows of the `departments` table (with their `columns`).
    pub fn learn_departments(&mut self, columns: &[String], rows: &[Vec<Column>]) {
        let at = |name: &str| columns.iter().position(|c| c == name);
        let (Some(no), Some(id), Some(name)) = (at("account_no"), at("id"), at("name")) else { return };
        for row in rows {
            if let (Some(Column::Int(no)), Some(Column::Int(id)), Some(Column::Text(name))) =
                (row.get(no), row.get(id), row.get(name))
            {
                if let Ok(id) = u32::try_from(*id) {
                    self.names.insert((*no, id), name.clone());
                }
            }
        }
    }

    /// `rows` of `table` (values for `columns`) as `COPY` text.
    ///
    /// # Errors
    /// A user row that does not read as a user.
    pub fn encode(&self, table: &str, columns: &[String], rows: &[Vec<Column>]) -> StoreResult<Encoded> {
        let users = table == "users";
        let mut text = String::new();
        for row in rows {
            for (i, c) in row.iter().enumerate() {
                if i > 0 {
                    text.push('\t');
                }
                copy_text(&mut text, c);
            }
            if users {
                text.push('\t');
                self.words(&mut text, columns, row)?;
            }
            text.push('\n');
        }
        Ok(Encoded { text, rows: rows.len() as u64 })
    }

    /// The search words of a copied user row, as a tsvector in `COPY`'s text format.
    fn words(&self, out: &mut String, columns: &[String], row: &[Column]) -> StoreResult<()> {
        let user = crate::users::from_columns(columns, row)?;
        let no = match columns.iter().position(|c| c == "account_no").and_then(|i| row.get(i)) {
            Some(Column::Int(no)) => *no,
            _ => return Err(StoreError::Backend("a user row without its account".into())),
        };
        let names = user.departments.iter().filter_map(|d| self.names.get(&(no, d.0))).map(String::as_str);
        let mut vector = String::new();
        for w in user_search_words(&user, names) {
            let w = crate::search::storable(&w);
            if !vector.is_empty() {
                vector.push(' ');
            }
            vector.push('\'');
            for c in w.chars() {
                match c {
                    '\'' => vector.push_str("''"),
                    '\\' => vector.push_str("\\\\"),
                    c => vector.push(c),
                }
            }
            vector.push('\'');
        }
        copy_text(out, &Column::Text(vector));
        Ok(())
    }
}

/// A value in `COPY`'s text format.
fn copy_text(out: &mut String, c: &Column) {
    match c {
        Column::Null => out.push_str("\\N"),
        Column::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Column::Text(s) => {
            for ch in s.chars() {
                match ch {
                    '\\' => out.push_str("\\\\"),
                    '\t' => out.push_str("\\t"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    c => out.push(c),
                }
            }
        }
        Column::Real(bits) => {
            // Rust writes the shortest text that reads back as the same double.
            let _ = write!(out, "{}", f64::from_bits(*bits));
        }
        Column::Bytes(b) => {
            out.push_str("\\\\x");
            for byte in b {
                let _ = write!(out, "{byte:02x}");
            }
        }
    }
}
