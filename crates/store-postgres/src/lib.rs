//! Cardfile's scale-out store: every `profile-core` port on PostgreSQL, with the behaviour of
//! the SQLite store (the same contract and property suites hold both).
//!
//! What it never does: decide anything. Business rules live in `profile-core`.
//!
//! Key decisions:
//! - tokio-postgres, bridged to the synchronous ports by a small runtime per connection, with
//!   an r2d2 pool. One query costs the same as with the synchronous `postgres` client (75–99 µs
//!   on one connection, measured), but messages can share a round trip: a read's `BEGIN` and
//!   end go out with its statements (see `conn`). Calls block, so HTTP runs every call on the
//!   blocking pool.
//! - The tables are those of the SQLite store, column for column (`cardfile migrate` copies
//!   and checks them one by one); users of every account share one table keyed by
//!   `uid = account_no << 32 | id`, and every statement on an account's data is bounded by
//!   its number.
//! - Writers are serialised by a transaction-level advisory lock, across every process on the
//!   database: each use case then judges what it reads exactly as on SQLite's one writer.
//!   Reads run in `REPEATABLE READ READ ONLY` transactions: one snapshot per unit of work.
//! - Quick search: the search words `profile-core` makes, as a tsvector (`array_to_tsvector`,
//!   so PostgreSQL neither splits nor folds them) under a GIN index, searched by prefix.
//! - Offset paging through the process's query cache (`store_common::query_cache`), checked against
//!   the account's `query_versions` row in the reader's own snapshot.

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::todo))]

mod accounts;
mod batch;
mod codec;
mod conn;
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
mod schema;
mod search;
mod sessions;
mod transfer;
mod tx;
mod user_pages;
mod user_query;
mod users;
mod workgroups;

#[cfg(feature = "testing")]
pub mod testing;

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::Duration;

use profile_core::ids::AccountId;
use profile_core::ports::{Batch, Database, StoreResult, Tx};
use profile_core::StoreError;

pub use batch::PgBatch;
pub use schema::SCHEMA_VERSION;
pub use transfer::{Checksum, Column, Encoded, Encoder, Summer, TableCopy, TABLES};
pub use tx::PgTx;

use crate::conn::{Manager, PgConn};
use crate::error::backend;

type Pooled = r2d2::PooledConnection<Manager>;

/// Options for [`PgDb::open_with`].
#[derive(Debug, Clone)]
pub struct Options {
    /// Connections the pool keeps open at most.
    pub connections: u32,
    /// How long a unit of work waits for a connection, or for the writers' lock, before failing.
    pub wait: Duration,
    /// How much memory the query cache may hold, MiB.
    pub query_cache_mib: usize,
    /// How long a statement of a read unit of work may run (`statement_timeout`); past it, the
    /// unit fails with [`StoreError::Overloaded`]. `None`: no limit (the CLI's default).
    pub read_budget: Option<Duration>,
}

impl Default for Options {
    fn default() -> Self {
        Options { connections: 16, wait: Duration::from_secs(10), query_cache_mib: 64, read_budget: None }
    }
}

/// Every port on one PostgreSQL database.
pub struct PgDb {
    pool: r2d2::Pool<Manager>,
    account_numbers: RwLock<HashMap<AccountId, i64>>,
    pub(crate) query_cache: store_common::query_cache::QueryCache,
    options: Options,
    /// See [`PgDb::read_begin`].
    read_begin: String,
    /// The database's address without its password, for messages.
    shown: String,
}

impl std::fmt::Debug for PgDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgDb").field("db", &self.shown).finish_non_exhaustive()
    }
}

/// Whether `url` names a PostgreSQL database (`postgres://` or `postgresql://`).
pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// The database `url` names as libpq's environment (`PGHOST`, `PGPORT`, `PGUSER`, `PGDATABASE`
/// and `PGPASSWORD`: `password`, else the URL's), for PostgreSQL's own programs: a password
/// then never stands on a command line, which every user of the machine can read.
///
/// # Errors
/// When `url` is not a PostgreSQL address.
pub fn libpq_environment(url: &str, password: Option<&str>) -> Result<Vec<(&'static str, String)>, String> {
    let config: tokio_postgres::Config =
        url.parse().map_err(|e| format!("is not a PostgreSQL address: {e}"))?;
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .map(|h| match h {
            tokio_postgres::config::Host::Tcp(h) => h.clone(),
            #[cfg(unix)]
            tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
        })
        .collect();
    let ports: Vec<String> = config.get_ports().iter().map(u16::to_string).collect();
    let mut env = Vec::new();
    for (name, value) in [
        ("PGHOST", Some(hosts.join(","))),
        ("PGPORT", Some(ports.join(","))),
        ("PGUSER", config.get_user().map(str::to_string)),
        ("PGDATABASE", config.get_dbname().map(str::to_string)),
        (
            "PGPASSWORD",
            password
                .map(str::to_string)
                .or_else(|| config.get_password().map(|p| String::from_utf8_lossy(p).into_owned())),
        ),
    ] {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            env.push((name, v));
        }
    }
    Ok(env)
}

