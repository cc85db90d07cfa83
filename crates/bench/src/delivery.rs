//! Delivery: `cardfile serve` sends a burst of invitations to a minimal SMTP responder on
//! 127.0.0.1 (here, so that the figure is Cardfile's, not a mail server's), while `user.get`
//! is measured over HTTP. Prints markdown rows.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use profile_core::access::{Actor, ScopeSet};
use profile_core::field::UserField;
use profile_core::ports::Database;
use profile_core::usecase::invitations::{self, Invite};
use profile_core::usecase::{users, Ctx};

use crate::http::{get_by_id, load, start_with, webhook_base, LIMITS_OFF};
use crate::{ctx_for, ms, patch, stats};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// How many messages the sink has taken, and when it took the last.
#[derive(Default)]
struct Taken {
    count: usize,
    last: Option<Instant>,
}

/// The minimal SMTP responder: accepts every command, counts every message; a thread per
/// connection.
fn sink() -> Result<(u16, Arc<Mutex<Taken>>), Error> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let taken = Arc::new(Mutex::new(Taken::default()));
    let shared = Arc::clone(&taken);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let t = Arc::clone(&shared);
            std::thread::spawn(move || {
                let _ = converse(stream, &t);
            });
        }
    });
    Ok((port, taken))
}

fn converse(stream: TcpStream, taken: &Mutex<Taken>) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let mut out = stream.try_clone()?;
    let mut lines = BufReader::new(stream);
    out.write_all(b"220 sink ESMTP\r\n")?;
    let mut line = String::new();
    // Bounded by the connection: a client that goes away ends it.
    loop {
        line.clear();
        if lines.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
        match verb.as_str() {
            "EHLO" => out.write_all(b"250-sink\r\n250 8BITMIME\r\n")?,
            "DATA" => {
                out.write_all(b"354 go on\r\n")?;
                loop {
                    line.clear();
                    if lines.read_line(&mut line)? == 0 {
                        return Ok(());
                    }
                    if line == ".\r\n" {
                        break;
                    }
                }
                if let Ok(mut t) = taken.lock() {
                    t.count += 1;
                    t.last = Some(Instant::now());
                }
                out.write_all(b"250 taken\r\n")?;
            }
            "QUIT" => {
                out.write_all(b"221 bye\r\n")?;
                return Ok(());
            }
            _ => out.write_all(b"250 ok\r\n")?,
        }
    }
}

/// Delivers `n` invitations, committed together, and measures `user.get` before and during.
pub(crate) fn run(n: usize, db_path: &Path, cardfile: &Path) -> Result<(), Error> {
    let (db, created) = crate::fresh_account(db_path, "deliver")?;
    let ctx = ctx_for(&db);
    let account = created.account.id;
    let base = Arc::new(webhook_base(&db, account, "bench")?);
    let (smtp, taken) = sink()?;
    let smtp_url = format!("smtp://127.0.0.1:{smtp}?tls=none");
    let server = start_with(
        cardfile,
        db_path.as_os_str(),
        &[&LIMITS_OFF[..], &["--smtp-url", &smtp_url, "--mail-from", "Bench <bench@deliver.example>"]]
            .concat(),
    )?;
    let port = server.port;

    let get = get_by_id(&base, 1);
    load(port, 1, 1.0, Arc::clone(&get))?; // warm-up
    let (_, idle) = load(port, 1, 3.0, Arc::clone(&get))?;
    let idle = stats(idle);

    // The invitations, committed in one transaction by another process on the file.
    let operator = Actor::operator(account);
    let batch = db.batch()?;
    let batch_ctx = Ctx { db: batch.as_database(), ..ctx };
    for i in 0..n {
        let fields = patch(&[(UserField::UfDepartment, "1")]);
        let invite = Invite { address: format!("p{i}@deliver.example"), fields, ..Invite::default() };
        invitations::invite_by_email(batch_ctx, &operator, invite)?;
    }
    batch.commit()?;
    let committed = Instant::now();
    let _ = users::actor_for(ctx, account, created.admin.id, ScopeSet::all())?;

    // user.get while the burst is delivered (bounded: 120 s).
    let deadline = committed + Duration::from_secs(120);
    let mut busy = Vec::new();
    loop {
        let done = taken.lock().map(|t| t.count >= n).unwrap_or(false);
        if done || Instant::now() >= deadline {
            break;
        }
        let (_, lat) = load(port, 1, 0.5, Arc::clone(&get))?;
        if !taken.lock().map(|t| t.count >= n).unwrap_or(false) {
            busy.extend(lat);
        }
    }
    let t = taken.lock().map_err(|_| "the sink's lock is poisoned")?;
    if t.count < n {
        return Err(format!("only {} of {n} invitations reached the sink in 120 s", t.count).into());
    }
    let secs = t.last.map_or(0.0, |last| last.duration_since(committed).as_secs_f64());
    drop(t);
    drop(server);
    let busy = if busy.is_empty() { None } else { Some(stats(busy)) };
    let allowed = (idle.p99 * 2).max(idle.p99 + Duration::from_millis(2));
    println!(
        "| deliver {n} invitations (SMTP sink on 127.0.0.1) | {:.0} messages/s | ≥ 500 |",
        n as f64 / secs
    );
    println!("| `user.get` p99, idle | {} | |", ms(idle.p99));
    match busy {
        Some(b) => println!(
            "| `user.get` p99 during the burst | {} | ≤ {} ({}) |",
            ms(b.p99),
            ms(allowed),
            if b.p99 <= allowed { "met" } else { "NOT met" }
        ),
        None => println!("| `user.get` p99 during the burst | burst over before a sample | |"),
    }
    let _ = db.read()?;
    Ok(())
}
