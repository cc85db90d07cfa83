//! `bench`: seeds a Cardfile database on disk with realistic users and measures, through the
//! profile-core use cases on store-sqlite, the figures `docs/benchmarks.md` records.
//! Run it through `cargo xtask bench` (release build), not directly in a debug build.
//!
//! Usage: `bench --users N [--db PATH] [--samples N] [--reuse [--web-only]] [--http CARDFILE [--http-seconds S]]
//! [--cli CARDFILE] [--speed all|none|without:PATH,…]` (the store's speed paths for the library
//! runs: `group`, `optimistic`, `defer`), `[--paging N]` (offset paging on N users of one
//! department, in the library and with `--http` over HTTP, instead of the rest), `[--stores N]`
//! (with `--http`: N users on SQLite and on PostgreSQL side by side, instead of the rest),
//! `[--deliver N]` (with `--http`: N invitations delivered by SMTP, instead of the rest),
//! `[--signins]` (with `--http`: sign-ins through `/login` against `user.get`, instead),
//! `[--mixed-seconds S]` (with `--http`, after the rest: the mixed load of 64 connections with a
//! hostile client for S seconds, default 60; 0 skips it) `[--mixed-limited]` (its legitimate
//! clients on the `serve` with the default limits too).

mod card;
mod cli;
mod content;
mod data;
mod delivery;
mod http;
mod mixed;
mod paging;
mod signins;
mod stores;
mod web;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use data::Rng;
use profile_core::access::{Actor, Scope, ScopeSet, Select};
use profile_core::field::UserField;
use profile_core::ids::{DepartmentId, UserId};
use profile_core::model::user::{Role, UserPatch};
use profile_core::ports::{Database, RandomIds, SystemClock};
use profile_core::query::{Condition, Op, PageRequest, SortKey, UserFilter, UserQuery};
use profile_core::secret::Argon2id;
use profile_core::usecase::accounts::{self, CreateAccountRequest};
use profile_core::usecase::departments::{self, NewDepartment};
use profile_core::usecase::users::{self, NewUser};
use profile_core::usecase::Ctx;
use profile_core::Value;

/// The use-case context of every measurement: the system clock and randomness, production
/// password hashing (the bench logs nobody in), and a base URL for links it never sends.
fn ctx_for(db: &dyn Database) -> Ctx<'_> {
    Ctx {
        db,
        clock: &SystemClock,
        ids: &RandomIds,
        passwords: &Argon2id::PRODUCTION,
        images: &profile_core::ports::NoImages,
        base_url: "http://127.0.0.1:8080",
        invitations_per_hour: 0,
        client: None,
    }
}
use store_sqlite::SqliteDb;

/// A fresh database at `path` with one account `slug` (administrator `admin@{slug}.example`).
fn fresh_account(
    path: &Path,
    slug: &str,
) -> Result<
    (SqliteDb, profile_core::usecase::accounts::AccountCreated),
    Box<dyn std::error::Error + Send + Sync>,
> {
    remove_db(path);
    let db = SqliteDb::open(path)?;
    let created = accounts::create_account(
        ctx_for(&db),
        CreateAccountRequest {
            slug: slug.into(),
            name: format!("{slug} Corp"),
            admin: patch(&[(UserField::Email, &format!("admin@{slug}.example"))]),
        },
    )?;
    Ok((db, created))
}

/// Users per `create_users_bulk` call of the load.
const BATCH: usize = 10_000;

struct Args {
    users: usize,
    db: PathBuf,
    samples: usize,
    /// Measure the reads on a database an earlier run seeded (no insert figure then).
    reuse: bool,
    /// With `reuse` and `http`: the pages' figures alone.
    web_only: bool,
    /// Also measure over HTTP, with this `cardfile` binary.
    http: Option<http::Plan>,
    /// Also measure this `cardfile` binary: `serve` start, and export and import up to 100k
    /// users.
    cli: Option<PathBuf>,
    /// The store's speed paths in the library runs.
    speed: store_sqlite::Speed,
    /// Measure offset paging on a database of this many users in one department instead.
    paging: Option<usize>,
    /// Measure this many users on SQLite and PostgreSQL side by side instead.
    stores: Option<usize>,
    /// Deliver this many invitations by SMTP instead.
    deliver: Option<usize>,
    /// Measure sign-ins through `/login` against `user.get` instead.
    signins: bool,
    /// With `http`, the mixed load after the rest (none when it has no seconds).
    mixed: mixed::Mixed,
}

