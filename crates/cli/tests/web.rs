//! The web pages in a real browser: `cardfile serve` on a fresh database, an invitation made by
//! the CLI and taken from the outbox, and tests/web/flow.mjs driving Debian's chromium with
//! playwright-core (`cargo xtask ci` installs its node_modules; `.ci/run` installs chromium).
//! Missing pieces fail the test, never skip it.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn required(env: &str, default: PathBuf, what: &str) -> PathBuf {
    let p = std::env::var_os(env).map(PathBuf::from).unwrap_or(default);
    assert!(
        p.exists(),
        "{what} is missing at {}: run `cargo xtask ci` (and, on Debian, apt-get install chromium)",
        p.display()
    );
    p
}

#[test]
fn joining_signing_in_and_the_security_rules_in_a_browser() {
    let chromium = required("CARDFILE_CHROMIUM", PathBuf::from("/usr/bin/chromium"), "chromium");
    let web = workspace().join("tests/web");
    required("CARDFILE_WEB_MODULES", web.join("node_modules/playwright-core"), "playwright-core");
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("web.db");
    let (mut child, port, _) = common::start(&db, true);
    let (code, _, err) =
        common::output(Command::new(env!("CARGO_BIN_EXE_cardfile")).arg("--db").arg(&db).args([
            "invite",
            "email",
            "new.hire@example.com",
        ]));
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = common::output(
        Command::new(env!("CARGO_BIN_EXE_cardfile")).arg("--db").arg(&db).args(["--json", "outbox", "list"]),
    );
    assert_eq!(code, 0, "{err}");
    let messages: serde_json::Value = serde_json::from_str(&out).unwrap();
    let body = messages.as_array().unwrap().last().unwrap()["body"].as_str().unwrap().to_string();
    let at = body.find("/invite/").unwrap() + "/invite/".len();
    let token: String = body[at..].chars().take_while(char::is_ascii_alphanumeric).collect();
    let shots = workspace().join("target/screenshots");
    let out = Command::new("node")
        .arg(web.join("flow.mjs"))
        .current_dir(&web)
        .env("CARDFILE_URL", format!("http://127.0.0.1:{port}"))
        .env("CARDFILE_INVITE", &token)
        .env("CARDFILE_CHROMIUM", &chromium)
        .env("CARDFILE_SCREENSHOTS", &shots)
        .env("CARDFILE_BIN", env!("CARGO_BIN_EXE_cardfile"))
        .env("CARDFILE_DB", &db)
        .output()
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let stdout = String::from_utf8_lossy(&out.stdout);
    print!("{stdout}");
    assert!(
        out.status.success(),
        "the browser flow failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    for page in ["login", "invite", "home", "reset", "reset-code", "security", "security-totp"] {
        for width in ["desktop", "phone"] {
            let shot = shots.join(format!("{page}-{width}.png"));
            assert!(
                std::fs::metadata(&shot).is_ok_and(|m| m.len() > 2000),
                "{} is missing or blank",
                shot.display()
            );
        }
    }
}
