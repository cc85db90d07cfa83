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
mod batch;
mod bulk;
mod codec;
mod content;
mod credentials;
mod custom;
mod departments;
mod error;
mod hr;
mod identities;
mod images;
mod invitations;
mod messages;
mod read_session;
mod schema;
mod search;
mod sessions;
mod tables;
mod tx;
mod user_pages;
mod user_query;
mod users;
mod workgroups;
mod writer;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::time::Duration;

use profile_core::ids::AccountId;
use profile_core::ports::{Batch, Database, StoreResult, Tx};
use profile_core::StoreError;
use rusqlite::{Connection, OpenFlags};

pub use batch::SqliteBatch;
pub use schema::SCHEMA_VERSION;
pub use tables::{Stored, TableSnapshot};
pub use tx::SqliteTx;

use crate::error::backend;
use crate::tx::Held;

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
    /// WAL pages after which the commit that crosses them copies the WAL into the file (a
    /// checkpoint). Fewer pages keep the WAL small; more copy a page that many transactions
    /// change once instead of once per transaction.
    pub wal_checkpoint_pages: u32,
    /// How much memory the query cache may hold, MiB (what recent user queries found, so that
    /// offset paging reads each page without re-skipping the ones before it).
    pub query_cache_mib: usize,
    /// How long a read unit of work may run (`Database::read`); past it, its statement is
    /// interrupted and the unit fails with [`StoreError::Overloaded`]. `None`: no limit (the
    /// CLI's default: an export reads for as long as it takes); `serve` sets one.
    pub read_budget: Option<Duration>,
    /// The speed paths.
    pub speed: Speed,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            durability: Durability::Full,
            readers: 8,
            busy_timeout: Duration::from_secs(5),
            mmap_size: MMAP_SIZE,
            reader_cache_kib: 4096,
            wal_checkpoint_pages: WAL_CHECKPOINT_PAGES,
            query_cache_mib: 64,
            read_budget: None,
            speed: Speed::default(),
        }
    }
}

/// The store's speed paths. Each only makes work faster: with every one of them off the store
/// gives the same answers and keeps the same guarantees, which the contract and property
/// suites check by running both ways (and with each forced on at tiny thresholds). All are on
/// by default.
#[derive(Debug, Clone)]
pub struct Speed {
    /// Writers that finish while others queue for the connection share one commit (`writer`).
    pub group_commit: bool,
    /// [`Database::optimistic_batch`] gives its write units no savepoints.
    pub optimistic_batches: bool,
    /// Bulk loads build the indexes their rows reach out of order once, at the commit, instead
    /// of row by row (`bulk`); `None`: never.
    pub bulk_defer: Option<BulkDefer>,
}

/// When a transaction's bulk inserts defer their indexes (see [`Speed::bulk_defer`]).
#[derive(Debug, Clone, Copy)]
pub struct BulkDefer {
    /// Once they reach this many users…
    pub rows: u64,
    /// …and at least the table's users divided by this (0: whatever the table holds).
    pub of_table: u64,
}

impl Default for Speed {
    fn default() -> Self {
        Speed {
            group_commit: true,
            optimistic_batches: true,
            bulk_defer: Some(BulkDefer { rows: 20_000, of_table: 4 }),
        }
    }
}

impl Speed {
    /// Every speed path off: the plain store.
    pub fn none() -> Speed {
        Speed { group_commit: false, optimistic_batches: false, bulk_defer: None }
    }

    /// Reads `all`, `none`, or `without:` and a comma-separated list of the paths to turn off
    /// (`group`, `optimistic`, `defer`): how benchmarks compare them.
    ///
    /// # Errors
    /// A message naming what is not understood.
    pub fn parse(spec: &str) -> Result<Speed, String> {
        match spec {
            "all" => return Ok(Speed::default()),
            "none" => return Ok(Speed::none()),
            _ => {}
        }
        let paths = spec.strip_prefix("without:").ok_or_else(|| format!("unknown speed setting {spec:?}"))?;
        let mut speed = Speed::default();
        for path in paths.split(',') {
            match path {
                "group" => speed.group_commit = false,
                "optimistic" => speed.optimistic_batches = false,
                "defer" => speed.bulk_defer = None,
                other => return Err(format!("unknown speed path {other:?}")),
            }
        }
        Ok(speed)
    }

    /// Every speed path on at its smallest threshold, so that tests of a few users take them.
    pub fn forced() -> Speed {
        Speed {
            group_commit: true,
            optimistic_batches: true,
            bulk_defer: Some(BulkDefer { rows: 1, of_table: 0 }),
        }
    }
}

