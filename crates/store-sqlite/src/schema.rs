//! Versioned, embedded migrations, run when a database is opened.

use profile_core::ports::StoreResult;
use profile_core::StoreError;
use rusqlite::Connection;

use crate::error::backend;

/// `PRAGMA application_id` of every Cardfile database ("CFD1").
const APPLICATION_ID: i64 = 0x4346_4431;

/// The migrations, in order; entry `i` takes the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[include_str!("../migrations/001_initial.sql")];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings the file's schema to [`SCHEMA_VERSION`], or refuses a file it must not touch.
pub(crate) fn migrate(conn: &mut Connection) -> StoreResult<()> {
    let pragma = |name: &str| -> StoreResult<i64> {
        conn.query_row(&format!("PRAGMA {name}"), [], |r| r.get(0)).map_err(backend)
    };
    let app = pragma("application_id")?;
    let version = pragma("user_version")?;
    let objects: i64 =
        conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0)).map_err(backend)?;
    if app != APPLICATION_ID && !(app == 0 && objects == 0) {
        return Err(StoreError::Incompatible(
            "this file is not a Cardfile database (another program's SQLite file?); refusing to touch it"
                .into(),
        ));
    }
    if version > SCHEMA_VERSION {
        return Err(StoreError::Incompatible(format!(
            "the database has schema version {version}, written by a newer Cardfile; this build knows up to \
             version {SCHEMA_VERSION}. Upgrade Cardfile, or restore a backup made by this version"
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let tx = conn.transaction().map_err(backend)?;
        tx.execute_batch(sql).map_err(backend)?;
        tx.execute_batch(&format!("PRAGMA application_id={APPLICATION_ID}; PRAGMA user_version={};", i + 1))
            .map_err(backend)?;
        tx.execute(
            "INSERT INTO meta(key, value) VALUES('written_by', ?1) ON CONFLICT(key) DO UPDATE SET value = ?1",
            [concat!("cardfile store-sqlite ", env!("CARGO_PKG_VERSION"))],
        )
        .map_err(backend)?;
        tx.commit().map_err(backend)?;
    }
    Ok(())
}
