//! SIGTERM stops the server gracefully: a request in flight is answered in full and its write
//! kept; then the process exits by itself.

mod common;

use std::time::{Duration, Instant};

use serde_json::{json, Value};

#[test]
fn sigterm_drains_requests_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cardfile.db");
    let (mut server, port, hook) = common::start(&db, true);
    let hook = hook.unwrap();
    let mut conn = common::Conn::open(port);
    // A first answer on the connection: it is accepted and kept alive.
    conn.send(&format!("{hook}server.time"), &json!({}));
    assert_eq!(conn.receive().unwrap().0, 200);
    // A batch of 50 writes, in flight when SIGTERM arrives.
    let cmd: serde_json::Map<String, Value> = (0..50)
        .map(|k| {
            (format!("u{k}"), Value::String(format!("user.add?EMAIL=drain{k}@example.com&UF_DEPARTMENT[]=1")))
        })
        .collect();
    conn.send(&format!("{hook}batch"), &json!({"cmd": cmd}));
    std::thread::sleep(Duration::from_millis(5));
    common::terminate(&server);
    let (status, body) = conn.receive().expect("the request in flight is answered");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["result"].as_object().unwrap().len(), 50, "{body}");
    // The server exits by itself.
    let deadline = Instant::now() + Duration::from_secs(30);
    let exit = loop {
        if let Some(status) = server.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the server did not stop");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(exit.success(), "{exit}");
    // And the writes were kept.
    let (mut again, port, _) = common::start(&db, false);
    let (status, b) = common::post(
        port,
        &format!("{hook}user.get"),
        &json!({"FILTER": {"%EMAIL": "drain"}, "start": -1, "select": ["ID"]}),
    )
    .unwrap();
    let _ = again.kill();
    let _ = again.wait();
    assert_eq!(status, 200);
    assert_eq!(b["result"].as_array().unwrap().len(), 50);
}
