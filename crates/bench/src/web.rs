//! The directory's pages (issue 23), as a signed-in person's browser asks for them, on a
//! server of its own after the content figures: every user with 10 interest tags and 5 custom
//! fields (integers), one person signed in (a session made by the use cases, its cookie sent
//! on every request); the search fragment that search-as-you-type fetches (2–4 letters), a
//! card, the structure page, and the directory's page 1 against its page 1,000. The tags and
//! the fields go again at the end.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use profile_core::access::Actor;
use profile_core::field::UserField;
use profile_core::ids::{AccountId, UserId};
use profile_core::model::custom::{CustomKind, CustomScalar, CustomValue, CustomValues};
use profile_core::ports::Database;
use profile_core::usecase::custom::{self, FieldSpec};
use profile_core::usecase::{identities, sessions};
use profile_core::Value;
use store_sqlite::SqliteDb;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::data::Rng;
use crate::http::{self, request, MakeRequest};
use crate::{ctx_for, ms, stats};

type Error = Box<dyn std::error::Error + Send + Sync>;

const TAGS: [&str; 20] = [
    "climbing",
    "chess",
    "travel",
    "movies",
    "running",
    "cooking",
    "jazz",
    "cycling",
    "photography",
    "hiking",
    "reading",
    "gaming",
    "yoga",
    "football",
    "painting",
    "sailing",
    "coffee",
    "gardening",
    "music",
    "rust",
];

/// A session of user 1 (a login set up for them when they have none); its token.
fn signed_in(db: &SqliteDb, account: AccountId) -> Result<String, Error> {
    let op = Actor::operator(account);
    let known = Database::read(db)?.identity_of_user(account, UserId(1))?;
    let identity = match known {
        Some(id) => id,
        None => {
            identities::set_up_login(
                ctx_for(db),
                &op,
                UserId(1),
                "bench-web@example.com",
                Some("bench web password"),
            )?
            .0
        }
    };
    Ok(sessions::start(ctx_for(db), identity, "bench")?.0)
}

/// What [`seed`] changed: the fields it added, and what each user's `UF_INTERESTS` held before.
type Seeded = (Vec<u32>, Vec<(UserId, String)>);

/// Every user gets 10 tags and values of 5 integer fields.
fn seed(db: &SqliteDb, account: AccountId, users: u32) -> Result<Seeded, Error> {
    let op = Actor::operator(account);
    let mut fields = Vec::new();
    for i in 0..5 {
        let spec = FieldSpec {
            field_name: Some(format!("bench_web_{i}")),
            kind: Some(CustomKind::Integer),
            ..FieldSpec::default()
        };
        fields.push(custom::add_field(ctx_for(db), &op, spec)?.id);
    }
    let mut rng = Rng::new(23);
    let mut before = Vec::new();
    let mut tx = Database::write(db)?;
    for id in (1..=users).map(UserId) {
        let Some(mut user) = tx.user(account, id)? else { continue };
        let old = user.text(UserField::UfInterests).to_string();
        let start = rng.below(TAGS.len());
        let tags: Vec<String> = (0..10).map(|k| format!("#{}", TAGS[(start + k * 3) % TAGS.len()])).collect();
        user.apply(&profile_core::model::user::UserPatch::parse([(
            UserField::UfInterests,
            Value::text(tags.join(" ")),
        )])?);
        tx.update_user(&user)?;
        before.push((id, old));
        for &field in &fields {
            let value = CustomValue::Number(CustomScalar::Int(rng.below(1000) as i64));
            tx.set_custom_values(account, &CustomValues { user: id, field, values: vec![value] })?;
        }
    }
    tx.commit()?;
    Ok((fields, before))
}

fn teardown(
    db: &SqliteDb,
    account: AccountId,
    fields: &[u32],
    before: &[(UserId, String)],
) -> Result<(), Error> {
    let mut tx = Database::write(db)?;
    for (id, old) in before {
        let Some(mut user) = tx.user(account, *id)? else { continue };
        user.apply(&profile_core::model::user::UserPatch::parse([(
            UserField::UfInterests,
            Value::text(old),
        )])?);
        tx.update_user(&user)?;
    }
    tx.commit()?;
    for &f in fields {
        custom::delete_field(ctx_for(db), &Actor::operator(account), f)?;
    }
    Ok(())
}

fn get(path: &str, cookie: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\n\r\n").into_bytes()
}

