//! `cargo xtask` — Cardfile's chores, written in Rust so they run the same everywhere.
//!
//! - `cargo xtask ci`: format check, clippy with `-D warnings`, the SDK environments (a Python
//!   venv with b24pysdk, `node_modules` with @bitrix24/b24jssdk), the whole test suite, the docs
//!   (rustdoc warnings are errors), and `cargo deny check bans licenses sources` (installing cargo-deny when it is missing). Prints
//!   how long each phase took. This is the test command of the README and of `.ci/run`.
//! - `cargo xtask bench [--quick]`: builds the benchmark harness and `cardfile` in release mode
//!   and runs the library benchmark at 100k and 1M users, the HTTP benchmark at 100k, and
//!   offset paging to the end over HTTP at 100k and in the library at 1M, SQLite beside
//!   PostgreSQL at 100k, and a 60 s mixed load of 64 connections with a hostile client at 100k
//!   (`--quick`: all at 10k, briefly), writing `target/bench/report.md`.
//! - `cargo xtask fuzz [--seconds N] [--seed S]`: the fuzzing properties of
//!   `crates/api-http/tests/fuzz.rs` in a release build, with fresh seeds until N seconds
//!   (default 60) are up; prints the cases run and every distinct failure with its minimal
//!   input. `--seed` replays one seed instead.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("bench") => bench(args.iter().any(|a| a == "--quick")),
        Some("fuzz") => match (flag(&args, "--seconds"), flag(&args, "--seed")) {
            (Ok(seconds), Ok(seed)) => fuzz(seconds.unwrap_or(60), seed),
            (Err(e), _) | (_, Err(e)) => Err(e),
        },
        _ => {
            eprintln!("usage: cargo xtask ci | cargo xtask bench [--quick] | cargo xtask fuzz [--seconds N] [--seed S]");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The number after `name` in `args`, if `name` is there.
fn flag(args: &[String], name: &str) -> Result<Option<u64>, String> {
    let Some(at) = args.iter().position(|a| a == name) else { return Ok(None) };
    let value = args.get(at + 1).ok_or_else(|| format!("{name} needs a number"))?;
    value.parse().map(Some).map_err(|_| format!("{name}: not a number: {value}"))
}

/// Runs the fuzzing properties for `seconds` (each of them, all at once: the test threads
/// share the cores), or replays one `seed`.
fn fuzz(seconds: u64, seed: Option<u64>) -> Result<(), String> {
    let mut test = cargo();
    test.args([
        "test",
        "-p",
        "api-http",
        "--test",
        "fuzz",
        "--release",
        "--",
        "--nocapture",
        "--test-threads",
        "16",
    ])
    .env("CARDFILE_FUZZ_SECONDS", seconds.to_string());
    if let Some(seed) = seed {
        test.env("CARDFILE_FUZZ_SEED", seed.to_string());
    }
    phase(&format!("fuzz for {seconds} s"), test)
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}

fn cargo() -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(root());
    c
}

/// Runs a phase, printing its name and how long it took.
fn phase(name: &str, mut cmd: Command) -> Result<(), String> {
    println!("==> {name}");
    let started = Instant::now();
    let status = cmd.status().map_err(|e| format!("{name}: cannot start: {e}"))?;
    println!("<== {name}: {:.1} s", started.elapsed().as_secs_f64());
    if status.success() {
        Ok(())
    } else {
        Err(format!("{name} failed ({status})"))
    }
}

