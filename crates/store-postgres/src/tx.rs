//! Units of work: a write transaction (holding the writers' lock), a read snapshot, or a unit
//! inside a batch (a savepoint of the batch's transaction).

use std::cell::{Cell, RefCell, RefMut};

use profile_core::ids::{AccountId, UserId};
use profile_core::model::user::User;
use profile_core::ports::{StoreResult, Tx};
use profile_core::StoreError;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use crate::conn::PgConn;
use crate::error::backend;
use crate::{run, PgDb, Pooled};

/// The key of the advisory lock every writer holds for its transaction (any number of
/// processes on one database take turns, as SQLite's writers take turns on a file). "Cardfile"
/// in ASCII, so no other program's lock is likely to share it.
pub(crate) const WRITERS_LOCK: i64 = 0x4361_7264_6669_6c65;

/// What a batch's units share: its connection and what it knows about them.
pub(crate) struct Shared {
    pub(crate) conn: RefCell<Pooled>,
    /// A unit is open (one at a time).
    pub(crate) live: Cell<bool>,
    /// A unit could not be undone, or the transaction failed: nothing more may be committed.
    pub(crate) broken: Cell<bool>,
    /// Accounts whose query data the batch changed.
    pub(crate) changed: RefCell<Vec<i64>>,
}

enum Held<'a> {
    /// A transaction on a connection of its own.
    Own { conn: Box<RefCell<Pooled>>, writable: bool },
    /// A unit of a batch; `savepoint` when it is a write unit.
    Unit { shared: &'a Shared, writable: bool },
}

/// A unit of work on PostgreSQL (see the crate documentation).
pub struct PgTx<'a> {
    pub(crate) db: &'a PgDb,
    held: Held<'a>,
    open: bool,
    changed: RefCell<Vec<i64>>,
    /// A credential's owner read with it, for the `user` call that follows (reads only).
    owner: RefCell<Option<(AccountId, UserId, Option<User>)>>,
}

pub(crate) const READ_BEGIN: &str = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
/// A read's end: it has nothing to commit. Sent with the connection's next message.
const READ_END: &str = "ROLLBACK";
const UNIT_BEGIN: &str = "SAVEPOINT unit";
/// A commit that fails when the transaction was aborted: PostgreSQL answers a bare `COMMIT` of
/// an aborted transaction by rolling it back without an error, and the `SELECT` before it is
/// refused instead (then nothing is committed, and the caller hears so).
pub(crate) const COMMIT: &str = "SELECT 1; COMMIT";
const UNIT_RELEASE: &str = "RELEASE SAVEPOINT unit";
const UNIT_ROLLBACK: &str = "ROLLBACK TO SAVEPOINT unit; RELEASE SAVEPOINT unit";

/// Starts a write transaction on `conn`: the writers' lock first, so that everything the
/// transaction reads is what the previous writer committed.
pub(crate) fn begin_writing(db: &PgDb, conn: &mut PgConn) -> StoreResult<()> {
    let ms = db.wait().as_millis().max(1);
    run(conn, &format!("BEGIN; SET LOCAL lock_timeout = {ms}; SELECT pg_advisory_xact_lock({WRITERS_LOCK})"))
}

impl<'a> PgTx<'a> {
    pub(crate) fn begin_read(db: &'a PgDb) -> StoreResult<PgTx<'a>> {
        let mut conn = db.connection()?;
        // Sent with the first statement (see `conn`).
        conn.ahead(db.read_begin());
        Ok(PgTx::new(db, Held::Own { conn: Box::new(RefCell::new(conn)), writable: false }))
    }

    pub(crate) fn begin_write(db: &'a PgDb) -> StoreResult<PgTx<'a>> {
        let mut conn = db.connection()?;
        if let Err(e) = begin_writing(db, &mut conn) {
            conn.broken = true;
            return Err(e);
        }
        Ok(PgTx::new(db, Held::Own { conn: Box::new(RefCell::new(conn)), writable: true }))
    }

    /// A unit inside a batch; a write unit opens a savepoint.
    pub(crate) fn unit(db: &'a PgDb, shared: &'a Shared, writable: bool) -> StoreResult<PgTx<'a>> {
        // Read units too: a statement of theirs that fails must not abort the batch. With the
        // unit's first statement (see `conn`).
        shared.conn.borrow_mut().ahead(UNIT_BEGIN);
        Ok(PgTx::new(db, Held::Unit { shared, writable }))
    }

    fn new(db: &'a PgDb, held: Held<'a>) -> PgTx<'a> {
        PgTx { db, held, open: true, changed: RefCell::default(), owner: RefCell::default() }
    }

