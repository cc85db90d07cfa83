//! Reading whole tables from one snapshot, to copy the database into another store
//! (`cardfile migrate`).

use profile_core::ports::StoreResult;
use profile_core::StoreError;
use rusqlite::types::ValueRef;

use crate::error::backend;
use crate::tx::Held;
use crate::{SqliteDb, SqliteTx};

/// One stored value.
#[derive(Debug, Clone, PartialEq)]
pub enum Stored {
    /// NULL.
    Null,
    /// An integer.
    Int(i64),
    /// Text.
    Text(String),
    /// Bytes.
    Bytes(Vec<u8>),
    /// A floating-point number (no table of Cardfile holds one).
    Real(f64),
}

/// A read snapshot for table-by-table copying: every table is read as of one moment.
pub struct TableSnapshot<'a> {
    tx: SqliteTx<'a>,
}

impl SqliteDb {
    /// A snapshot to read whole tables from (see [`TableSnapshot::rows`]).
    ///
    /// # Errors
    /// [`StoreError`] when no snapshot can be taken.
    pub fn table_snapshot(&self) -> StoreResult<TableSnapshot<'_>> {
        let reader = self.reader()?;
        reader.limit(None);
        reader.conn.execute_batch("BEGIN").map_err(backend)?;
        // A read of the schema makes the snapshot start now rather than at the first table.
        reader.conn.query_row("SELECT count(*) FROM sqlite_schema", [], |_| Ok(())).map_err(backend)?;
        Ok(TableSnapshot { tx: SqliteTx::new(self, Held::Reader(reader), true) })
    }
}

impl TableSnapshot<'_> {
    /// Calls `each` with every row of `table` (its `columns`, in that order) sorted by `order`
    /// (a list of its columns); returns how many rows. Names must be plain lower-case SQL
    /// names.
    ///
    /// # Errors
    /// [`StoreError::Backend`] for an unknown table or column, or what `each` returns.
    pub fn rows(
        &self,
        table: &str,
        columns: &[String],
        order: &str,
        each: &mut dyn FnMut(Vec<Stored>) -> StoreResult<()>,
    ) -> StoreResult<u64> {
        let plain = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_lowercase() || c == '_');
        let order_ok = order.split(", ").all(plain);
        if !plain(table) || !order_ok || !columns.iter().all(|c| plain(c)) {
            return Err(StoreError::Backend(format!("not a plain table or column name: {table}")));
        }
        let sql = format!("SELECT {} FROM {table} ORDER BY {order}", columns.join(", "));
        let mut statement = self.tx.conn().prepare(&sql).map_err(backend)?;
        let mut rows = statement.query([]).map_err(backend)?;
        let mut n = 0;
        while let Some(row) = rows.next().map_err(backend)? {
            let mut values = Vec::with_capacity(columns.len());
            for (i, name) in columns.iter().enumerate() {
                values.push(match row.get_ref(i).map_err(backend)? {
                    ValueRef::Null => Stored::Null,
                    ValueRef::Integer(v) => Stored::Int(v),
                    ValueRef::Real(v) => Stored::Real(v),
                    ValueRef::Text(t) => Stored::Text(
                        std::str::from_utf8(t)
                            .map_err(|_| {
                                StoreError::Backend(format!("{table}.{name} holds text that is not UTF-8"))
                            })?
                            .to_string(),
                    ),
                    ValueRef::Blob(b) => Stored::Bytes(b.to_vec()),
                });
            }
            each(values)?;
            n += 1;
        }
        Ok(n)
    }
}
