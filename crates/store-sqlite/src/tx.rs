//! Units of work: a write transaction on the writer connection, a read snapshot on a pooled
//! reader, or a unit inside a batch.

use std::cell::{Cell, RefCell};

use profile_core::ids::AccountId;
use profile_core::ports::{StoreResult, Tx};
use profile_core::StoreError;
use rusqlite::Connection;

use crate::error::backend;
use crate::{bulk, search, writer, Pooled, SqliteDb};

pub(crate) enum Held<'a> {
    Writer(writer::WriteLock<'a>),
    Reader(Pooled),
    /// A read inside a read session, on the session's connection and snapshot.
    Shared(&'a crate::read_session::Shared),
    /// A unit inside a batch, on the batch's writer connection.
    Unit(Unit<'a>),
    /// Released (only while the unit is being dropped).
    Gone,
}

/// What a unit inside a batch shares with its batch.
pub(crate) struct Unit<'a> {
    pub(crate) conn: &'a Connection,
    pub(crate) live: &'a Cell<bool>,
    pub(crate) broken: &'a Cell<bool>,
    pub(crate) writable: bool,
    /// Whether the unit is a savepoint: every write unit, except in an optimistic batch.
    pub(crate) savepoint: bool,
    /// Whether the batch itself is a savepoint in a group's transaction.
    pub(crate) batch_savepoint: bool,
    /// Without a savepoint: the connection's `total_changes` when the unit began. More at a
    /// rollback means the unit wrote: the batch must run again.
    pub(crate) baseline: u64,
    /// The batch's "run again" flag.
    pub(crate) rerun: &'a Cell<bool>,
    /// The prefix counts the batch's committed units changed, written at the batch's commit.
    pub(crate) counts: &'a RefCell<search::PendingCounts>,
    /// The batch's bulk load (indexes deferred to its commit).
    pub(crate) bulk: &'a RefCell<bulk::BulkLoad>,
    /// The accounts whose users the batch's committed units changed.
    pub(crate) changed: &'a RefCell<Vec<i64>>,
}

/// A unit of work on one connection: `BEGIN IMMEDIATE` for writes, a deferred read transaction
/// (one snapshot) for reads. Dropped without commit, it rolls back.
pub struct SqliteTx<'a> {
    pub(crate) db: &'a SqliteDb,
    pub(crate) held: Held<'a>,
    pub(crate) open: bool,
    /// Prefix-count changes not yet written: at commit (a writer) or into the batch's (a unit).
    pub(crate) counts: RefCell<search::PendingCounts>,
    /// A writer's bulk load (a unit uses its batch's).
    pub(crate) bulk: RefCell<bulk::BulkLoad>,
    /// The accounts whose users, departments or workgroups this unit changed: their version
    /// (which user-query caches are valid for) moves on at the commit.
    pub(crate) changed: RefCell<Vec<i64>>,
}

