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

/// Invites `address` into `account` by the CLI; the token from the outbox.
fn invite(db: &Path, account: &str, address: &str) -> String {
    let cardfile = || {
        let mut c = Command::new(env!("CARGO_BIN_EXE_cardfile"));
        c.arg("--db").arg(db).args(["--account", account]);
        c
    };
    let (code, _, err) = common::output(cardfile().args(["invite", "email", address]));
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = common::output(cardfile().args(["--json", "outbox", "list"]));
    assert_eq!(code, 0, "{err}");
    let messages: serde_json::Value = serde_json::from_str(&out).unwrap();
    let body = messages.as_array().unwrap().last().unwrap()["body"].as_str().unwrap().to_string();
    let at = body.find("/invite/").unwrap() + "/invite/".len();
    body[at..].chars().take_while(char::is_ascii_alphanumeric).collect()
}

/// Runs `script` of tests/web against the server on `port` with the suite's browser and
/// screenshots folder (and `envs`); missing pieces fail the test.
fn browser_flow(script: &str, port: u16, envs: &[(&str, String)]) -> std::process::Output {
    let chromium = required("CARDFILE_CHROMIUM", PathBuf::from("/usr/bin/chromium"), "chromium");
    let web = workspace().join("tests/web");
    required("CARDFILE_WEB_MODULES", web.join("node_modules/playwright-core"), "playwright-core");
    let mut node = Command::new("node");
    node.arg(web.join(script))
        .current_dir(&web)
        .env("CARDFILE_URL", format!("http://127.0.0.1:{port}"))
        .env("CARDFILE_CHROMIUM", &chromium)
        .env("CARDFILE_SCREENSHOTS", workspace().join("target/screenshots"));
    for (k, v) in envs {
        node.env(k, v);
    }
    node.output().unwrap()
}

