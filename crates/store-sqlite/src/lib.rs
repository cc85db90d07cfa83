//! Cardfile's embedded store: every `profile-core` port on one SQLite file.
//!
//! What it never does: decide anything. Business rules live in `profile-core`; this crate only
//! stores and finds. All of Cardfile's SQL lives here.
//!
//! Key decisions:
//! - WAL mode with `synchronous=FULL` by default, so a committed write survives power loss; one
//!   writer connection (writers queue for it, and writers that finish together share one commit:
//!   see the `writer` module) and a pool of read-only connections, so reads never wait for writes.
//! - Users of all accounts share one table whose rowid is `(account_no << 32) | id`: an account
//!   is a contiguous rowid range, a lookup by ID is a rowid lookup, and cursor paging by `>ID`
//!   is a range scan.
//! - Quick search is a contentless FTS5 index without positions, fed with words that
//!   `profile-core` has already split and folded, plus a table of per-prefix match counts so that
//!   the total of a search costs one lookup instead of a count over the index.
//! - The schema is versioned (`PRAGMA user_version`) and stamped with an application id; a file
//!   from another program or from a newer Cardfile is refused, an older one is migrated.

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::todo))]

mod accounts;
mod bulk;
mod checkpoint;
mod codec;
mod credentials;
mod departments;
mod error;
mod hr;
mod identities;
mod invitations;
mod page_cache;
mod schema;
mod search;
mod side_index;
mod user_query;
mod users;
mod workgroups;
mod writer;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, RwLock};
use std::time::Duration;

use profile_core::ids::AccountId;
use profile_core::ports::{Batch, Database, StoreResult, Tx};
use profile_core::StoreError;
use rusqlite::{Connection, OpenFlags};

pub use schema::SCHEMA_VERSION;

use crate::error::backend;

/// How durable a commit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// `synchronous=FULL`: a commit is on disk before it is acknowledged (the default).
    #[default]
    Full,
    /// `synchronous=NORMAL`: survives a crash of the process, not of the machine. For benchmarks
    /// and throw-away data only.
    Normal,
}

impl Durability {
    /// The `PRAGMA synchronous` value.
    fn pragma(self) -> &'static str {
        match self {
            Durability::Full => "FULL",
            Durability::Normal => "NORMAL",
        }
    }
}

/// Options for [`SqliteDb::open_with`].
#[derive(Debug, Clone)]
pub struct Options {
    /// Commit durability.
    pub durability: Durability,
    /// How many read connections may be open at once (readers beyond wait for one).
    pub readers: usize,
    /// How long a connection waits for a lock before failing.
    pub busy_timeout: Duration,
    /// How much of the file each connection maps into memory (`PRAGMA mmap_size`, bytes; 0: none,
    /// every page is read into the connection's page cache). Mapping is faster (at 100k users,
    /// ~1.4x the `FIND` throughput over HTTP) but RSS counts a mapped page once per connection
    /// that touched it, so RSS reads high though the pages are the OS page cache, shared.
    pub mmap_size: u64,
    /// Each read connection's own page cache, KiB (the writer's is fixed at 32 MiB). With
    /// mapping on, it holds little; with `mmap_size` 0 it is what keeps hot pages.
    pub reader_cache_kib: u32,
    /// How many users a transaction's bulk inserts reach before their indexes are built once
    /// at the commit instead of row by row (when they are also at least a quarter of the users
    /// already stored; see the `bulk` module).
    pub bulk_defer_rows: u64,
    /// How many search documents a batch's committed units queue before they are indexed on
    /// a second thread and grafted into the index at the commit (see the `side_index` module).
    pub side_index_docs: usize,
    /// WAL pages after which a commit wakes the checkpoint thread, which copies them into the
    /// file (see the `checkpoint` module). Fewer pages keep the WAL small; more copy a page
    /// that many transactions change once instead of once per transaction.
    pub wal_checkpoint_pages: u32,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            durability: Durability::Full,
            readers: 8,
            busy_timeout: Duration::from_secs(5),
            mmap_size: MMAP_SIZE,
            reader_cache_kib: 4096,
            bulk_defer_rows: 20_000,
            side_index_docs: side_index::SIDE_FROM,
            wal_checkpoint_pages: WAL_CHECKPOINT_PAGES,
        }
    }
}

