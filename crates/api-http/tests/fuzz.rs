//! Fuzzing, on stable Rust, of every decoder that takes bytes from the network: PHP-style query
//! strings and forms (`params`), JSON bodies, `batch` commands and their `$result[...]`
//! references, filter keys with Bitrix24's prefixes, `FIND`, dates, and multipart bodies. Calls go through the real router, in process, onto a real SQLite file with a
//! seeded account, webhooks of every scope and an application token.
//!
//! The property of every call: no panic, never a 5xx; a 200 is JSON with `result`; anything else
//! is exactly `{"error", "error_description"}` with a status and code of decisions.md's error
//! table ([`ERROR_TABLE`]). Where the decoders are public they are also fuzzed alone.
//!
//! Besides: the same calls as well-framed HTTP/1.1 on a socket to `serve` on 127.0.0.1 (chunked,
//! pipelined, two clients racing); multipart bodies other than `multipart/form-data` refused
//! with `ERROR_ARGUMENT`; one query string decoding alike in the URL and as a form body.
//!
//! `cargo test` runs a bounded number of cases (about 10 s in a debug build on two cores);
//! `cargo xtask fuzz [--seconds N]` runs the same properties with fresh seeds until the time is
//! up (`CARDFILE_FUZZ_SECONDS`), printing the cases run and every distinct failure with its
//! minimal input; `CARDFILE_FUZZ_SEED=n` replays one seed.

#[path = "common/cases.rs"]
mod cases;
mod common;
#[path = "common/fuzzing.rs"]
mod fuzzing;
#[path = "common/mangling.rs"]
mod mangling;
#[path = "common/socket.rs"]
mod socket;
#[path = "common/wire.rs"]
mod wire;

use api_http::params;
use api_http::Config;
use axum::body::Body;
use axum::http::Request;
use chrono::Datelike;
use common::World;
use profile_core::field::UserField;
use profile_core::query::{self, Condition, FilterKey, FilterTarget, Op, UserFilter};
use profile_core::Value as CoreValue;
use proptest::prelude::*;
use serde_json::Value;
use tower::ServiceExt;
use wire::Wire;

/// decisions.md's error table ("Errors: one table" and "More rows of the error table") and the
/// operating-time budget's row of the reference's (spec §1.6): every status and `error` code a
/// reply may carry. The 5xx rows are here for completeness: the
/// property refuses every 5xx anyway (with the limits off, none is expected).
const ERROR_TABLE: &[(u16, &str)] = &[
    (400, "ERROR_ARGUMENT"),
    (400, "ERROR_CORE"),
    (400, "ERROR_NOT_FOUND"),
    (400, "ERROR_BATCH_LENGTH_EXCEEDED"),
    (405, "ERROR_BATCH_METHOD_NOT_ALLOWED"),
    (400, "INVALID_REQUEST"),
    (401, "NO_AUTH_FOUND"),
    (401, "INVALID_CREDENTIALS"),
    (401, "invalid_token"),
    (401, "expired_token"),
    (401, "authorization_error"),
    (403, "insufficient_scope"),
    (403, "ACCESS_DENIED"),
    (404, "ERROR_METHOD_NOT_FOUND"),
    (503, "QUERY_LIMIT_EXCEEDED"),
    (429, "OPERATION_TIME_LIMIT"),
    (500, "INTERNAL_SERVER_ERROR"),
    (503, "STORAGE_UNAVAILABLE"),
    (503, "OVERLOAD_LIMIT"),
    (400, "STATUS_ERROR"),
    (400, ""),
];

/// Findings not fixed yet: a case that breaks the property and matches one of these is let
/// through (and counted), so that the rest of the fuzzing still runs. Each entry names its
/// finding; the fix removes it.
const KNOWN_FINDINGS: &[Finding] = &[];