impl<'a> SqliteTx<'a> {
    pub(crate) fn new(db: &'a SqliteDb, held: Held<'a>, open: bool) -> SqliteTx<'a> {
        SqliteTx {
            db,
            held,
            open,
            counts: RefCell::default(),
            bulk: RefCell::default(),
            changed: RefCell::default(),
        }
    }

    pub(crate) fn conn(&self) -> &Connection {
        match &self.held {
            Held::Writer(g) => g,
            Held::Reader(r) => &r.conn,
            Held::Shared(s) => &s.reader.conn,
            Held::Unit(u) => u.conn,
            Held::Gone => unreachable_conn(),
        }
    }

    /// Whether a savepoint is open on the connection (a batch unit's, or a group member's).
    /// Inside one, each statement that needs a statement journal costs SQLite a walk over
    /// everything the savepoint has journaled when the statement ends.
    pub(crate) fn savepoint_open(&self) -> bool {
        match &self.held {
            Held::Writer(lock) => lock.is_savepoint(),
            Held::Unit(u) => u.savepoint || u.batch_savepoint,
            Held::Reader(_) | Held::Shared(_) | Held::Gone => false,
        }
    }

    /// Whether this unit reads committed state only (a reader), where query caches apply.
    pub(crate) fn is_reader(&self) -> bool {
        matches!(self.held, Held::Reader(_) | Held::Shared(_))
    }

    /// The query cache, for a reader of committed state (writers and units have none: what
    /// they read is not committed yet).
    pub(crate) fn query_cache(&self) -> Option<&store_common::query_cache::QueryCache> {
        self.is_reader().then_some(&self.db.query_cache)
    }

    pub(crate) fn writable(&self) -> StoreResult<()> {
        match &self.held {
            Held::Writer(_) => Ok(()),
            Held::Unit(u) if u.writable => Ok(()),
            _ => Err(StoreError::ReadOnly),
        }
    }

    pub(crate) fn no(&self, account: AccountId) -> StoreResult<Option<i64>> {
        self.db.account_no(self.conn(), account, self.is_reader())
    }

    /// The transaction's bulk load: the batch's for a unit.
    pub(crate) fn bulk(&self) -> &RefCell<bulk::BulkLoad> {
        match &self.held {
            Held::Unit(u) => u.bulk,
            // A session's reads share the departments they read (one snapshot).
            Held::Shared(s) => &s.bulk,
            _ => &self.bulk,
        }
    }

    /// Queues prefix-count changes for the commit (see [`search::PendingCounts`]).
    pub(crate) fn count_later(&self, no: i64, deltas: search::Deltas) {
        self.counts.borrow_mut().add(no, deltas);
    }

    /// The change to one prefix count this unit (and, inside a batch, the batch's earlier
    /// units) made and has not written yet.
    pub(crate) fn pending_count(&self, no: i64, class: i64, tier: i64, prefix: &str) -> i64 {
        let batch = match &self.held {
            Held::Unit(u) => u.counts.borrow().get(no, class, tier, prefix),
            _ => 0,
        };
        batch + self.counts.borrow().get(no, class, tier, prefix)
    }

    /// Notes that the unit changed what user queries of account `no` read.
    pub(crate) fn changed(&self, no: i64) {
        note_changed(&mut self.changed.borrow_mut(), no);
    }

    /// The account's number, for writes: a write to an unknown account is a bug upstream.
    pub(crate) fn no_for_write(&self, account: AccountId) -> StoreResult<i64> {
        self.writable()?;
        self.no(account)?.ok_or_else(|| StoreError::Backend(format!("unknown account {account}")))
    }
}

#[allow(clippy::panic)]
fn unreachable_conn() -> &'static Connection {
    // Held::Gone exists only during Drop, after which conn() is never called.
    panic!("connection used after release")
}

/// Adds account `no` to those a unit changed, once.
fn note_changed(changed: &mut Vec<i64>, no: i64) {
    if !changed.contains(&no) {
        changed.push(no);
    }
}

/// Moves the query-cache versions of the accounts in `changed` on, inside the transaction, so
/// the new versions become visible exactly when the changes do.
pub(crate) fn bump_versions(conn: &Connection, changed: &[i64]) -> StoreResult<()> {
    for &no in changed {
        conn.prepare_cached(
            "INSERT INTO query_versions (account_no, version) VALUES (?1, 1) \
             ON CONFLICT (account_no) DO UPDATE SET version = version + 1",
        )
        .and_then(|mut s| s.execute([no]))
        .map_err(backend)?;
    }
    Ok(())
}

/// Rolls back a writer's work (a lone writer's or a batch's) and releases the connection. What
/// it read and refused (or found unchanged) may rest on work of the group it joined: it returns
/// only once that work is committed or lost.
pub(crate) fn abandon(mut lock: writer::WriteLock<'_>, bulk: &RefCell<bulk::BulkLoad>) {
    lock.rollback();
    // Rolled back, indexes included; only the page cache is left to reset.
    let _ = bulk.borrow_mut().end(&lock);
    let joined = lock.joined_group();
    drop(lock);
    if let Some(group) = joined {
        let _ = group.wait();
    }
}