/// A Cardfile database in one SQLite file (plus its `-wal` and `-shm` companions).
pub struct SqliteDb {
    path: PathBuf,
    options: Options,
    pub(crate) writer: writer::Writer,
    readers: Mutex<Readers>,
    reader_freed: Condvar,
    account_numbers: RwLock<HashMap<AccountId, i64>>,
    pub(crate) query_cache: store_common::query_cache::QueryCache,
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
        let grouping = options.speed.group_commit;
        let query_cache = store_common::query_cache::QueryCache::new(options.query_cache_mib << 20);
        Ok(SqliteDb {
            path,
            options,
            writer: writer::Writer::new(writer, grouping),
            readers: Mutex::new(Readers { idle: Vec::new(), open: 0, waiting: 0 }),
            reader_freed: Condvar::new(),
            account_numbers: RwLock::new(HashMap::new()),
            query_cache,
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

    /// Rebuilds the quick-search index and its prefix counts from the users table, in one write
    /// transaction (readers keep answering from their snapshots meanwhile); returns how many
    /// users were indexed.
    ///
    /// # Errors
    /// [`StoreError::Backend`]; then nothing changed.
    pub fn reindex(&self) -> StoreResult<u64> {
        let conn = self.writer();
        conn.execute_batch("BEGIN IMMEDIATE").map_err(backend)?;
        let indexed = search::rebuild(&conn);
        let end = if indexed.is_ok() { "COMMIT" } else { "ROLLBACK" };
        let ended = conn.execute_batch(end).map_err(backend);
        if ended.is_err() && !conn.is_autocommit() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        let indexed = indexed?;
        ended.map(|()| indexed)
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
                return self.open_reader().inspect_err(|_| self.forget_reader());
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Err(StoreError::Overloaded("every read connection is busy".into()));
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

    fn open_reader(&self) -> StoreResult<Pooled> {
        let flags =
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
        let mut conn = Connection::open_with_flags(&self.path, flags).map_err(backend)?;
        configure(&conn, &self.options, true)?;
        let deadline = Arc::new(AtomicU64::new(NO_DEADLINE));
        let watched = Arc::clone(&deadline);
        // SQLite calls it every PROGRESS_STEPS virtual-machine steps (tens of microseconds);
        // `true` interrupts the running statement.
        conn.progress_handler(
            PROGRESS_STEPS,
            Some(move || {
                let d = watched.load(Ordering::Relaxed);
                d != NO_DEADLINE && since_start() > d
            }),
        )
        .map_err(backend)?;
        Ok(Pooled { conn, deadline })
    }

    pub(crate) fn give_back(&self, reader: Pooled) {
        let mut pool = self.readers.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        pool.idle.push(reader);
        if pool.waiting > 0 {
            self.reader_freed.notify_one();
        }
    }

    /// A read connection was closed instead of given back.
    pub(crate) fn forget_reader(&self) {
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

/// WAL pages after which a commit checkpoints (10,000 pages = 40 MB).
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
    // page written by many transactions is copied once, not once per transaction.
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

/// A pooled read connection.
pub(crate) struct Pooled {
    pub(crate) conn: Connection,
    /// When the unit of work it serves must end: nanoseconds past [`since_start`]'s start, or
    /// [`NO_DEADLINE`].
    deadline: Arc<AtomicU64>,
}

impl Pooled {
    /// Sets how long the unit of work starting now may run (`None`: as long as it takes).
    pub(crate) fn limit(&self, budget: Option<Duration>) {
        let d = budget.map_or(NO_DEADLINE, |b| since_start().saturating_add(b.as_nanos() as u64).max(1));
        self.deadline.store(d, Ordering::Relaxed);
    }
}

/// The steps between two looks at a read's deadline.
const PROGRESS_STEPS: std::os::raw::c_int = 10_000;

/// A deadline that is never reached.
const NO_DEADLINE: u64 = 0;

/// Nanoseconds since the first call in this process (a monotonic clock that fits a `u64`).
fn since_start() -> u64 {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    START.get_or_init(std::time::Instant::now).elapsed().as_nanos() as u64
}

impl Database for SqliteDb {
    fn read(&self) -> StoreResult<Box<dyn Tx + '_>> {
        let reader = self.reader()?;
        reader.limit(self.options.read_budget);
        reader.conn.prepare_cached("BEGIN").and_then(|mut s| s.execute([])).map_err(backend)?;
        Ok(Box::new(SqliteTx::new(self, Held::Reader(reader), true)))
    }

    fn write(&self) -> StoreResult<Box<dyn Tx + '_>> {
        Ok(Box::new(SqliteTx::new(self, Held::Writer(self.writer.begin()?), true)))
    }

    fn read_session(&self) -> Option<StoreResult<Box<dyn Database + '_>>> {
        Some(read_session::ReadSession::begin(self).map(|s| Box::new(s) as Box<dyn Database + '_>))
    }

    fn batch(&self) -> StoreResult<Box<dyn Batch + '_>> {
        Ok(Box::new(SqliteBatch::begin(self, true)?))
    }

    /// Write units without savepoints (when `Speed::optimistic_batches` is on): REST batches of
    /// 50 `user.add` run ~1.17x as fast, most of the difference being the pages a savepoint
    /// copies before a unit first changes them.
    fn optimistic_batch(&self) -> StoreResult<Box<dyn Batch + '_>> {
        Ok(Box::new(SqliteBatch::begin(self, !self.options.speed.optimistic_batches)?))
    }
}
