//! The fuzzing loop around proptest: a bounded number of cases under `cargo test`, or rounds of
//! fresh seeds until time is up (`CARDFILE_FUZZ_SECONDS`, which `cargo xtask fuzz` sets), each
//! distinct failure reported once with its minimal input and the seed that replays it
//! (`CARDFILE_FUZZ_SEED`).

use std::cell::Cell;
use std::collections::BTreeMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

use proptest::strategy::Strategy;
use proptest::test_runner::{Config, RngSeed, TestCaseResult, TestError, TestRunner};

/// Cases per round when fuzzing for a time: each round starts from a fresh seed and a fresh
/// `setup` (a failure may leave what it ran against broken).
const ROUND: u32 = 1_000;

/// Seconds to fuzz for, when set.
pub fn seconds() -> Option<u64> {
    std::env::var("CARDFILE_FUZZ_SECONDS").ok()?.trim().parse().ok()
}

fn fixed_seed() -> Option<u64> {
    std::env::var("CARDFILE_FUZZ_SEED").ok()?.trim().parse().ok()
}

fn fresh_seed() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos(),
    );
    h.finish()
}

thread_local! {
    /// Set while this thread runs a case: its panics are findings, reported with the case.
    static QUIET: Cell<bool> = const { Cell::new(false) };
    /// What the cases of this thread's property came to (replies by status and code).
    static TALLY: std::cell::RefCell<BTreeMap<String, u64>> = const { std::cell::RefCell::new(BTreeMap::new()) };
}

/// Counts one outcome of the property running on this thread (printed with its summary, to
/// show how deep the cases get).
pub fn tally(outcome: impl Into<String>) {
    TALLY.with(|t| *t.borrow_mut().entry(outcome.into()).or_default() += 1);
}

/// Runs in-case panics silently on this thread, and prints each distinct panic location of
/// other threads (the blocking pool) once, so that shrinking does not print the same panic
/// hundreds of times.
fn quiet_panics() {
    static HOOK: Once = Once::new();
    static SEEN: Mutex<Vec<String>> = Mutex::new(Vec::new());
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if QUIET.with(Cell::get) {
                return;
            }
            if ACTIVE.load(Ordering::SeqCst) > 0 {
                let at = info.location().map(|l| l.to_string()).unwrap_or_default();
                if !at.contains("tests/") {
                    let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
                    if seen.contains(&at) {
                        return;
                    }
                    seen.push(at);
                }
            }
            default(info);
        }));
    });
}

static ACTIVE: AtomicUsize = AtomicUsize::new(0);

/// Runs `f`, turning a panic into `Err` with its message (without printing it).
pub fn catch<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    quiet_panics();
    let was = QUIET.with(|q| q.replace(true));
    let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    QUIET.with(|q| q.set(was));
    out.map_err(|e| {
        e.downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "a panic without a message".into())
    })
}

/// Runs `property` on values of `strategy` against what `setup` makes: `ci_cases` cases, or
/// with `CARDFILE_FUZZ_SECONDS` rounds of fresh seeds until the time is up. A failure's reason
/// starts with a one-line signature; failures with the same signature are reported once.
/// Panics (the test fails) with every distinct failure and its minimal input.
pub fn fuzz<S, W>(
    name: &str,
    ci_cases: u32,
    strategy: S,
    mut setup: impl FnMut() -> W,
    property: impl Fn(&W, S::Value) -> TestCaseResult,
) where
    S: Strategy,
    S::Value: std::fmt::Debug,
{
    quiet_panics();
    ACTIVE.fetch_add(1, Ordering::SeqCst);
    let timed = seconds().map(Duration::from_secs);
    let replay = fixed_seed();
    let started = Instant::now();
    let cases = Cell::new(0u64);
    let mut rounds = 0u64;
    let mut failures: BTreeMap<String, String> = BTreeMap::new();
    let mut slowest = (Duration::ZERO, String::new());
    loop {
        let seed = replay.unwrap_or_else(fresh_seed);
        rounds += 1;
        let config = Config {
            cases: if timed.is_some() { ROUND } else { ci_cases },
            failure_persistence: None,
            rng_seed: RngSeed::Fixed(seed),
            max_shrink_iters: 4_096,
            max_shrink_time: 60_000,
            max_global_rejects: 100_000,
            ..Config::default()
        };
        let world = setup();
        let mut runner = TestRunner::new(config);
        let slow = Cell::new((Duration::ZERO, String::new()));
        let result = runner.run(&strategy, |value| {
            cases.set(cases.get() + 1);
            let shown = format!("{value:?}");
            let t = Instant::now();
            let r = property(&world, value);
            let took = t.elapsed();
            let s = slow.take();
            slow.set(if took > s.0 { (took, shown) } else { s });
            r
        });
        let s = slow.take();
        if s.0 > slowest.0 {
            slowest = s;
        }
        match result {
            Ok(()) => {}
            Err(TestError::Fail(reason, minimal)) => {
                let reason = reason.to_string();
                let signature = reason.lines().next().unwrap_or("").to_string();
                failures.entry(signature).or_insert_with(|| {
                    let mut input = format!("{minimal:?}");
                    if input.len() > 4_000 {
                        let mut cut = 4_000;
                        while !input.is_char_boundary(cut) {
                            cut -= 1;
                        }
                        input.truncate(cut);
                        input.push('…');
                    }
                    format!("{reason}\n  minimal input: {input}\n  replay: CARDFILE_FUZZ_SEED={seed}")
                });
            }
            Err(TestError::Abort(why)) => {
                failures.entry(format!("aborted: {why}")).or_insert_with(|| format!("seed {seed}"));
            }
        }
        let done = match timed {
            None => true,
            Some(limit) => replay.is_some() || started.elapsed() >= limit,
        };
        if done {
            break;
        }
    }
    ACTIVE.fetch_sub(1, Ordering::SeqCst);
    println!(
        "fuzz {name}: {} cases in {rounds} round(s), {:.1} s, {} distinct failure(s); slowest case {:.0} ms",
        cases.get(),
        started.elapsed().as_secs_f64(),
        failures.len(),
        slowest.0.as_secs_f64() * 1e3,
    );
    let outcomes = TALLY.with(|t| std::mem::take(&mut *t.borrow_mut()));
    if !outcomes.is_empty() {
        let shown: Vec<String> = outcomes.iter().map(|(k, n)| format!("{k} ×{n}")).collect();
        println!("fuzz {name}: outcomes: {}", shown.join(", "));
    }
    if timed.is_some() && slowest.0 > Duration::from_secs(2) {
        let mut shown = slowest.1;
        shown.truncate(2_000);
        println!("fuzz {name}: the slowest case: {shown}");
    }
    if !failures.is_empty() {
        let all: Vec<String> =
            failures.into_iter().map(|(sig, detail)| format!("--- {sig}\n{detail}")).collect();
        panic!("fuzz {name}: {} distinct failure(s)\n{}", all.len(), all.join("\n"));
    }
}
