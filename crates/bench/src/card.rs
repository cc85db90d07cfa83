//! The card's figures (issue 20), on a server of its own (a 12 MP decode would otherwise show
//! in the memory figure of the HTTP phase): a 12 MP JPEG uploaded as `user.update`'s
//! `PERSONAL_PHOTO` (`[name, base64]`, decoded, cut to three squares and stored), the photos
//! served at their URLs beside `server.time`, and `user.get` by ID through application tokens
//! (whose calls are recorded as their administrator's activity) beside the same through a
//! webhook (whose are not).

use std::io::Cursor;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use profile_core::access::{Actor, Scope};
use profile_core::ids::{AccountId, UserId};
use profile_core::model::credential::CredentialKind;
use profile_core::usecase::credentials::{self, NewCredential};
use store_sqlite::SqliteDb;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::data::Rng;
use crate::http::{self, get_by_id, request, MakeRequest};
use crate::{ctx_for, ms, stats};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Application tokens (each acts as the administrator who made it) that `user.get` rotates
/// through.
const TOKENS: u32 = 8;

/// A 4000 × 3000 picture with a photo's detail (gradients and grain), as a quality-90 JPEG of a
/// few MB, as a phone takes.
fn twelve_megapixels() -> Result<Vec<u8>, Error> {
    let mut rng = Rng::new(12);
    let img = image::ImageBuffer::from_fn(4000, 3000, |x, y| {
        let grain = rng.below(20) as u32;
        image::Rgb([
            ((x / 16 + grain) % 256) as u8,
            ((y / 12 + grain) % 256) as u8,
            (((x + y) / 28 + grain / 2) % 256) as u8,
        ])
    });
    let mut out = Cursor::new(Vec::new());
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90).encode_image(&img)?;
    Ok(out.into_inner())
}

fn base64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").into_bytes()
}

