//! Activity from REST against the real server: calls by an application token make its user
//! online (`IS_ONLINE`, `LAST_ACTIVITY_DATE`) within the few seconds `serve` takes to write
//! what it noted; webhook calls never do.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

#[test]
fn application_tokens_make_their_user_online_and_webhooks_do_not() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cardfile.db");
    let (mut server, port, hook) = common::start(&db, true);
    let hook = hook.unwrap();
    let call = |path: &str, body: Value| -> Value {
        let (status, b) = common::post(port, path, &body).expect("the server answers");
        assert_eq!(status, 200, "{path}: {b}");
        b
    };
    let admin = |via: &str| call(&format!("{via}user.get"), json!({ "ID": 1 }))["result"][0].clone();
    // The first run's webhook is the administrator's: its calls keep nobody online.
    for _ in 0..5 {
        call(&format!("{hook}user.current"), json!({}));
    }
    std::thread::sleep(Duration::from_secs(6));
    let before = admin(&hook);
    assert_eq!(before["IS_ONLINE"], "N", "{before}");
    assert!(before["LAST_ACTIVITY_DATE"].as_str().is_none_or(str::is_empty), "{before}");

    // An application token acts as the administrator who made it.
    let (code, out, err) = common::output(
        Command::new(env!("CARGO_BIN_EXE_cardfile"))
            .args(["--json", "--db"])
            .arg(&db)
            .args(["token", "create", "--name", "Portal", "--scope", "user"]),
    );
    assert_eq!(code, 0, "{err}");
    let token = serde_json::from_str::<Value>(&out).unwrap()["token"].as_str().unwrap().to_string();
    call(&format!("/rest/user.current?auth={token}"), json!({}));
    let deadline = Instant::now() + Duration::from_secs(20);
    let after = loop {
        let a = admin(&hook);
        if a["IS_ONLINE"] == "Y" {
            break a;
        }
        assert!(Instant::now() < deadline, "the token's call never made its user online: {a}");
        std::thread::sleep(Duration::from_millis(250));
    };
    assert!(after["LAST_ACTIVITY_DATE"].as_str().is_some_and(|d| d.starts_with("20")), "{after}");
    assert!(before["TIMESTAMP_X"].is_string(), "{before}");
    assert_eq!(after["TIMESTAMP_X"], before["TIMESTAMP_X"], "activity is no change of the user");
    let _ = server.kill();
    let _ = server.wait();
}
