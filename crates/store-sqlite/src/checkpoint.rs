//! Checkpoints on their own thread, off the commit path.
//!
//! A checkpoint copies the pages the WAL holds into the database file and syncs the file. With
//! SQLite's automatic checkpoints, the commit that takes the WAL past the limit does that
//! before it returns, so every few thousand pages one writer waits for a copy of everybody's
//! pages, and a large load's commit waits for a copy of the whole load (at 1M users: 550 MB,
//! 1.1–1.8 s of a ~27 s load). A commit is durable once its WAL frames are synced, which the
//! commit still does itself (`synchronous=FULL`); the copy can come later.
//!
//! So the writer's connection reports its WAL's size after each commit (a WAL hook, which
//! replaces the automatic checkpoint), and past the limit wakes a [`Checkpointer`]: a thread
//! with its own connection that runs a `PASSIVE` checkpoint, which never blocks the writer or
//! readers (it copies what no reader still needs and leaves the rest for the next one). The
//! writer starts the WAL over once a checkpoint has copied all of it, as before.

use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;

use profile_core::ports::StoreResult;
use profile_core::StoreError;
use rusqlite::wal::CheckpointMode;
use rusqlite::{Connection, MAIN_DB};

use crate::error::backend;

/// What the thread is asked to do.
#[derive(Default)]
struct Requests {
    /// A commit left at least the limit's pages in the WAL.
    due: bool,
    /// The database is closing.
    stop: bool,
    /// Checkpoints attempted so far (for tests).
    done: u64,
}

