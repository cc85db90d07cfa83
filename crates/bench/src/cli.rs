//! The `cardfile` binary's figures (issue #5): how long `serve` takes to answer its first request
//! (a `user.get` through a webhook: authentication and a read) on the seeded database, and `export` / `import` speed, each timed from process start to exit
//! (the wall clock an administrator waits). Prints markdown rows.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::ms;

type Error = Box<dyn std::error::Error>;

/// Starts of `serve` measured; the figure is their median (and the slowest is shown).
const STARTS: usize = 5;

/// Runs the figures on `db` (seeded with `users` users). `transfer` adds export and import.
pub fn run(cardfile: &Path, db: &Path, users: usize, transfer: bool) -> Result<(), Error> {
    let out = Command::new(cardfile)
        .arg("--db")
        .arg(db)
        .args(["--json", "webhook", "create", "--user", "1", "--scope", "user", "--name", "bench start"])
        .stdin(Stdio::null())
        .output()?;
    let hook: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let url = hook["url"].as_str().ok_or("webhook create printed no url")?;
    let path = &url[url.find("/rest/").ok_or("no /rest/ in the webhook url")?..];
    let mut starts = Vec::with_capacity(STARTS);
    for _ in 0..STARTS {
        starts.push(serve_start(cardfile, db, path)?);
    }
    starts.sort_unstable();
    println!(
        "| `cardfile serve`: process start to the first `user.get` answered | median {} · max {} ({STARTS} starts, {users} users) |",
        ms(starts[STARTS / 2]),
        ms(starts[STARTS - 1])
    );
    if !transfer {
        return Ok(());
    }
    let dir = db.with_extension("cli");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let csv = dir.join("users.csv");
    let started = Instant::now();
    run_ok(Command::new(cardfile).arg("--db").arg(db).args(["export", "--output"]).arg(&csv))?;
    let export = started.elapsed();
    // The seeded users, their administrator, and whatever the HTTP part added.
    let rows = count_rows(&csv)?;
    if rows <= users {
        return Err(format!("export wrote {rows} rows for at least {} users", users + 1).into());
    }
    println!(
        "| `cardfile export` to CSV | {:.0} rows/s ({rows} rows in {:.2} s) |",
        rows as f64 / export.as_secs_f64(),
        export.as_secs_f64()
    );

    let fresh = dir.join("fresh.db");
    let mut init = Command::new(cardfile)
        .arg("--db")
        .arg(&fresh)
        .args(["init", "--password-stdin", "--admin-email", "importer@cardfile.local"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    init.stdin.take().ok_or("no stdin")?.write_all(b"a bench password, long enough\n")?;
    if !init.wait()?.success() {
        return Err("cardfile init failed".into());
    }
    let started = Instant::now();
    run_ok(Command::new(cardfile).arg("--db").arg(&fresh).arg("import").arg(&csv))?;
    let import = started.elapsed();
    let back = dir.join("back.csv");
    run_ok(Command::new(cardfile).arg("--db").arg(&fresh).args(["export", "--output"]).arg(&back))?;
    let imported = count_rows(&back)? - 1; // the fresh account's own administrator
    if imported != rows {
        return Err(format!("import took {imported} of {rows} rows").into());
    }
    println!(
        "| `cardfile import` of that CSV into a fresh database | {:.0} rows/s ({rows} rows in {:.2} s) |",
        rows as f64 / import.as_secs_f64(),
        import.as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn run_ok(cmd: &mut Command) -> Result<(), Error> {
    let out = cmd.env("CARDFILE_LOG", "warn").stdin(Stdio::null()).stdout(Stdio::null()).output()?;
    if !out.status.success() {
        return Err(format!("{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    Ok(())
}

/// Data rows of a CSV file (the header excluded).
fn count_rows(path: &Path) -> Result<usize, Error> {
    let mut reader = csv::Reader::from_path(path)?;
    let mut n = 0;
    for record in reader.records() {
        record?;
        n += 1;
    }
    Ok(n)
}

/// Time from spawning `cardfile serve` to its answer to `user.get?ID=1` on the webhook `hook`.
fn serve_start(cardfile: &Path, db: &Path, hook: &str) -> Result<Duration, Error> {
    let started = Instant::now();
    let server = crate::http::start(cardfile, db.as_os_str()).map_err(|e| e as Error)?;
    let mut conn = TcpStream::connect(("127.0.0.1", server.port))?;
    conn.set_read_timeout(Some(Duration::from_secs(30)))?;
    let request = format!("GET {hook}user.get?ID=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    conn.write_all(request.as_bytes())?;
    let mut reply = String::new();
    conn.read_to_string(&mut reply)?;
    if !reply.contains("\"ID\":\"1\"") {
        return Err(format!("user.get answered {reply:?}").into());
    }
    Ok(started.elapsed())
}