/// One page after another on one connection, `rounds` times each of `paths`; latencies by path.
fn one_by_one(
    port: u16,
    paths: &[String],
    cookie: &str,
    rounds: usize,
) -> Result<Vec<Vec<std::time::Duration>>, Error> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(async {
        let mut s = TcpStream::connect(("127.0.0.1", port)).await?;
        s.set_nodelay(true)?;
        let mut buf = Vec::new();
        let mut out = vec![Vec::new(); paths.len()];
        for _ in 0..rounds {
            for (i, p) in paths.iter().enumerate() {
                let t = Instant::now();
                s.write_all(&get(p, cookie)).await?;
                let (status, _) = http::response(&mut s, &mut buf).await?;
                if status != 200 {
                    return Err::<_, Error>(format!("{p}: status {status}").into());
                }
                out[i].push(t.elapsed());
            }
        }
        Ok(out)
    })
}

/// Runs the figures on the seeded database; prints markdown rows.
pub fn run(
    db: &SqliteDb,
    db_path: &Path,
    account: AccountId,
    n: usize,
    plan: &http::Plan,
) -> Result<(), Error> {
    let users = n as u32 + 1;
    let token = signed_in(db, account)?;
    let t = Instant::now();
    let (fields, before) = seed(db, account, users)?;
    let seeded = t.elapsed();
    let server = http::start(&plan.cardfile, db_path.as_os_str())?;
    let (port, conns, secs) = (server.port, plan.connections, plan.seconds);
    let cookie: Arc<String> = Arc::new(format!("__Host-cardfile={token}"));
    let base = Arc::new(http::webhook_base(db, account, "bench-web")?);
    let time_req: MakeRequest = {
        let base = Arc::clone(&base);
        Arc::new(move |_: &mut Rng, _: usize| request(&format!("{base}/server.time"), "{}"))
    };
    http::load(port, conns, secs.min(1.0), time_req.clone())?; // warm-up
    let (time_rps, _) = http::load(port, conns, secs, time_req)?;
    let fragment: MakeRequest = {
        let cookie = Arc::clone(&cookie);
        Arc::new(move |rng: &mut Rng, _: usize| {
            get(&format!("/company/search?q={}", http::prefix(rng)), &cookie)
        })
    };
    let (fragment_rps, fragment_lat) = http::load(port, conns, secs, fragment)?;
    let card: MakeRequest = {
        let cookie = Arc::clone(&cookie);
        Arc::new(move |rng: &mut Rng, _: usize| {
            get(&format!("/company/personal/user/{}/", 1 + rng.below(users as usize)), &cookie)
        })
    };
    let (card_rps, card_lat) = http::load(port, conns, secs, card)?;
    let structure: MakeRequest = {
        let cookie = Arc::clone(&cookie);
        Arc::new(move |_: &mut Rng, _: usize| get("/company/structure/", &cookie))
    };
    let (structure_rps, structure_lat) = http::load(port, conns, secs, structure)?;
    let deep = (1000usize.min(users as usize / 50).max(1) - 1) * 50;
    let pages = one_by_one(port, &["/company/".to_string(), format!("/company/?start={deep}")], &cookie, 20)?;
    drop(server);
    teardown(db, account, &fields, &before)?;
    let departments = Database::read(db)?.departments(account)?.len();
    let (fragment, card, structure) = (stats(fragment_lat), stats(card_lat), stats(structure_lat));
    let (first, deepest) = (stats(pages[0].clone()), stats(pages[1].clone()));
    println!();
    println!("| The directory's pages ({conns} connections with a signed-in session, {secs:.0} s a phase; every user with 10 tags and 5 custom fields, set up in {:.1} s) | |", seeded.as_secs_f64());
    println!("|---|---|");
    println!(
        "| search fragment (`/company/search?q=`, 2–4 letters) | p50 {} · p99 {} ({fragment_rps:.0} req/s) |",
        ms(fragment.p50),
        ms(fragment.p99)
    );
    println!(
        "| the card | p50 {} · p99 {} ({card_rps:.0} req/s = {:.2} of server.time's {time_rps:.0}) |",
        ms(card.p50),
        ms(card.p99),
        card_rps / time_rps
    );
    println!(
        "| the structure page, {departments} departments | p50 {} · p99 {} ({structure_rps:.0} req/s) |",
        ms(structure.p50),
        ms(structure.p99)
    );
    println!(
        "| the directory's page {} against page 1 (one connection, 20 each) | p50 {} against {} ({:.2} ×) |",
        deep / 50 + 1,
        ms(deepest.p50),
        ms(first.p50),
        deepest.p50.as_secs_f64() / first.p50.as_secs_f64().max(1e-9)
    );
    Ok(())
}
