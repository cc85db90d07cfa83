//! The official Bitrix24 SDKs, unmodified and pinned, against the real `cardfile serve` over
//! TLS with a self-signed certificate on 127.0.0.1: `b24pysdk` (Python) and
//! `@bitrix24/b24jssdk` (Node), each on a SQLite file and on PostgreSQL (`serve --db
//! postgres://…` on a fresh database of `store_postgres::testing`'s server). `cargo xtask ci` creates the Python venv and `node_modules`
//! when they are missing; without them these tests fail (they never skip).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A server over TLS on a fresh database, killed when dropped.
struct Server {
    child: Child,
    _dir: tempfile::TempDir,
    cert: PathBuf,
    port: u16,
    webhook: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Which store a server runs on.
#[derive(Clone, Copy)]
enum Store {
    Sqlite,
    Postgres,
}

fn start(store: Store) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let (child, port, webhook, cert) = match store {
        Store::Sqlite => {
            let db = dir.path().join("cardfile.db");
            let (child, port, webhook) = common::start_with(&db, true, true);
            (child, port, webhook, db.with_extension("cert.pem"))
        }
        Store::Postgres => {
            let url = store_postgres::testing::fresh_database();
            let (child, port, webhook) = common::start_on(url.as_ref(), dir.path(), true, true);
            (child, port, webhook, dir.path().join("cardfile.cert.pem"))
        }
    };
    // "/rest/{user}/{token}/" -> "{user}/{token}"
    let webhook = webhook.unwrap().trim_start_matches("/rest/").trim_matches('/').to_string();
    Server { child, cert, port, webhook, _dir: dir }
}

fn run(what: &str, mut cmd: Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: cannot start: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    print!("{stdout}");
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("passed"), "{what} printed no passed scenario");
}

fn required(env: &str, default: PathBuf, what: &str) -> PathBuf {
    let p = std::env::var_os(env).map(PathBuf::from).unwrap_or(default);
    assert!(p.exists(), "{what} is missing at {}: run `cargo xtask ci`, which creates it", p.display());
    p
}

#[test]
fn python_sdk_b24pysdk() {
    python_sdk(Store::Sqlite);
}

#[test]
fn python_sdk_b24pysdk_on_postgres() {
    python_sdk(Store::Postgres);
}

#[test]
fn js_sdk_b24jssdk() {
    js_sdk(Store::Sqlite);
}

#[test]
fn js_sdk_b24jssdk_on_postgres() {
    js_sdk(Store::Postgres);
}

fn python_sdk(store: Store) {
    let python =
        required("CARDFILE_SDK_PYTHON", workspace().join("target/sdk/venv/bin/python"), "the b24pysdk venv");
    let server = start(store);
    let mut cmd = Command::new(python);
    cmd.arg(workspace().join("tests/sdk/python/scenario.py"))
        .env("CARDFILE_DOMAIN", format!("127.0.0.1:{}", server.port))
        .env("CARDFILE_WEBHOOK", &server.webhook)
        .env("REQUESTS_CA_BUNDLE", &server.cert);
    run("b24pysdk scenario", cmd);
}

fn js_sdk(store: Store) {
    let dir = workspace().join("tests/sdk/js");
    required("CARDFILE_SDK_NODE_MODULES", dir.join("node_modules/@bitrix24/b24jssdk"), "@bitrix24/b24jssdk");
    let server = start(store);
    let mut cmd = Command::new(std::env::var_os("CARDFILE_NODE").unwrap_or_else(|| "node".into()));
    cmd.current_dir(&dir)
        .arg("scenario.mjs")
        .env("CARDFILE_WEBHOOK_URL", format!("https://127.0.0.1:{}/rest/{}", server.port, server.webhook))
        .env("NODE_EXTRA_CA_CERTS", &server.cert);
    run("b24jssdk scenario", cmd);
}
