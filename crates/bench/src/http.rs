//! The HTTP part: the real `cardfile serve` on the seeded database, driven over 127.0.0.1 by a
//! small load generator (keep-alive connections, fixed durations). Prints markdown rows.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use profile_core::access::{Actor, ScopeSet};
use profile_core::ids::{AccountId, UserId};
use profile_core::model::credential::CredentialKind;
use profile_core::usecase::credentials::{self, NewCredential};
use store_sqlite::SqliteDb;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::data::{self, Rng};
use crate::{ctx_for, ms, stats};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Builds the next request of a connection (its random source, the request's number).
pub(crate) type MakeRequest = Arc<dyn Fn(&mut Rng, usize) -> Vec<u8> + Send + Sync>;

/// What to run.
pub struct Plan {
    /// The `cardfile` binary.
    pub cardfile: std::path::PathBuf,
    /// Seconds per throughput phase.
    pub seconds: f64,
    /// Connections for the throughput phases.
    pub connections: usize,
}

/// A running `cardfile serve`, stopped with SIGTERM when dropped.
pub(crate) struct Server {
    child: Child,
    /// The port it listens on (127.0.0.1).
    pub(crate) port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
    }
}

/// The options that switch `serve`'s limits off: the benchmarks measure the server, not its
/// limits.
pub(crate) const LIMITS_OFF: [&str; 6] =
    ["--rate-limit", "off", "--address-rate-limit", "off", "--operating-budget", "off"];

/// Starts `cardfile serve` on `db` on a free port of 127.0.0.1, its limits off; returns once it
/// says where it listens.
pub(crate) fn start(cardfile: &Path, db: &std::ffi::OsStr) -> Result<Server, Error> {
    start_with(cardfile, db, &LIMITS_OFF)
}

