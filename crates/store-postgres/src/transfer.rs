//! Copying a Cardfile database into an empty PostgreSQL one, table by table (`cardfile
//! migrate`): the rows go in with `COPY`, in one transaction that also writes every user's
//! search words, and each table is read back and checked against the source (its row count
//! and a SHA-256 of its rows in key order).

use std::fmt::Write as _;
use std::io::Write as _;

use postgres::fallible_iterator::FallibleIterator;
use postgres::types::Type;
use profile_core::ports::{StoreResult, Tx};
use profile_core::StoreError;
use sha2::{Digest, Sha256};

use crate::error::backend;
use crate::{search, PgDb, PgTx};

/// The tables a migration copies, each with the order its rows are compared in (a unique
/// key, so both sides list rows alike). The rest are derived: the search index and its counts
/// (SQLite) or the search words (here), and `meta`.
pub const TABLES: [(&str, &str); 22] = [
    ("accounts", "no"),
    ("users", "uid"),
    ("department_members", "uid, department"),
    ("departments", "account_no, id"),
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
    ("outbox", "seq"),
    ("hr_fields", "account_no, position"),
    ("hr_values", "uid, key"),
    ("hr_holders", "uid"),
    ("query_versions", "account_no"),
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
        Ok(TableCopy { tx })
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

    /// Writes `rows` (values for `columns`, in that order) into `table`; returns how many.
    ///
    /// # Errors
    /// On a value the column refuses or a failure of the server; the copy is then void.
    pub fn write(
        &self,
        table: &str,
        columns: &[String],
        rows: &mut dyn Iterator<Item = StoreResult<Vec<Column>>>,
    ) -> StoreResult<u64> {
        let known: Vec<&str> = TABLES.iter().map(|t| t.0).collect();
        if !known.contains(&table)
            || columns.iter().any(|c| !c.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        {
            return Err(StoreError::Backend(format!("not a table of Cardfile: {table}")));
        }
        let mut conn = self.tx.conn();
        let mut w = conn
            .client
            .copy_in(&format!("COPY {table} ({}) FROM STDIN", columns.join(", ")))
            .map_err(backend)?;
        let mut line = String::new();
        let mut n = 0;
        for row in rows {
            line.clear();
            for (i, c) in row?.iter().enumerate() {
                if i > 0 {
                    line.push('\t');
                }
                copy_text(&mut line, c);
            }
            line.push('\n');
            w.write_all(line.as_bytes()).map_err(|e| StoreError::Backend(format!("COPY {table}: {e}")))?;
            n += 1;
        }
        w.finish().map_err(backend)?;
        Ok(n)
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
        let mut conn = self.tx.conn();
        let sql = format!("SELECT {} FROM {table} ORDER BY {order}", columns.join(", "));
        let mut it = conn.client.query_raw(&sql, std::iter::empty::<i64>()).map_err(backend)?;
        let mut sum = Summer::default();
        let mut row_cells = Vec::with_capacity(columns.len());
        while let Some(row) = it.next().map_err(backend)? {
            row_cells.clear();
            for (i, col) in row.columns().iter().enumerate() {
                let cell = match *col.type_() {
                    Type::INT8 => {
                        row.try_get::<_, Option<i64>>(i).map(|v| v.map_or(Column::Null, Column::Int))
                    }
                    Type::BYTEA => {
                        row.try_get::<_, Option<Vec<u8>>>(i).map(|v| v.map_or(Column::Null, Column::Bytes))
                    }
                    _ => row.try_get::<_, Option<String>>(i).map(|v| v.map_or(Column::Null, Column::Text)),
                }
                .map_err(backend)?;
                row_cells.push(cell);
            }
            sum.add(&row_cells);
        }
        Ok(sum.finish())
    }

    /// Sets the identity columns past the rows copied, writes every user's search words and
    /// commits; returns how many users were indexed.
    ///
    /// # Errors
    /// On a failure of the server; then nothing was written.
    pub fn finish(self) -> StoreResult<u64> {
        for (table, col) in [
            ("accounts", "no"),
            ("invitations", "seq"),
            ("registration_requests", "seq"),
            ("credentials", "seq"),
            ("outbox", "seq"),
        ] {
            self.tx.query_one(
                &format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', '{col}'), (SELECT COALESCE(max({col}), 0) + 1 FROM {table}), false)"
                ),
                &[],
            )?;
        }
        let indexed = search::rebuild(&self.tx)?;
        Box::new(self.tx).commit()?;
        Ok(indexed)
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
        Column::Bytes(b) => {
            out.push_str("\\\\x");
            for byte in b {
                let _ = write!(out, "{byte:02x}");
            }
        }
    }
}