/// Opens the bench database with the chosen speed paths.
fn open(args: &Args) -> Result<SqliteDb, profile_core::StoreError> {
    SqliteDb::open_with(&args.db, store_sqlite::Options { speed: args.speed.clone(), ..Default::default() })
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        users: 10_000,
        db: std::env::temp_dir().join("cardfile-bench.db"),
        samples: 2_000,
        reuse: false,
        web_only: false,
        http: None,
        cli: None,
        speed: store_sqlite::Speed::default(),
        paging: None,
        stores: None,
        deliver: None,
        signins: false,
        mixed: mixed::Mixed { seconds: 60.0, limited: false },
    };
    let mut http_seconds = 3.0;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut val = || it.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--users" => args.users = val()?.parse().map_err(|e| format!("--users: {e}"))?,
            "--db" => args.db = PathBuf::from(val()?),
            "--samples" => args.samples = val()?.parse().map_err(|e| format!("--samples: {e}"))?,
            "--reuse" => args.reuse = true,
            "--web-only" => args.web_only = true,
            "--http" => {
                args.http =
                    Some(http::Plan { cardfile: PathBuf::from(val()?), seconds: 3.0, connections: 16 })
            }
            "--cli" => args.cli = Some(PathBuf::from(val()?)),
            "--speed" => args.speed = store_sqlite::Speed::parse(&val()?)?,
            "--paging" => args.paging = Some(val()?.parse().map_err(|e| format!("--paging: {e}"))?),
            "--stores" => args.stores = Some(val()?.parse().map_err(|e| format!("--stores: {e}"))?),
            "--signins" => args.signins = true,
            "--deliver" => args.deliver = Some(val()?.parse().map_err(|e| format!("--deliver: {e}"))?),
            "--http-seconds" => http_seconds = val()?.parse().map_err(|e| format!("--http-seconds: {e}"))?,
            "--mixed-seconds" => {
                args.mixed.seconds = val()?.parse().map_err(|e| format!("--mixed-seconds: {e}"))?
            }
            "--mixed-limited" => args.mixed.limited = true,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if let Some(plan) = args.http.as_mut() {
        plan.seconds = http_seconds;
    }
    if !(args.mixed.seconds >= 0.0 && args.mixed.seconds <= 3600.0) {
        return Err("--mixed-seconds must be from 0 to 3600".into());
    }
    if args.users == 0 || args.samples == 0 {
        return Err("--users and --samples must be at least 1".into());
    }
    Ok(args)
}

/// Latency percentiles of a sample.
struct Stats {
    p50: Duration,
    p99: Duration,
    mean: Duration,
}

fn stats(mut v: Vec<Duration>) -> Stats {
    v.sort_unstable();
    let at = |q: f64| v[((v.len() as f64 - 1.0) * q).round() as usize];
    let mean = v.iter().sum::<Duration>() / v.len().max(1) as u32;
    Stats { p50: at(0.50), p99: at(0.99), mean }
}

fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

fn remove_db(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
}

/// The allocator `cardfile` uses (see its `main.rs`), so that the library is measured as it runs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("bench: {e}\nusage: bench --users N [--db PATH] [--samples N]");
            std::process::exit(2);
        }
    };
    if let Err(e) = run(&args) {
        eprintln!("bench: {e}");
        std::process::exit(1);
    }
}

