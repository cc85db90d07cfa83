//! A batch: one write transaction whose units are savepoints.

use std::cell::{Cell, RefCell};

use profile_core::ports::{Batch, Database, StoreResult, Tx};
use profile_core::StoreError;

use crate::tx::{begin_writing, bump_versions, PgTx, Shared, COMMIT};
use crate::{run, PgDb};

/// See [`Database::batch`].
pub struct PgBatch<'a> {
    db: &'a PgDb,
    shared: Shared,
    open: bool,
}

impl<'a> PgBatch<'a> {
    pub(crate) fn begin(db: &'a PgDb) -> StoreResult<PgBatch<'a>> {
        let mut conn = db.connection()?;
        if let Err(e) = begin_writing(db, &mut conn) {
            conn.broken = true;
            return Err(e);
        }
        let shared = Shared {
            conn: RefCell::new(conn),
            live: Cell::new(false),
            broken: Cell::new(false),
            changed: RefCell::default(),
        };
        Ok(PgBatch { db, shared, open: true })
    }

    fn usable(&self) -> StoreResult<()> {
        if self.shared.broken.get() {
            return Err(StoreError::Backend(
                "the batch's transaction was lost; nothing was committed".into(),
            ));
        }
        Ok(())
    }

    fn unit(&self, writable: bool) -> StoreResult<Box<dyn Tx + '_>> {
        self.usable()?;
        if self.shared.live.replace(true) {
            return Err(StoreError::Backend("one unit of work at a time inside a batch".into()));
        }
        match PgTx::unit(self.db, &self.shared, writable) {
            Ok(unit) => Ok(Box::new(unit)),
            Err(e) => {
                self.shared.live.set(false);
                self.shared.broken.set(true);
                Err(e)
            }
        }
    }
}

impl Database for PgBatch<'_> {
    fn read(&self) -> StoreResult<Box<dyn Tx + '_>> {
        self.unit(false)
    }

    fn write(&self) -> StoreResult<Box<dyn Tx + '_>> {
        self.unit(true)
    }

    fn batch(&self) -> StoreResult<Box<dyn Batch + '_>> {
        Err(StoreError::Backend("batches do not nest".into()))
    }
}

impl Batch for PgBatch<'_> {
    fn as_database(&self) -> &dyn Database {
        self
    }

    fn commit(mut self: Box<Self>) -> StoreResult<()> {
        self.usable()?;
        self.open = false;
        let mut conn = self.shared.conn.borrow_mut();
        let done =
            bump_versions(&mut conn, &self.shared.changed.borrow()).and_then(|()| run(&mut conn, COMMIT));
        if done.is_err() && run(&mut conn, "ROLLBACK").is_err() {
            conn.broken = true;
        }
        done
    }
}

impl Drop for PgBatch<'_> {
    fn drop(&mut self) {
        if self.open {
            let mut conn = self.shared.conn.borrow_mut();
            if run(&mut conn, "ROLLBACK").is_err() {
                conn.broken = true;
            }
        }
    }
}
