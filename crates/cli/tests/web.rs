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
    // A moderated quick-registration link, for the registration part of the flow.
    let (code, _, err) =
        common::output(Command::new(env!("CARGO_BIN_EXE_cardfile")).arg("--db").arg(&db).args([
            "account",
            "settings",
            "--registration",
            "moderated",
            "--greeting",
            "Welcome to the team directory.",
        ]));
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = common::output(
        Command::new(env!("CARGO_BIN_EXE_cardfile")).arg("--db").arg(&db).args(["--json", "invite", "link"]),
    );
    assert_eq!(code, 0, "{err}");
    let link: serde_json::Value = serde_json::from_str(&out).unwrap();
    let link = link["link"].as_str().unwrap();
    let register = &link[link.find("/register/").unwrap()..];
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
        .env("CARDFILE_REGISTER", register)
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
    // The operator's side: the sessions the flow left, a lockout lifted, two-step sign-in off.
    let cardfile = |args: &[&str]| {
        let (code, out, err) = common::output(
            Command::new(env!("CARGO_BIN_EXE_cardfile")).arg("--db").arg(&db).arg("--json").args(args),
        );
        assert_eq!(code, 0, "{args:?}: {err}");
        serde_json::from_str::<serde_json::Value>(&out).unwrap()
    };
    let listed = cardfile(&["session", "list", "new.hire@example.com"]);
    assert!(!listed.as_array().unwrap().is_empty(), "the browser is still signed in: {listed}");
    let one = listed[0]["id"].as_str().unwrap().to_string();
    assert_eq!(cardfile(&["session", "revoke", "new.hire@example.com", &one])["ended"], 1);
    cardfile(&["identity", "disable-totp", "new.hire@example.com"]);
    cardfile(&["identity", "unlock", "new.hire@example.com"]);
    // Two-step sign-in is off: the password alone signs in again.
    let store = store_sqlite::SqliteDb::open(&db).unwrap();
    let ctx = profile_core::usecase::Ctx {
        db: &store,
        clock: &profile_core::ports::SystemClock,
        ids: &profile_core::ports::RandomIds,
        passwords: &profile_core::secret::Argon2id::PRODUCTION,
        base_url: "http://unused.test",
        invitations_per_hour: 0,
    };
    let attempt = profile_core::usecase::identities::LoginAttempt {
        login: "new.hire@example.com",
        password: "yet another good password",
        second_factor: None,
        app_passwords: false,
    };
    let outcome = profile_core::usecase::identities::log_in(ctx, &Default::default(), attempt).unwrap();
    assert!(
        matches!(outcome, profile_core::usecase::identities::LoginOutcome::LoggedIn { .. }),
        "{outcome:?}"
    );
    cardfile(&["session", "revoke", "new.hire@example.com", "--all"]);
    assert_eq!(cardfile(&["session", "list", "new.hire@example.com"]), serde_json::json!([]));
    let (code, _, err) =
        common::output(Command::new(env!("CARGO_BIN_EXE_cardfile")).arg("--db").arg(&db).args([
            "session",
            "list",
            "nobody@example.com",
        ]));
    assert_eq!(code, 1, "an unknown login is refused: {err}");
    for page in [
        "login",
        "invite",
        "home",
        "reset",
        "reset-code",
        "security",
        "security-totp",
        "register",
        "register-code",
        "register-waiting",
    ] {
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
