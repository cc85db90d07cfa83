//! The one writer connection, and group commit over it.
//!
//! Writers take the connection in turn. A writer that finishes while others queue for the
//! connection does not commit on its own: it leaves its work in the open transaction, hands the
//! connection to the next writer and waits. The last writer of such a group commits for all of
//! them, so the group pays for one fsync, and an index page that several writers dirtied is
//! written to the WAL once. A writer's `commit` still returns only once its work is durable (or
//! with the error that lost it), so an acknowledged write is never lost.
//!
//! Each writer after the first works in a savepoint (`group_member`): one that fails or is
//! dropped rolls back alone, and the group's commit goes on for the others. If the transaction
//! itself is lost (SQLite rolls it back on a full disk or an I/O error), every member of the
//! group is told so; nothing of it was committed.
//!
//! A member reads the group's uncommitted work: a refusal or a "nothing to change" it answers
//! may rest on it. So a member that rolls back waits for the group's outcome too
//! ([`WriteLock::joined_group`]) before its caller answers anyone.
//!
//! Group commit is a speed path (`Speed::group_commit`): without it every writer commits alone.

use std::ops::Deref;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use profile_core::ports::StoreResult;
use profile_core::StoreError;
use rusqlite::Connection;

use crate::error::backend;
use crate::tx::run;

/// At most this many writers take their turn in one group's transaction (whether they commit
/// into it or roll back), so that the first of them waits a bounded time even while others keep
/// queueing.
pub(crate) const MAX_GROUP: usize = 8;

const BEGIN: &[&str] = &["BEGIN IMMEDIATE"];
const JOIN: &[&str] = &["SAVEPOINT group_member"];
const RELEASE: &[&str] = &["RELEASE group_member"];
const UNDO_MEMBER: &[&str] = &["ROLLBACK TO group_member", "RELEASE group_member"];

const LOST: &str = "the write transaction was lost; nothing was committed";

/// The writer connection and who queues for it.
pub(crate) struct Writer {
    slot: Mutex<Slot>,
    /// Threads waiting for `slot`: while any do, a finished writer hands its transaction on.
    queued: AtomicUsize,
    /// Whether writers may share a commit at all.
    grouping: bool,
}

/// The connection and the group whose work its open transaction holds.
pub(crate) struct Slot {
    conn: Connection,
    /// Writers whose work is in the open transaction, waiting for its commit.
    group: Option<Arc<Group>>,
    /// How many writers have ended their turn since `group` began.
    turns: usize,
}

/// The outcome of one group's commit, for the writers that wait on it.
#[derive(Default)]
pub(crate) struct Group {
    outcome: Mutex<Option<Result<(), String>>>,
    settled: Condvar,
}

impl Group {
    /// Waits until the group is committed or lost.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the group's commit failed: nothing of it was written.
    pub(crate) fn wait(&self) -> StoreResult<()> {
        let mut outcome = self.outcome.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(result) = outcome.as_ref() {
                return result.clone().map_err(StoreError::Backend);
            }
            outcome = self.settled.wait(outcome).unwrap_or_else(PoisonError::into_inner);
        }
    }
}

impl Slot {
    /// Commits the open transaction (or finds it lost) and tells the group's members.
    fn commit_group(&mut self) {
        let result = if self.conn.is_autocommit() {
            Err(LOST.to_string())
        } else {
            run(&self.conn, &["COMMIT"]).map_err(|e| format!("the commit failed: {e}"))
        };
        if result.is_err() && !self.conn.is_autocommit() {
            let _ = run(&self.conn, &["ROLLBACK"]);
        }
        self.publish(result);
    }

    /// Ends the group with `result`.
    fn publish(&mut self, result: Result<(), String>) {
        if let Some(group) = self.group.take() {
            *group.outcome.lock().unwrap_or_else(PoisonError::into_inner) = Some(result);
            group.settled.notify_all();
        }
        self.turns = 0;
    }
}