fn run(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    if args.signins {
        let plan = args.http.as_ref().ok_or("--signins needs --http CARDFILE")?;
        return signins::run(&args.db, &plan.cardfile).map_err(|e| e.to_string().into());
    }
    if let Some(n) = args.deliver {
        let plan = args.http.as_ref().ok_or("--deliver needs --http CARDFILE")?;
        return delivery::run(n, &args.db, &plan.cardfile).map_err(|e| e.to_string().into());
    }
    if let Some(n) = args.stores {
        let plan = args.http.as_ref().ok_or("--stores needs --http CARDFILE")?;
        let dir = args.db.parent().unwrap_or(Path::new("."));
        return stores::run(n, dir, plan).map_err(|e| e.to_string().into());
    }
    if let Some(n) = args.paging {
        remove_db(&args.db);
        let db = open(args)?;
        let (account, seeded) = paging::seed(&db, n).map_err(|e| e.to_string())?;
        paging::library(&db, account, n, seeded).map_err(|e| e.to_string())?;
        if let Some(plan) = &args.http {
            paging::http(&db, &args.db, account, &plan.cardfile).map_err(|e| e.to_string())?;
        }
        return Ok(());
    }
    if args.reuse {
        return reads_only(args);
    }
    remove_db(&args.db);
    let db = open(args)?;
    let ctx = ctx_for(&db);
    let mut rng = Rng::new(0x0C0F_FEE5);
    let n = args.users;

    // The account, and a department tree of about one department per 200 users:
    // root > 20 divisions > teams.
    let created = accounts::create_account(
        ctx,
        CreateAccountRequest {
            slug: "bench".into(),
            name: "Bench Corp".into(),
            admin: patch(&[(UserField::Email, "admin@bench.example")]),
        },
    )?;
    let admin = users::actor_for(ctx, created.account.id, created.admin.id, ScopeSet::all())?;
    let divisions: Vec<DepartmentId> = (0..20)
        .map(|i| {
            add_dept(
                ctx,
                &admin,
                format!("{} Division", data::FUNCTIONS[i % data::FUNCTIONS.len()]),
                DepartmentId(1),
            )
        })
        .collect::<Result<_, _>>()?;
    let teams_wanted = (n / 200).max(20);
    let mut teams = Vec::with_capacity(teams_wanted);
    for t in 0..teams_wanted {
        let div = divisions[t % divisions.len()];
        let name = format!(
            "{} {} {}",
            data::FUNCTIONS[rng.below(data::FUNCTIONS.len())],
            data::PLACES[rng.below(data::PLACES.len())],
            t
        );
        teams.push(add_dept(ctx, &admin, name, div)?);
    }

    // The bulk load: one batch (one transaction, as `cardfile import` loads a file), 10k users
    // per `create_users_bulk` call. The store builds the new rows' indexes once, at the commit.
    let mut members: Vec<Vec<UserId>> = vec![Vec::new(); teams.len()];
    // Only the library call is timed; building the rows is the caller's work.
    let mut insert_time = Duration::ZERO;
    let mut next_id = 2u32;
    let mut done = 0;
    let load = db.optimistic_batch()?;
    let load_ctx = Ctx { db: load.as_database(), ..ctx };
    while done < n {
        let size = BATCH.min(n - done);
        let mut rows = Vec::with_capacity(size);
        for i in 0..size {
            let first = rng.pick_skewed(data::FIRST);
            let last = rng.pick_skewed(data::LAST);
            let team = rng.below(teams.len());
            members[team].push(UserId(next_id + i as u32));
            let email = format!("{}.{}{}@bench.example", ascii(first), ascii(last), done + i);
            let phone = format!("+1 555 {:03} {:04}", rng.below(1000), rng.below(10_000));
            let fields = UserPatch::parse([
                (UserField::Name, Value::text(first)),
                (UserField::LastName, Value::text(last)),
                (UserField::Email, Value::text(email)),
                (UserField::WorkPosition, Value::text(rng.pick(data::POSITIONS))),
                (UserField::WorkPhone, Value::text(phone)),
                (UserField::PersonalCity, Value::text(rng.pick(data::PLACES))),
                (UserField::UfDepartment, Value::IntList(vec![i64::from(teams[team].0)])),
            ])?;
            rows.push(NewUser { role: Role::Employee, fields, workgroups: vec![] });
        }
        let started = Instant::now();
        let ids = users::create_users_bulk(load_ctx, &admin, rows)?;
        insert_time += started.elapsed();
        next_id += ids.len() as u32;
        done += size;
    }
    let started = Instant::now();
    load.commit()?;
    insert_time += started.elapsed();
    let insert_secs = insert_time.as_secs_f64();
    let insert_rate = n as f64 / insert_secs;

    // Heads: a member of each team heads it; divisions are headed by their first team's head.
    let mut heads = Vec::new();
    {
        let mut tx = db.write()?;
        for (t, team) in teams.iter().enumerate() {
            if let (Some(&head), Some(mut d)) =
                (members[t].first(), tx.department(created.account.id, *team)?)
            {
                d.head = Some(head);
                tx.update_department(&d)?;
                heads.push(head);
            }
        }
        tx.commit()?;
    }
    db.optimize()?;

    measure(&db, args, created.account.id, &teams, &heads, Some(insert_rate), Some(insert_secs))?;
    if let Some(plan) = &args.http {
        http::run(&db, &args.db, created.account.id, n, plan).map_err(|e| e.to_string())?;
    }
    if let Some(cardfile) = &args.cli {
        drop(db);
        cli::run(cardfile, &args.db, n, n <= 100_000)?;
    }
    card_phase(args, created.account.id)?;
    mixed_load(args, created.account.id)
}