/// A finding's name, and which requests show it.
type Finding = (&'static str, fn(&Wire) -> bool);

/// Worlds made so far (each round of each property makes one).
static WORLDS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// The server as fuzzed: the rate limits off (they answer 503 by design, and a fuzzer is the
/// busiest client there is); everything else as `serve` has it, the operating-time budget too
/// (which a run never spends: its 429 would be a finding, as it is not in decisions.md's table).
/// Every other world runs its reads on the blocking pool, as `serve` does on PostgreSQL.
fn fuzz_config() -> Config {
    let blocking_reads = WORLDS.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % 2 == 1;
    Config { rate_limit: None, address_rate_limit: None, blocking_reads, ..Config::default() }
}

/// A world and a runtime to call its router on.
struct Harness {
    world: World,
    rt: tokio::runtime::Runtime,
}

impl Harness {
    fn new() -> Harness {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let world = World::with_config(fuzz_config());
        // Every third world has pages beyond the first (the query cache's slices, `next`).
        if WORLDS.load(std::sync::atomic::Ordering::Relaxed) % 3 == 0 {
            people(&world, 120);
        }
        Harness { world, rt }
    }
}

/// Adds `n` employees to the root department.
fn people(w: &World, n: usize) {
    use profile_core::usecase::users::{self, NewUser};
    let ctx = w.state.ctx();
    let account = ctx.db.read().unwrap().accounts().unwrap()[0].id;
    let rows = (0..n)
        .map(|i| NewUser {
            role: profile_core::model::user::Role::Employee,
            fields: profile_core::model::user::UserPatch::parse([
                (UserField::Email, CoreValue::text(format!("p{i}@acme.test"))),
                (UserField::LastName, CoreValue::text(format!("P{i:03}"))),
                (UserField::UfDepartment, CoreValue::text("1")),
            ])
            .unwrap(),
            workgroups: vec![],
        })
        .collect();
    users::create_users_bulk(ctx, &profile_core::access::Actor::operator(account), rows).unwrap();
}

/// What came back.
struct Answer {
    status: u16,
    content_type: String,
    body: Vec<u8>,
}

impl std::fmt::Display for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut text = String::from_utf8_lossy(&self.body).into_owned();
        if text.len() > 600 {
            let mut cut = 600;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
            text.push('…');
        }
        write!(f, "  answer: {} ({}) {text}", self.status, self.content_type)
    }
}

/// Sends `wire` through the router; a panic is an `Err` with its message.
fn send(h: &Harness, wire: &Wire) -> Result<Answer, String> {
    let mut req = Request::builder().method(wire.verb).uri(&wire.target);
    for (k, v) in &wire.headers {
        req = req.header(*k, v.as_str());
    }
    let req = req
        .body(Body::from(wire.body.clone()))
        .map_err(|e| format!("the generator made a bad request: {e}"))?;
    fuzzing::catch(|| {
        h.rt.block_on(async {
            let res = h.world.router.clone().oneshot(req).await.unwrap();
            let status = res.status().as_u16();
            let content_type = res
                .headers()
                .get("content-type")
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .unwrap_or_default();
            let body = axum::body::to_bytes(res.into_body(), 1 << 26).await.unwrap().to_vec();
            Answer { status, content_type, body }
        })
    })
    .map_err(|panic| format!("panic: {panic}"))
}

fn codes() -> impl Iterator<Item = &'static str> {
    ERROR_TABLE.iter().map(|(_, c)| *c)
}

/// An `{error, error_description}` envelope: its code, or what is wrong with it.
fn envelope(v: &Value) -> Result<&str, String> {
    let m = v.as_object().ok_or("an error that is not a JSON object")?;
    let code = m.get("error").and_then(Value::as_str).ok_or("an error without a string `error`")?;
    if !m.get("error_description").is_some_and(Value::is_string) {
        return Err(format!("{code}: an error without a string `error_description`"));
    }
    if m.len() != 2 {
        return Err(format!("{code}: an error with more keys than error and error_description"));
    }
    Ok(code)
}