/// A Cardfile database in one SQLite file (plus its `-wal` and `-shm` companions).
pub struct SqliteDb {
    path: PathBuf,
    options: Options,
    /// Copies the WAL into the file beside the writer; stopped (joined) before the writer closes.
    _checkpointer: checkpoint::Checkpointer,
    writer: writer::Writer,
    readers: Mutex<Readers>,
    reader_freed: Condvar,
    account_numbers: RwLock<HashMap<AccountId, i64>>,
}

/// The read connections: idle ones, and how many exist (idle or in use).
struct Readers {
    idle: Vec<Pooled>,
    open: usize,
    /// Callers waiting for a connection; only then is a wake-up (a system call) worth sending.
    waiting: usize,
}

impl std::fmt::Debug for SqliteDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteDb").field("path", &self.path).finish_non_exhaustive()
    }
}

impl SqliteDb {
    /// Opens (creating if needed) the database at `path` with default options.
    ///
    /// # Errors
    /// [`StoreError::Incompatible`] for a file that is not a Cardfile database or that a newer
    /// Cardfile created; [`StoreError::Backend`] for I/O failures.
    pub fn open(path: impl AsRef<Path>) -> StoreResult<SqliteDb> {
        SqliteDb::open_with(path, Options::default())
    }

    /// Opens (creating if needed) the database at `path`.
    ///
    /// # Errors
    /// As [`SqliteDb::open`].
    pub fn open_with(path: impl AsRef<Path>, options: Options) -> StoreResult<SqliteDb> {
        let path = path.as_ref().to_path_buf();
        let mut writer = Connection::open(&path).map_err(backend)?;
        // Look before touching: a foreign file must not even be switched to WAL.
        schema::check(&writer)?;
        configure(&writer, &options, false)?;
        schema::migrate(&mut writer)?;
        let (file, sync) = (path.clone(), options.durability);
        let checkpointer =
            checkpoint::Checkpointer::start(&mut writer, options.wal_checkpoint_pages, move || {
                let conn = Connection::open(&file).map_err(backend)?;
                conn.execute_batch(&format!("PRAGMA synchronous={}", sync.pragma())).map_err(backend)?;
                Ok(conn)
            })?;
        Ok(SqliteDb {
            path,
            options,
            _checkpointer: checkpointer,
            writer: writer::Writer::new(writer),
            readers: Mutex::new(Readers { idle: Vec::new(), open: 0, waiting: 0 }),
            reader_freed: Condvar::new(),
            account_numbers: RwLock::new(HashMap::new()),
        })
    }

    /// Writes a consistent copy of the database to `target` (which must not exist) while others
    /// keep reading and writing: `VACUUM INTO` from one read snapshot, so the copy is also
    /// compact.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when `target` exists or cannot be written.
    pub fn backup_to(&self, target: &Path) -> StoreResult<()> {
        if target.exists() {
            return Err(StoreError::Backend(format!("{} exists; choose a new file", target.display())));
        }
        let target =
            target.to_str().ok_or_else(|| StoreError::Backend("the backup path is not UTF-8".into()))?;
        // Its own connection: the pooled readers are query_only, which VACUUM INTO refuses, and
        // the writer must stay free for others.
        let conn = Connection::open(&self.path).map_err(backend)?;
        conn.busy_timeout(self.options.busy_timeout).map_err(backend)?;
        conn.execute("VACUUM INTO ?1", [target]).map(|_| ()).map_err(backend)
    }

    /// The file this database lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Rebuilds the quick-search index in its most compact form, refreshes the planner's
    /// statistics and folds the WAL back into the file (after a bulk load).
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    pub fn optimize(&self) -> StoreResult<()> {
        let conn = self.writer();
        conn.execute_batch(
            "INSERT INTO user_fts(user_fts) VALUES('optimize'); PRAGMA optimize; PRAGMA wal_checkpoint(TRUNCATE);",
        )
        .map_err(backend)
    }