/// How many 12 MP photos the card's phase uploads: a few in a brief run.
fn uploads(plan: &http::Plan) -> usize {
    if plan.seconds < 2.0 {
        4
    } else {
        20
    }
}

/// The card's figures, after export and import (its custom fields would be columns of the
/// export, which the fresh database of the import has not defined).
fn card_phase(args: &Args, account: profile_core::ids::AccountId) -> Result<(), Box<dyn std::error::Error>> {
    let Some(plan) = args.http.as_ref() else { return Ok(()) };
    let db = open(args)?;
    card::run(&db, &args.db, account, args.users, plan, uploads(plan)).map_err(|e| e.to_string())?;
    content::run(&db, &args.db, account, args.users, plan).map_err(|e| e.to_string())?;
    web::run(&db, &args.db, account, args.users, plan).map_err(|e| e.to_string().into())
}

/// The mixed load, last: its writes add users, which the figures before it do not expect.
fn mixed_load(args: &Args, account: profile_core::ids::AccountId) -> Result<(), Box<dyn std::error::Error>> {
    let Some(plan) = args.http.as_ref().filter(|_| args.mixed.seconds > 0.0) else {
        return Ok(());
    };
    let db = open(args)?;
    mixed::run(&db, &args.db, account, args.users, &plan.cardfile, &args.mixed)
        .map_err(|e| e.to_string().into())
}

/// Measures the reads on a database seeded by an earlier run.
fn reads_only(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let db = open(args)?;
    let ctx = ctx_for(&db);
    let account = accounts::find_account(ctx, "bench")?;
    if let Some(plan) = args.http.as_ref().filter(|_| args.web_only) {
        return web::run(&db, &args.db, account.id, args.users, plan).map_err(|e| e.to_string().into());
    }
    let all = db.read()?.departments(account.id)?;
    let divisions: Vec<DepartmentId> =
        all.iter().filter(|d| d.parent == Some(DepartmentId(1))).map(|d| d.id).collect();
    let teams: Vec<DepartmentId> =
        all.iter().filter(|d| d.parent.is_some_and(|p| divisions.contains(&p))).map(|d| d.id).collect();
    let heads: Vec<UserId> = all.iter().filter_map(|d| d.head).collect();
    measure(&db, args, account.id, &teams, &heads, None, None)?;
    if let Some(plan) = &args.http {
        http::run(&db, &args.db, account.id, args.users, plan).map_err(|e| e.to_string())?;
    }
    if let Some(cardfile) = &args.cli {
        drop(db);
        cli::run(cardfile, &args.db, args.users, args.users <= 100_000)?;
    }
    card_phase(args, account.id)?;
    mixed_load(args, account.id)
}

