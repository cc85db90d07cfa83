//! Batches: many use cases in one write transaction and one commit (a REST `batch`, an import).

use std::cell::{Cell, RefCell};

use profile_core::ports::{Batch, Database, StoreResult, Tx};
use profile_core::StoreError;
use rusqlite::Connection;

use crate::error::backend;
use crate::tx::{abandon, bump_versions, run, Held, SqliteTx, Unit, UNIT_BEGIN};
use crate::{bulk, search, writer, SqliteDb};

/// A batch (see [`Database::batch`]): one `BEGIN IMMEDIATE` on the writer (or a savepoint in a
/// group's transaction), a savepoint per write unit, one commit for all of them. An optimistic
/// batch ([`Database::optimistic_batch`]) gives its write units no savepoint and notices, from
/// the connection's change count, a unit that is rolled back after writing.
pub struct SqliteBatch<'a> {
    db: &'a SqliteDb,
    /// The writer; taken out only when the batch ends.
    guard: Option<writer::WriteLock<'a>>,
    unit_live: Cell<bool>,
    /// The prefix-count changes of the units committed so far, written once at the commit.
    counts: RefCell<search::PendingCounts>,
    /// The bulk load of the batch's units: indexes deferred to the commit.
    bulk: RefCell<bulk::BulkLoad>,
    /// The accounts whose users the committed units changed.
    changed: RefCell<Vec<i64>>,
    /// Set when a unit could not be undone or released: nothing more runs, nothing commits.
    broken: Cell<bool>,
    /// Whether write units are savepoints (see [`Database::optimistic_batch`]).
    savepoints: bool,
    /// Set when a write unit without a savepoint was rolled back after writing.
    rerun: Cell<bool>,
}

impl<'a> SqliteBatch<'a> {
    pub(crate) fn begin(db: &'a SqliteDb, savepoints: bool) -> StoreResult<SqliteBatch<'a>> {
        let guard = db.writer.begin()?;
        Ok(SqliteBatch {
            db,
            guard: Some(guard),
            unit_live: Cell::new(false),
            counts: RefCell::default(),
            bulk: RefCell::default(),
            changed: RefCell::default(),
            broken: Cell::new(false),
            savepoints,
            rerun: Cell::new(false),
        })
    }

    fn lock(&self) -> &writer::WriteLock<'a> {
        match &self.guard {
            Some(g) => g,
            None => unreachable_lock(),
        }
    }

    /// The batch's connection.
    pub(crate) fn conn(&self) -> &Connection {
        self.lock()
    }

    /// The batch's transaction is gone (SQLite rolls a transaction back by itself on a full
    /// disk, an I/O error or out of memory) or a unit failed to undo: refuse to go on, or a
    /// later unit would open and commit a transaction of its own.
    fn usable(&self) -> StoreResult<()> {
        if self.rerun.get() {
            return Err(StoreError::Backend(
                "a unit of the batch failed after writing; run the batch again".into(),
            ));
        }
        if self.broken.get() || self.conn().is_autocommit() {
            self.broken.set(true);
            return Err(StoreError::Backend(
                "the batch's transaction was lost; nothing was committed".into(),
            ));
        }
        Ok(())
    }

    fn unit(&self, writable: bool) -> StoreResult<Box<dyn Tx + '_>> {
        self.usable()?;
        if self.unit_live.replace(true) {
            return Err(StoreError::Backend("one unit of work at a time inside a batch".into()));
        }
        let savepoint = writable && self.savepoints;
        if savepoint {
            if let Err(e) = run(self.conn(), UNIT_BEGIN) {
                self.unit_live.set(false);
                return Err(backend(e));
            }
        }
        let unit = Unit {
            conn: self.conn(),
            live: &self.unit_live,
            broken: &self.broken,
            writable,
            savepoint,
            batch_savepoint: self.lock().is_savepoint(),
            baseline: self.conn().total_changes(),
            rerun: &self.rerun,
            counts: &self.counts,
            bulk: &self.bulk,
            changed: &self.changed,
        };
        Ok(Box::new(SqliteTx::new(self.db, Held::Unit(unit), writable)))
    }
}

#[allow(clippy::panic)]
fn unreachable_lock() -> &'static writer::WriteLock<'static> {
    // The lock is taken out only in `commit` and `drop`, after which nothing uses the batch.
    panic!("batch used after it ended")
}