impl Writer {
    pub(crate) fn new(conn: Connection, grouping: bool) -> Writer {
        Writer {
            slot: Mutex::new(Slot { conn, group: None, turns: 0 }),
            queued: AtomicUsize::new(0),
            grouping,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Slot> {
        self.queued.fetch_add(1, Ordering::SeqCst);
        // A panic while writing poisons the mutex; the writer's work was rolled back on unwind
        // (WriteLock::drop), so the connection is sound and later writes may go on.
        let guard = self.slot.lock().unwrap_or_else(PoisonError::into_inner);
        self.queued.fetch_sub(1, Ordering::SeqCst);
        guard
    }

    /// Starts a write: `BEGIN IMMEDIATE`, or a savepoint in the transaction a group left open.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when no transaction can be started.
    pub(crate) fn begin(&self) -> StoreResult<WriteLock<'_>> {
        let mut guard = self.lock();
        if guard.group.is_some() && guard.conn.is_autocommit() {
            guard.publish(Err(LOST.to_string()));
        }
        let joined = guard.group.clone();
        let sql = if joined.is_some() { JOIN } else { BEGIN };
        let mut lock = WriteLock { writer: self, guard, joined, own_open: false };
        // On failure the lock is dropped, which settles the group for its members.
        run(&lock.guard.conn, sql).map_err(backend)?;
        lock.own_open = true;
        Ok(lock)
    }

    /// The connection with no transaction open (a group's open one is committed first), for
    /// work outside the unit-of-work protocol: maintenance and tests.
    pub(crate) fn exclusive(&self) -> Exclusive<'_> {
        let mut guard = self.lock();
        if guard.group.is_some() {
            guard.commit_group();
        }
        Exclusive(guard)
    }
}

/// The writer connection, held with no transaction of the protocol's open.
pub(crate) struct Exclusive<'a>(MutexGuard<'a, Slot>);

impl Deref for Exclusive<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        &self.0.conn
    }
}

/// One writer's hold on the connection: its own work is a transaction (the group's first
/// writer) or a savepoint in the group's transaction. Dropped with its work neither committed
/// nor rolled back, it rolls it back.
pub(crate) struct WriteLock<'a> {
    writer: &'a Writer,
    guard: MutexGuard<'a, Slot>,
    /// The group whose transaction this writer works in, when it is not the first.
    joined: Option<Arc<Group>>,
    own_open: bool,
}

impl Deref for WriteLock<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        &self.guard.conn
    }
}

impl WriteLock<'_> {
    /// Whether this writer's work is a savepoint in a group's transaction.
    pub(crate) fn is_savepoint(&self) -> bool {
        self.joined.is_some()
    }

    /// The group this writer joined, if it was not the first: whatever it read rests on the
    /// group's work, so a writer that rolls back waits on it (after dropping the lock) before
    /// it answers.
    pub(crate) fn joined_group(&self) -> Option<Arc<Group>> {
        self.joined.clone()
    }

    /// Puts this writer's work into the group's commit. The commit happens once the lock is
    /// dropped: then, by this writer when nobody queues for the connection (or the group is
    /// full), else by a later one. Wait on the returned group *after* dropping the lock.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the work cannot be kept (the transaction was lost or the
    /// savepoint could not be released); the work is then rolled back.
    pub(crate) fn commit(&mut self) -> StoreResult<Arc<Group>> {
        if !self.own_open {
            return Err(StoreError::Backend("nothing to commit".into()));
        }
        if self.guard.conn.is_autocommit() {
            self.own_open = false;
            self.guard.publish(Err(LOST.to_string()));
            return Err(StoreError::Backend(LOST.into()));
        }
        if self.joined.is_some() {
            run(&self.guard.conn, RELEASE).map_err(|e| {
                self.rollback();
                backend(e)
            })?;
        }
        self.own_open = false;
        Ok(Arc::clone(self.guard.group.get_or_insert_with(Arc::default)))
    }

    /// Rolls this writer's own work back (the group's stays).
    pub(crate) fn rollback(&mut self) {
        if !std::mem::replace(&mut self.own_open, false) {
            return;
        }
        if self.joined.is_none() {
            // The first writer: the transaction holds nothing else.
            let _ = run(&self.guard.conn, &["ROLLBACK"]);
            return;
        }
        if self.guard.conn.is_autocommit() || run(&self.guard.conn, UNDO_MEMBER).is_err() {
            // The group's transaction is gone, or holds work it must not keep.
            if !self.guard.conn.is_autocommit() {
                let _ = run(&self.guard.conn, &["ROLLBACK"]);
            }
            self.guard.publish(Err(LOST.to_string()));
        }
    }
}