/// The property every reply keeps; the error's first line is its signature.
fn verdict(a: &Answer) -> Result<(), String> {
    if a.content_type != "application/json; charset=utf-8" {
        return Err(format!("HTTP {}: content type {:?}, not JSON", a.status, a.content_type));
    }
    let v: Value = serde_json::from_slice(&a.body)
        .map_err(|e| format!("HTTP {}: a body that is not JSON ({e})", a.status))?;
    fuzzing::tally(format!("{} {}", a.status, v["error"].as_str().unwrap_or("")).trim_end().to_string());
    if a.status == 200 {
        let result = v.get("result").ok_or("HTTP 200 without `result`")?;
        if !v.get("time").is_some_and(Value::is_object) {
            return Err("HTTP 200 without `time`".into());
        }
        // A batch: every command's error is an envelope too, and none is a 5xx in disguise.
        if let Some(errors) = result.get("result_error").filter(|_| result.get("result_time").is_some()) {
            let items: Vec<&Value> = match errors {
                Value::Object(m) => m.values().collect(),
                Value::Array(a) => a.iter().collect(),
                _ => return Err("batch: result_error is neither a list nor an object".into()),
            };
            for e in items {
                let code = envelope(e).map_err(|why| format!("batch command: {why}"))?;
                fuzzing::tally(format!("in a batch: {code}"));
                if !codes().any(|c| c == code) {
                    return Err(format!("batch command: error {code:?} is not in the error table"));
                }
                if let Some((s, _)) = ERROR_TABLE.iter().find(|(s, c)| *c == code && *s >= 500) {
                    return Err(format!("batch command: {code} (a {s}) inside a 200"));
                }
            }
        }
        return Ok(());
    }
    let code = envelope(&v).map_err(|why| format!("HTTP {}: {why}", a.status))?;
    if a.status >= 500 {
        return Err(format!("HTTP {} {code}", a.status));
    }
    if !ERROR_TABLE.contains(&(a.status, code)) {
        return Err(format!("HTTP {} {code:?}: not in the error table", a.status));
    }
    Ok(())
}

fn known(wire: &Wire) -> Option<&'static str> {
    KNOWN_FINDINGS.iter().find(|(_, matches)| matches(wire)).map(|(name, _)| *name)
}

/// Sends `wire` and checks the reply; returns it for further checks.
fn call_keeps_the_property(h: &Harness, wire: &Wire) -> Result<Option<Answer>, TestCaseError> {
    let outcome = send(h, wire).and_then(|a| verdict(&a).map_err(|why| format!("{why}\n{a}")).map(|()| a));
    match outcome {
        Ok(a) => Ok(Some(a)),
        Err(_) if known(wire).is_some() => {
            fuzzing::tally(format!("known finding: {}", known(wire).unwrap_or_default()));
            Ok(None)
        }
        Err(why) => {
            let (signature, rest) = why.split_once('\n').unwrap_or((&why, ""));
            Err(TestCaseError::fail(format!("{signature}\n{wire}\n{rest}")))
        }
    }
}

// How many cases `cargo test` runs of each property: about 10 s in all in a debug build on two
// idle cores, the properties side by side (about 25 s with a build beside them); `cargo xtask
// fuzz` runs them for as long as it is told.
const CI_CALLS: u32 = 2_000;
const CI_BATCHES: u32 = 800;
const CI_MANGLED: u32 = 2_000;
const CI_MULTIPART: u32 = 300;
const CI_ALIKE: u32 = 600;
const CI_DECODERS: u32 = 3_000;
const CI_SOCKET: u32 = 800;

#[test]
fn calls_answer_from_the_error_table() {
    fuzzing::fuzz("calls", CI_CALLS, cases::call(), Harness::new, |h, call| {
        let answer = call_keeps_the_property(h, &call.render(&h.world))?;
        // How many writes get through to the store (printed with the outcomes).
        if answer.is_some_and(|a| a.status == 200) {
            if let Some(m) = api_http::methods::find(&call.method).filter(|m| m.writes) {
                fuzzing::tally(format!("{} done", m.name));
            }
        }
        Ok(())
    });
}

#[test]
fn batches_answer_from_the_error_table() {
    fuzzing::fuzz("batches", CI_BATCHES, cases::batch(), Harness::new, |h, call| {
        call_keeps_the_property(h, &call.render(&h.world)).map(drop)
    });
}

