//! The mixed load (issue 19): 64 keep-alive connections at once against the real `cardfile
//! serve` on the seeded database, for a given time: reads (`user.get` by ID), searches
//! (`user.search` with `FIND`), writes (`batch` of 20 `user.add`), each kind with a credential of
//! its own, and one hostile client sending filters of ~900 conditions, IN lists past SQLite's
//! 32,766 values, a `department.get` of 250,000 IDs and bad tokens. Every answer is counted by
//! kind, status and error code. It fails when any 5xx other than a limit's refusal happens, or
//! when a legitimate kind gets anything but a 200. Prints markdown rows.
//!
//! The limits are per `serve` process, not per credential, and every client here comes from
//! 127.0.0.1, so one address bucket (2,000 at once, 100 a second) holds them all: with the default
//! limits the legitimate kinds, thousands of requests a second, are refused within a second
//! (`--mixed-limited` shows it). So they run on a `serve` with its limits off, as the other
//! phases do, and the hostile client keeps one connection there (what it costs the others, in
//! the same process) and one on a second `serve` of the same database with the default limits
//! (what the limits refuse).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use profile_core::ids::AccountId;
use store_sqlite::SqliteDb;

use crate::data::Rng;
use crate::http::{self, MakeRequest, LIMITS_OFF};
use crate::{ms, stats};

type Error = Box<dyn std::error::Error + Send + Sync>;

const READERS: usize = 42;
const SEARCHERS: usize = 16;
const WRITERS: usize = 4;
/// `user.add` commands in a writer's `batch`.
const BATCH: usize = 20;
/// Conditions in a hostile filter.
const CONDITIONS: usize = 900;

/// The error codes of refusals by design: the leaky buckets, the operating-time budget, and a
/// read past its time budget or a connection over the cap.
const REFUSALS: [&str; 3] = ["QUERY_LIMIT_EXCEEDED", "OPERATION_TIME_LIMIT", "OVERLOAD_LIMIT"];

/// What to run.
pub struct Mixed {
    /// How long.
    pub seconds: f64,
    /// The legitimate kinds on the `serve` with the default limits too (to measure that they
    /// are refused there).
    pub limited: bool,
}

/// One kind of client: what it sends, on how many connections, to which server.
struct Kind {
    name: String,
    connections: usize,
    port: u16,
    make: MakeRequest,
    /// Whether any answer but a 200 is a failure (otherwise only a 5xx that is no refusal).
    legitimate: bool,
}

/// What one kind was answered.
#[derive(Default)]
struct Tally {
    /// Every answer's latency.
    latencies: Vec<Duration>,
    /// 200s whose commands all succeeded.
    ok: usize,
    /// Limits' refusals, by code.
    refused: BTreeMap<String, usize>,
    /// Other 4xx and failed `batch` commands, by status and code.
    rejected: BTreeMap<String, usize>,
    /// Other 5xx and answers that never came, by status and code.
    failed: BTreeMap<String, usize>,
    /// The first answer that was not ok, and the first failed one, shortened.
    first_not_ok: Option<String>,
    first_failed: Option<String>,
}

impl Tally {
    fn count(&mut self, status: u16, answer: &[u8], took: Duration) {
        self.latencies.push(took);
        let code = error_code(answer);
        let label = format!("{status} {}", code.unwrap_or(""));
        if status == 200 && !http::failed_command(answer) {
            self.ok += 1;
            return;
        }
        if self.first_not_ok.is_none() {
            self.first_not_ok = Some(shorten(answer));
        }
        if let Some(code) = code.filter(|c| REFUSALS.contains(c)) {
            *self.refused.entry(code.to_string()).or_default() += 1;
        } else if status < 500 {
            *self.rejected.entry(label.trim().to_string()).or_default() += 1;
        } else {
            self.fail(label.trim(), answer);
        }
    }

    fn fail(&mut self, label: &str, detail: &[u8]) {
        *self.failed.entry(label.to_string()).or_default() += 1;
        if self.first_failed.is_none() {
            self.first_failed = Some(shorten(detail));
        }
        if self.first_not_ok.is_none() {
            self.first_not_ok = Some(shorten(detail));
        }
    }

