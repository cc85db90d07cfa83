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
    let dir = tempfile::tempdir().unwrap();
    let db = store_sqlite::SqliteDb::open(dir.path().join("cardfile.db")).unwrap();
    Temp { _dir: dir, db }
}

profile_core::store_contract_tests!(fresh());
