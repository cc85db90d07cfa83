//! SQLite and PostgreSQL side by side (`bench --stores N --http CARDFILE`): the same N users,
//! imported into a SQLite file with `cardfile import`, copied into PostgreSQL with `cardfile
//! migrate` (timed), then the real `cardfile serve` on each in turn: `user.get` by ID and `FIND`
//! over HTTP, paging to the end with `start` offsets, and `batch` of 50 `user.add`. PostgreSQL
//! runs on the same machine, started from the machine's packages with `fsync` on (as durable
//! as SQLite's `synchronous=FULL`). Prints markdown rows.

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use crate::data::{self, Rng};
use crate::http::{self, Plan};
use crate::{ms, stats, Stats};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// What one store measured.
struct Figures {
    get_rps: f64,
    get: Stats,
    find_rps: f64,
    find: Stats,
    paging_secs: f64,
    pages: usize,
    batch_users_per_sec: f64,
}

pub(crate) fn run(n: usize, dir: &Path, plan: &Plan) -> Result<(), Error> {
    let cardfile = &plan.cardfile;
    let file = dir.join("stores.db");
    crate::remove_db(&file);
    let csv = dir.join("stores.csv");
    std::fs::write(&csv, people(n))?;
    run_cardfile(cardfile, file.as_os_str(), &["init", "--slug", "bench", "--name", "Bench Corp"])?;
    run_cardfile(cardfile, file.as_os_str(), &["import", csv.to_str().ok_or("path")?])?;
    let _ = std::fs::remove_file(&csv);

    let server = store_postgres::testing::start_server(true)?;
    let url = server.empty_database();
    let started = Instant::now();
    run_cardfile(cardfile, file.as_os_str(), &["migrate", "--to", &url])?;
    let migrate_secs = started.elapsed().as_secs_f64();

    let users = n as u32 + 1;
    let sqlite = measure(cardfile, file.as_os_str(), users, plan)?;
    let postgres = measure(cardfile, url.as_ref(), users, plan)?;
    crate::remove_db(&file);
    drop(server);

    let conns = plan.connections;
    println!();
    println!(
        "| {n} users, SQLite and PostgreSQL on one machine, cardfile serve on 127.0.0.1 ({conns} connections, {:.0} s a phase) | SQLite | PostgreSQL | PostgreSQL / SQLite |",
        plan.seconds
    );
    println!("|---|---|---|---|");
    let ratio = |a: f64, b: f64| format!("{:.2}", b / a.max(1e-9));
    // A throughput row: requests a second and latencies on each store, and their ratio.
    let rate = |what: &str, (a, a_lat): (f64, &Stats), (b, b_lat): (f64, &Stats)| {
        let each = |rps: f64, l: &Stats| format!("{rps:.0} req/s · p50 {} · p99 {}", ms(l.p50), ms(l.p99));
        println!("| {what} | {} | {} | {} |", each(a, a_lat), each(b, b_lat), ratio(a, b));
    };
    rate("user.get by ID", (sqlite.get_rps, &sqlite.get), (postgres.get_rps, &postgres.get));
    rate(
        "user.search FIND 2-4 letters",
        (sqlite.find_rps, &sqlite.find),
        (postgres.find_rps, &postgres.find),
    );
    println!(
        "| paging all users with start offsets, one connection | {:.2} s for {} pages | {:.2} s for {} pages | {} |",
        sqlite.paging_secs,
        sqlite.pages,
        postgres.paging_secs,
        postgres.pages,
        ratio(sqlite.paging_secs, postgres.paging_secs)
    );
    println!(
        "| batch of 50 user.add (4 connections) | {:.0} users/s | {:.0} users/s | {} |",
        sqlite.batch_users_per_sec,
        postgres.batch_users_per_sec,
        ratio(sqlite.batch_users_per_sec, postgres.batch_users_per_sec)
    );
    println!(
        "| `cardfile migrate` SQLite → PostgreSQL, process start to exit | | {:.0} users/s ({migrate_secs:.1} s) | |",
        (n + 1) as f64 / migrate_secs
    );
    Ok(())
}

/// `cardfile serve` on `db`, measured.
fn measure(cardfile: &Path, db: &std::ffi::OsStr, users: u32, plan: &Plan) -> Result<Figures, Error> {
    let out = run_cardfile(cardfile, db, &["--json", "webhook", "create", "--scope", "user,department"])?;
    let hook: serde_json::Value = serde_json::from_str(&out)?;
    let url = hook["url"].as_str().ok_or("webhook create printed no url")?;
    let base = Arc::new(url[url.find("/rest/").ok_or("no /rest/")?..].trim_end_matches('/').to_string());
    let server = http::start(cardfile, db)?;
    let (port, conns, secs) = (server.port, plan.connections, plan.seconds);
    let get_req = http::get_by_id(&base, users);
    http::load(port, conns, secs.min(1.0), get_req.clone())?; // warm-up
    let (get_rps, get_lat) = http::load(port, conns, secs, get_req)?;
    let (find_rps, find_lat) = http::load(port, conns, secs, http::find(&base))?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let walk = rt.block_on(crate::paging::walk_http(port, &base, "{"))?;
    let (batch_rps, _) = http::load(port, 4, secs, http::batch_of_adds(&base, 50)?)?;
    drop(server);
    Ok(Figures {
        get_rps,
        get: stats(get_lat),
        find_rps,
        find: stats(find_lat),
        paging_secs: walk.total.as_secs_f64(),
        pages: walk.pages,
        batch_users_per_sec: batch_rps * 50.0,
    })
}

/// Runs `cardfile --db DB ARGS`; returns its standard output.
fn run_cardfile(cardfile: &Path, db: &std::ffi::OsStr, args: &[&str]) -> Result<String, Error> {
    let out = Command::new(cardfile)
        .arg("--db")
        .arg(db)
        .args(args)
        .env("CARDFILE_LOG", "warn")
        .stdin(Stdio::null())
        .output()?;
    if !out.status.success() {
        return Err(format!("cardfile {args:?}: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    Ok(String::from_utf8(out.stdout)?)
}

/// A CSV of `n` people in 20 divisions of 10 teams, with the bench's names, positions, cities
/// and phones.
fn people(n: usize) -> String {
    let mut rng = Rng::new(0x0057_04E5);
    let mut text = String::from("EMAIL,NAME,LAST_NAME,WORK_POSITION,WORK_PHONE,PERSONAL_CITY,DEPARTMENTS\n");
    for i in 0..n {
        let first = rng.pick_skewed(data::FIRST);
        let last = rng.pick_skewed(data::LAST);
        let division = data::FUNCTIONS[i % 20 % data::FUNCTIONS.len()];
        let _ = writeln!(
            text,
            "{}.{}{i}@bench.example,{first},{last},{},+1 555 {:03} {:04},{},Bench Corp/{division} {}/Team {}",
            crate::ascii(first),
            crate::ascii(last),
            rng.pick(data::POSITIONS),
            rng.below(1000),
            rng.below(10_000),
            rng.pick(data::PLACES),
            i % 20,
            i % 200
        );
    }
    text
}