#[allow(clippy::too_many_arguments)]
fn measure(
    db: &SqliteDb,
    args: &Args,
    account: profile_core::ids::AccountId,
    teams: &[DepartmentId],
    heads: &[UserId],
    insert_rate: Option<f64>,
    insert_secs: Option<f64>,
) -> Result<(), Box<dyn std::error::Error>> {
    let ctx = ctx_for(db);
    let mut rng = Rng::new(0x5EED);
    let n = args.users;
    let size = db_size(&args.db);
    let reader = Actor {
        account,
        user: Some(UserId(2)),
        role: Role::Employee,
        scopes: [Scope::User, Scope::Department].into_iter().collect(),
    };
    let samples = args.samples;
    let total_users = n as u32 + 1;

    // Warm-up: touch what the measured reads will touch, so a fresh process is not measured
    // cold (every figure below is steady-state).
    for _ in 0..samples {
        let id = UserId(1 + rng.below(total_users as usize) as u32);
        std::hint::black_box(users::get_user(ctx, &reader, id, &Select::All, false)?);
        let q = department_page(teams[rng.below(teams.len())], ctx.clock.now())?;
        std::hint::black_box(users::find_users(ctx, &reader, &q, &Select::All, false)?);
    }

    // get by ID, projection included.
    let mut t = Vec::with_capacity(samples * 10);
    for _ in 0..samples * 10 {
        let id = UserId(1 + rng.below(total_users as usize) as u32);
        let s = Instant::now();
        let v = users::get_user(ctx, &reader, id, &Select::All, false)?;
        t.push(s.elapsed());
        std::hint::black_box(v);
    }
    let get = stats(t);

    // A department's page of 50 sorted by last name.
    let mut t = Vec::with_capacity(samples);
    for _ in 0..samples {
        let q = department_page(teams[rng.below(teams.len())], ctx.clock.now())?;
        let s = Instant::now();
        let page = users::find_users(ctx, &reader, &q, &Select::All, false)?;
        t.push(s.elapsed());
        std::hint::black_box(page);
    }
    let dept_page = stats(t);

    // FIND with 2-4 letter prefixes of seeded names, total included.
    let mut t = Vec::with_capacity(samples);
    let mut totals = Vec::with_capacity(samples);
    for _ in 0..samples {
        let name = if rng.below(2) == 0 { rng.pick_skewed(data::FIRST) } else { rng.pick_skewed(data::LAST) };
        let chars: Vec<char> = name.chars().filter(|c| c.is_alphanumeric()).collect();
        let len = (2 + rng.below(3)).min(chars.len());
        let prefix: String = chars[..len].iter().collect();
        let q = UserQuery {
            filter: UserFilter::default().with_find(&prefix)?,
            sort: vec![],
            page: PageRequest::default(),
            now: ctx.clock.now(),
        };
        let s = Instant::now();
        let page = users::find_users(ctx, &reader, &q, &Select::All, false)?;
        t.push(s.elapsed());
        totals.push(page.total.unwrap_or(0));
    }
    let find = stats(t);
    totals.sort_unstable();

    // Direct subordinates of a head.
    let mut t = Vec::with_capacity(samples);
    let mut found = 0;
    for _ in 0..samples {
        let head = heads[rng.below(heads.len())];
        let s = Instant::now();
        let subs = users::subordinates_of(ctx, &reader, head, false)?;
        t.push(s.elapsed());
        found += subs.len();
    }
    let subs = stats(t);

    let per_user = size as f64 / f64::from(total_users);
    println!("| users | {n} |");
    println!("|---|---|");
    if let (Some(rate), Some(secs)) = (insert_rate, insert_secs) {
        println!("| bulk insert | {rate:.0} users/s ({n} users in {secs:.1} s, one transaction, {BATCH} a call, synchronous=FULL) |");
    }
    println!(
        "| get by ID (projection included) | p50 {} · p99 {} · mean {} |",
        us(get.p50),
        us(get.p99),
        us(get.mean)
    );
    println!(
        "| department page of 50 by last name | p50 {} · p99 {} |",
        ms(dept_page.p50),
        ms(dept_page.p99)
    );
    println!(
        "| FIND 2-4 letter prefix, with total | p50 {} · p99 {} (totals: median {}, max {}) |",
        ms(find.p50),
        ms(find.p99),
        totals[totals.len() / 2],
        totals[totals.len() - 1]
    );
    println!(
        "| direct subordinates of a head | p50 {} · p99 {} (avg {} found) |",
        ms(subs.p50),
        ms(subs.p99),
        found / samples.max(1)
    );
    println!("| database size | {:.1} MB, {per_user:.0} bytes/user |", size as f64 / 1e6);
    Ok(())
}

/// The first page of a department's members sorted by last name, as a directory shows it.
fn department_page(
    team: DepartmentId,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<UserQuery, profile_core::CoreError> {
    let filter = UserFilter::default().and(Condition::parse(
        UserField::UfDepartment,
        Op::Eq,
        &Value::Int(i64::from(team.0)),
    )?);
    Ok(UserQuery {
        filter,
        sort: vec![SortKey::new(UserField::LastName, false)?],
        page: PageRequest::default(),
        now,
    })
}

fn add_dept(
    ctx: Ctx<'_>,
    admin: &Actor,
    name: String,
    parent: DepartmentId,
) -> Result<DepartmentId, profile_core::CoreError> {
    departments::add_department(
        ctx,
        admin,
        NewDepartment { name, parent: Some(parent), sort: None, head: None },
    )
    .map(|d| d.id)
}

fn patch(pairs: &[(UserField, &str)]) -> UserPatch {
    UserPatch::parse(pairs.iter().map(|(f, v)| (*f, Value::text(*v)))).unwrap_or_default()
}

/// An email-safe spelling of a name.
fn ascii(s: &str) -> String {
    profile_core::query::search_words(s).join("")
}

/// The database's size on disk, after a checkpoint.
fn db_size(path: &Path) -> u64 {
    if let Ok(c) = std::fs::metadata(path) {
        let wal = {
            let mut p = path.as_os_str().to_owned();
            p.push("-wal");
            std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
        };
        c.len() + wal
    } else {
        0
    }
}