#[test]
fn mangled_bytes_answer_from_the_error_table() {
    fuzzing::fuzz("mangled", CI_MANGLED, mangling::mangled(), Harness::new, |h, m| {
        call_keeps_the_property(h, &m.render(&h.world)).map(drop)
    });
}

/// Multipart bodies: `multipart/form-data` (spec §1: every method takes it) decodes or is
/// refused by the error table; any other multipart kind is a body that cannot be parsed
/// (decisions.md "Input") and gets `ERROR_ARGUMENT`, whatever the method.
#[test]
fn multipart_bodies_decode_or_are_refused() {
    fuzzing::fuzz("multipart", CI_MULTIPART, mangling::multipart(), Harness::new, |h, m| {
        let wire = m.render(&h.world);
        let form_data = m.content_type.to_ascii_lowercase().starts_with("multipart/form-data");
        if let Some(a) = call_keeps_the_property(h, &wire)? {
            if !form_data {
                let v: Value = serde_json::from_slice(&a.body).unwrap_or_default();
                prop_assert_eq!(
                    (a.status, v["error"].as_str()),
                    (400, Some("ERROR_ARGUMENT")),
                    "multipart not refused\n{}\n{}",
                    wire,
                    a
                );
            }
        }
        Ok(())
    });
}

/// Well-framed HTTP/1.1 on a real socket to `serve` on 127.0.0.1 (`Content-Length` or chunked,
/// `Expect: 100-continue`, pipelined requests): every reply keeps the property too.
#[test]
fn calls_on_a_socket_answer_from_the_error_table() {
    let strategy = (prop_oneof![2 => cases::call(), 1 => cases::batch()], socket::framing());
    fuzzing::fuzz(
        "socket",
        CI_SOCKET,
        strategy,
        || socket::Server::new(fuzz_config()),
        |server, (call, framing)| {
            let wire = call.render(&server.world);
            let replies = match socket::exchange(server.addr, &wire, &framing) {
                Ok(r) => r,
                Err(_) if known(&wire).is_some() => return Ok(()),
                Err(why) => {
                    return Err(TestCaseError::fail(format!("{why}\n{wire}\n  framing: {framing:?}")))
                }
            };
            for r in replies {
                let a = Answer { status: r.status, content_type: r.content_type, body: r.body };
                if let Err(why) = verdict(&a) {
                    if known(&wire).is_none() {
                        return Err(TestCaseError::fail(format!(
                            "{why}\n{wire}\n  framing: {framing:?}\n{a}"
                        )));
                    }
                }
            }
            Ok(())
        },
    );
}

/// The body without the parts that change from one request to the next.
fn stable(body: &[u8]) -> Value {
    common::stable(serde_json::from_slice(body).unwrap_or_default())
}

/// One query string decodes alike in the URL and as a form body: the same reply.
#[test]
fn query_and_form_decode_alike() {
    fuzzing::fuzz("query = form", CI_ALIKE, cases::read_call(), Harness::new, |h, call| {
        let get = call.render(&h.world);
        if !get.body.is_empty() {
            return Ok(()); // too long for a URL: it went as a form already
        }
        let Some(a) = call_keeps_the_property(h, &get)? else { return Ok(()) };
        let (path, query) = get.target.split_once('?').unwrap_or((&get.target, ""));
        let post = Wire {
            verb: "POST",
            target: path.to_string(),
            headers: vec![("content-type", "application/x-www-form-urlencoded".into())],
            body: query.as_bytes().to_vec(),
        };
        let Some(b) = call_keeps_the_property(h, &post)? else { return Ok(()) };
        prop_assert_eq!(
            (a.status, stable(&a.body)),
            (b.status, stable(&b.body)),
            "query and form differ\n{}\n{}",
            get,
            post
        );
        Ok(())
    });
}

