//! `cardfile migrate --to postgres://…`: copies the SQLite database of `--db` into an empty
//! PostgreSQL database, table by table from one snapshot, in one PostgreSQL transaction, and
//! checks every table (its row count and a SHA-256 of its rows in key order) before it
//! commits. The SQLite file is only read.

use std::time::Instant;

use profile_core::StoreError;
use store_postgres::{Column, PgDb, Summer, TABLES};
use store_sqlite::{SqliteDb, Stored};

use crate::store::Target;

/// Rows sent per `COPY`.
const CHUNK: usize = 10_000;

/// What was copied of one table.
struct Copied {
    table: &'static str,
    rows: u64,
    sha256: String,
}

pub(crate) fn migrate(from: &Target, to: &Target, json: bool) -> Result<(), String> {
    let file = from.file("migrate")?;
    let Target::Postgres { url, password } = to else {
        return Err("--to takes a postgres:// address".into());
    };
    if !file.exists() {
        return Err(format!("{} does not exist", file.display()));
    }
    let started = Instant::now();
    let source = SqliteDb::open(file).map_err(|e| format!("cannot open {}: {e}", file.display()))?;
    let target = PgDb::open_with(url, password.as_deref(), store_postgres::Options::default())
        .map_err(|e| format!("cannot open {to}: {e}"))?;
    let snapshot = source.table_snapshot().map_err(|e| e.to_string())?;
    let copy = target.begin_copy().map_err(|e| e.to_string())?;
    let mut copied = Vec::new();
    for (table, order) in TABLES {
        let columns = copy.columns(table).map_err(|e| e.to_string())?;
        let mut sum = Summer::default();
        let mut chunk: Vec<Vec<Column>> = Vec::with_capacity(CHUNK);
        let flush = |chunk: &mut Vec<Vec<Column>>| -> Result<(), StoreError> {
            copy.write(table, &columns, &mut chunk.drain(..).map(Ok))?;
            Ok(())
        };
        snapshot
            .rows(table, &columns, order, &mut |row| {
                let row: Vec<Column> = row.into_iter().map(column).collect::<Result<_, _>>()?;
                sum.add(&row);
                chunk.push(row);
                if chunk.len() == CHUNK {
                    flush(&mut chunk)?;
                }
                Ok(())
            })
            .map_err(|e| format!("copying {table}: {e}"))?;
        flush(&mut chunk).map_err(|e| format!("copying {table}: {e}"))?;
        let read = sum.finish();
        let written = copy.checksum(table, &columns).map_err(|e| e.to_string())?;
        if read != written {
            return Err(format!(
                "{table} did not arrive intact ({} rows, {} read; {} rows, {} written): nothing was committed",
                read.rows, read.sha256, written.rows, written.sha256
            ));
        }
        copied.push(Copied { table, rows: read.rows, sha256: read.sha256 });
    }
    let indexed = copy.finish().map_err(|e| format!("the copy was not committed: {e}"))?;
    let secs = started.elapsed().as_secs_f64();
    let users = copied.iter().find(|c| c.table == "users").map_or(0, |c| c.rows);
    if json {
        let tables: Vec<_> = copied
            .iter()
            .map(|c| serde_json::json!({"table": c.table, "rows": c.rows, "sha256": c.sha256}))
            .collect();
        out!(
            "{}",
            serde_json::json!({"migrated": to.to_string(), "users": users, "indexed": indexed, "seconds": secs, "tables": tables})
        );
    } else {
        for c in &copied {
            out!("  {:<24} {:>9} rows  sha256 {}", c.table, c.rows, &c.sha256[..16]);
        }
        out!(
            "migrated {} to {to}: {users} users ({:.0} users/s), every table checked",
            file.display(),
            users as f64 / secs.max(1e-9)
        );
    }
    Ok(())
}

fn column(v: Stored) -> Result<Column, StoreError> {
    Ok(match v {
        Stored::Null => Column::Null,
        Stored::Int(i) => Column::Int(i),
        Stored::Text(s) => Column::Text(s),
        Stored::Bytes(b) => Column::Bytes(b),
        Stored::Real(r) => {
            return Err(StoreError::Backend(format!("a floating-point value ({r}) where none belongs")))
        }
    })
}