/// The database `url` names, for messages: `postgres://user@host:port/db`, never a password
/// (wherever the URL holds one).
pub fn display_url(url: &str) -> String {
    url.parse::<tokio_postgres::Config>()
        .map_or_else(|_| "postgres://(unreadable address)".into(), |c| shown(&c))
}

/// Checks that `url` reads as a PostgreSQL address, without connecting.
///
/// # Errors
/// What is wrong with it (the message never repeats the URL, which may hold a password).
pub fn check_url(url: &str) -> Result<(), String> {
    url.parse::<tokio_postgres::Config>().map(|_| ()).map_err(|e| format!("is not a PostgreSQL address: {e}"))
}

/// Where PostgreSQL's own program `name` is (`pg_dump`, `initdb` …): in `CARDFILE_PG_BINDIR`,
/// else in the newest Debian `/usr/lib/postgresql/*/bin` that has it, else on `PATH`.
pub fn program(name: &str) -> std::path::PathBuf {
    if let Some(dir) = std::env::var_os("CARDFILE_PG_BINDIR") {
        return std::path::PathBuf::from(dir).join(name);
    }
    let mut found: Vec<(u32, std::path::PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version: u32 = e.file_name().to_str()?.parse().ok()?;
            let path = e.path().join("bin").join(name);
            path.exists().then_some((version, path))
        })
        .collect();
    found.sort();
    found.pop().map_or_else(|| std::path::PathBuf::from(name), |(_, p)| p)
}

/// Whether the database at `url` holds any table (before anything opens it, which would create
/// the schema in an empty one).
///
/// # Errors
/// [`StoreError::Backend`] when it cannot be reached.
pub fn holds_tables(url: &str, password: Option<&str>) -> StoreResult<bool> {
    let mut config: tokio_postgres::Config =
        url.parse().map_err(|e| StoreError::Backend(format!("not a PostgreSQL address: {e}")))?;
    if let (None, Some(p)) = (config.get_password(), password) {
        config.password(p);
    }
    let mut conn = PgConn::connect(&config)?;
    let row = conn
        .query_one("SELECT EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = current_schema())", &[])
        .map_err(backend)?;
    row.try_get(0).map_err(backend)
}

impl PgDb {
    /// Opens the database at `url` with default options, creating or migrating the schema.
    ///
    /// # Errors
    /// As [`PgDb::open_with`].
    pub fn open(url: &str) -> StoreResult<PgDb> {
        PgDb::open_with(url, None, Options::default())
    }

    /// Opens the database at `url` (`postgres://user@host:port/db`; a password in the URL, or
    /// `password`, or libpq's `PGPASSWORD`), creating the schema in an empty database and
    /// migrating an older one; a database of another program or of a newer Cardfile is refused
    /// before anything is written.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the server cannot be reached or refuses the login,
    /// [`StoreError::Incompatible`] for a foreign or newer schema.
    pub fn open_with(url: &str, password: Option<&str>, options: Options) -> StoreResult<PgDb> {
        let mut config: tokio_postgres::Config =
            url.parse().map_err(|e| StoreError::Backend(format!("not a PostgreSQL address: {e}")))?;
        // (The driver's parse errors name the part that is wrong, never the password.)
        if config.get_password().is_none() {
            if let Some(p) = password.map(str::to_string).or_else(|| std::env::var("PGPASSWORD").ok()) {
                config.password(p);
            }
        }
        config.connect_timeout(options.wait);
        config.application_name("cardfile");
        let shown = shown(&config);
        let pool = r2d2::Pool::builder()
            .max_size(options.connections)
            .min_idle(Some(0))
            .connection_timeout(options.wait)
            .test_on_check_out(false)
            .idle_timeout(Some(conn::IDLE_TIMEOUT))
            .build_unchecked(Manager { config });
        let read_begin = match options.read_budget {
            // Sent with the first statement, so the budget costs no round trip.
            Some(b) => format!("{}; SET LOCAL statement_timeout = {}", tx::READ_BEGIN, b.as_millis().max(1)),
            None => tx::READ_BEGIN.to_string(),
        };
        let db = PgDb {
            pool,
            account_numbers: RwLock::default(),
            query_cache: store_common::query_cache::QueryCache::new(options.query_cache_mib << 20),
            options,
            read_begin,
            shown,
        };
        let from = schema::migrate(&mut *db.connection()?)?;
        if schema::needs_new_words(from) {
            db.reindex()?;
        }
        Ok(db)
    }

    pub(crate) fn connection(&self) -> StoreResult<Pooled> {
        self.pool
            .get()
            .map_err(|e| StoreError::Backend(format!("PostgreSQL at {} cannot be reached: {e}", self.shown)))
    }

    /// What a read unit of work starts with: its snapshot, and its time budget.
    pub(crate) fn read_begin(&self) -> &str {
        &self.read_begin
    }