    /// A read connection: an idle one, a new one while fewer than `Options::readers` are open,
    /// or the next one given back (waiting at most the busy timeout).
    fn reader(&self) -> StoreResult<Pooled> {
        let deadline = std::time::Instant::now() + self.options.busy_timeout;
        let mut pool = self.readers.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        loop {
            if let Some(c) = pool.idle.pop() {
                return Ok(c);
            }
            if pool.open < self.options.readers.max(1) {
                pool.open += 1;
                drop(pool);
                return self
                    .open_reader()
                    .map(|conn| Pooled { conn, pages: RefCell::default() })
                    .inspect_err(|_| self.forget_reader());
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Err(StoreError::Backend("every read connection is busy".into()));
            }
            pool.waiting += 1;
            pool = self
                .reader_freed
                .wait_timeout(pool, left)
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .0;
            pool.waiting -= 1;
        }
    }

    fn open_reader(&self) -> StoreResult<Connection> {
        let flags =
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
        let c = Connection::open_with_flags(&self.path, flags).map_err(backend)?;
        configure(&c, &self.options, true)?;
        Ok(c)
    }

    fn give_back(&self, reader: Pooled) {
        let mut pool = self.readers.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        pool.idle.push(reader);
        if pool.waiting > 0 {
            self.reader_freed.notify_one();
        }
    }

    /// A read connection was closed instead of given back.
    fn forget_reader(&self) {
        let mut pool = self.readers.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        pool.open = pool.open.saturating_sub(1);
        if pool.waiting > 0 {
            self.reader_freed.notify_one();
        }
    }

    /// The internal number of an account. Accounts are never deleted, so numbers read from
    /// committed state are cached; the writer may see an account its transaction has not
    /// committed yet, so what it reads is never cached.
    pub(crate) fn account_no(
        &self,
        conn: &Connection,
        account: AccountId,
        committed: bool,
    ) -> StoreResult<Option<i64>> {
        if let Some(no) = self.account_numbers.read().ok().and_then(|m| m.get(&account).copied()) {
            return Ok(Some(no));
        }
        let no = accounts::lookup_no(conn, account)?;
        if let (true, Some(no), Ok(mut m)) = (committed, no, self.account_numbers.write()) {
            m.insert(account, no);
        }
        Ok(no)
    }

    /// The writer connection outside any unit of work (maintenance, tests).
    fn writer(&self) -> writer::Exclusive<'_> {
        self.writer.exclusive()
    }
}

/// How much of the file connections map into memory by default (2 GiB).
const MMAP_SIZE: u64 = 1 << 31;

/// WAL pages after which a commit wakes the checkpoint thread (10,000 pages = 40 MB).
const WAL_CHECKPOINT_PAGES: u32 = 10_000;

/// The page cache of every connection (`PRAGMA cache_size`, negative = KiB).
pub(crate) const WRITER_CACHE: i64 = -32768;

fn configure(conn: &Connection, options: &Options, read_only: bool) -> StoreResult<()> {
    conn.busy_timeout(options.busy_timeout).map_err(backend)?;
    // The bundled SQLite has STAT4, which re-plans a cached statement whenever a bound value
    // changes: that cost 16% of every query. Plans stay fixed per statement instead.
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true).map_err(backend)?;
    conn.set_prepared_statement_cache_capacity(64);
    let sync = options.durability.pragma();
    // mmap: pages the OS already caches are read without a system call or a copy.
    // wal_autocheckpoint: a checkpoint copies every page the WAL holds; spacing them out means a
    // page written by many transactions is copied once, not once per transaction. (The writer
    // checkpoints this way only while it migrates; then the checkpoint thread takes over.)
    let cache = if read_only { -i64::from(options.reader_cache_kib) } else { WRITER_CACHE };
    let mut sql = format!(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous={sync}; PRAGMA foreign_keys=OFF; \
         PRAGMA temp_store=MEMORY; PRAGMA cache_size={cache}; PRAGMA mmap_size={}; \
         PRAGMA wal_autocheckpoint={};",
        options.mmap_size, options.wal_checkpoint_pages
    );
    if read_only {
        sql.push_str(" PRAGMA query_only=1;");
    }
    conn.execute_batch(&sql).map_err(backend)
}

/// A read connection with what it remembers of recent pages.
struct Pooled {
    conn: Connection,
    pages: RefCell<page_cache::PageCache>,
}