/// The flow's output, and a failure with it unless it passed.
fn assert_passed(out: &std::process::Output) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    print!("{stdout}");
    assert!(
        out.status.success(),
        "the browser flow failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every page's screenshots, at both widths, are there and not blank.
fn assert_screenshots(pages: &[&str]) {
    let shots = workspace().join("target/screenshots");
    for page in pages {
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

#[test]
fn joining_signing_in_and_the_security_rules_in_a_browser() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("web.db");
    let (mut child, port, _) = common::start(&db, true);
    let token = invite(&db, "default", "new.hire@example.com");
    // An invitation past its 14 days (moved back in the database, as time would).
    let expired = invite(&db, "default", "late@example.com");
    let changed = rusqlite::Connection::open(&db)
        .unwrap()
        .execute(
            "UPDATE invitations SET expires_at = expires_at - 15 * 86400 WHERE address = 'late@example.com'",
            [],
        )
        .unwrap();
    assert_eq!(changed, 1);
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
    // A second account that invites the same person: after joining it, they choose.
    let (code, _, err) =
        common::output(Command::new(env!("CARGO_BIN_EXE_cardfile")).arg("--db").arg(&db).args([
            "account",
            "create",
            "other",
            "--name",
            "Other Co",
            "--admin-email",
            "boss@other.example",
        ]));
    assert_eq!(code, 0, "{err}");
    let other = invite(&db, "other", "new.hire@example.com");
    let out = browser_flow(
        "flow.mjs",
        port,
        &[
            ("CARDFILE_INVITE", token),
            ("CARDFILE_INVITE_OTHER", other),
            ("CARDFILE_INVITE_EXPIRED", expired),
            ("CARDFILE_BIN", env!("CARGO_BIN_EXE_cardfile").to_string()),
            ("CARDFILE_DB", db.display().to_string()),
            ("CARDFILE_REGISTER", register.to_string()),
        ],
    );
    let _ = child.kill();
    let _ = child.wait();
    assert_passed(&out);
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
        images: &profile_core::ports::NoImages,
        base_url: "http://unused.test",
        invitations_per_hour: 0,
        client: None,
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
    assert_screenshots(&[
        "login",
        "invite",
        "invite-expired",
        "home",
        "reset",
        "reset-code",
        "security",
        "security-totp",
        "register",
        "register-code",
        "register-waiting",
        "accounts",
        "not-found",
    ]);
}

#[test]
fn one_client_cannot_lock_others_out() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("limits.db");
    common::init_with_password(&db, "ada@example.com", "ada's long password");
    let (mut child, port, _) = common::start(&db, false);
    let login = |from, password: &str| {
        common::post_form(port, from, "/login", &[("login", "ada@example.com"), ("password", password)])
    };

    // A guesser at 127.0.0.2 runs into the lockout; the page says how long to wait. It waits
    // and guesses again until the wait is long enough to outlast what follows.
    let mut waited = String::new();
    for i in 0..8 {
        let (status, text) = login([127, 0, 0, 2], &format!("guess {i}"));
        if status == 429 {
            let secs: u64 =
                text.split("Try again in ").nth(1).and_then(|t| t.split(' ').next()?.parse().ok()).unwrap();
            waited = text;
            // 8 s, shown as 7 when the last failure was late in its second.
            if secs >= 7 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_secs(secs + 1));
            continue;
        }
        assert_eq!(status, 401, "a wrong password: {text}");
    }
    assert!(waited.contains("Try again in 8 s") || waited.contains("Try again in 7 s"), "{waited}");
    assert!(!waited.contains("__Host-cardfile="), "no session for the guesser");
    // The owner, at 127.0.0.1, signs in all the same.
    let (status, text) = login([127, 0, 0, 1], "ada's long password");
    assert_eq!(status, 303, "{text}");
    assert!(
        text.contains("Set-Cookie: __Host-cardfile=") || text.contains("set-cookie: __Host-cardfile="),
        "{text}"
    );
    // The guesser still waits, even with the right password.
    let (status, text) = login([127, 0, 0, 2], "ada's long password");
    assert_eq!(status, 429, "{text}");

    // A client spraying guesses over many logins runs into its own address's count, for
    // sign-ins and for reset codes alike; others are not slowed down.
    let spray = [127, 0, 0, 3];
    let mut refused = None;
    for i in 0..60 {
        let who = format!("person{i}@example.com");
        let (status, text) =
            common::post_form(port, spray, "/login", &[("login", &who), ("password", "a guess")]);
        if status == 429 {
            refused = Some(i);
            assert!(text.contains("Try again in"), "{text}");
            break;
        }
        assert_eq!(status, 401, "{text}");
    }
    // Failure times are kept in whole seconds, so the first 1 s delay may let one or two more by.
    assert!(
        refused.is_some_and(|i| (50..=53).contains(&i)),
        "after the address's free attempts: {refused:?}"
    );
    // The first waits are a second or two, kept in whole seconds: the sprayer waits each out
    // and guesses again until its wait outlasts the reset request that follows.
    for i in 60..70 {
        let (status, text) =
            common::post_form(port, spray, "/login", &[("login", "more@example.com"), ("password", "x")]);
        let wait: u64 =
            text.split("Try again in ").nth(1).and_then(|t| t.split(' ').next()?.parse().ok()).unwrap_or(0);
        if status == 429 && wait >= 4 {
            break;
        }
        assert!(i < 69, "the address's wait never grew: {status} {wait}");
        std::thread::sleep(std::time::Duration::from_secs(wait + 1));
    }
    let (status, text) = common::post_form(port, spray, "/reset", &[("login", "ada@example.com")]);
    assert_eq!(status, 429, "{text}");
    let (status, text) = common::post_form(port, [127, 0, 0, 4], "/reset", &[("login", "ada@example.com")]);
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("a code is on its way"), "{text}");
    let _ = child.kill();
    let _ = child.wait();
}

/// The invitation token of the last message the outbox holds for `address`.
fn token_for(db: &Path, address: &str) -> String {
    let (code, out, err) = common::output(
        Command::new(env!("CARGO_BIN_EXE_cardfile")).arg("--db").arg(db).args(["--json", "outbox", "list"]),
    );
    assert_eq!(code, 0, "{err}");
    let messages: serde_json::Value = serde_json::from_str(&out).unwrap();
    let body = messages
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|m| {
            m["to"].as_str() == Some(address) && m["body"].as_str().is_some_and(|b| b.contains("/invite/"))
        })
        .map(|m| m["body"].as_str().unwrap().to_string())
        .unwrap_or_else(|| panic!("no invitation to {address}: {messages}"));
    let at = body.find("/invite/").unwrap() + "/invite/".len();
    body[at..].chars().take_while(char::is_ascii_alphanumeric).collect()
}