    /// The connection, for one statement at a time.
    pub(crate) fn conn(&self) -> RefMut<'_, Pooled> {
        match &self.held {
            Held::Own { conn, .. } => conn.borrow_mut(),
            Held::Unit { shared, .. } => shared.conn.borrow_mut(),
        }
    }

    /// Runs a prepared statement and returns its rows.
    pub(crate) fn query(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> StoreResult<Vec<Row>> {
        self.conn().query(sql, params).map_err(backend)
    }

    /// Runs a statement planned for its parameters (see `PgConn::query_planned`).
    pub(crate) fn query_planned(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> StoreResult<Vec<Row>> {
        self.conn().query_planned(sql, params).map_err(backend)
    }

    /// Runs two prepared statements in one round trip.
    pub(crate) fn query_both(
        &self,
        first: (&str, &[&(dyn ToSql + Sync)]),
        second: (&str, &[&(dyn ToSql + Sync)]),
    ) -> StoreResult<(Vec<Row>, Vec<Row>)> {
        self.conn().query_both(first, second).map_err(backend)
    }

    /// Runs a prepared statement that returns at most one row.
    pub(crate) fn query_opt(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> StoreResult<Option<Row>> {
        self.conn().query_opt(sql, params).map_err(backend)
    }

    /// Runs a prepared statement that returns exactly one row.
    pub(crate) fn query_one(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> StoreResult<Row> {
        self.conn().query_one(sql, params).map_err(backend)
    }

    /// Runs a prepared statement that writes; returns the rows it changed. Fails with
    /// [`StoreError::ReadOnly`] in a read-only unit, before anything is sent.
    pub(crate) fn execute(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> StoreResult<u64> {
        self.writable()?;
        self.conn().execute(sql, params).map_err(backend)
    }

    /// Keeps a user row read in this read's snapshot for one later `user` call.
    pub(crate) fn remember_owner(&self, account: AccountId, id: UserId, user: Option<User>) {
        *self.owner.borrow_mut() = Some((account, id, user));
    }

    /// The row [`PgTx::remember_owner`] kept, if it is the one asked for (then forgotten).
    pub(crate) fn remembered_owner(&self, account: AccountId, id: UserId) -> Option<Option<User>> {
        let mut kept = self.owner.borrow_mut();
        match kept.take() {
            Some((a, i, user)) if a == account && i == id => Some(user),
            other => {
                *kept = other;
                None
            }
        }
    }

    /// Runs several statements as one: a failure (a taken handle, say) undoes all of them and
    /// leaves the transaction as it was, as a port method promises. Also needed around a single
    /// statement whose failure the caller may survive: PostgreSQL aborts the whole transaction
    /// at a failed statement, SQLite only the statement.
    ///
    /// The savepoint's statements travel with the next message (see `conn`): a failure of
    /// theirs fails that message and drops the connection.
    pub(crate) fn in_savepoint<T>(&self, f: impl FnOnce(&Self) -> StoreResult<T>) -> StoreResult<T> {
        self.writable()?;
        self.conn().ahead("SAVEPOINT port_call");
        let result = f(self);
        self.conn().ahead(if result.is_ok() {
            "RELEASE SAVEPOINT port_call"
        } else {
            "ROLLBACK TO SAVEPOINT port_call; RELEASE SAVEPOINT port_call"
        });
        result
    }

    pub(crate) fn is_reader(&self) -> bool {
        matches!(self.held, Held::Own { writable: false, .. })
    }

    /// The query cache, for readers only: a writer's own uncommitted changes are no version.
    pub(crate) fn query_cache(&self) -> Option<&store_common::query_cache::QueryCache> {
        self.is_reader().then_some(&self.db.query_cache)
    }

    pub(crate) fn writable(&self) -> StoreResult<()> {
        match self.held {
            Held::Own { writable: true, .. } | Held::Unit { writable: true, .. } => Ok(()),
            _ => Err(StoreError::ReadOnly),
        }
    }

    /// The account's number, if it exists.
    pub(crate) fn no(&self, account: AccountId) -> StoreResult<Option<i64>> {
        self.db.account_no(self, account)
    }

    /// The number of an account that a write names, which must exist.
    pub(crate) fn no_for_write(&self, account: AccountId) -> StoreResult<i64> {
        self.writable()?;
        self.no(account)?.ok_or_else(|| StoreError::Backend(format!("unknown account {account}")))
    }

    /// Notes that the unit changed what user queries read in account `no`: its
    /// `query_versions` row moves on at commit.
    pub(crate) fn changed(&self, no: i64) {
        let mut c = self.changed.borrow_mut();
        if !c.contains(&no) {
            c.push(no);
        }
    }
}

/// Moves on the query version of every account in `changed`.
pub(crate) fn bump_versions(conn: &mut PgConn, changed: &[i64]) -> StoreResult<()> {
    if changed.is_empty() {
        return Ok(());
    }
    let sql =
        "INSERT INTO query_versions (account_no, version) SELECT no, 1 FROM unnest($1::bigint[]) AS no \
               ON CONFLICT (account_no) DO UPDATE SET version = query_versions.version + 1";
    conn.execute(sql, &[&changed]).map_err(backend)?;
    Ok(())
}

impl Drop for PgTx<'_> {
    fn drop(&mut self) {
        if !self.open {
            return;
        }
        match &self.held {
            Held::Own { conn, writable: false } => conn.borrow_mut().ahead(READ_END),
            Held::Own { conn, writable: true } => {
                let mut conn = conn.borrow_mut();
                if run(&mut conn, "ROLLBACK").is_err() {
                    conn.broken = true;
                }
            }
            Held::Unit { shared, writable: false } => {
                // Nothing to undo but a failed statement's effect on the batch: with the next
                // message, which fails if this does.
                shared.conn.borrow_mut().ahead(UNIT_ROLLBACK);
                shared.live.set(false);
            }
            Held::Unit { shared, writable: true } => {
                if run(&mut shared.conn.borrow_mut(), UNIT_ROLLBACK).is_err() {
                    // A unit that could not be undone leaves its writes in the batch.
                    shared.broken.set(true);
                }
                shared.live.set(false);
            }
        }
    }
}

impl Tx for PgTx<'_> {
    fn commit(mut self: Box<Self>) -> StoreResult<()> {
        self.open = false;
        let changed = std::mem::take(&mut *self.changed.borrow_mut());
        match &self.held {
            Held::Own { conn, writable } => {
                let mut conn = conn.borrow_mut();
                if !*writable {
                    conn.ahead(READ_END);
                    return Ok(());
                }
                let done = bump_versions(&mut conn, &changed).and_then(|()| run(&mut conn, COMMIT));
                if done.is_err() && run(&mut conn, "ROLLBACK").is_err() {
                    conn.broken = true;
                }
                done
            }
            Held::Unit { shared, writable } => {
                shared.live.set(false);
                // With the next unit's first statement, or the batch's commit: a failure there
                // fails the batch.
                shared.conn.borrow_mut().ahead(UNIT_RELEASE);
                if *writable {
                    let mut all = shared.changed.borrow_mut();
                    for no in changed {
                        if !all.contains(&no) {
                            all.push(no);
                        }
                    }
                }
                Ok(())
            }
        }
    }
}
