//! Offset paging to the end (`bench --paging N`): a database of N users who all belong to one
//! department, paged 50 at a time with `start` offsets as the SDKs' list helpers do, in the
//! library (through `find_users`, as the REST handler calls it) and, with `--http`, over HTTP
//! against the real `cardfile serve`. Prints markdown rows.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use profile_core::access::{Actor, Scope, ScopeSet, Select};
use profile_core::field::UserField;
use profile_core::ids::{AccountId, DepartmentId, UserId};
use profile_core::model::user::{Role, UserPatch};
use profile_core::ports::{Clock, Database as _};
use profile_core::query::{Condition, Op, PageRequest, SortKey, UserFilter, UserQuery};
use profile_core::usecase::accounts::{self, CreateAccountRequest};
use profile_core::usecase::departments::{self, NewDepartment};
use profile_core::usecase::users::{self, NewUser};
use profile_core::usecase::Ctx;
use profile_core::Value;
use store_sqlite::SqliteDb;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::data::{self, Rng};
use crate::{ctx_for, ms, patch};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// The one department every user belongs to.
const EVERYONE: u32 = 2;

/// Seeds `n` users into department [`EVERYONE`] of a new account `paging`.
pub(crate) fn seed(db: &SqliteDb, n: usize) -> Result<(AccountId, Duration), Error> {
    let ctx = ctx_for(db);
    let created = accounts::create_account(
        ctx,
        CreateAccountRequest {
            slug: "paging".into(),
            name: "Paging Corp".into(),
            admin: patch(&[(UserField::Email, "admin@paging.example")]),
        },
    )?;
    let admin = users::actor_for(ctx, created.account.id, created.admin.id, ScopeSet::all())?;
    let everyone = departments::add_department(
        ctx,
        &admin,
        NewDepartment { name: "Everyone".into(), parent: Some(DepartmentId(1)), sort: None, head: None },
    )?;
    assert_eq!(everyone.id, DepartmentId(EVERYONE));
    let mut rng = Rng::new(0x09A9_10E5);
    let started = Instant::now();
    let load = db.optimistic_batch()?;
    let load_ctx = Ctx { db: load.as_database(), ..ctx };
    let mut done = 0;
    while done < n {
        let size = 10_000.min(n - done);
        let rows = (0..size)
            .map(|i| {
                let (first, last) = (rng.pick_skewed(data::FIRST), rng.pick_skewed(data::LAST));
                let fields = UserPatch::parse([
                    (UserField::Name, Value::text(first)),
                    (UserField::LastName, Value::text(last)),
                    (UserField::Email, Value::text(format!("p{}@paging.example", done + i))),
                    (UserField::WorkPosition, Value::text(rng.pick(data::POSITIONS))),
                    (UserField::UfDepartment, Value::IntList(vec![i64::from(EVERYONE)])),
                ])?;
                Ok(NewUser { role: Role::Employee, fields, workgroups: vec![] })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        users::create_users_bulk(load_ctx, &admin, rows)?;
        done += size;
    }
    load.commit()?;
    db.optimize()?;
    Ok((created.account.id, started.elapsed()))
}

/// The pagings measured: what, the query of every page but its `start`, and the same as the
/// JSON of `user.get` without its closing brace.
type Paging = (&'static str, UserQuery, &'static str);

fn pagings(now: chrono::DateTime<chrono::Utc>) -> Result<Vec<Paging>, Error> {
    let dept = UserFilter::default().and(Condition::parse(
        UserField::UfDepartment,
        Op::Eq,
        &Value::Int(i64::from(EVERYONE)),
    )?);
    let position = UserFilter::default().and(Condition::parse(
        UserField::WorkPosition,
        Op::Contains,
        &Value::text("eng"),
    )?);
    let by = |field, descending| vec![SortKey { field, descending, custom: None }];
    let q = |filter: UserFilter, sort| UserQuery { filter, sort, page: PageRequest::default(), now };
    Ok(vec![
        ("the department, with `start` offsets", q(dept.clone(), vec![]), r#"{"FILTER":{"UF_DEPARTMENT":2}"#),
        (
            "all users by `LAST_NAME`",
            q(UserFilter::default(), by(UserField::LastName, false)),
            r#"{"sort":"LAST_NAME","order":"ASC""#,
        ),
        (
            "the department by `LAST_NAME`",
            q(dept, by(UserField::LastName, false)),
            r#"{"FILTER":{"UF_DEPARTMENT":2},"sort":"LAST_NAME","order":"ASC""#,
        ),
        (
            "unindexed: `%WORK_POSITION=eng`, by `WORK_POSITION` descending",
            q(position, by(UserField::WorkPosition, true)),
            r#"{"FILTER":{"%WORK_POSITION":"eng"},"sort":"WORK_POSITION","order":"DESC""#,
        ),
    ])
}

/// What one paging to the end took.
pub(crate) struct Walk {
    pub(crate) pages: usize,
    rows: usize,
    pub(crate) total: Duration,
    first: Duration,
    slowest: Duration,
}

impl Walk {
    fn row(&self, what: &str, place: &str) -> String {
        format!(
            "| {place} paging {what} | {:.2} s for {} pages (~{} users); first page {} · slowest {} ({:.1}× the first) |",
            self.total.as_secs_f64(),
            self.pages,
            self.rows,
            ms(self.first),
            ms(self.slowest),
            self.slowest.as_secs_f64() / self.first.as_secs_f64().max(1e-9)
        )
    }
}

/// Pages `q` to its end through the use case, as an employee with the `user` scope.
fn walk_library(db: &SqliteDb, account: AccountId, mut q: UserQuery) -> Result<Walk, Error> {
    let ctx = ctx_for(db);
    let reader = Actor {
        account,
        user: Some(UserId(2)),
        role: Role::Employee,
        scopes: [Scope::User, Scope::Department].into_iter().collect(),
    };
    let started = Instant::now();
    let (mut pages, mut rows, mut first, mut slowest) = (0, 0, Duration::ZERO, Duration::ZERO);
    // Bounded: 2M users are 40,000 pages.
    for _ in 0..40_000 {
        let t = Instant::now();
        let page = users::find_users(ctx, &reader, &q, &Select::All, false)?;
        let took = t.elapsed();
        if pages == 0 {
            first = took;
        }
        slowest = slowest.max(took);
        pages += 1;
        rows += page.items.len();
        match page.next(q.page.start) {
            Some(next) => q.page.start = next,
            None => break,
        }
    }
    Ok(Walk { pages, rows, total: started.elapsed(), first, slowest })
}

/// The library rows.
pub(crate) fn library(db: &SqliteDb, account: AccountId, n: usize, seeded: Duration) -> Result<(), Error> {
    println!();
    println!("| paging, {n} users in one department (seeded in {:.1} s) | |", seeded.as_secs_f64());
    println!("|---|---|");
    for (what, q, _) in pagings(profile_core::ports::SystemClock.now())? {
        println!("{}", walk_library(db, account, q)?.row(what, "library:"));
    }
    Ok(())
}

/// One connection's paging to the end over HTTP; `body` is the request's JSON without the
/// closing brace (its `start` is added).
pub(crate) async fn walk_http(port: u16, base: &str, body: &str) -> Result<Walk, Error> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).await?;
    s.set_nodelay(true)?;
    let mut buf = Vec::new();
    let started = Instant::now();
    let (mut pages, mut first, mut slowest, mut start) = (0, Duration::ZERO, Duration::ZERO, 0usize);
    for _ in 0..40_000 {
        let t = Instant::now();
        let sep = if body.len() > 1 { "," } else { "" };
        s.write_all(&crate::http::request(
            &format!("{base}/user.get"),
            &format!("{body}{sep}\"start\":{start}}}"),
        ))
        .await?;
        let (status, _) = crate::http::response(&mut s, &mut buf).await?;
        let took = t.elapsed();
        if status != 200 {
            return Err(format!("paging: status {status}: {}", String::from_utf8_lossy(&buf)).into());
        }
        if pages == 0 {
            first = took;
        }
        slowest = slowest.max(took);
        pages += 1;
        let text = std::str::from_utf8(&buf)?;
        match text.find("\"next\":").map(|i| &text[i + 7..]) {
            Some(rest) => start = rest.split(|c: char| !c.is_ascii_digit()).next().unwrap_or("0").parse()?,
            None => break,
        }
    }
    Ok(Walk { pages, rows: start + 50, total: started.elapsed(), first, slowest })
}

/// The HTTP rows: each paging alone, then the department's while one user is updated every
/// second on another connection.
pub(crate) fn http(db: &SqliteDb, db_path: &Path, account: AccountId, cardfile: &Path) -> Result<(), Error> {
    let base = crate::http::webhook_base(db, account, "paging")?;
    let server = crate::http::start(cardfile, db_path.as_os_str())?;
    let port = server.port;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    println!();
    println!("| paging over HTTP, cardfile serve on 127.0.0.1, one connection | |");
    println!("|---|---|");
    for (what, _, body) in pagings(profile_core::ports::SystemClock.now())? {
        let walk = rt.block_on(walk_http(port, &base, body))?;
        println!("{}", walk.row(what, "HTTP:"));
    }
    // The department again, while another connection updates a user once a second.
    let stop = Arc::new(AtomicBool::new(false));
    let updates = Arc::new(AtomicUsize::new(0));
    let writer = {
        let (stop, updates, base) = (Arc::clone(&stop), Arc::clone(&updates), base.clone());
        std::thread::spawn(move || -> Result<(), Error> {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            rt.block_on(async {
                let mut s = TcpStream::connect(("127.0.0.1", port)).await?;
                let mut buf = Vec::new();
                // Bounded: one update a second for at most ten minutes.
                for i in 0..600 {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let body = format!("{{\"ID\":{},\"WORK_POSITION\":\"Moved {i}\"}}", 2 + i * 7);
                    s.write_all(&crate::http::request(&format!("{base}/user.update"), &body)).await?;
                    let (status, _) = crate::http::response(&mut s, &mut buf).await?;
                    if status != 200 {
                        return Err::<(), Error>(format!("update: status {status}").into());
                    }
                    updates.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                Ok(())
            })
        })
    };
    let walk = rt.block_on(walk_http(port, &base, r#"{"FILTER":{"UF_DEPARTMENT":2}"#));
    stop.store(true, Ordering::Relaxed);
    writer.join().map_err(|_| "the updating thread panicked")??;
    let walk = walk?;
    println!(
        "{} · {} updates meanwhile |",
        walk.row("the department, one user updated a second meanwhile,", "HTTP:").trim_end_matches(" |"),
        updates.load(Ordering::Relaxed)
    );
    drop(server);
    Ok(())
}