enum Held<'a> {
    Writer(writer::WriteLock<'a>),
    Reader(Option<Pooled>),
    /// A unit inside a batch: a savepoint on the batch's writer connection.
    Unit {
        conn: &'a Connection,
        live: &'a Cell<bool>,
        broken: &'a Cell<bool>,
        writable: bool,
        /// Whether the unit is a savepoint: every write unit, except in an optimistic batch.
        savepoint: bool,
        /// Whether the batch itself is a savepoint in a group's transaction.
        batch_savepoint: bool,
        /// Without a savepoint: the connection's `total_changes` when the unit began, plus what
        /// it wrote for earlier units. More at a rollback means the unit wrote: the batch must
        /// run again.
        baseline: Cell<u64>,
        /// The batch's "run again" flag.
        rerun: &'a Cell<bool>,
        /// The prefix counts the batch's committed units changed, written at the batch's commit.
        batch_counts: &'a RefCell<search::PendingCounts>,
        /// The search documents the batch's committed units inserted, not yet in FTS5.
        batch_fts: &'a RefCell<search::FtsQueue>,
        /// The batch's bulk load (indexes deferred to its commit).
        batch_bulk: &'a RefCell<bulk::BulkLoad>,
    },
}

/// A unit of work on one connection: `BEGIN IMMEDIATE` for writes, a deferred read transaction
/// (one snapshot) for reads. Dropped without commit, it rolls back.
pub struct SqliteTx<'a> {
    db: &'a SqliteDb,
    held: Held<'a>,
    open: bool,
    /// Prefix-count changes not yet written: at commit (a writer) or into the batch's (a unit).
    counts: RefCell<search::PendingCounts>,
    /// A write unit's search documents, not yet in FTS5 (see [`search::FtsQueue`]).
    fts: RefCell<Vec<(i64, String)>>,
    /// A writer's bulk load (a unit uses its batch's).
    bulk: RefCell<bulk::BulkLoad>,
}

impl SqliteTx<'_> {
    pub(crate) fn conn(&self) -> &Connection {
        match &self.held {
            Held::Writer(g) => g,
            Held::Reader(Some(r)) => &r.conn,
            Held::Unit { conn, .. } => conn,
            // The connection is only taken out in Drop.
            Held::Reader(None) => unreachable_conn(),
        }
    }

    /// Whether a savepoint is open on the connection (a batch unit's, or a group member's).
    /// Inside one, each statement that needs a statement journal costs SQLite a walk over
    /// everything the savepoint has journaled when the statement ends.
    pub(crate) fn savepoint_open(&self) -> bool {
        match &self.held {
            Held::Writer(lock) => lock.is_savepoint(),
            Held::Unit { savepoint, batch_savepoint, .. } => *savepoint || *batch_savepoint,
            Held::Reader(_) => false,
        }
    }

    /// The page cache of a read connection (writers have none).
    pub(crate) fn page_cache(&self) -> Option<&RefCell<page_cache::PageCache>> {
        match &self.held {
            Held::Reader(Some(r)) => Some(&r.pages),
            _ => None,
        }
    }

    pub(crate) fn writable(&self) -> StoreResult<()> {
        match self.held {
            Held::Writer(_) | Held::Unit { writable: true, .. } => Ok(()),
            Held::Reader(_) | Held::Unit { writable: false, .. } => Err(StoreError::ReadOnly),
        }
    }

    pub(crate) fn no(&self, account: AccountId) -> StoreResult<Option<i64>> {
        self.db.account_no(self.conn(), account, matches!(self.held, Held::Reader(_)))
    }

    /// The transaction's bulk load: the batch's for a unit.
    pub(crate) fn bulk(&self) -> &RefCell<bulk::BulkLoad> {
        match &self.held {
            Held::Unit { batch_bulk, .. } => batch_bulk,
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
            Held::Unit { batch_counts, .. } => batch_counts.borrow().get(no, class, tier, prefix),
            _ => 0,
        };
        batch + self.counts.borrow().get(no, class, tier, prefix)
    }

    /// Inserts a search document; a batch's write unit queues it (see [`search::FtsQueue`]).
    pub(crate) fn fts_insert(&self, uid: i64, document: String) -> StoreResult<()> {
        match &self.held {
            Held::Unit { writable: true, .. } => {
                self.fts.borrow_mut().push((uid, document));
                Ok(())
            }
            _ => search::index(self.conn(), uid, &document),
        }
    }

    /// Writes the queued search documents before the index is read or changed. A failure
    /// breaks the batch: rows may be half written.
    pub(crate) fn fts_sync(&self) -> StoreResult<()> {
        let Held::Unit { batch_fts, savepoint, baseline, broken, .. } = &self.held else {
            return Ok(());
        };
        let write = || -> StoreResult<()> {
            let mut queue = batch_fts.borrow_mut();
            if !queue.written && !queue.is_empty() {
                let before = self.conn().total_changes();
                queue.write(self.conn(), !self.savepoint_open())?;
                if *savepoint {
                    // Inside this unit's savepoint: kept if it commits, queued again if not.
                    queue.written = true;
                } else {
                    // No savepoint (a read unit, or a write unit of an optimistic batch): they
                    // are in the batch's transaction now, and not this unit's writes.
                    queue.clear();
                    baseline.set(baseline.get() + (self.conn().total_changes() - before));
                }
            }
            for (uid, document) in self.fts.borrow_mut().drain(..) {
                search::index(self.conn(), uid, &document)?;
            }
            Ok(())
        };
        write().inspect_err(|_| broken.set(true))
    }

    /// The account's number, for writes: a write to an unknown account is a bug upstream.
    pub(crate) fn no_for_write(&self, account: AccountId) -> StoreResult<i64> {
        self.writable()?;
        self.no(account)?.ok_or_else(|| StoreError::Backend(format!("unknown account {account}")))
    }
}

