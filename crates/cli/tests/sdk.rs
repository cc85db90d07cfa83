//! The official Bitrix24 SDKs, unmodified and pinned, against the real `cardfile serve` over
//! TLS with a self-signed certificate on 127.0.0.1: `b24pysdk` (Python) and
//! `@bitrix24/b24jssdk` (Node). `cargo xtask ci` creates the Python venv and `node_modules`
//! when they are missing; without them these tests fail (they never skip).

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A server on a fresh database, killed when dropped.
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

fn start() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cardfile.db");
    let mut child = Command::new(env!("CARGO_BIN_EXE_cardfile"))
        .args(["--json", "--db"])
        .arg(&db)
        .args(["serve", "--listen", "127.0.0.1:0", "--tls-self-signed"])
        .env("CARDFILE_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    let init: serde_json::Value =
        serde_json::from_str(&first).unwrap_or_else(|e| panic!("first run output {first:?}: {e}"));
    let webhook = init["webhook"].as_str().unwrap();
    let path = &webhook[webhook.find("/rest/").unwrap() + "/rest/".len()..];
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let deadline = Instant::now() + Duration::from_secs(30);
    let port = loop {
        let mut line = String::new();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "the server exited before listening");
        if let Some(addr) = line.trim().strip_prefix("cardfile: listening on https://") {
            break addr.rsplit(':').next().unwrap().parse().unwrap();
        }
        assert!(Instant::now() < deadline, "the server did not start");
    };
    // Keep draining the server's log so it never blocks on a full pipe.
    std::thread::spawn(move || {
        let mut sink = String::new();
        let _ = stderr.read_to_string(&mut sink);
    });
    Server {
        child,
        cert: db.with_extension("cert.pem"),
        port,
        webhook: path.trim_matches('/').to_string(),
        _dir: dir,
    }
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
    let python =
        required("CARDFILE_SDK_PYTHON", workspace().join("target/sdk/venv/bin/python"), "the b24pysdk venv");
    let server = start();
    let mut cmd = Command::new(python);
    cmd.arg(workspace().join("tests/sdk/python/scenario.py"))
        .env("CARDFILE_DOMAIN", format!("127.0.0.1:{}", server.port))
        .env("CARDFILE_WEBHOOK", &server.webhook)
        .env("REQUESTS_CA_BUNDLE", &server.cert);
    run("b24pysdk scenario", cmd);
}

#[test]
fn js_sdk_b24jssdk() {
    let dir = workspace().join("tests/sdk/js");
    required("CARDFILE_SDK_NODE_MODULES", dir.join("node_modules/@bitrix24/b24jssdk"), "@bitrix24/b24jssdk");
    let server = start();
    let mut cmd = Command::new(std::env::var_os("CARDFILE_NODE").unwrap_or_else(|| "node".into()));
    cmd.current_dir(&dir)
        .arg("scenario.mjs")
        .env("CARDFILE_WEBHOOK_URL", format!("https://127.0.0.1:{}/rest/{}", server.port, server.webhook))
        .env("NODE_EXTRA_CA_CERTS", &server.cert);
    run("b24jssdk scenario", cmd);
}