/// Runs the card's figures on the seeded database; prints markdown rows.
pub fn run(
    db: &SqliteDb,
    db_path: &Path,
    account: AccountId,
    n: usize,
    plan: &http::Plan,
    uploads: usize,
) -> Result<(), Error> {
    let base = Arc::new(http::webhook_base(db, account, "bench-card")?);
    let users = n as u32 + 1;
    let mut tokens = Vec::new();
    for u in 0..TOKENS {
        let t = credentials::create_credential(
            ctx_for(db),
            &Actor::operator(account),
            NewCredential {
                kind: CredentialKind::AppToken,
                name: format!("bench-card-{u}"),
                owner: Some(UserId(1)),
                scopes: [Scope::User].into_iter().collect(),
                expires_at: None,
            },
        )?;
        tokens.push(t.token);
    }
    let fields = custom_fields(db, account, users)?;
    let server = http::start(&plan.cardfile, db_path.as_os_str())?;
    let port = server.port;
    let (conns, secs) = (plan.connections, plan.seconds);

    // Uploads, one after another, each to another user.
    let jpeg = twelve_megapixels()?;
    let body = |id: u32| format!("{{\"ID\":{id},\"PERSONAL_PHOTO\":[\"photo.jpg\",\"{}\"]}}", base64(&jpeg));
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let (upload_lat, urls) = rt.block_on(async {
        let mut s = TcpStream::connect(("127.0.0.1", port)).await?;
        s.set_nodelay(true)?;
        let mut buf = Vec::new();
        let mut lat = Vec::new();
        let mut urls = Vec::new();
        for i in 0..uploads.max(1) {
            let id = 2 + (i as u32 * 7919) % (users - 1);
            let req = request(&format!("{base}/user.update"), &body(id));
            let t = Instant::now();
            s.write_all(&req).await?;
            let (status, _) = http::response(&mut s, &mut buf).await?;
            lat.push(t.elapsed());
            if status != 200 {
                return Err::<_, Error>(
                    format!("upload: status {status}: {}", String::from_utf8_lossy(&buf)).into(),
                );
            }
            s.write_all(&request(
                &format!("{base}/user.get"),
                &format!("{{\"ID\":{id},\"IMAGE_RESIZE\":\"medium\"}}"),
            ))
            .await?;
            http::response(&mut s, &mut buf).await?;
            let at = memchr::memmem::find(&buf, b"\r\n\r\n").ok_or("no body")? + 4;
            let answer: serde_json::Value = serde_json::from_slice(&buf[at..])?;
            let url = answer["result"][0]["PERSONAL_PHOTO"].as_str().unwrap_or_default().to_string();
            let path = url
                .find("/photo/")
                .map(|at| url[at..].to_string())
                .ok_or(format!("no photo URL: {answer}"))?;
            urls.push(path);
        }
        Ok((lat, urls))
    })?;
    let upload = stats(upload_lat);

    // Serving the 300 px copies beside server.time, on the same connections.
    let time_req: MakeRequest = {
        let base = Arc::clone(&base);
        Arc::new(move |_: &mut Rng, _: usize| request(&format!("{base}/server.time"), "{}"))
    };
    http::load(port, conns, secs.min(1.0), time_req.clone())?; // warm-up
    let (time_rps, _) = http::load(port, conns, secs, time_req)?;
    let urls = Arc::new(urls);
    let photo_req: MakeRequest = Arc::new(move |rng: &mut Rng, _: usize| get(&urls[rng.below(urls.len())]));
    let (photo_rps, photo_lat) = http::load(port, conns, secs, photo_req)?;
    let photo = stats(photo_lat);

    // user.get by ID: a webhook (no activity), then application tokens (activity noted and
    // written every few seconds), alternately, twice each.
    let by_hook = get_by_id(&base, users);
    let tokens = Arc::new(tokens);
    let by_token: MakeRequest = {
        let tokens = Arc::clone(&tokens);
        Arc::new(move |rng: &mut Rng, _: usize| {
            let token = &tokens[rng.below(tokens.len())];
            let id = 1 + rng.below(users as usize);
            request(&format!("/rest/user.get?auth={token}"), &format!("{{\"ID\":{id}}}"))
        })
    };
    let (mut hook_lat, mut token_lat) = (Vec::new(), Vec::new());
    let (mut hook_rps, mut token_rps) = (0.0, 0.0);
    for _ in 0..2 {
        let (r, l) = http::load(port, conns, secs / 2.0, by_hook.clone())?;
        hook_rps += r / 2.0;
        hook_lat.extend(l);
        let (r, l) = http::load(port, conns, secs / 2.0, by_token.clone())?;
        token_rps += r / 2.0;
        token_lat.extend(l);
    }
    let (hook, token) = (stats(hook_lat), stats(token_lat));

    // user.get filtered by a custom field 1% of users hold (the first page, with its total).
    let badge_req: MakeRequest = {
        let base = Arc::clone(&base);
        Arc::new(move |_: &mut Rng, _: usize| {
            request(&format!("{base}/user.get"), "{\"FILTER\":{\"UF_USR_BENCH_BADGE\":\"mentor\"}}")
        })
    };
    let (badge_rps, badge_lat) = http::load(port, conns, secs, badge_req.clone())?;
    let badge = stats(badge_lat);
    let (_, badge1_lat) = http::load(port, 1, secs, badge_req)?;
    let badge1 = stats(badge1_lat);
    // Every user, sorted by a custom field every user holds, page after page with start.
    let sorted_body =
        |start: usize| format!("{{\"sort\":\"UF_USR_BENCH_LEVEL\",\"order\":\"ASC\",\"start\":{start}}}");
    let (pages, sorted_secs, _, _) =
        http::page_to_end(port, &format!("{base}/user.get"), users as usize / 50 + 2, sorted_body)?;
    drop(server);
    // The fields go again, so that a database used again (`--reuse`) exports as it was.
    for id in [fields.level, fields.badge] {
        profile_core::usecase::custom::delete_field(ctx_for(db), &Actor::operator(account), id)?;
    }

    println!();
    println!("| The card ({conns} keep-alive connections, {secs:.0} s a phase) | |");
    println!("|---|---|");
    println!(
        "| PERSONAL_PHOTO upload, a 12 MP JPEG ({:.1} MB, {:.1} MB of base64) through user.update | p50 {} · p99 {} ({} uploads, one at a time) |",
        jpeg.len() as f64 / 1e6,
        base64(&jpeg).len() as f64 / 1e6,
        ms(upload.p50),
        ms(upload.p99),
        uploads.max(1)
    );
    println!(
        "| photo serving (300 px copies) | {photo_rps:.0} req/s = {:.2} of server.time ({time_rps:.0} req/s) · p99 {} |",
        photo_rps / time_rps,
        ms(photo.p99)
    );
    println!(
        "| user.get by ID, application tokens (activity recorded) against a webhook | p99 {} against {} ({:.2} ×) · {token_rps:.0} against {hook_rps:.0} req/s |",
        ms(token.p99),
        ms(hook.p99),
        token.p99.as_secs_f64() / hook.p99.as_secs_f64().max(1e-9)
    );
    println!(
        "| custom fields: adding one / deleting one on {n} users | {} / {} |",
        ms(fields.added),
        ms(fields.deleted)
    );
    println!(
        "| user.get filtered by a custom field 1% of users hold (first page, with total) | p50 {} · p99 {} ({badge_rps:.0} req/s, {conns} connections); p50 {} · p99 {} (1 connection) |",
        ms(badge.p50),
        ms(badge.p99),
        ms(badge1.p50),
        ms(badge1.p99)
    );
    println!("| paging all users sorted by a custom field, with start offsets | {sorted_secs:.2} s for {pages} pages |");
    Ok(())
}