#[test]
fn people_find_each_other_on_the_directory_the_card_and_the_structure() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("directory.db");
    let (mut child, port, hook) = common::start(&db, true);
    let hook = hook.unwrap();
    let call = |method: &str, body: serde_json::Value| {
        let (status, b) = common::post(port, &format!("{hook}{method}"), &body).unwrap();
        assert_eq!(status, 200, "{method}: {b}");
        b["result"].clone()
    };
    let cli = |args: &[&str]| {
        let (code, out, err) = common::output(
            Command::new(env!("CARGO_BIN_EXE_cardfile")).arg("--db").arg(&db).arg("--json").args(args),
        );
        assert_eq!(code, 0, "{args:?}: {err}");
        serde_json::from_str::<serde_json::Value>(&out).unwrap_or(serde_json::Value::Null)
    };
    // The structure, a searchable custom field, three people invited (one of them external, in a
    // workgroup with Ann), and what their cards hold.
    let sales = call("department.add", serde_json::json!({"NAME": "Sales", "PARENT": 1})).as_u64().unwrap();
    call(
        "user.userfield.add",
        serde_json::json!({"fields": {"FIELD_NAME": "office", "USER_TYPE_ID": "string", "IS_SEARCHABLE": "Y"}}),
    );
    let group = cli(&["group", "add", "Partners"])["id"].as_u64().unwrap();
    let add = |email: &str, name: &str, last: &str, extra: serde_json::Value| {
        let mut body = serde_json::json!({"EMAIL": email, "NAME": name, "LAST_NAME": last});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        call("user.add", body).as_u64().unwrap()
    };
    let ann = add(
        "ann@example.com",
        "Ann",
        "Arbor",
        serde_json::json!({"UF_DEPARTMENT": [sales], "WORK_POSITION": "Account manager"}),
    );
    let bob = add(
        "bob@example.com",
        "Bob",
        "Brook",
        serde_json::json!({"UF_DEPARTMENT": [sales], "WORK_POSITION": "Sales lead"}),
    );
    let eve = add(
        "eve@partner.example",
        "Eve",
        "Extern",
        serde_json::json!({"EXTRANET": "Y", "SONET_GROUP_ID": [group]}),
    );
    cli(&["group", "add-member", &group.to_string(), &ann.to_string()]);
    call("department.update", serde_json::json!({"ID": sales, "UF_HEAD": bob}));
    const PNG: &str =
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";
    // Bob's photo comes over REST; Ann uploads hers on her edit page.
    for (id, office) in [(ann, "Berlin"), (bob, "Oslo")] {
        call(
            "user.update",
            serde_json::json!({"ID": id, "UF_INTERESTS": "#climbing #chess", "UF_USR_OFFICE": office}),
        );
    }
    call("user.update", serde_json::json!({"ID": bob, "PERSONAL_PHOTO": ["me.png", PNG]}));
    // Ann administers the account: she edits Bob's employment facts.
    cli(&["user", "set-role", &ann.to_string(), "admin"]);
    call("cardfile.profile.set", serde_json::json!({"ID": bob, "ABOUT": "[b]Sales[/b] since 2019"}));
    #[allow(clippy::disallowed_methods)]
    let today = chrono::Utc::now().date_naive().format("%Y-%m-%d").to_string();
    call(
        "cardfile.absence.add",
        serde_json::json!({"USER_ID": bob, "KIND": "vacation", "DATE_FROM": today, "DATE_TO": today}),
    );
    let tokens = serde_json::json!({
        "ann": token_for(&db, "ann@example.com"),
        "bob": token_for(&db, "bob@example.com"),
        "eve": token_for(&db, "eve@partner.example"),
    });
    let ids = serde_json::json!({"ann": ann, "bob": bob, "eve": eve, "sales": sales});
    let out = browser_flow(
        "directory.mjs",
        port,
        &[
            ("CARDFILE_INVITES", tokens.to_string()),
            ("CARDFILE_IDS", ids.to_string()),
            ("CARDFILE_PNG", PNG.to_string()),
        ],
    );
    let _ = child.kill();
    let _ = child.wait();
    assert_passed(&out);
    assert_screenshots(&[
        "directory",
        "card",
        "edit",
        "edit-admin",
        "card-own",
        "structure",
        "department",
        "absences",
        "directory-extranet",
    ]);
}
