//! Sign-ins: 20 clients signing in through `POST /login` with correct passwords for 10 s (each
//! an argon2id hash at production cost) while 16 connections read `user.get`, against
//! `user.get` alone. Prints markdown rows.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use profile_core::access::{Actor, ScopeSet};
use profile_core::field::UserField;
use profile_core::model::user::Role;
use profile_core::usecase::identities;
use profile_core::usecase::users::{self, NewUser};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::http::{get_by_id, load, start, webhook_base};
use crate::{ctx_for, ms, patch, stats};

type Error = Box<dyn std::error::Error + Send + Sync>;

const CLIENTS: usize = 20;
const PASSWORD: &str = "a benchmark password";

/// One sign-in: `POST /login` with a double-submitted CSRF token; success is a 303 with a
/// session cookie.
async fn sign_in(port: u16, login: &str) -> Result<(), Error> {
    let csrf = "b".repeat(32);
    let body = format!(
        "csrf={csrf}&next=%2F&login={}&password={}",
        login.replace('@', "%40"),
        PASSWORD.replace(' ', "+")
    );
    let request = format!(
        "POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: __Host-cardfile-csrf={csrf}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut s = TcpStream::connect(("127.0.0.1", port)).await?;
    s.write_all(request.as_bytes()).await?;
    let mut answer = Vec::new();
    s.read_to_end(&mut answer).await?;
    let text = String::from_utf8_lossy(&answer);
    if text.starts_with("HTTP/1.1 303") && text.contains("__Host-cardfile=") {
        Ok(())
    } else {
        Err(format!("sign-in failed: {}", text.lines().next().unwrap_or("")).into())
    }
}

pub(crate) fn run(db_path: &Path, cardfile: &Path) -> Result<(), Error> {
    let (db, created) = crate::fresh_account(db_path, "signin")?;
    let ctx = ctx_for(&db);
    let account = created.account.id;
    let operator = Actor::operator(account);
    let admin = users::actor_for(ctx, account, created.admin.id, ScopeSet::all())?;
    let mut logins = Vec::new();
    for i in 0..CLIENTS {
        let login = format!("s{i}@signin.example");
        let fields = patch(&[(UserField::Email, &login), (UserField::UfDepartment, "1")]);
        let user =
            users::create_user(ctx, &admin, NewUser { role: Role::Employee, fields, workgroups: vec![] })?;
        identities::set_up_login(ctx, &operator, user.id, &login, Some(PASSWORD))?;
        logins.push(login);
    }
    let base = Arc::new(webhook_base(&db, account, "bench")?);
    let server = start(cardfile, db_path.as_os_str())?;
    let port = server.port;
    let get = get_by_id(&base, 1);
    load(port, 16, 1.0, Arc::clone(&get))?; // warm-up
    let (idle_rps, idle) = load(port, 16, 5.0, Arc::clone(&get))?;
    let idle = stats(idle);

    let signed = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(10);
    let clients = {
        let (signed, failed) = (Arc::clone(&signed), Arc::clone(&failed));
        std::thread::spawn(move || -> Result<(), Error> {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            rt.block_on(async move {
                let tasks: Vec<_> = logins
                    .into_iter()
                    .map(|login| {
                        let (signed, failed) = (Arc::clone(&signed), Arc::clone(&failed));
                        tokio::spawn(async move {
                            // Bounded by time, and by count.
                            for _ in 0..100_000 {
                                if Instant::now() >= deadline {
                                    break;
                                }
                                match sign_in(port, &login).await {
                                    Ok(()) => signed.fetch_add(1, Ordering::Relaxed),
                                    Err(_) => failed.fetch_add(1, Ordering::Relaxed),
                                };
                            }
                        })
                    })
                    .collect();
                for t in tasks {
                    let _ = t.await;
                }
            });
            Ok(())
        })
    };
    std::thread::sleep(Duration::from_millis(500));
    let (busy_rps, busy) = load(port, 16, 8.0, get)?;
    let busy = stats(busy);
    clients.join().map_err(|_| "the sign-in clients panicked")??;
    drop(server);
    let (signed, failed) = (signed.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
    if failed > 0 {
        return Err(format!("{failed} sign-ins failed").into());
    }
    let allowed = (idle.p99 * 2).max(idle.p99 + Duration::from_millis(2));
    println!(
        "| sign-ins, {CLIENTS} clients, 10 s (argon2id at production cost) | {:.1} sign-ins/s | |",
        signed as f64 / 10.0
    );
    println!("| `user.get` p99, 16 connections, idle | {} ({idle_rps:.0} req/s) | |", ms(idle.p99));
    println!(
        "| `user.get` p99 while they sign in | {} ({busy_rps:.0} req/s) | ≤ {} ({}) |",
        ms(busy.p99),
        ms(allowed),
        if busy.p99 <= allowed { "met" } else { "NOT met" }
    );
    Ok(())
}