/// What setting up the custom fields took.
struct CustomTimes {
    added: std::time::Duration,
    deleted: std::time::Duration,
    level: u32,
    badge: u32,
}

/// Two custom fields on the seeded users: `UF_USR_BENCH_LEVEL` (an integer every user holds)
/// and `UF_USR_BENCH_BADGE` (a string 1% hold); and a third added and deleted, timed.
fn custom_fields(db: &SqliteDb, account: AccountId, users: u32) -> Result<CustomTimes, Error> {
    use profile_core::model::custom::{CustomKind, CustomScalar, CustomValue, CustomValues};
    use profile_core::usecase::custom::{self, FieldSpec};
    let op = Actor::operator(account);
    let spec = |name: &str, kind| FieldSpec {
        field_name: Some(name.into()),
        kind: Some(kind),
        ..FieldSpec::default()
    };
    // A database seeded by an earlier run (`--reuse`) has them already.
    let existing = custom::list_fields(ctx_for(db), &op)?;
    let field = |name: &str, kind| -> Result<profile_core::model::custom::CustomField, Error> {
        let upper = format!("UF_USR_{}", name.to_ascii_uppercase());
        match existing.iter().find(|f| f.name == upper) {
            Some(f) => Ok(f.clone()),
            None => Ok(custom::add_field(ctx_for(db), &op, spec(name, kind))?),
        }
    };
    let level = field("bench_level", CustomKind::Integer)?;
    let badge = field("bench_badge", CustomKind::String)?;
    let mut rng = Rng::new(21);
    let mut tx = profile_core::ports::Database::write(db)?;
    for u in 1..users {
        let value = CustomValue::Number(CustomScalar::Int(rng.below(1_000) as i64));
        tx.set_custom_values(
            account,
            &CustomValues { user: UserId(u), field: level.id, values: vec![value] },
        )?;
        if u % 100 == 0 {
            let value = CustomValue::Text("mentor".into());
            tx.set_custom_values(
                account,
                &CustomValues { user: UserId(u), field: badge.id, values: vec![value] },
            )?;
        }
    }
    tx.commit()?;
    let t = Instant::now();
    let extra = custom::add_field(ctx_for(db), &op, spec("bench_extra", CustomKind::String))?;
    let added = t.elapsed();
    let t = Instant::now();
    custom::delete_field(ctx_for(db), &op, extra.id)?;
    Ok(CustomTimes { added, deleted: t.elapsed(), level: level.id, badge: badge.id })
}