    fn merge(&mut self, other: Tally) {
        self.latencies.extend(other.latencies);
        self.ok += other.ok;
        for (mine, theirs) in [
            (&mut self.refused, other.refused),
            (&mut self.rejected, other.rejected),
            (&mut self.failed, other.failed),
        ] {
            for (k, n) in theirs {
                *mine.entry(k).or_default() += n;
            }
        }
        self.first_not_ok = self.first_not_ok.take().or(other.first_not_ok);
        self.first_failed = self.first_failed.take().or(other.first_failed);
    }

    /// Answers that fail the run: for a legitimate kind anything but a 200.
    fn failures(&self, legitimate: bool) -> usize {
        let sum = |m: &BTreeMap<String, usize>| m.values().sum::<usize>();
        sum(&self.failed) + if legitimate { sum(&self.refused) + sum(&self.rejected) } else { 0 }
    }
}

/// The body of an answer (or an error's text), cut to 300 characters.
fn shorten(answer: &[u8]) -> String {
    let text = String::from_utf8_lossy(answer);
    let body = text.split_once("\r\n\r\n").map_or(&*text, |(_, body)| body);
    body.chars().take(300).collect()
}

/// The `error` code of an error reply.
fn error_code(answer: &[u8]) -> Option<&str> {
    let at = memchr::memmem::find(answer, b"\"error\":\"")? + 9;
    let len = memchr::memchr(b'"', &answer[at..])?;
    std::str::from_utf8(&answer[at..at + len]).ok()
}

/// Runs the mixed load on the seeded database at `db_path` (`users` users).
pub(crate) fn run(
    db: &SqliteDb,
    db_path: &Path,
    account: AccountId,
    users: usize,
    cardfile: &Path,
    mixed: &Mixed,
) -> Result<(), Error> {
    let hook = |name: &str| http::webhook_base(db, account, name).map(Arc::new);
    let (reads, searches, writes, hostile) =
        (hook("mixed reads")?, hook("mixed searches")?, hook("mixed writes")?, hook("mixed hostile")?);
    let open = http::start_with(cardfile, db_path.as_os_str(), &LIMITS_OFF)?;
    let limited = http::start_with(cardfile, db_path.as_os_str(), &[])?;
    let legit_port = if mixed.limited { limited.port } else { open.port };
    let legit_limits = if mixed.limited { "default limits" } else { "limits off" };
    let kinds = [
        Kind {
            name: format!("reads: `user.get` by ID ({READERS} connections, {legit_limits})"),
            connections: READERS,
            port: legit_port,
            make: http::get_by_id(&reads, users as u32 + 1),
            legitimate: true,
        },
        Kind {
            name: format!(
                "searches: `user.search` FIND 2-4 letters ({SEARCHERS} connections, {legit_limits})"
            ),
            connections: SEARCHERS,
            port: legit_port,
            make: http::find(&searches),
            legitimate: true,
        },
        Kind {
            name: format!("writes: `batch` of {BATCH} `user.add` ({WRITERS} connections, {legit_limits})"),
            connections: WRITERS,
            port: legit_port,
            make: http::batch_of_adds(&writes, BATCH)?,
            legitimate: true,
        },
        Kind {
            name: "hostile, on the `serve` with limits off".into(),
            connections: 1,
            port: open.port,
            make: hostile_requests(&hostile),
            legitimate: false,
        },
        Kind {
            name: "hostile, on the `serve` with the default limits".into(),
            connections: 1,
            port: limited.port,
            make: hostile_requests(&hostile),
            legitimate: false,
        },
    ];
    let readers = hostile_readers(open.port, &reads, &hostile, (mixed.seconds / 6.0).clamp(1.0, 10.0))?;
    let connections: usize = kinds.iter().map(|k| k.connections).sum();
    let (secs, tallies) = drive_all(&kinds, mixed.seconds)?;
    drop((open, limited));
    println!();
    println!("{readers}");

    println!();
    println!(
        "| mixed load: {connections} keep-alive connections for {:.0} s, {users} users | req/s · p50 · p99 | answers |",
        mixed.seconds
    );
    println!("|---|---|---|");
    let mut failures = 0;
    let mut first = None;
    for (kind, tally) in kinds.iter().zip(tallies) {
        let n = tally.latencies.len();
        let rate = n as f64 / secs;
        let figures = if n == 0 {
            "no answer".to_string()
        } else {
            let s = stats(tally.latencies.clone());
            format!("{rate:.0} req/s · p50 {} · p99 {}", ms(s.p50), ms(s.p99))
        };
        let mut answers = vec![format!("{} ok", tally.ok)];
        let each = |m: &BTreeMap<String, usize>, what: &str| {
            m.iter().map(|(k, n)| format!("{n} {what}{k}")).collect::<Vec<_>>()
        };
        answers.extend(each(&tally.rejected, ""));
        answers.extend(each(&tally.refused, "refused "));
        answers.extend(each(&tally.failed, "FAILED "));
        let failed = tally.failures(kind.legitimate);
        if !kind.legitimate || failed > 0 {
            answers.push(format!("{failed} failures"));
        }
        println!("| {} | {figures} | {} |", kind.name, answers.join(" · "));
        failures += failed;
        if failed > 0 && first.is_none() {
            let answer = if kind.legitimate { &tally.first_not_ok } else { &tally.first_failed };
            first = answer.clone().map(|a| format!("{}: {a}", kind.name));
        }
    }
    println!(
        "| 5xx other than the limits' refusals, and legitimate requests not answered 200 | {failures} | {} |",
        if failures == 0 { "met" } else { "NOT met" }
    );
    if failures > 0 {
        return Err(format!(
            "mixed load: {failures} failed answers; the first: {}",
            first.unwrap_or_default()
        )
        .into());
    }
    Ok(())
}