#[allow(clippy::panic)]
fn unreachable_conn() -> &'static Connection {
    // Held::Reader(None) exists only during Drop, after which conn() is never called.
    panic!("connection used after release")
}

impl Drop for SqliteTx<'_> {
    fn drop(&mut self) {
        if self.open {
            match &mut self.held {
                Held::Writer(lock) => {
                    lock.rollback();
                    // Rolled back, indexes included; only the page cache is left to reset.
                    let _ = self.bulk.borrow_mut().end(lock);
                }
                Held::Unit { conn, broken, savepoint: true, batch_bulk, .. } => {
                    // A unit that could not be undone leaves its writes in the batch: the batch
                    // must not commit them.
                    if run(conn, UNIT_ROLLBACK).is_err() {
                        broken.set(true);
                    }
                    // Departments it read or wrote may be other than the batch's now.
                    batch_bulk.borrow_mut().forget_departments();
                }
                Held::Unit { conn, broken, savepoint: false, baseline, rerun, .. } => {
                    // Nothing to roll back to: if the unit wrote, the batch holds writes it must
                    // not keep, and only running it again (with savepoints) helps.
                    if conn.total_changes() != baseline.get() {
                        rerun.set(true);
                        broken.set(true);
                    }
                }
                Held::Reader(_) => {
                    let _ = run(self.conn(), &["ROLLBACK"]);
                }
            }
        }
        if let Held::Unit { live, batch_fts, .. } = &self.held {
            if self.open {
                // Rolled back: whatever this unit wrote of the queue is unwritten again.
                batch_fts.borrow_mut().written = false;
            }
            live.set(false);
        }
        if let Held::Reader(conn) = &mut self.held {
            // Only a connection that is back in autocommit mode (no snapshot held) is reused.
            match conn.take() {
                Some(r) if r.conn.is_autocommit() => self.db.give_back(r),
                Some(_) => self.db.forget_reader(),
                None => {}
            }
        }
    }
}

impl Tx for SqliteTx<'_> {
    fn commit(mut self: Box<Self>) -> StoreResult<()> {
        if self.open {
            if let Held::Writer(lock) = &mut self.held {
                // Still inside the transaction: a failure here leaves it to roll back in Drop.
                self.counts.borrow_mut().flush(lock)?;
                self.bulk.borrow_mut().finish(lock)?;
                let group = lock.commit()?;
                self.open = false;
                // Hands the connection on (or commits), then waits for the group's commit.
                drop(self);
                return group.wait();
            }
            let sql: &[&str] = match self.held {
                Held::Writer(_) | Held::Reader(_) => &["ROLLBACK"],
                Held::Unit { savepoint: true, .. } => UNIT_RELEASE,
                Held::Unit { savepoint: false, .. } => &[],
            };
            if let Err(e) = run(self.conn(), sql) {
                if let Held::Unit { broken, .. } = &self.held {
                    broken.set(true);
                }
                return Err(backend(e));
            }
            if let Held::Unit { conn, batch_counts, batch_fts, .. } = &self.held {
                batch_counts.borrow_mut().merge(self.counts.take());
                let mut queue = batch_fts.borrow_mut();
                if queue.written {
                    queue.clear();
                }
                queue.append(conn, &mut self.fts.borrow_mut(), self.db.options.side_index_docs);
            }
        }
        self.open = false;
        Ok(())
    }
}