    /// How long a writer waits for the writers' lock.
    pub(crate) fn wait(&self) -> Duration {
        self.options.wait
    }

    /// Rebuilds every user's search words (after a change to the words users are found by,
    /// or after `cardfile migrate`); returns how many users were indexed.
    ///
    /// # Errors
    /// [`StoreError`] when the transaction fails; then nothing changed.
    pub fn reindex(&self) -> StoreResult<u64> {
        let tx = PgTx::begin_write(self)?;
        let n = search::rebuild(&tx)?;
        Box::new(tx).commit()?;
        Ok(n)
    }

    /// The server's certificate and key (PEM) kept under `name`, if any.
    ///
    /// # Errors
    /// On a failure of the server.
    pub fn certificate(&self, name: &str) -> StoreResult<Option<(String, String)>> {
        let tx = PgTx::begin_read(self)?;
        let row =
            tx.query_opt("SELECT certificate, key FROM server_certificate WHERE name = $1", &[&name])?;
        row.map(|r| Ok((codec::get(&r, 0)?, codec::get(&r, 1)?))).transpose()
    }

    /// Keeps a certificate and key under `name` unless one is kept already (another process
    /// made one first); returns the one kept.
    ///
    /// # Errors
    /// On a failure of the server.
    pub fn keep_certificate(
        &self,
        name: &str,
        certificate: &str,
        key: &str,
        now: i64,
    ) -> StoreResult<(String, String)> {
        let tx = PgTx::begin_write(self)?;
        tx.execute(
            "INSERT INTO server_certificate (name, certificate, key, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (name) DO NOTHING",
            &[&name, &certificate, &key, &now],
        )?;
        let r = tx.query_one("SELECT certificate, key FROM server_certificate WHERE name = $1", &[&name])?;
        let kept = (codec::get(&r, 0)?, codec::get(&r, 1)?);
        Box::new(tx).commit()?;
        Ok(kept)
    }

    /// The internal number of an account. Accounts are never deleted, so numbers read from
    /// committed state (a reader's snapshot) are cached; a writer may see an account its
    /// transaction has not committed yet, so what it reads is never cached.
    pub(crate) fn account_no(&self, tx: &PgTx<'_>, account: AccountId) -> StoreResult<Option<i64>> {
        if let Some(no) = self.account_numbers.read().ok().and_then(|m| m.get(&account).copied()) {
            return Ok(Some(no));
        }
        let no = accounts::lookup_no(tx, account)?;
        if let (true, Some(no), Ok(mut m)) = (tx.is_reader(), no, self.account_numbers.write()) {
            m.insert(account, no);
        }
        Ok(no)
    }
}

/// `user@host:port/db` of a configuration, without the password.
fn shown(config: &tokio_postgres::Config) -> String {
    let host = config
        .get_hosts()
        .first()
        .map(|h| match h {
            tokio_postgres::config::Host::Tcp(h) => h.clone(),
            #[cfg(unix)]
            tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
        })
        .unwrap_or_default();
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!(
        "postgres://{}@{host}:{port}/{}",
        config.get_user().unwrap_or_default(),
        config.get_dbname().unwrap_or_default()
    )
}

impl Database for PgDb {
    fn read(&self) -> StoreResult<Box<dyn Tx + '_>> {
        Ok(Box::new(tx::PgTx::begin_read(self)?))
    }

    fn write(&self) -> StoreResult<Box<dyn Tx + '_>> {
        Ok(Box::new(tx::PgTx::begin_write(self)?))
    }

    fn batch(&self) -> StoreResult<Box<dyn Batch + '_>> {
        Ok(Box::new(PgBatch::begin(self)?))
    }
}

/// Runs `sql` (statements without parameters) on a connection.
pub(crate) fn run(conn: &mut PgConn, sql: &str) -> StoreResult<()> {
    conn.batch(sql).map_err(backend)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_never_leaves_the_url() {
        for url in [
            "postgres://bob:s3cr%40t@db:5432/cf",
            "postgres://bob@db:5432/cf?password=s3cr@t",
            "postgres://bob:s3cr/t@db:5432/cf",
        ] {
            let shown = display_url(url);
            assert!(!shown.contains("s3cr"), "{url} -> {shown}");
            let env = libpq_environment(url, None).unwrap();
            let password = env.iter().find(|(k, _)| *k == "PGPASSWORD").map(|(_, v)| v.as_str());
            assert!(password.is_some_and(|p| p.starts_with("s3cr")), "{url}: {env:?}");
            assert!(env.iter().filter(|(k, _)| *k != "PGPASSWORD").all(|(_, v)| !v.contains("s3cr")));
        }
        assert_eq!(display_url("postgresql://bob@db/cf"), "postgres://bob@db:5432/cf");
        let env = libpq_environment("postgres://bob@db/cf", Some("from-file")).unwrap();
        assert!(
            env.contains(&("PGPASSWORD", "from-file".to_string()))
                && env.contains(&("PGDATABASE", "cf".to_string()))
        );
    }
}