/// Conditions of a costly filter within the budgets: each holds for every user (a "not
/// contains", "not like", "not equal" or "less than" a text no one has), so each is evaluated
/// on every row.
fn costly_filter(n: usize) -> String {
    let fields =
        ["NAME", "LAST_NAME", "SECOND_NAME", "WORK_POSITION", "EMAIL", "PERSONAL_CITY", "WORK_COMPANY"];
    let ops = ["!%", "!=%", "!%=", "!", "!=", "<", "<="];
    let keys: Vec<String> = fields
        .iter()
        .flat_map(|f| ops.iter().map(move |o| format!("\"{o}{f}\":\"zz{n}\"")))
        .take(profile_core::query::FILTER_CONDITIONS_MAX)
        .collect();
    format!("{{\"FILTER\":{{{}}}}}", keys.join(","))
}

/// `server.time` on one connection for `seconds` alone, then as long again with two hostile
/// readers sending costly filters within the budgets as fast as they are answered (a new text
/// each time, so the query cache never answers); target: p99 with them ≤ 10 × p99 alone.
/// Returns the markdown rows.
fn hostile_readers(
    port: u16,
    reads: &Arc<String>,
    hostile: &Arc<String>,
    seconds: f64,
) -> Result<String, Error> {
    let time = {
        let base = Arc::clone(reads);
        Arc::new(move |_: &mut Rng, _: usize| http::request(&format!("{base}/server.time"), "{}"))
            as MakeRequest
    };
    let costly = {
        let base = Arc::clone(hostile);
        Arc::new(move |rng: &mut Rng, _: usize| {
            http::request(&format!("{base}/user.get"), &costly_filter(rng.next() as usize))
        }) as MakeRequest
    };
    let (_, alone) = http::load(port, 1, seconds, Arc::clone(&time))?;
    let deadline = Instant::now() + Duration::from_secs_f64(seconds + 0.5);
    let readers: Vec<_> = (0..2u64)
        .map(|r| {
            let costly = Arc::clone(&costly);
            std::thread::spawn(move || -> Result<Tally, String> {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| e.to_string())?;
                let mut tally = Tally::default();
                rt.block_on(http::drive(port, 0x4EAD + r, deadline, &costly, |s, a, t| {
                    tally.count(s, a, t);
                    Ok(())
                }))
                .map_err(|e| e.to_string())?;
                Ok(tally)
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let (_, busy) = http::load(port, 1, seconds, time)?;
    let mut hostile_tally = Tally::default();
    for r in readers {
        hostile_tally.merge(r.join().map_err(|_| "a hostile reader panicked")??);
    }
    let failed = hostile_tally.failures(false) + hostile_tally.rejected.values().sum::<usize>();
    if failed > 0 {
        return Err(
            format!("hostile readers: {failed} failed answers: {:?}", hostile_tally.first_failed).into()
        );
    }
    let (alone, busy) = (stats(alone), stats(busy));
    let ratio = busy.p99.as_secs_f64() / alone.p99.as_secs_f64().max(1e-9);
    let costly_p50 = if hostile_tally.latencies.is_empty() {
        "none".into()
    } else {
        ms(stats(hostile_tally.latencies.clone()).p50)
    };
    Ok(format!(
        "| `server.time` p99, 1 connection: alone · with two hostile readers ({} costly filters answered, p50 {costly_p50}; {} stopped by the read budget) | target ≤ 10 × alone |\n|---|---|\n| p99 {} · {} = {ratio:.1} × | {} |",
        hostile_tally.ok,
        hostile_tally.refused.get("OVERLOAD_LIMIT").copied().unwrap_or(0),
        ms(alone.p99),
        ms(busy.p99),
        if ratio <= 10.0 { "met" } else { "NOT met" }
    ))
}

/// Every kind's connections at once for `seconds`; returns the seconds it took and each kind's
/// tally. A lost connection is counted as a failure and opened again.
fn drive_all(kinds: &[Kind], seconds: f64) -> Result<(f64, Vec<Tally>), Error> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(async {
        let deadline = Instant::now() + Duration::from_secs_f64(seconds);
        let started = Instant::now();
        let mut tasks = Vec::new();
        for (k, kind) in kinds.iter().enumerate() {
            for c in 0..kind.connections {
                let (port, make) = (kind.port, Arc::clone(&kind.make));
                let seed = 0x3170 + (k * 100 + c) as u64;
                tasks.push((
                    k,
                    tokio::spawn(async move {
                        let mut tally = Tally::default();
                        // Bounded by time, and by count.
                        for attempt in 0..1_000u64 {
                            let counted =
                                http::drive(port, seed + attempt * 10_000, deadline, &make, |s, a, t| {
                                    tally.count(s, a, t);
                                    Ok(())
                                })
                                .await;
                            match counted {
                                Ok(()) => break,
                                Err(e) => {
                                    tally.fail("no answer", e.to_string().as_bytes());
                                    tokio::time::sleep(Duration::from_millis(10)).await;
                                }
                            }
                            if Instant::now() >= deadline {
                                break;
                            }
                        }
                        tally
                    }),
                ));
            }
        }
        let mut tallies: Vec<Tally> = kinds.iter().map(|_| Tally::default()).collect();
        for (k, task) in tasks {
            tallies[k].merge(task.await.map_err(|e| e.to_string())?);
        }
        Ok((started.elapsed().as_secs_f64(), tallies))
    })
}

/// The hostile client's requests, one chosen at random each time: `user.search` with
/// [`CONDITIONS`] `%WORK_POSITION` conditions (the key in as many spellings of its case),
/// `user.get` with as many `>ID` conditions (the key padded with spaces and tabs, which the
/// server trims), `user.get` with an ID list of 40,000, `department.get` with 250,000 IDs, and a
/// webhook or an `auth` token that does not exist.
fn hostile_requests(base: &Arc<String>) -> MakeRequest {
    let mut rng = Rng::new(0x0BAD);
    let positions: Vec<String> = (0..CONDITIONS)
        .map(|k| {
            // Bit j of k lowers the case of the key's j-th letter (12 letters: 4,096 spellings).
            let mut letter = 0;
            let key: String = "WORK_POSITION"
                .chars()
                .map(|c| {
                    if !c.is_ascii_alphabetic() {
                        return c;
                    }
                    letter += 1;
                    if (k >> (letter - 1)) & 1 == 1 {
                        c.to_ascii_lowercase()
                    } else {
                        c
                    }
                })
                .collect();
            format!("\"%{key}\":\"{}\"", http::prefix(&mut rng))
        })
        .collect();
    let ids: Vec<String> = (0..CONDITIONS)
        .map(|k| {
            // k + 1 in binary without its leading 1: a different padding for every k.
            let bits = format!("{:b}", k + 1);
            let pad: String = bits[1..].chars().map(|b| if b == '1' { "\\t" } else { " " }).collect();
            format!("\"{pad}>ID\":{k}")
        })
        .collect();
    let list = |n: usize| (1..=n).map(|i| i.to_string()).collect::<Vec<_>>().join(",");
    let fixed = [
        http::request(&format!("{base}/user.search"), &format!("{{\"FILTER\":{{{}}}}}", positions.join(","))),
        http::request(&format!("{base}/user.get"), &format!("{{\"FILTER\":{{{}}}}}", ids.join(","))),
        http::request(&format!("{base}/user.get"), &format!("{{\"FILTER\":{{\"ID\":[{}]}}}}", list(40_000))),
        http::request(&format!("{base}/department.get"), &format!("{{\"ID\":[{}]}}", list(250_000))),
    ];
    Arc::new(move |rng: &mut Rng, _: usize| match rng.below(fixed.len() + 2) {
        n if n < fixed.len() => fixed[n].clone(),
        n if n == fixed.len() => {
            http::request(&format!("/rest/1/{:016x}{:016x}/user.get", rng.next(), rng.next()), "{\"ID\":1}")
        }
        _ => http::request(
            "/rest/user.get",
            &format!("{{\"auth\":\"{:016x}{:016x}\",\"ID\":1}}", rng.next(), rng.next()),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts one answer; returns the failures it makes for a legitimate kind and for the
    /// hostile client.
    fn check(status: u16, body: &str, expected: (usize, usize)) {
        let answer = format!("HTTP/1.1 {status} X\r\nContent-Length: {}\r\n\r\n{body}", body.len());
        let mut tally = Tally::default();
        tally.count(status, answer.as_bytes(), Duration::from_millis(1));
        assert_eq!((tally.failures(true), tally.failures(false)), expected, "{status} {body}");
    }

    #[test]
    fn what_fails_the_run() {
        check(200, r#"{"result":{"ID":"1"}}"#, (0, 0));
        check(200, r#"{"result":{"result_error":{"u1":{"error":"ERROR_ARGUMENT"}}}}"#, (1, 0));
        check(400, r#"{"error":"ERROR_ARGUMENT","error_description":"too many"}"#, (1, 0));
        check(401, r#"{"error":"INVALID_CREDENTIALS","error_description":"no"}"#, (1, 0));
        check(503, r#"{"error":"QUERY_LIMIT_EXCEEDED","error_description":"slow down"}"#, (1, 0));
        check(429, r#"{"error":"OPERATION_TIME_LIMIT","error_description":"later"}"#, (1, 0));
        check(503, r#"{"error":"OVERLOAD_LIMIT","error_description":"busy"}"#, (1, 0));
        check(500, r#"{"error":"INTERNAL_SERVER_ERROR","error_description":"x"}"#, (1, 1));
        check(502, "", (1, 1));
    }

    #[test]
    fn hostile_filters_have_their_conditions() {
        let make = hostile_requests(&Arc::new("/rest/1/t".into()));
        let mut rng = Rng::new(1);
        let mut seen = std::collections::BTreeSet::new();
        for i in 0..200 {
            let req = make(&mut rng, i);
            let text = String::from_utf8_lossy(&req);
            let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
            let v: serde_json::Value = serde_json::from_str(&body).unwrap();
            if let Some(filter) = v["FILTER"].as_object() {
                seen.insert(filter.len());
            }
        }
        assert_eq!(seen.into_iter().collect::<Vec<_>>(), vec![1, CONDITIONS], "distinct keys, none lost");
    }
}