// A write unit in a batch is a savepoint; a read unit needs none (it cannot write), which
// matters: every savepoint makes FTS5 flush its pending terms.
const UNIT_BEGIN: &[&str] = &["SAVEPOINT batch_unit"];
const UNIT_RELEASE: &[&str] = &["RELEASE batch_unit"];
const UNIT_ROLLBACK: &[&str] = &["ROLLBACK TO batch_unit", "RELEASE batch_unit"];

/// Runs statements through the connection's statement cache (no parsing after the first time).
fn run(conn: &Connection, sqls: &[&str]) -> rusqlite::Result<()> {
    for sql in sqls {
        conn.prepare_cached(sql)?.execute([])?;
    }
    Ok(())
}

/// A batch (see [`Database::batch`]): one `BEGIN IMMEDIATE` on the writer (or a savepoint in a
/// group's transaction), a savepoint per write unit, one commit for all of them. An optimistic
/// batch ([`Database::optimistic_batch`]) gives its write units no savepoint and notices, from
/// the connection's change count, a unit that is rolled back after writing.
pub struct SqliteBatch<'a> {
    db: &'a SqliteDb,
    guard: writer::WriteLock<'a>,
    unit_live: Cell<bool>,
    /// The prefix-count changes of the units committed so far, written once at the commit.
    counts: RefCell<search::PendingCounts>,
    /// The search documents of the units committed so far, written before they are read and
    /// at the commit.
    fts: RefCell<search::FtsQueue>,
    /// The bulk load of the batch's units: indexes deferred to the commit.
    bulk: RefCell<bulk::BulkLoad>,
    /// Set when a unit could not be undone or released: nothing more runs, nothing commits.
    broken: Cell<bool>,
    /// Whether write units are savepoints (see [`Database::optimistic_batch`]).
    savepoints: bool,
    /// Set when a write unit without a savepoint was rolled back after writing.
    rerun: Cell<bool>,
    open: bool,
}

impl SqliteBatch<'_> {
    /// The batch's transaction is gone (SQLite rolls a transaction back by itself on a full
    /// disk, an I/O error or out of memory) or a unit failed to undo: refuse to go on, or a
    /// later unit would open and commit a transaction of its own.
    fn usable(&self) -> StoreResult<()> {
        if self.rerun.get() {
            return Err(StoreError::Backend(
                "a unit of the batch failed after writing; run the batch again".into(),
            ));
        }
        if self.broken.get() || self.guard.is_autocommit() {
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
            if let Err(e) = run(&self.guard, UNIT_BEGIN) {
                self.unit_live.set(false);
                return Err(backend(e));
            }
        }
        Ok(Box::new(SqliteTx {
            db: self.db,
            held: Held::Unit {
                conn: &self.guard,
                live: &self.unit_live,
                broken: &self.broken,
                writable,
                savepoint,
                batch_savepoint: self.guard.is_savepoint(),
                baseline: Cell::new(self.guard.total_changes()),
                rerun: &self.rerun,
                batch_counts: &self.counts,
                batch_fts: &self.fts,
                batch_bulk: &self.bulk,
            },
            open: writable,
            counts: RefCell::default(),
            fts: RefCell::default(),
            bulk: RefCell::default(),
        }))
    }
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
        // A side index (see `side_index`) merges its segment while the deferred indexes are
        // built, then is grafted.
        self.fts.borrow_mut().seal();
        self.counts.borrow_mut().flush(&self.guard)?;
        self.bulk.borrow_mut().finish(&self.guard)?;
        self.fts.borrow_mut().write(&self.guard, !self.guard.is_savepoint())?;
        self.usable()?;
        let group = self.guard.commit()?;
        self.open = false;
        // Hands the connection on (or commits), then waits for the group's commit.
        drop(self);
        group.wait()
    }
}

