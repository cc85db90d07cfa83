//! Test support (feature `testing`): a real PostgreSQL server of the machine's own packages,
//! started once per test process in a temporary folder, and a fresh database on it per test.
//!
//! The server is Debian's `postgres` (see [`crate::program`]), run by `initdb` and `postgres` as the `postgres` user
//! when the tests run as root (PostgreSQL refuses to run as root), listening on 127.0.0.1 and
//! a Unix socket in its folder. A shell that owns it waits on a pipe from the test process:
//! when the process ends, however it ends, the pipe closes and the shell stops the server and
//! removes its folder. A server that cannot start fails the test that asked for it.
//!
//! The shared test server runs with `fsync` off: the tests exercise behaviour, not power loss,
//! and it halves their time. [`start_server`] with `durable` gives one as durable as SQLite's
//! `synchronous=FULL`, for benchmarks.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The superuser of a test server (trust authentication, 127.0.0.1 only).
pub const TEST_USER: &str = "cardfile";

/// A running test server.
pub struct TestServer {
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Its folder (socket, data, log).
    pub dir: PathBuf,
    /// The shell that owns it; its stdin is the pipe that keeps it running.
    _guard: Mutex<Child>,
}

static SERVER: OnceLock<Result<TestServer, String>> = OnceLock::new();

/// Starts a server of its own, stopped when dropped; `durable` turns `fsync` on.
///
/// # Errors
/// Why PostgreSQL could not start.
pub fn start_server(durable: bool) -> Result<TestServer, String> {
    start(durable)
}
static NEXT_DB: AtomicU32 = AtomicU32::new(0);

/// The process's test server, started on first use.
///
/// # Panics
/// When PostgreSQL cannot be started: the suite fails, it never skips.
#[allow(clippy::panic)]
pub fn server() -> &'static TestServer {
    match SERVER.get_or_init(|| start(false)) {
        Ok(s) => s,
        Err(e) => panic!("PostgreSQL for the tests could not start: {e}"),
    }
}

/// A new database on the test server with Cardfile's schema and no data; returns its URL.
/// (A copy of one migrated once per process: creating the schema's tables and indexes took
/// most of a property test's time.)
///
/// # Panics
/// When the server cannot start or refuses to create it.
pub fn fresh_database() -> String {
    let s = server();
    let name = format!("t{}", NEXT_DB.fetch_add(1, Ordering::Relaxed));
    s.create(&name, TEMPLATE.get_or_init(|| migrated_template(s)));
    s.url(&name)
}

/// A new database on the test server with nothing in it; returns its URL.
pub fn empty_database() -> String {
    server().empty_database()
}

static TEMPLATE: OnceLock<String> = OnceLock::new();

#[allow(clippy::expect_used)]
fn migrated_template(s: &TestServer) -> String {
    let name = "cardfile_template".to_string();
    s.create(&name, "template0");
    // Dropped at once: a database with open connections cannot be copied.
    drop(crate::PgDb::open(&s.url(&name)).expect("migrate the template database"));
    name
}

impl TestServer {
    /// A new database on this server with nothing in it; returns its URL.
    pub fn empty_database(&self) -> String {
        let name = format!("e{}", NEXT_DB.fetch_add(1, Ordering::Relaxed));
        self.create(&name, "template0");
        self.url(&name)
    }

    #[allow(clippy::expect_used)]
    fn create(&self, name: &str, template: &str) {
        let mut admin = admin(self.port).expect("connect to the test server");
        admin
            .batch(&format!("CREATE DATABASE {name} ENCODING 'UTF8' TEMPLATE {template}"))
            .expect("create a test database");
    }

    /// The URL of database `name` on this server.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://{TEST_USER}@127.0.0.1:{}/{name}", self.port)
    }
}

/// A connection to the server's `postgres` database.
fn admin(port: u16) -> crate::StoreResult<crate::conn::PgConn> {
    let mut config = tokio_postgres::Config::new();
    config
        .host("127.0.0.1")
        .port(port)
        .user(TEST_USER)
        .dbname("postgres")
        .connect_timeout(Duration::from_secs(2));
    crate::conn::PgConn::connect(&config)
}

fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    l.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

const SCRIPT: &str = r#"
set -e
dir=$(mktemp -d "${TMPDIR:-/tmp}/cardfile-pg.XXXXXX")
echo "$dir"
initdb -D "$dir/data" -A trust -U "$PG_USER" -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; rm -rf "$dir"; exit 1; }
postgres -D "$dir/data" -k "$dir" -p "$PG_PORT" -c listen_addresses=127.0.0.1 -c fsync="$PG_FSYNC" \
    -c full_page_writes="$PG_FSYNC" -c max_connections=300 -c shared_buffers="$PG_SHARED_BUFFERS" >"$dir/server.log" 2>&1 &
pid=$!
echo started
read _ || true
kill -INT $pid 2>/dev/null || true
wait $pid 2>/dev/null || true
rm -rf "$dir"
"#;

fn start(durable: bool) -> Result<TestServer, String> {
    let initdb = crate::program("initdb");
    let bindir = initdb
        .parent()
        .filter(|_| initdb.exists())
        .ok_or("no PostgreSQL server binaries (install Debian's postgresql, or set CARDFILE_PG_BINDIR)")?;
    let port = free_port()?;
    let path = format!("{}:{}", bindir.display(), std::env::var("PATH").unwrap_or_default());
    let mut cmd = if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--", "sh", "-c", SCRIPT]);
        c
    } else {
        let mut c = Command::new("sh");
        c.args(["-c", SCRIPT]);
        c
    };
    // runuser keeps the environment it is given (no login shell).
    cmd.env("PATH", path)
        .env("PG_USER", TEST_USER)
        .env("PG_PORT", port.to_string())
        .env("PG_FSYNC", if durable { "on" } else { "off" })
        // Twice Debian's default for the benchmarks' server (a small dedicated one's setting);
        // half of it for the tests'.
        .env("PG_SHARED_BUFFERS", if durable { "256MB" } else { "64MB" })
        .env_remove("TMPDIR")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut child = cmd.spawn().map_err(|e| format!("cannot run the server's shell: {e}"))?;
    let out = child.stdout.take().ok_or("no output from the server's shell")?;
    let mut lines = BufReader::new(out).lines();
    let dir = PathBuf::from(lines.next().and_then(Result::ok).ok_or("the server's shell said nothing")?);
    if lines.next().and_then(Result::ok).as_deref() != Some("started") {
        return Err("initdb failed (its output is above)".into());
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    // Bounded: at most 30 s of attempts 50 ms apart.
    loop {
        match admin(port) {
            Ok(_) => break,
            Err(e) if Instant::now() > deadline => {
                let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
                return Err(format!("the server did not answer within 30 s: {e}\n{log}"));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
    Ok(TestServer { port, dir, _guard: Mutex::new(child) })
}