/// A read as a `batch` command answers what the same read answers alone: `result`, `total`,
/// `next`, or the same error code (a command's query goes through the same decoder; only
/// `$result[...]` references differ, and cases with them are left out).
#[test]
fn batch_commands_decode_as_calls_do() {
    fuzzing::fuzz("batch = call", CI_ALIKE, cases::read_call(), Harness::new, |h, call| {
        let alone = call.render(&h.world);
        if !alone.body.is_empty() {
            return Ok(()); // too long for a URL
        }
        let (path, query) = alone.target.split_once('?').unwrap_or((&alone.target, ""));
        if params::parse_query(query).is_ok_and(|p| Value::Object(p).to_string().contains("$result[")) {
            return Ok(());
        }
        let Some(a) = call_keeps_the_property(h, &alone)? else { return Ok(()) };
        let hook = path.rsplit_once('/').map_or(path, |(base, _)| base);
        let command = if query.is_empty() { call.method.clone() } else { format!("{}?{query}", call.method) };
        let batch = Wire {
            verb: "POST",
            target: format!("{hook}/batch"),
            headers: vec![("content-type", "application/json".into())],
            body: serde_json::json!({ "cmd": { "x": command } }).to_string().into_bytes(),
        };
        let Some(b) = call_keeps_the_property(h, &batch)? else { return Ok(()) };
        let (a, b) = (stable(&a.body), stable(&b.body));
        let r = &b["result"];
        let in_batch = match r["result_error"].get("x") {
            Some(e) => serde_json::json!({ "error": e["error"] }),
            None => serde_json::json!({
                "result": r["result"]["x"],
                "total": r["result_total"].get("x"),
                "next": r["result_next"].get("x"),
            }),
        };
        let direct = match a.get("error") {
            Some(code) => serde_json::json!({ "error": code }),
            None => {
                serde_json::json!({ "result": a["result"], "total": a.get("total"), "next": a.get("next") })
            }
        };
        prop_assert_eq!(direct, in_batch, "a command answers otherwise than the call\n{}\n{}", alone, batch);
        Ok(())
    });
}

// ---------------------------------------------------------------------------------------------
// The public decoders alone.

/// Depth of nested arrays and objects.
fn depth(v: &Value) -> usize {
    match v {
        Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
        Value::Object(m) => 1 + m.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

fn leaves_are_strings(v: &Value) -> bool {
    match v {
        Value::String(_) => true,
        Value::Array(a) => a.iter().all(leaves_are_strings),
        Value::Object(m) => m.values().all(leaves_are_strings),
        _ => false,
    }
}

/// `params::parse_query` on any text: no panic; an error only past `MAX_PAIRS`; every leaf a
/// string; nesting within `MAX_NESTING`; and percent-encoding a query changes nothing.
#[test]
fn query_strings_decode_on_any_text() {
    fuzzing::fuzz(
        "parse_query",
        CI_DECODERS,
        mangling::query_text(),
        || (),
        |(), text| {
            match params::parse_query(&text) {
                Ok(p) => {
                    let v = Value::Object(p);
                    prop_assert!(leaves_are_strings(&v), "a leaf that is not a string: {v}");
                    prop_assert!(
                        depth(&v) <= params::MAX_NESTING + 1,
                        "nested deeper than MAX_NESTING: {text:?}"
                    );
                }
                Err(e) => {
                    let pairs = text.split('&').filter(|p| !p.is_empty()).count();
                    prop_assert!(pairs > params::MAX_PAIRS, "refused with {pairs} pairs: {e}");
                }
            }
            // Text that needs no decoding decodes as its fully encoded self.
            let plain: String = text.chars().filter(|c| !matches!(c, '%' | '+')).collect();
            let encoded: String = plain
                .split('&')
                .map(|pair| {
                    let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                    let enc = |s: &str| s.bytes().map(|b| format!("%{b:02X}")).collect::<String>();
                    if pair.contains('=') {
                        format!("{}={}", enc(k), enc(v))
                    } else {
                        enc(k)
                    }
                })
                .collect::<Vec<_>>()
                .join("&");
            prop_assert_eq!(params::parse_query(&plain), params::parse_query(&encoded), "raw {:?}", plain);
            Ok(())
        },
    );
}

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        any::<String>().prop_map(Value::String),
        "[ +-]?[0-9]{0,22}(\\.[0-9]{0,3})?".prop_map(Value::String),
    ]
}