#[derive(Default)]
struct Shared {
    requests: Mutex<Requests>,
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Requests> {
        self.requests.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The thread that checkpoints a database's WAL; stopped (and joined) when dropped.
pub(crate) struct Checkpointer {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts the thread, and makes `writer` wake it whenever a commit leaves `limit` or more
    /// pages in the WAL. `connect` opens the thread's own connection to the same file: on its
    /// first checkpoint (a database that never fills its WAL never opens it), and again at the
    /// next request if that failed.
    pub(crate) fn start(
        writer: &mut Connection,
        limit: u32,
        connect: impl Fn() -> StoreResult<Connection> + Send + 'static,
    ) -> StoreResult<Checkpointer> {
        let shared = Arc::new(Shared::default());
        let ours = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("cardfile-checkpoint".into())
            .spawn(move || run(&ours, connect))
            .map_err(|e| StoreError::Backend(format!("cannot start the checkpoint thread: {e}")))?;
        let checkpointer = Checkpointer { shared: Arc::clone(&shared), thread: Some(thread) };
        let limit = i32::try_from(limit).unwrap_or(i32::MAX);
        writer
            .wal_hook(Some(move |_: &mut rusqlite::hooks::Wal, pages: i32| {
                if pages >= limit {
                    shared.lock().due = true;
                    shared.changed.notify_one();
                }
                Ok(())
            }))
            .map_err(backend)?;
        Ok(checkpointer)
    }

    /// How many checkpoints the thread has attempted.
    #[cfg(test)]
    pub(crate) fn done(&self) -> u64 {
        self.shared.lock().done
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.shared.lock().stop = true;
        self.shared.changed.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The thread: wait for a request, checkpoint, repeat until stopped. A checkpoint that fails
/// (say, another connection is checkpointing), or a connection that cannot be opened, is left
/// to the next commit's request.
fn run(shared: &Shared, connect: impl Fn() -> StoreResult<Connection>) {
    let mut conn = None;
    loop {
        {
            let mut requests = shared.lock();
            while !requests.due && !requests.stop {
                requests = shared.changed.wait(requests).unwrap_or_else(PoisonError::into_inner);
            }
            if requests.stop {
                return;
            }
            requests.due = false;
        }
        if conn.is_none() {
            // A connection finds the file in WAL mode (and so can checkpoint it) once it reads.
            conn = connect().ok().filter(|c| {
                c.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get::<_, i64>(0)).is_ok()
            });
        }
        if let Some(c) = &conn {
            let _ = c.wal_checkpoint_v2(Some(MAIN_DB), CheckpointMode::PASSIVE);
            shared.lock().done += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};
    use std::time::{Duration, Instant};

    /// A WAL database with a table, and its writer.
    fn wal_file(dir: &Path) -> (PathBuf, Connection) {
        let path = dir.join("c.db");
        let writer = Connection::open(&path).unwrap();
        writer.execute_batch("PRAGMA journal_mode=WAL; CREATE TABLE t(b BLOB)").unwrap();
        (path, writer)
    }

    /// A WAL database with a table, its writer, and a checkpointer waking at `limit` pages.
    fn database(dir: &Path, limit: u32) -> (PathBuf, Connection, Checkpointer) {
        let (path, mut writer) = wal_file(dir);
        let file = path.clone();
        let checkpointer =
            Checkpointer::start(&mut writer, limit, move || Connection::open(&file).map_err(backend))
                .unwrap();
        (path, writer, checkpointer)
    }

    /// Commits `n` transactions of 16 KiB each (4 pages and more).
    fn commit(writer: &Connection, n: usize) {
        for _ in 0..n {
            writer.execute("INSERT INTO t VALUES (zeroblob(16384))", []).unwrap();
        }
    }

    fn file_size(path: &Path) -> u64 {
        std::fs::metadata(path).unwrap().len()
    }

    #[test]
    fn commits_leave_the_copy_to_the_thread() {
        let dir = tempfile::tempdir().unwrap();
        // Below the limit: the pages stay in the WAL; the writer no longer checkpoints itself.
        let (path, writer, checkpointer) = database(dir.path(), u32::MAX);
        commit(&writer, 64);
        assert!(file_size(&path) < 64 * 16384, "the writer copied the WAL itself");
        assert_eq!(checkpointer.done(), 0);
        drop((writer, checkpointer));

        let dir = tempfile::tempdir().unwrap();
        let (path, writer, checkpointer) = database(dir.path(), 50);
        commit(&writer, 64);
        until(|| file_size(&path) >= 64 * 16384);
        assert!(file_size(&path) >= 64 * 16384, "the thread copied the WAL into the file");
        assert!(checkpointer.done() >= 1);
        let rows: i64 =
            Connection::open(&path).unwrap().query_row("SELECT count(*) FROM t", [], |r| r.get(0)).unwrap();
        assert_eq!(rows, 64);
    }

    /// Waits (at most 10 s) until `done` holds.
    fn until(done: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !done() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    #[test]
    fn a_connection_that_failed_is_opened_again() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let dir = tempfile::tempdir().unwrap();
        let (path, mut writer) = wal_file(dir.path());
        let tries = Arc::new(AtomicUsize::new(0));
        let (file, counted) = (path.clone(), Arc::clone(&tries));
        let _checkpointer = Checkpointer::start(&mut writer, 50, move || {
            if counted.fetch_add(1, Ordering::SeqCst) == 0 {
                return Err(StoreError::Backend("not now".into()));
            }
            Connection::open(&file).map_err(backend)
        })
        .unwrap();
        commit(&writer, 64);
        until(|| tries.load(Ordering::SeqCst) >= 1);
        // The first attempt failed; a later commit's request connects and copies.
        commit(&writer, 1);
        until(|| file_size(&path) >= 64 * 16384);
        assert!(file_size(&path) >= 64 * 16384);
        assert!(tries.load(Ordering::SeqCst) >= 2);
    }

    #[test]
    fn a_database_that_never_fills_its_wal_never_connects() {
        let dir = tempfile::tempdir().unwrap();
        let (_, mut writer) = wal_file(dir.path());
        let connected = Arc::new(Mutex::new(false));
        let flag = Arc::clone(&connected);
        let checkpointer = Checkpointer::start(&mut writer, 1_000, move || {
            *flag.lock().unwrap() = true;
            Connection::open_in_memory().map_err(backend)
        })
        .unwrap();
        commit(&writer, 2);
        drop(checkpointer);
        assert!(!*connected.lock().unwrap());
    }
}