fn ci() -> Result<(), String> {
    let started = Instant::now();
    let mut fmt = cargo();
    fmt.args(["fmt", "--all", "--", "--check"]);
    phase("fmt", fmt)?;
    let mut clippy = cargo();
    clippy.args(["clippy", "--workspace", "--all-targets", "--all-features", "--", "-D", "warnings"]);
    phase("clippy", clippy)?;
    let sdk_env = ensure_sdks()?;
    let mut test = cargo();
    test.args(["test", "--workspace", "--all-features", "--", "--skip", "sdk_b24"]).envs(sdk_env.clone());
    phase("test", test)?;
    // The SDK suites print every scenario they pass: run them uncaptured (same build).
    let mut sdk = cargo();
    sdk.args([
        "test",
        "--workspace",
        "--all-features",
        "--test",
        "sdk",
        "--",
        "--nocapture",
        "--test-threads",
        "1",
    ])
    .envs(sdk_env);
    phase("sdk suites (b24pysdk, b24jssdk)", sdk)?;
    let mut doc = cargo();
    doc.args(["doc", "--workspace", "--no-deps", "--all-features"]).env("RUSTDOCFLAGS", "-D warnings");
    phase("doc", doc)?;
    ensure_cargo_deny()?;
    let mut deny = cargo();
    deny.args(["deny", "--all-features", "check", "bans", "licenses", "sources"]);
    phase("deny", deny)?;
    println!("ci: all phases passed in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// The environments the SDK suites run in (crates/cli/tests/sdk.rs): a Python venv with the
/// pinned b24pysdk under `target/sdk/venv`, and `tests/sdk/js/node_modules` and
/// `tests/web/node_modules` from their lock files.
/// Made when missing or out of date; returns the environment the tests read.
fn ensure_sdks() -> Result<Vec<(String, String)>, String> {
    let started = Instant::now();
    println!("==> sdk environments");
    let root = root();
    let requirements_path = root.join("tests/sdk/python/requirements.txt");
    let requirements = std::fs::read_to_string(&requirements_path)
        .map_err(|e| format!("cannot read {}: {e}", requirements_path.display()))?;
    let venv = root.join("target/sdk/venv");
    let python = venv.join("bin/python");
    let stamp = venv.join("cardfile-requirements.txt");
    if !python.exists() {
        run_checked(
            Command::new("python3").args(["-m", "venv"]).arg(&venv),
            "python3 -m venv (Python 3 with venv is required; on Debian: apt-get install python3-venv)",
        )?;
    }
    if std::fs::read_to_string(&stamp).ok().as_deref() != Some(requirements.as_str()) {
        run_checked(
            Command::new(&python)
                .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r"])
                .arg(&requirements_path),
            "pip install -r tests/sdk/python/requirements.txt",
        )?;
        std::fs::write(&stamp, &requirements)
            .map_err(|e| format!("cannot write {}: {e}", stamp.display()))?;
    }
    // The JS SDK's suite, and the browser tests' playwright-core and axe-core (tests/web).
    for dir in ["tests/sdk/js", "tests/web"] {
        let js = root.join(dir);
        let lock = std::fs::read(js.join("package-lock.json"))
            .map_err(|e| format!("cannot read the npm lock file of {dir}: {e}"))?;
        let js_stamp = js.join("node_modules/.cardfile-lock");
        if std::fs::read(&js_stamp).ok().as_deref() != Some(lock.as_slice()) {
            run_checked(
                Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir(&js),
                &format!("npm ci in {dir} (Node.js 20+ and npm are required)"),
            )?;
            std::fs::write(&js_stamp, &lock)
                .map_err(|e| format!("cannot write {}: {e}", js_stamp.display()))?;
        }
    }
    println!("<== sdk environments: {:.1} s", started.elapsed().as_secs_f64());
    Ok(vec![("CARDFILE_SDK_PYTHON".into(), python.display().to_string())])
}

fn run_checked(cmd: &mut Command, what: &str) -> Result<(), String> {
    let status = cmd.status().map_err(|e| format!("{what}: cannot start: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{what} failed ({status})"))
    }
}

fn ensure_cargo_deny() -> Result<(), String> {
    let present = cargo().args(["deny", "--version"]).output().map(|o| o.status.success()).unwrap_or(false);
    if present {
        return Ok(());
    }
    let mut install = cargo();
    install.args(["install", "cargo-deny", "--locked"]);
    phase("install cargo-deny", install)
}

fn bench(quick: bool) -> Result<(), String> {
    let mut build = cargo();
    build.args(["build", "--release", "-p", "bench", "-p", "cli"]);
    phase("build bench and cardfile (release)", build)?;
    let cardfile = root().join("target").join("release").join("cardfile");
    let out_dir = root().join("target").join("bench");
    std::fs::create_dir_all(&out_dir).map_err(|e| e.to_string())?;
    let sizes: &[(usize, usize)] =
        if quick { &[(10_000, 300)] } else { &[(100_000, 2_000), (1_000_000, 2_000)] };
    let mut report = String::new();
    report.push_str(&machine());
    let exe = root().join("target").join("release").join("bench");
    for &(users, samples) in sizes {
        let db = out_dir.join(format!("bench-{users}.db"));
        let mut cmd = Command::new(&exe);
        cmd.args(["--users", &users.to_string(), "--samples", &samples.to_string()]).arg("--db").arg(&db);
        // The HTTP part runs at 100k users (the issue's size) and, briefly, in the quick run;
        // the mixed load (reads, searches, batch writes and a hostile client) after it.
        if users <= 100_000 {
            cmd.arg("--http").arg(&cardfile).args(["--http-seconds", if quick { "1" } else { "5" }]);
            cmd.args(["--mixed-seconds", if quick { "5" } else { "60" }]);
        }
        // `serve` start at every size; export and import up to 100k users.
        cmd.arg("--cli").arg(&cardfile);
        report.push('\n');
        report.push_str(&run_bench(&format!("bench {users} users"), cmd, &db)?);
    }
    // Offset paging to the end: over HTTP at 100k users of one department, in the library at 1M.
    let pagings: &[(usize, bool)] =
        if quick { &[(10_000, true)] } else { &[(100_000, true), (1_000_000, false)] };
    for &(users, http) in pagings {
        let db = out_dir.join(format!("paging-{users}.db"));
        let mut cmd = Command::new(&exe);
        cmd.args(["--paging", &users.to_string()]).arg("--db").arg(&db);
        if http {
            cmd.arg("--http").arg(&cardfile);
        }
        report.push_str(&run_bench(&format!("paging {users} users"), cmd, &db)?);
    }
    // SQLite and PostgreSQL side by side, on the same users, in the same run.
    let users = if quick { 10_000 } else { 100_000 };
    let db = out_dir.join("stores.db");
    let mut cmd = Command::new(&exe);
    cmd.args(["--stores", &users.to_string()]).arg("--db").arg(&db).arg("--http").arg(&cardfile);
    cmd.args(["--http-seconds", if quick { "1" } else { "5" }]);
    report.push_str(&run_bench(&format!("SQLite and PostgreSQL, {users} users"), cmd, &db)?);
    // Delivery: a burst of invitations through `serve` to an SMTP sink.
    let invitations = if quick { 2_000 } else { 10_000 };
    let db = out_dir.join("deliver.db");
    let mut cmd = Command::new(&exe);
    cmd.args(["--deliver", &invitations.to_string()]).arg("--db").arg(&db).arg("--http").arg(&cardfile);
    report.push_str(&run_bench(&format!("delivery, {invitations} invitations"), cmd, &db)?);
    // Sign-ins through /login (argon2id at production cost) against user.get.
    let db = out_dir.join("signins.db");
    let mut cmd = Command::new(&exe);
    cmd.arg("--signins").arg("--db").arg(&db).arg("--http").arg(&cardfile);
    report.push_str(&run_bench("sign-ins", cmd, &db)?);
    let path = out_dir.join("report.md");
    std::fs::write(&path, report).map_err(|e| e.to_string())?;
    println!("report: {}", path.display());
    Ok(())
}

/// Runs one bench command on the database `db`, printing and returning its table, then removes
/// the database.
fn run_bench(name: &str, mut cmd: Command, db: &Path) -> Result<String, String> {
    println!("==> {name}");
    let started = Instant::now();
    let out = cmd.output().map_err(|e| format!("{name}: cannot run the bench: {e}"))?;
    if !out.status.success() {
        // What it measured before it failed, then why.
        return Err(format!(
            "{name} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let table = String::from_utf8_lossy(&out.stdout).into_owned();
    println!("{table}<== {name}: {:.1} s", started.elapsed().as_secs_f64());
    remove_database(db);
    Ok(table)
}

/// Removes a bench database with its `-wal` and `-shm` files.
fn remove_database(db: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = db.to_path_buf().into_os_string();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
}

/// What the numbers were measured on: commit, CPU, cores, memory.
fn machine() -> String {
    let commit = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(root())
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .unwrap_or("unknown")
        .trim()
        .to_string();
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let mem = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("MemTotal"))
        .map(|l| l.split_whitespace().nth(1).and_then(|k| k.parse::<u64>().ok()).unwrap_or(0) / 1024 / 1024)
        .unwrap_or(0);
    format!("commit `{commit}` · {cpu} · {cores} cores · {mem} GiB\n")
}
