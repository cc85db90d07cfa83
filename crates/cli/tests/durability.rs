//! Durability: SIGKILL the real server in the middle of a write-heavy run (single calls and
//! batches from several clients); after a restart, every write that was acknowledged is there.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
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

/// Group commit under a crash loop: clients whose writes the server groups into one commit,
/// killed (SIGKILL) at random moments and restarted, again and again. In each round, three
/// clients set one user's position to the same value at once (so two of them usually find
/// nothing to change, judged against the first one's uncommitted work), and two clients each
/// give their own user the same new email at once (so one is refused as taken, judged against
/// the other's). After every restart every answer given before the kill still holds: a
/// position answered `true` is there or overtaken by a later round's, and so is an email
/// answered `true`; the user that held an email refused as taken holds it or a later one.
#[test]
fn group_commit_answers_nothing_before_its_commit() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cardfile.db");
    let (mut server, mut port, hook) = common::start(&db, true);
    let hook = hook.expect("the first run prints a webhook");
    let call = |port: u16, method: &str, body: Value| common::post(port, &format!("{hook}{method}"), &body);
    let add = |email: String| {
        let (status, b) = call(port, "user.add", json!({"EMAIL": email, "UF_DEPARTMENT": [1]})).unwrap();
        assert_eq!(status, 200, "{b}");
        b["result"].as_u64().unwrap()
    };
    // Whose positions the rounds set, and the pairs of users who compete for emails.
    let targets: Vec<u64> = (0..2).map(|t| add(format!("target{t}@example.com"))).collect();
    let pairs: Vec<[u64; 2]> = (0..2)
        .map(|p| [add(format!("pair{p}a@example.com")), add(format!("pair{p}b@example.com"))])
        .collect();
    // (user, round): what the answers say the user holds, that round's value or a later one's.
    let floors: Arc<Mutex<Vec<(u64, u64)>>> = Arc::default();
    let (mut positions, mut emails, mut refusals) = (0, 0, 0);
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let started = Instant::now();
    for restart in 0..8u64 {
        let stop = Arc::new(AtomicBool::new(false));
        let first_round = restart * 1_000_000;
        let (done_positions, done_emails, done_refusals) =
            (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let mut drivers = Vec::new();
        for &target in &targets {
            let (stop, floors, hook, done) =
                (Arc::clone(&stop), Arc::clone(&floors), hook.clone(), Arc::clone(&done_positions));
            drivers.push(std::thread::spawn(move || {
                for round in first_round..first_round + 100_000 {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let body = json!({"ID": target, "WORK_POSITION": format!("v{round}")});
                    let answered = std::thread::scope(|s| {
                        let sent: Vec<_> = (0..3)
                            .map(|_| {
                                let (hook, body) = (&hook, &body);
                                s.spawn(move || {
                                    matches!(common::post(port, &format!("{hook}user.update"), body),
                                        Some((200, b)) if b["result"] == json!(true))
                                })
                            })
                            .collect();
                        sent.into_iter().map(|t| t.join().unwrap()).filter(|&ok| ok).count()
                    });
                    if answered > 0 {
                        floors.lock().unwrap().push((target, round));
                        done.fetch_add(answered, Ordering::Relaxed);
                    }
                }
            }));
        }
        for (p, &pair) in pairs.iter().enumerate() {
            let (stop, floors, hook) = (Arc::clone(&stop), Arc::clone(&floors), hook.clone());
            let (done, refused) = (Arc::clone(&done_emails), Arc::clone(&done_refusals));
            drivers.push(std::thread::spawn(move || {
                for round in first_round..first_round + 100_000 {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let email = format!("r{round}-p{p}@example.com");
                    let answers: Vec<_> = std::thread::scope(|s| {
                        let sent: Vec<_> = pair
                            .iter()
                            .map(|&user| {
                                let (hook, email) = (&hook, &email);
                                let body = json!({"ID": user, "EMAIL": email});
                                s.spawn(move || common::post(port, &format!("{hook}user.update"), &body))
                            })
                            .collect();
                        sent.into_iter().map(|t| t.join().unwrap()).collect()
                    });
                    for (k, answer) in answers.into_iter().enumerate() {
                        match answer {
                            Some((200, b)) if b["result"] == json!(true) => {
                                floors.lock().unwrap().push((pair[k], round));
                                done.fetch_add(1, Ordering::Relaxed);
                            }
                            Some((400, b))
                                if b["error_description"]
                                    .as_str()
                                    .is_some_and(|d| d.contains("already exists")) =>
                            {
                                // Refused: the other one of the pair held it.
                                floors.lock().unwrap().push((pair[1 - k], round));
                                refused.fetch_add(1, Ordering::Relaxed);
                            }
                            _ => {}
                        }
                    }
                }
            }));
        }
        // Kill somewhere in the first 50–450 ms of load.
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        std::thread::sleep(Duration::from_millis(50 + rng % 400));
        server.kill().unwrap(); // SIGKILL on Unix
        server.wait().unwrap();
        stop.store(true, Ordering::Relaxed);
        for d in drivers {
            d.join().unwrap();
        }
        positions += done_positions.load(Ordering::Relaxed);
        emails += done_emails.load(Ordering::Relaxed);
        refusals += done_refusals.load(Ordering::Relaxed);

        let (again, p, _) = common::start(&db, false);
        (server, port) = (again, p);
        let round_of = |text: &str| -> Option<u64> {
            let digits: String =
                text.trim_start_matches(['v', 'r']).chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        };
        for &user in targets.iter().chain(pairs.iter().flatten()) {
            let (status, b) = call(port, "user.get", json!({"ID": user, "ADMIN_MODE": true})).unwrap();
            assert_eq!(status, 200, "{b}");
            let field = if targets.contains(&user) { "WORK_POSITION" } else { "EMAIL" };
            let stored = b["result"][0][field].as_str().unwrap().to_string();
            let floor = floors.lock().unwrap().iter().filter(|(u, _)| *u == user).map(|(_, r)| *r).max();
            let held = round_of(&stored).filter(|_| stored.starts_with(['v', 'r']));
            assert!(
                floor.is_none_or(|f| held.is_some_and(|h| h >= f)),
                "restart {restart}: user {user} holds {field} {stored:?}, but round {floor:?} was answered"
            );
        }
        if started.elapsed() > Duration::from_secs(60) {
            break;
        }
    }
    let _ = server.kill();
    let _ = server.wait();
    assert!(
        positions > 100 && emails > 20 && refusals > 20,
        "too little happened: {positions} positions, {emails} emails, {refusals} refusals"
    );
    println!(
        "group commit under SIGKILL: {positions} positions, {emails} emails, {refusals} refusals, all held"
    );
}