fn core_value() -> impl Strategy<Value = CoreValue> {
    // Every date and time chrono holds, from the first to the last.
    let first = chrono::NaiveDate::MIN.num_days_from_ce();
    let last = chrono::NaiveDate::MAX.num_days_from_ce();
    let date =
        (first..=last).prop_map(|d| chrono::NaiveDate::from_num_days_from_ce_opt(d).unwrap_or_default());
    let (t0, t1) = (
        chrono::DateTime::<chrono::Utc>::MIN_UTC.timestamp(),
        chrono::DateTime::<chrono::Utc>::MAX_UTC.timestamp(),
    );
    prop_oneof![
        Just(CoreValue::Null),
        any::<bool>().prop_map(CoreValue::Bool),
        any::<i64>().prop_map(CoreValue::Int),
        any::<String>().prop_map(CoreValue::Text),
        "[0-9 .:+TZ-]{0,26}".prop_map(CoreValue::Text),
        date.clone().prop_map(CoreValue::Date),
        (t0..=t1)
            .prop_map(|s| CoreValue::DateTime(chrono::DateTime::from_timestamp(s, 0).unwrap_or_default())),
        proptest::collection::vec(any::<i64>(), 0..5).prop_map(CoreValue::IntList),
        proptest::collection::vec(any::<String>(), 0..5).prop_map(CoreValue::TextList),
    ]
}

/// The lenient readers, filter keys and conditions, dates, `FIND`, field input and `select`:
/// no panic on any input, and what they accept keeps their documented bounds.
#[test]
fn filters_dates_and_find_decode_on_any_input() {
    let fields: Vec<UserField> = UserField::ALL.to_vec();
    let strategy = (
        json_leaf(),
        any::<String>(),
        proptest::sample::select(fields),
        proptest::sample::select(Op::ALL.to_vec()),
        core_value(),
        "[!=<>%@ ]{0,4}[A-Za-z_]{0,20}",
        "[0-9+-]{0,7}-[0-9]{0,3}-[0-9]{0,3}([T ][0-9]{0,2}:[0-9]{0,2}:[0-9]{0,2}(\\.[0-9]{0,12})?(Z|[+-][0-9]{2}:?[0-9]{2})?)?",
    );
    fuzzing::fuzz(
        "decoders",
        CI_DECODERS,
        strategy,
        || (),
        |(), (json, text, field, op, value, key, date)| {
            let _ = (params::as_bool(&json), params::as_int(&json), params::as_text(&json));
            if let Value::String(s) = &json {
                if let Ok(i) = s.trim().parse::<i64>() {
                    prop_assert_eq!(params::as_int(&json), Some(i));
                }
            }
            for k in [text.as_str(), key.as_str()] {
                if let Some(parsed) = FilterKey::parse(k) {
                    // What a key names prints back as a key that names the same.
                    prop_assert_eq!(FilterKey::parse(&parsed.to_string()), Some(parsed), "{:?}", k);
                }
            }
            // Every spelling of every prefix names the field it prefixes.
            if field.is_filterable() {
                let printed = format!("{}{}", op.prefix(), field.code());
                prop_assert_eq!(
                    FilterKey::parse(&printed).map(|k| (k.op, k.target)),
                    Some((op, FilterTarget::Field(field)))
                );
            }
            if let Ok(c) = Condition::parse(field, op, &value) {
                prop_assert_eq!(c.field(), field);
            }
            for s in [text.as_str(), date.as_str()] {
                let _ = query::parse_datetime(s);
                let _ = profile_core::validate::date(s);
                let _ = Condition::parse(field, op, &CoreValue::text(s));
            }
            let _ = query::find_terms(&text);
            let _ = query::search_words(&text);
            if let Ok(f) = UserFilter::default().with_find(&text) {
                prop_assert!(text.chars().count() <= query::FILTER_VALUE_MAX);
                prop_assert!(f.find.len() <= query::FIND_MAX_WORDS, "{:?}", text);
            }
            let _ = profile_core::value::parse_input(field, &value);
            let _ = profile_core::model::user::UserPatch::parse([(field, value.clone())]);
            let _ = profile_core::access::Select::parse(text.split(','));
            Ok(())
        },
    );
}