impl Drop for SqliteTx<'_> {
    fn drop(&mut self) {
        match std::mem::replace(&mut self.held, Held::Gone) {
            Held::Writer(lock) => {
                if self.open {
                    abandon(lock, &self.bulk);
                }
            }
            Held::Unit(u) => {
                if self.open {
                    if u.savepoint {
                        // A unit that could not be undone leaves its writes in the batch: the
                        // batch must not commit them.
                        if run(u.conn, UNIT_ROLLBACK).is_err() {
                            u.broken.set(true);
                        }
                        // Departments it read or wrote may be other than the batch's now.
                        u.bulk.borrow_mut().forget_departments();
                    } else if u.conn.total_changes() != u.baseline {
                        // Nothing to roll back to: the batch holds writes it must not keep, and
                        // only running it again (with savepoints) helps.
                        u.rerun.set(true);
                        u.broken.set(true);
                    }
                }
                u.live.set(false);
            }
            Held::Reader(r) => {
                if self.open {
                    let _ = run(&r.conn, &["ROLLBACK"]);
                }
                // Only a connection that is back in autocommit mode (no snapshot held) is reused.
                if r.conn.is_autocommit() {
                    self.db.give_back(r);
                } else {
                    self.db.forget_reader();
                }
            }
            // The session ends the snapshot.
            Held::Shared(_) | Held::Gone => {}
        }
    }
}

impl Tx for SqliteTx<'_> {
    fn commit(mut self: Box<Self>) -> StoreResult<()> {
        if !self.open {
            return Ok(());
        }
        match &mut self.held {
            Held::Writer(lock) => {
                // SQLite rolls a transaction back by itself on a full disk or an I/O error: then
                // nothing more may be written, or it would commit on its own.
                if lock.is_autocommit() {
                    return Err(StoreError::Backend(
                        "the write transaction was lost; nothing was committed".into(),
                    ));
                }
                // Still inside the transaction: a failure here leaves it to roll back in Drop.
                self.counts.borrow_mut().flush(lock)?;
                self.bulk.borrow_mut().finish(lock)?;
                bump_versions(lock, &self.changed.borrow())?;
                let group = lock.commit()?;
                self.open = false;
                // Hands the connection on (or commits), then waits for the group's commit.
                drop(self);
                group.wait()
            }
            Held::Reader(r) => {
                let done = run(&r.conn, &["ROLLBACK"]).map_err(backend);
                self.open = false;
                done
            }
            Held::Unit(u) => {
                if u.savepoint {
                    if let Err(e) = run(u.conn, UNIT_RELEASE) {
                        u.broken.set(true);
                        return Err(backend(e));
                    }
                }
                u.counts.borrow_mut().merge(self.counts.take());
                for no in self.changed.take() {
                    note_changed(&mut u.changed.borrow_mut(), no);
                }
                self.open = false;
                Ok(())
            }
            Held::Shared(_) | Held::Gone => {
                self.open = false;
                Ok(())
            }
        }
    }
}

// A write unit in a batch is a savepoint; a read unit needs none (it cannot write), which
// matters: every savepoint makes FTS5 flush its pending terms.
pub(crate) const UNIT_BEGIN: &[&str] = &["SAVEPOINT batch_unit"];
const UNIT_RELEASE: &[&str] = &["RELEASE batch_unit"];
const UNIT_ROLLBACK: &[&str] = &["ROLLBACK TO batch_unit", "RELEASE batch_unit"];

/// Runs statements through the connection's statement cache (no parsing after the first time).
pub(crate) fn run(conn: &Connection, sqls: &[&str]) -> rusqlite::Result<()> {
    for sql in sqls {
        conn.prepare_cached(sql)?.execute([])?;
    }
    Ok(())
}
