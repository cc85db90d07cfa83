//! A read session ([`Database::read_session`]): one read connection and one snapshot for
//! several read-only use cases. Each read it hands out runs on that connection without a
//! transaction of its own (and with its own read budget); the session rolls the snapshot back
//! and gives the connection back when it is dropped.

use profile_core::ports::{Batch, Database, StoreResult, Tx};
use profile_core::StoreError;

use crate::error::backend;
use crate::tx::{run, Held, SqliteTx};
use crate::{Pooled, SqliteDb};

pub(crate) struct ReadSession<'a> {
    db: &'a SqliteDb,
    /// `None` only while being dropped.
    reader: Option<Pooled>,
}

impl<'a> ReadSession<'a> {
    pub(crate) fn begin(db: &'a SqliteDb) -> StoreResult<ReadSession<'a>> {
        let reader = db.reader()?;
        reader.conn.prepare_cached("BEGIN").and_then(|mut s| s.execute([])).map_err(backend)?;
        Ok(ReadSession { db, reader: Some(reader) })
    }

    fn pooled(&self) -> StoreResult<&Pooled> {
        self.reader.as_ref().ok_or_else(|| StoreError::Backend("the read session has ended".into()))
    }
}

impl Database for ReadSession<'_> {
    fn read(&self) -> StoreResult<Box<dyn Tx + '_>> {
        let reader = self.pooled()?;
        reader.limit(self.db.options.read_budget);
        Ok(Box::new(SqliteTx::new(self.db, Held::Shared(reader), true)))
    }

    fn write(&self) -> StoreResult<Box<dyn Tx + '_>> {
        Err(StoreError::ReadOnly)
    }

    fn batch(&self) -> StoreResult<Box<dyn Batch + '_>> {
        Err(StoreError::ReadOnly)
    }
}

impl Drop for ReadSession<'_> {
    fn drop(&mut self) {
        let Some(reader) = self.reader.take() else { return };
        let _ = run(&reader.conn, &["ROLLBACK"]);
        // Only a connection back in autocommit mode (no snapshot held) is reused.
        if reader.conn.is_autocommit() {
            self.db.give_back(reader);
        } else {
            self.db.forget_reader();
        }
    }
}