impl Database for SqliteBatch<'_> {
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

impl Batch for SqliteBatch<'_> {
    fn as_database(&self) -> &dyn Database {
        self
    }

    fn must_rerun(&self) -> bool {
        self.rerun.get()
    }

    fn commit(mut self: Box<Self>) -> StoreResult<()> {
        self.usable()?;
        let conn = self.conn();
        self.counts.borrow_mut().flush(conn)?;
        self.bulk.borrow_mut().finish(conn)?;
        bump_versions(conn, &self.changed.borrow())?;
        self.usable()?;
        let Some(mut lock) = self.guard.take() else { return Ok(()) };
        let group = match lock.commit() {
            Ok(group) => group,
            Err(e) => {
                // Rolled back; still, answer only once the group it read is settled.
                abandon(lock, &self.bulk);
                return Err(e);
            }
        };
        // Hands the connection on (or commits), then waits for the group's commit.
        drop(lock);
        group.wait()
    }
}

impl Drop for SqliteBatch<'_> {
    fn drop(&mut self) {
        if let Some(lock) = self.guard.take() {
            abandon(lock, &self.bulk);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SQLite may roll a whole transaction back by itself (full disk, I/O error): a batch must
    /// then refuse every later unit and its commit, not let a unit open and commit a
    /// transaction of its own.
    #[test]
    fn a_batch_whose_transaction_vanished_commits_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let db = SqliteDb::open(dir.path().join("c.db")).unwrap();
        let batch = SqliteBatch::begin(&db, true).unwrap();
        drop(batch.write().unwrap());
        // What SQLite does on SQLITE_FULL: the transaction is gone.
        batch.conn().execute_batch("ROLLBACK").unwrap();
        assert!(batch.write().is_err(), "no unit after the transaction is lost");
        assert!(batch.read().is_err());
        assert!(Box::new(batch).commit().is_err(), "and no commit");
        // The database is usable afterwards.
        assert!(db.write().unwrap().commit().is_ok());
    }

    /// In an optimistic batch a write unit has no savepoint: dropping one that wrote nothing
    /// leaves the batch usable; dropping one that wrote makes it run again.
    #[test]
    fn an_optimistic_unit_taints_its_batch_only_when_it_wrote() {
        use profile_core::access::Audience;
        use profile_core::field::UserField;
        use profile_core::ids::UserId;
        use profile_core::query::UserFilter;
        use profile_core::testing::contract::{patch, Fixture};
        use profile_core::usecase::users::{create_user, NewUser};

        let dir = tempfile::tempdir().unwrap();
        let db = SqliteDb::open(dir.path().join("c.db")).unwrap();
        let f = Fixture::new(&db);
        let zeb = f.query(UserFilter::default().with_find("zebu").unwrap());
        let batch = SqliteBatch::begin(&db, false).unwrap();
        let ctx = profile_core::usecase::Ctx { db: &batch, ..f.ctx() };
        let fields = patch(&[
            (UserField::Email, "zeb@example.com"),
            (UserField::Name, "Zebulon"),
            (UserField::UfDepartment, "1"),
        ]);
        let role = profile_core::model::user::Role::Employee;
        create_user(ctx, &f.admin, NewUser { role, fields, workgroups: vec![] }).unwrap();
        {
            let unit = batch.write().unwrap();
            let found = unit.query_users(f.account, &zeb, Audience::Everyone).unwrap();
            assert_eq!(found.items.len(), 1, "a later unit finds the earlier one's user");
        }
        assert!(!batch.must_rerun(), "the unit wrote nothing of its own");
        {
            let mut unit = batch.write().unwrap();
            unit.set_hr_holder(f.account, UserId(1), true).unwrap();
        }
        assert!(batch.must_rerun(), "the unit wrote and cannot be undone alone");
        assert!(batch.write().is_err() && batch.read().is_err(), "no unit after that");
        assert!(Box::new(batch).commit().is_err(), "and no commit");
        assert_eq!(f.ids_of(Audience::Everyone, &zeb), Vec::<u32>::new(), "nothing of it was kept");
        assert!(db.read().unwrap().hr_holders(f.account).unwrap().is_empty());
    }
}