impl Drop for SqliteBatch<'_> {
    fn drop(&mut self) {
        if self.open {
            self.guard.rollback();
            let _ = self.bulk.borrow_mut().end(&self.guard);
        }
    }
}

impl SqliteDb {
    fn begin_batch(&self, savepoints: bool) -> StoreResult<SqliteBatch<'_>> {
        let guard = self.writer.begin()?;
        Ok(SqliteBatch {
            db: self,
            guard,
            unit_live: Cell::new(false),
            counts: RefCell::default(),
            fts: RefCell::default(),
            bulk: RefCell::default(),
            broken: Cell::new(false),
            savepoints,
            rerun: Cell::new(false),
            open: true,
        })
    }
}

impl Database for SqliteDb {
    fn read(&self) -> StoreResult<Box<dyn Tx + '_>> {
        let reader = self.reader()?;
        reader.conn.prepare_cached("BEGIN").and_then(|mut s| s.execute([])).map_err(backend)?;
        Ok(Box::new(SqliteTx {
            db: self,
            held: Held::Reader(Some(reader)),
            open: true,
            counts: RefCell::default(),
            fts: RefCell::default(),
            bulk: RefCell::default(),
        }))
    }

    fn write(&self) -> StoreResult<Box<dyn Tx + '_>> {
        Ok(Box::new(SqliteTx {
            db: self,
            held: Held::Writer(self.writer.begin()?),
            open: true,
            counts: RefCell::default(),
            fts: RefCell::default(),
            bulk: RefCell::default(),
        }))
    }

    fn batch(&self) -> StoreResult<Box<dyn Batch + '_>> {
        Ok(Box::new(self.begin_batch(true)?))
    }

    /// Write units without savepoints: REST batches of 50 `user.add` run ~1.17x as fast, most of
    /// the difference being the pages a savepoint copies before a unit first changes them.
    fn optimistic_batch(&self) -> StoreResult<Box<dyn Batch + '_>> {
        Ok(Box::new(self.begin_batch(false)?))
    }
}

#[cfg(test)]
mod batch_tests {
    use super::*;

    /// SQLite may roll a whole transaction back by itself (full disk, I/O error): a batch must
    /// then refuse every later unit and its commit, not let a unit open and commit a
    /// transaction of its own.
    #[test]
    fn a_batch_whose_transaction_vanished_commits_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let db = SqliteDb::open(dir.path().join("c.db")).unwrap();
        let batch = db.begin_batch(true).unwrap();
        drop(batch.write().unwrap());
        // What SQLite does on SQLITE_FULL: the transaction is gone.
        batch.guard.execute_batch("ROLLBACK").unwrap();
        assert!(batch.write().is_err(), "no unit after the transaction is lost");
        assert!(batch.read().is_err());
        assert!(Box::new(batch).commit().is_err(), "and no commit");
        // The database is usable afterwards.
        assert!(db.write().unwrap().commit().is_ok());
    }

    /// In an optimistic batch a write unit has no savepoint: dropping one that wrote nothing of
    /// its own (here a `FIND`, which first writes the search documents the batch's earlier
    /// units queued) leaves the batch usable; dropping one that wrote makes it run again.
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
        let batch = db.begin_batch(false).unwrap();
        let ctx = profile_core::usecase::Ctx { db: &batch, ..f.ctx() };
        let fields = patch(&[
            (UserField::Email, "zeb@example.com"),
            (UserField::Name, "Zebulon"),
            (UserField::UfDepartment, "1"),
        ]);
        let role = profile_core::model::user::Role::Employee;
        create_user(ctx, &f.admin, NewUser { role, fields, workgroups: vec![] }).unwrap();
        assert_eq!(batch.fts.borrow().rows.len(), 1, "its search document waits for the commit");
        {
            let unit = batch.write().unwrap();
            let found = unit.query_users(f.account, &zeb, Audience::Everyone).unwrap();
            assert_eq!(found.items.len(), 1, "found through the documents written for the search");
        }
        assert!(batch.fts.borrow().rows.is_empty(), "written, and not queued again");
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
