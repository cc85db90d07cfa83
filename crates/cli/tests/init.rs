//! `cardfile init`: a refused first run leaves the database empty, so a second try works; an
//! initialised database is not initialised twice.

use std::io::Write;
use std::process::{Command, Stdio};

fn init(db: &std::path::Path, password: &str) -> (bool, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cardfile"))
        .args(["--json", "--db"])
        .arg(db)
        .args(["init", "--password-stdin", "--admin-email", "root@example.com"])
        .env("CARDFILE_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(format!("{password}\n").as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn a_refused_init_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cardfile.db");
    let (ok, _, err) = init(&db, "short");
    assert!(!ok);
    assert!(err.contains("password"), "{err}");
    let (ok, out, err) = init(&db, "a long enough password");
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["login"], "root@example.com");
    assert!(v["webhook"].as_str().unwrap().contains("/rest/1/"));
    let (ok, _, err) = init(&db, "a long enough password");
    assert!(!ok);
    assert!(err.contains("already initialised"), "{err}");
}