impl Drop for WriteLock<'_> {
    fn drop(&mut self) {
        self.rollback();
        if self.guard.group.is_none() {
            return;
        }
        // Every turn counts, a rolled-back one too: a stream of failing writers must not keep
        // the group's transaction open for ever.
        self.guard.turns += 1;
        let others_queue = self.writer.queued.load(Ordering::SeqCst) > 0;
        if !self.writer.grouping || !others_queue || self.guard.turns >= MAX_GROUP {
            self.guard.commit_group();
        }
        // Otherwise the transaction stays open: the next writer joins it and settles it.
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use std::sync::mpsc;
    use std::time::{Duration, Instant};

    /// A temporary directory and the path of a database file in it.
    fn scratch() -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        (dir, path)
    }

    fn writer(path: &Path) -> Writer {
        let conn = Connection::open(path).unwrap();
        conn.execute_batch("PRAGMA journal_mode=WAL; CREATE TABLE t(x INTEGER)").unwrap();
        Writer::new(conn, true)
    }

    /// What another connection sees committed.
    fn committed(path: &Path) -> Vec<i64> {
        let c = Connection::open(path).unwrap();
        let mut s = c.prepare("SELECT x FROM t ORDER BY x").unwrap();
        s.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
    }

    fn insert(lock: &WriteLock<'_>, x: i64) {
        lock.execute("INSERT INTO t VALUES (?1)", [x]).unwrap();
    }

    /// Waits (at most 10 s) until `n` threads queue for the connection.
    fn until_queued(w: &Writer, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while w.queued.load(Ordering::SeqCst) < n {
            assert!(Instant::now() < deadline, "nobody queued");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    fn settled(g: &Group) -> bool {
        g.outcome.lock().unwrap().is_some()
    }

    /// The second writer of a group: begins once the first hands over, writes `x`, reports,
    /// then waits for `go` before it commits (`Some(true)`), rolls back (`Some(false)`) or
    /// loses the transaction as SQLite does on a full disk (`None`).
    fn second(
        w: &Writer,
        x: i64,
        joined: mpsc::Sender<bool>,
        go: mpsc::Receiver<Option<bool>>,
    ) -> StoreResult<()> {
        let mut b = w.begin()?;
        insert(&b, x);
        joined.send(b.joined.is_some()).unwrap();
        match go.recv().unwrap() {
            Some(true) => {
                let g = b.commit()?;
                drop(b);
                g.wait()
            }
            Some(false) => Ok(()),
            None => {
                b.execute_batch("ROLLBACK").unwrap();
                let out = b.commit().map(|_| ());
                drop(b);
                out
            }
        }
    }

    /// Runs a group of two: the first writes 1 and commits; the second writes 2 and does what
    /// `then` says. Returns the first's and the second's outcomes.
    fn group_of_two(path: &Path, then: Option<bool>) -> (StoreResult<()>, StoreResult<()>) {
        let w = writer(path);
        std::thread::scope(|s| {
            let mut a = w.begin().unwrap();
            insert(&a, 1);
            let (joined_tx, joined) = mpsc::channel();
            let (go, go_rx) = mpsc::channel();
            let b = s.spawn(|| second(&w, 2, joined_tx, go_rx));
            until_queued(&w, 1);
            let group = a.commit().unwrap();
            drop(a);
            assert!(joined.recv().unwrap(), "the second writer works inside the first's transaction");
            assert!(!settled(&group), "the first waits for the group's commit");
            assert_eq!(committed(path), Vec::<i64>::new(), "nothing is committed yet");
            go.send(then).unwrap();
            let second = b.join().unwrap();
            (group.wait(), second)
        })
    }

    #[test]
    fn writers_that_finish_together_share_one_commit() {
        let (_dir, path) = scratch();
        let (first, second) = group_of_two(&path, Some(true));
        assert!(first.is_ok() && second.is_ok());
        assert_eq!(committed(&path), vec![1, 2]);
    }

    #[test]
    fn a_member_that_rolls_back_leaves_the_group_intact() {
        let (_dir, path) = scratch();
        let (first, second) = group_of_two(&path, Some(false));
        assert!(first.is_ok() && second.is_ok());
        assert_eq!(committed(&path), vec![1], "the first's write is committed, the second's is not");
    }

    #[test]
    fn a_lost_transaction_fails_every_member() {
        let (dir, path) = scratch();
        let (first, second) = group_of_two(&path, None);
        assert!(first.is_err(), "the first is told its write was lost");
        assert!(second.is_err());
        assert_eq!(committed(&path), Vec::<i64>::new());
        // The connection is usable afterwards.
        let w = writer(&dir.path().join("w2.db"));
        let mut a = w.begin().unwrap();
        insert(&a, 3);
        let g = a.commit().unwrap();
        drop(a);
        g.wait().unwrap();
    }

    #[test]
    fn maintenance_commits_the_open_group_first() {
        let (_dir, path) = scratch();
        let w = writer(&path);
        std::thread::scope(|s| {
            let mut a = w.begin().unwrap();
            insert(&a, 1);
            let maintenance = s.spawn(|| {
                let conn = w.exclusive();
                (
                    conn.is_autocommit(),
                    conn.query_row("SELECT count(*) FROM t", [], |r| r.get::<_, i64>(0)).unwrap(),
                )
            });
            until_queued(&w, 1);
            let group = a.commit().unwrap();
            drop(a);
            assert_eq!(maintenance.join().unwrap(), (true, 1), "no transaction left open, the write kept");
            group.wait().unwrap();
        });
        assert_eq!(committed(&path), vec![1]);
    }

    /// While others keep queueing, a group still commits after `MAX_GROUP` turns, rolled-back
    /// ones included.
    #[test]
    fn a_group_ends_after_a_bounded_number_of_turns() {
        let (_dir, path) = scratch();
        let w = writer(&path);
        // As if another thread were always waiting for the connection.
        w.queued.fetch_add(1, Ordering::SeqCst);
        let mut a = w.begin().unwrap();
        insert(&a, 1);
        let group = a.commit().unwrap();
        drop(a);
        assert!(!settled(&group), "handed on: someone queues");
        for turn in 2..=MAX_GROUP {
            let b = w.begin().unwrap();
            assert!(b.joined.is_some());
            insert(&b, 100 + turn as i64);
            drop(b); // rolled back
            assert_eq!(settled(&group), turn == MAX_GROUP, "turn {turn}");
        }
        w.queued.fetch_sub(1, Ordering::SeqCst);
        group.wait().unwrap();
        assert_eq!(committed(&path), vec![1]);
    }

    /// Many threads writing at once: every acknowledged write is there, none twice, and the
    /// groups stay within their bound.
    #[test]
    fn concurrent_writers_all_land() {
        let (_dir, path) = scratch();
        let w = writer(&path);
        let largest = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for t in 0..12i64 {
                let (w, largest) = (&w, &largest);
                s.spawn(move || {
                    for i in 0..25 {
                        let mut lock = w.begin().unwrap();
                        insert(&lock, t * 100 + i);
                        let group = lock.commit().unwrap();
                        largest.fetch_max(lock.guard.turns + 1, Ordering::SeqCst);
                        drop(lock);
                        group.wait().unwrap();
                    }
                });
            }
        });
        let mut want: Vec<i64> = (0..12).flat_map(|t| (0..25).map(move |i| t * 100 + i)).collect();
        want.sort_unstable();
        assert_eq!(committed(&path), want);
        assert!(largest.load(Ordering::SeqCst) <= MAX_GROUP);
    }
}
