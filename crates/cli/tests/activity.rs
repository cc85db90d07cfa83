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
    let user = |id: u64| call(&format!("{hook}user.get"), json!({ "ID": id }))["result"][0].clone();
    let admin = |_: &str| user(1);
    // Sam calls through a webhook of his own: webhook calls keep nobody online.
    let sam = call(&format!("{hook}user.add"), json!({ "EMAIL": "sam@example.com", "UF_DEPARTMENT": [1] }))
        ["result"]
        .as_u64()
        .unwrap();
    let (code, out, err) = common::output(
        Command::new(env!("CARGO_BIN_EXE_cardfile")).args(["--json", "--db"]).arg(&db).args([
            "webhook",
            "create",
            "--user",
            &sam.to_string(),
            "--scope",
            "user",
        ]),
    );
    assert_eq!(code, 0, "{err}");
    let url = serde_json::from_str::<Value>(&out).unwrap()["url"].as_str().unwrap().to_string();
    let sams = url[url.find("/rest/").unwrap()..].to_string();
    for _ in 0..5 {
        call(&format!("{sams}user.current"), json!({}));
    }
    let before = admin(&hook);
    assert_eq!(before["IS_ONLINE"], "N", "{before}");
    assert!(before["LAST_ACTIVITY_DATE"].as_str().is_none_or(str::is_empty), "{before}");

    // An application token acts as the administrator who made it.
    let (code, out, err) = common::output(
        Command::new(env!("CARGO_BIN_EXE_cardfile"))
            .args(["--json", "--db"])
            .arg(&db)
            .args(["token", "create", "--name", "Portal", "--scope", "user,im"]),
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
    // Sam's calls came first, so the flush that wrote the token's would have written his.
    let sam_now = user(sam);
    assert_eq!(sam_now["IS_ONLINE"], "N", "a webhook's calls are no activity: {sam_now}");
    // The messenger's view: the status the user set, and the activity.
    call(&format!("/rest/im.user.status.set?auth={token}"), json!({ "STATUS": "away" }));
    let seen = call(&format!("/rest/im.user.get?auth={token}"), json!({}))["result"].clone();
    assert_eq!((seen["id"].as_u64(), seen["status"].as_str()), (Some(1), Some("away")), "{seen}");
    assert!(seen["last_activity_date"].as_str().is_some_and(|d| d.starts_with("20")), "{seen}");
    let (status, refused) =
        common::post(port, &format!("/rest/im.user.status.set?auth={token}"), &json!({ "STATUS": "gone" }))
            .unwrap();
    assert_eq!((status, refused["error"].as_str()), (400, Some("STATUS_ERROR")), "{refused}");
    assert!(before["TIMESTAMP_X"].is_string(), "{before}");
    assert_eq!(after["TIMESTAMP_X"], before["TIMESTAMP_X"], "activity is no change of the user");
    let _ = server.kill();
    let _ = server.wait();
}

/// Signing in is activity, and so is a signed-in member's page view.
#[test]
fn page_views_are_activity() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("pages.db");
    common::init_with_password(&db, "ada@example.com", "ada's long password");
    let (mut server, port, _) = common::start(&db, false);
    let (code, out, err) = common::output(
        Command::new(env!("CARGO_BIN_EXE_cardfile"))
            .args(["--json", "--db"])
            .arg(&db)
            .args(["webhook", "create", "--user", "1", "--scope", "user", "--name", "read"]),
    );
    assert_eq!(code, 0, "{err}");
    let url = serde_json::from_str::<Value>(&out).unwrap()["url"].as_str().unwrap().to_string();
    let hook = &url[url.find("/rest/").unwrap()..];
    let last = || {
        let (status, b) = common::post(port, &format!("{hook}user.get"), &json!({ "ID": 1 })).unwrap();
        assert_eq!(status, 200, "{b}");
        let online = b["result"][0]["IS_ONLINE"] == "Y";
        let at = b["result"][0]["LAST_ACTIVITY_DATE"].as_str().unwrap_or_default().to_string();
        assert_eq!(online, !at.is_empty(), "online exactly when just active: {b}");
        at
    };
    let (status, text) = common::post_form(
        port,
        [127, 0, 0, 1],
        "/login",
        &[("login", "ada@example.com"), ("password", "ada's long password")],
    );
    assert_eq!(status, 303, "{text}");
    let cookie = text
        .lines()
        .find_map(|l| {
            l.split_once(": ").filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie")).map(|(_, v)| v)
        })
        .filter(|v| v.starts_with("__Host-cardfile="))
        .and_then(|v| v.split(';').next())
        .expect("a session cookie")
        .to_string();
    // The sign-in itself is activity.
    let signed_in = last();
    assert!(signed_in.starts_with("20"), "{signed_in:?}");
    // A page seen in a later second moves it on.
    std::thread::sleep(Duration::from_millis(1100));
    let (status, page) = common::get_with_cookie(port, "/company/", &cookie);
    assert_eq!(status, 200, "{page}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while last() <= signed_in {
        assert!(Instant::now() < deadline, "the page view never moved it on from {signed_in}");
        std::thread::sleep(Duration::from_millis(250));
    }
    let _ = server.kill();
    let _ = server.wait();
}
