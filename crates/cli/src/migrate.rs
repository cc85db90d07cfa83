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
    let mut copy = target.begin_copy().map_err(|e| e.to_string())?;
    let columns: Vec<Vec<String>> = TABLES
        .iter()
        .map(|(table, _)| copy.columns(table))
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    // The file is read on a thread of its own while PostgreSQL takes the rows already read:
    // the two sides work on both cores at once.
    let (send, receive) = std::sync::mpsc::sync_channel::<Read>(4);
    let copied = std::thread::scope(|scope| {
        let columns = &columns;
        let source = &source;
        scope.spawn(move || read_tables(source, columns, &send));
        write_tables(&mut copy, columns, &receive)
    })?;
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

/// What the reading thread sends.
enum Read {
    /// Rows of the table at this index of [`TABLES`], ready for `COPY`.
    Rows(usize, store_postgres::Encoded),
    /// The table at this index is done: what was read of it.
    Done(usize, store_postgres::Checksum),
    Failed(String),
}

/// Reads every table of the file from one snapshot, in chunks.
fn read_tables(source: &SqliteDb, columns: &[Vec<String>], send: &std::sync::mpsc::SyncSender<Read>) {
    let failed = |e: String| {
        let _ = send.send(Read::Failed(e));
    };
    let snapshot = match source.table_snapshot() {
        Ok(s) => s,
        Err(e) => return failed(e.to_string()),
    };
    // The departments come before the users, whose search words hold their names.
    let mut encoder = store_postgres::Encoder::default();
    for (i, (table, order)) in TABLES.iter().enumerate() {
        let mut sum = Summer::default();
        let mut chunk: Vec<Vec<Column>> = Vec::with_capacity(CHUNK);
        let ship =
            |chunk: &mut Vec<Vec<Column>>, encoder: &mut store_postgres::Encoder| -> Result<(), StoreError> {
                if *table == "departments" {
                    encoder.learn_departments(&columns[i], chunk);
                }
                let encoded = encoder.encode(table, &columns[i], chunk)?;
                chunk.clear();
                // A closed channel: the writer gave up, and says why.
                send.send(Read::Rows(i, encoded)).map_err(|_| StoreError::Backend("the copy stopped".into()))
            };
        let read = snapshot.rows(table, &columns[i], order, &mut |row| {
            let row: Vec<Column> = row.into_iter().map(column).collect::<Result<_, _>>()?;
            sum.add(&row);
            chunk.push(row);
            if chunk.len() == CHUNK {
                ship(&mut chunk, &mut encoder)?;
            }
            Ok(())
        });
        if let Err(e) = read.and_then(|_| ship(&mut chunk, &mut encoder)) {
            return failed(format!("reading {table}: {e}"));
        }
        if send.send(Read::Done(i, sum.finish())).is_err() {
            return;
        }
    }
}

/// Writes what the reader sends and checks each table as it ends.
fn write_tables(
    copy: &mut store_postgres::TableCopy<'_>,
    columns: &[Vec<String>],
    receive: &std::sync::mpsc::Receiver<Read>,
) -> Result<Vec<Copied>, String> {
    let mut copied = Vec::new();
    // Bounded: the reader sends every table's chunks and one end each, then hangs up.
    while let Ok(message) = receive.recv() {
        match message {
            Read::Rows(i, encoded) => {
                let table = TABLES[i].0;
                copy.write(table, &columns[i], encoded).map_err(|e| format!("copying {table}: {e}"))?;
            }
            Read::Done(i, read) => {
                let table = TABLES[i].0;
                let written = copy.checksum(table, &columns[i]).map_err(|e| e.to_string())?;
                if read != written {
                    return Err(format!(
                        "{table} did not arrive intact ({} rows, {} read; {} rows, {} written): nothing was committed",
                        read.rows, read.sha256, written.rows, written.sha256
                    ));
                }
                copied.push(Copied { table, rows: read.rows, sha256: read.sha256 });
            }
            Read::Failed(e) => return Err(e),
        }
    }
    if copied.len() != TABLES.len() {
        return Err("the file was not read to its end: nothing was committed".into());
    }
    Ok(copied)
}

fn column(v: Stored) -> Result<Column, StoreError> {
    Ok(match v {
        Stored::Null => Column::Null,
        Stored::Int(i) => Column::Int(i),
        Stored::Text(s) => Column::Text(s),
        Stored::Bytes(b) => Column::Bytes(b),
        Stored::Real(r) => Column::Real(r.to_bits()),
    })
}
