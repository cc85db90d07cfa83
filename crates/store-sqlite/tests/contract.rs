//! The store contract suite against SQLite on a real temporary file.

use profile_core::ports::{Batch, Database, StoreResult, Tx};

/// A database in a temporary directory that lives as long as the test.
struct Temp {
    _dir: tempfile::TempDir,
    db: store_sqlite::SqliteDb,
}

impl Database for Temp {
    fn read(&self) -> StoreResult<Box<dyn Tx + '_>> {
        self.db.read()
    }

    fn write(&self) -> StoreResult<Box<dyn Tx + '_>> {
        self.db.write()
    }

    fn batch(&self) -> StoreResult<Box<dyn Batch + '_>> {
        self.db.batch()
    }

    fn optimistic_batch(&self) -> StoreResult<Box<dyn Batch + '_>> {
        self.db.optimistic_batch()
    }
}

fn fresh() -> Temp {
    with(store_sqlite::Options::default())
}

fn with(options: store_sqlite::Options) -> Temp {
    let dir = tempfile::tempdir().unwrap();
    let db = store_sqlite::SqliteDb::open_with(dir.path().join("cardfile.db"), options).unwrap();
    Temp { _dir: dir, db }
}

profile_core::store_contract_tests!(fresh());

/// The plain store: every speed path off.
mod plain {
    use super::*;

    fn fresh() -> Temp {
        with(store_sqlite::Options { speed: store_sqlite::Speed::none(), ..store_sqlite::Options::default() })
    }

    profile_core::store_contract_tests!(fresh());
}

/// Every speed path forced on at its smallest threshold: every load defers its indexes,
/// batches run without savepoints, writers that meet form commit groups, and every commit
/// checkpoints the WAL.
mod forced {
    use super::*;

    fn fresh() -> Temp {
        with(store_sqlite::Options {
            speed: store_sqlite::Speed::forced(),
            wal_checkpoint_pages: 1,
            ..store_sqlite::Options::default()
        })
    }

    profile_core::store_contract_tests!(fresh());
}
