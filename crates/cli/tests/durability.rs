//! Durability: SIGKILL the real server in the middle of a write-heavy run (single calls and
//! batches from several clients); after a restart, every write that was acknowledged is there.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

#[test]
fn every_acknowledged_write_survives_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cardfile.db");
    let (mut server, port, hook) = common::start(&db, true);
    let hook = hook.expect("the first run prints a webhook");
    let acked: Arc<Mutex<Vec<(u64, String)>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let mut clients = Vec::new();
    for c in 0..4 {
        let (acked, stop, hook) = (Arc::clone(&acked), Arc::clone(&stop), hook.clone());
        clients.push(std::thread::spawn(move || {
            // Bounded: at most 10,000 requests per client, and until the server is gone.
            for i in 0..10_000 {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let email = |k: usize| format!("c{c}-{i}-{k}@example.com");
                if i % 2 == 0 {
                    let Some((200, b)) = common::post(
                        port,
                        &format!("{hook}user.add"),
                        &json!({"EMAIL": email(0), "UF_DEPARTMENT": [1]}),
                    ) else {
                        continue;
                    };
                    acked.lock().unwrap().push((b["result"].as_u64().unwrap(), email(0)));
                } else {
                    let cmd: serde_json::Map<String, Value> = (0..10)
                        .map(|k| {
                            (
                                format!("u{k}"),
                                Value::String(format!("user.add?EMAIL={}&UF_DEPARTMENT[]=1", email(k))),
                            )
                        })
                        .collect();
                    let Some((200, b)) = common::post(port, &format!("{hook}batch"), &json!({"cmd": cmd}))
                    else {
                        continue;
                    };
                    let results = b["result"]["result"].as_object().unwrap();
                    let mut got = acked.lock().unwrap();
                    for k in 0..10 {
                        if let Some(id) = results.get(&format!("u{k}")).and_then(Value::as_u64) {
                            got.push((id, email(k)));
                        }
                    }
                }
            }
        }));
    }
    // Let the writes run, then kill the server mid-flight.
    let started = Instant::now();
    while acked.lock().unwrap().len() < 300 && started.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(20));
    }
    server.kill().unwrap(); // SIGKILL on Unix
    server.wait().unwrap();
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= 300, "only {} writes were acknowledged", acked.len());

    let (mut again, port, _) = common::start(&db, false);
    let mut found = std::collections::BTreeMap::new();
    let mut last = 0u64;
    for _ in 0..1000 {
        let (status, b) = common::post(
            port,
            &format!("{hook}user.get"),
            &json!({"filter": {">ID": last}, "order": {"ID": "ASC"}, "start": -1, "select": ["ID", "EMAIL"], "ADMIN_MODE": true}),
        )
        .expect("the restarted server answers");
        assert_eq!(status, 200, "{b}");
        let rows = b["result"].as_array().unwrap();
        if rows.is_empty() {
            break;
        }
        for r in rows {
            let id: u64 = r["ID"].as_str().unwrap().parse().unwrap();
            found.insert(id, r["EMAIL"].as_str().unwrap().to_string());
            last = id;
        }
    }
    let _ = again.kill();
    let _ = again.wait();
    let lost: Vec<_> = acked.iter().filter(|(id, email)| found.get(id) != Some(email)).collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged writes lost, e.g. {:?}",
        lost.len(),
        acked.len(),
        &lost[..lost.len().min(5)]
    );
    println!("durability: {} acknowledged writes, all present after SIGKILL and restart", acked.len());
}