/// [`start`] with these options of `serve` instead of [`LIMITS_OFF`] (its limits are on unless
/// they include them).
pub(crate) fn start_with(cardfile: &Path, db: &std::ffi::OsStr, options: &[&str]) -> Result<Server, Error> {
    let mut child = Command::new(cardfile)
        .arg("--db")
        .arg(db)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(options)
        .env("CARDFILE_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut stderr = BufReader::new(child.stderr.take().ok_or("no stderr")?);
    let port = loop {
        let mut line = String::new();
        if stderr.read_line(&mut line)? == 0 {
            return Err("the server exited before listening".into());
        }
        if let Some(addr) = line.trim().strip_prefix("cardfile: listening on http://") {
            break addr.rsplit(':').next().ok_or("no port")?.parse()?;
        }
    };
    std::thread::spawn(move || {
        let mut sink = String::new();
        let _ = stderr.read_to_string(&mut sink);
    });
    Ok(Server { child, port })
}

pub(crate) fn request(path: &str, body: &str) -> Vec<u8> {
    format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Reads one response; returns its status and body length.
pub(crate) async fn response(s: &mut TcpStream, buf: &mut Vec<u8>) -> Result<(u16, usize), Error> {
    buf.clear();
    let mut chunk = [0u8; 16 * 1024];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = s.read(&mut chunk).await?;
        if n == 0 {
            return Err("connection closed".into());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = std::str::from_utf8(&buf[..head_end])?;
    let status: u16 = head.split(' ').nth(1).ok_or("no status")?.parse()?;
    let len: usize = head
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_string()))
        .ok_or("no content-length")?
        .parse()?;
    while buf.len() < head_end + len {
        let n = s.read(&mut chunk).await?;
        if n == 0 {
            return Err("connection closed".into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok((status, len))
}

/// How long a connection waits for an answer before it gives up (a hung server must not hang
/// the bench).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

/// A `batch` answers 200 whatever its commands do: a failed command must not count as work done.
/// (memmem: a byte-window scan of each ~75 KB FIND answer took the generator ~0.1 of a core,
/// which the server shares.)
pub(crate) fn failed_command(answer: &[u8]) -> bool {
    memchr::memmem::find(answer, b"\"result_error\":{").is_some()
}

/// Pages through a query with `start` offsets on one connection, one request after another,
/// until an answer has no `next` (at most `max_pages`): the pages, the seconds, the rows seen
/// (the last `start` plus a page) and each page's latency. `body` writes a page's parameters.
pub(crate) fn page_to_end(
    port: u16,
    path: &str,
    max_pages: usize,
    body: impl Fn(usize) -> String,
) -> Result<(usize, f64, usize, Vec<Duration>), Error> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(async {
        let mut s = TcpStream::connect(("127.0.0.1", port)).await?;
        s.set_nodelay(true)?;
        let mut buf = Vec::new();
        let started = Instant::now();
        let mut start = 0usize;
        let mut pages = 0usize;
        let mut each = Vec::new();
        for _ in 0..max_pages {
            let t = Instant::now();
            s.write_all(&request(path, &body(start))).await?;
            let (status, _) = response(&mut s, &mut buf).await?;
            each.push(t.elapsed());
            if status != 200 {
                return Err::<_, Error>(format!("paging {path}: status {status}").into());
            }
            pages += 1;
            let text = std::str::from_utf8(&buf)?;
            match text.find("\"next\":").map(|i| &text[i + 7..]) {
                Some(rest) => {
                    start = rest.split(|c: char| !c.is_ascii_digit()).next().unwrap_or("0").parse()?
                }
                None => break,
            }
        }
        Ok((pages, started.elapsed().as_secs_f64(), start + 50, each))
    })
}

/// One keep-alive connection until `deadline`: sends what `make` builds (its random source
/// seeded with `seed`) and hands each answer (status, the whole response, latency) to
/// `answered`, whose error ends the connection. Bounded by time, and by count.
pub(crate) async fn drive(
    port: u16,
    seed: u64,
    deadline: Instant,
    make: &MakeRequest,
    mut answered: impl FnMut(u16, &[u8], Duration) -> Result<(), Error>,
) -> Result<(), Error> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).await?;
    s.set_nodelay(true)?;
    let mut rng = Rng::new(seed);
    let mut buf = Vec::with_capacity(64 * 1024);
    for i in 0..10_000_000usize {
        if Instant::now() >= deadline {
            break;
        }
        let req = make(&mut rng, i);
        let t = Instant::now();
        s.write_all(&req).await?;
        let (status, _) = tokio::time::timeout(ANSWER_TIMEOUT, response(&mut s, &mut buf))
            .await
            .map_err(|_| format!("no answer in {} s", ANSWER_TIMEOUT.as_secs()))??;
        answered(status, &buf, t.elapsed())?;
    }
    Ok(())
}

/// Runs `connections` keep-alive connections for `seconds`, each sending what `make` builds;
/// returns (requests per second, latencies). Any answer but a 200 without a failed command
/// ends the run with an error.
pub(crate) fn load(
    port: u16,
    connections: usize,
    seconds: f64,
    make: MakeRequest,
) -> Result<(f64, Vec<Duration>), Error> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(async move {
        let deadline = Instant::now() + Duration::from_secs_f64(seconds);
        let started = Instant::now();
        let mut tasks = Vec::new();
        for c in 0..connections {
            let make = Arc::clone(&make);
            tasks.push(tokio::spawn(async move {
                let mut lat = Vec::new();
                drive(port, 0xB0B + c as u64, deadline, &make, |status, answer, took| {
                    if status != 200 || failed_command(answer) {
                        return Err(format!("status {status}: {}", String::from_utf8_lossy(answer)).into());
                    }
                    lat.push(took);
                    Ok(())
                })
                .await?;
                Ok::<_, Error>(lat)
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.map_err(|e| e.to_string())?.map_err(|e| e.to_string())?);
        }
        let secs = started.elapsed().as_secs_f64();
        Ok((all.len() as f64 / secs, all))
    })
}

pub(crate) fn prefix(rng: &mut Rng) -> String {
    let name = if rng.below(2) == 0 { rng.pick_skewed(data::FIRST) } else { rng.pick_skewed(data::LAST) };
    let chars: Vec<char> = name.chars().filter(|c| c.is_alphanumeric()).collect();
    let len = (2 + rng.below(3)).min(chars.len());
    chars[..len].iter().collect()
}

/// `user.get` of a random ID among the first `users`.
pub(crate) fn get_by_id(base: &Arc<String>, users: u32) -> MakeRequest {
    let base = Arc::clone(base);
    Arc::new(move |rng: &mut Rng, _: usize| {
        let id = 1 + rng.below(users as usize);
        request(&format!("{base}/user.get"), &format!("{{\"ID\":{id}}}"))
    })
}

/// `user.search` with a `FIND` of 2–4 letters of a common name.
pub(crate) fn find(base: &Arc<String>) -> MakeRequest {
    let base = Arc::clone(base);
    Arc::new(move |rng: &mut Rng, _: usize| {
        let body = format!("{{\"FILTER\":{{\"FIND\":\"{}\"}}}}", prefix(rng));
        request(&format!("{base}/user.search"), &body)
    })
}

/// A `batch` of `size` `user.add`, each a new address.
pub(crate) fn batch_of_adds(base: &Arc<String>, size: usize) -> Result<MakeRequest, Error> {
    // Addresses no earlier run on the same database used.
    let run_tag = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs();
    let base = Arc::clone(base);
    Ok(Arc::new(move |rng: &mut Rng, i: usize| {
        let tag = rng.next();
        let cmd: Vec<String> = (0..size)
            .map(|k| {
                format!(
                    "\"u{k}\":\"user.add?EMAIL=b{run_tag}-{tag:x}-{i}-{k}%40load.example&UF_DEPARTMENT[]=1\""
                )
            })
            .collect();
        request(&format!("{base}/batch"), &format!("{{\"cmd\":{{{}}}}}", cmd.join(",")))
    }))
}

/// A `key: N kB` figure of `/proc/PID/FILE`.
fn proc_kib(pid: u32, file: &str, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/{file}")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// A new all-scope webhook of the administrator (user 1): the path its calls start with.
pub(crate) fn webhook_base(db: &SqliteDb, account: AccountId, name: &str) -> Result<String, Error> {
    let hook = credentials::create_credential(
        ctx_for(db),
        &Actor::operator(account),
        NewCredential {
            kind: CredentialKind::Webhook,
            name: name.into(),
            owner: Some(UserId(1)),
            scopes: ScopeSet::all(),
            expires_at: None,
        },
    )?;
    Ok(format!("/rest/1/{}", hook.token))
}

/// Runs the HTTP measurements on the seeded database at `db_path`; prints markdown rows.
pub fn run(db: &SqliteDb, db_path: &Path, account: AccountId, n: usize, plan: &Plan) -> Result<(), Error> {
    let base = Arc::new(webhook_base(db, account, "bench")?);
    let server = start(&plan.cardfile, db_path.as_os_str())?;
    let port = server.port;
    let (conns, secs) = (plan.connections, plan.seconds);
    let users = n as u32 + 1;

    let time_req = {
        let base = Arc::clone(&base);
        Arc::new(move |_: &mut Rng, _: usize| request(&format!("{base}/server.time"), "{}"))
    };
    load(port, conns, secs.min(1.0), time_req.clone())?; // warm-up
    let (static_rps, _) = load(port, conns, secs, time_req)?;

    let get_req = get_by_id(&base, users);
    load(port, conns, secs.min(1.0), get_req.clone())?; // warm-up
    let (get_rps, get_lat) = load(port, conns, secs, get_req)?;
    let get = stats(get_lat);

    let find_req = find(&base);
    let (find_rps, find_lat) = load(port, conns, secs, find_req.clone())?;
    let find = stats(find_lat);
    let (_, find1_lat) = load(port, 1, secs, find_req)?;
    let find1 = stats(find1_lat);

    // Batches of 50 user.add, each batch one transaction.
    let batch_conns = 4;
    let batch_req = batch_of_adds(&base, 50)?;
    let (batch_rps, batch_lat) = load(port, batch_conns, secs, batch_req)?;
    let batch = stats(batch_lat);

    // Paging through every user with start offsets, one request after another.
    let (pages, paging_secs, rows, page_lat) =
        page_to_end(port, &format!("{base}/user.get"), 100_000, |start| format!("{{\"start\":{start}}}"))?;
    let page_lat = stats(page_lat);
    let pid = server.child.id();
    let rss = proc_kib(pid, "status", "VmRSS:").unwrap_or(0);
    let hwm = proc_kib(pid, "status", "VmHWM:").unwrap_or(0);
    let anon = proc_kib(pid, "status", "RssAnon:").unwrap_or(0);
    let file = proc_kib(pid, "status", "RssFile:").unwrap_or(0);
    // Every SQLite connection maps the database file on its own, and RSS counts a page once per
    // mapping; PSS counts it once.
    let pss = proc_kib(pid, "smaps_rollup", "Pss:").unwrap_or(0);
    drop(server);

    println!();
    println!("| HTTP, cardfile serve on 127.0.0.1 ({conns} keep-alive connections, {secs:.0} s a phase) | |");
    println!("|---|---|");
    println!("| server.time | {static_rps:.0} req/s |");
    println!(
        "| user.get by ID | {get_rps:.0} req/s = {:.2} of server.time · p50 {} · p99 {} |",
        get_rps / static_rps,
        ms(get.p50),
        ms(get.p99)
    );
    println!(
        "| user.search FIND 2-4 letters | {find_rps:.0} req/s · p50 {} · p99 {} ({conns} connections); p50 {} · p99 {} (1 connection) |",
        ms(find.p50),
        ms(find.p99),
        ms(find1.p50),
        ms(find1.p99)
    );
    println!(
        "| batch of 50 user.add | {:.0} users/s ({batch_conns} connections, p50 {} a batch) |",
        batch_rps * 50.0,
        ms(batch.p50)
    );
    println!(
        "| paging all users with start offsets | {paging_secs:.2} s for {pages} pages (~{rows} users; a page p50 {} · p99 {}) |",
        ms(page_lat.p50),
        ms(page_lat.p99)
    );
    println!(
        "| server memory after the run | RSS {:.0} MB (peak {:.0} MB): {:.0} MB anonymous, {:.0} MB of mapped files; PSS {:.0} MB |",
        rss as f64 / 1024.0,
        hwm as f64 / 1024.0,
        anon as f64 / 1024.0,
        file as f64 / 1024.0,
        pss as f64 / 1024.0
    );
    Ok(())
}
