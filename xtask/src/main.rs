//! `cargo xtask` — Cardfile's chores, written in Rust so they run the same everywhere.
//!
//! - `cargo xtask ci`: format check, clippy with `-D warnings`, the whole test suite, the docs
//!   (rustdoc warnings are errors), and `cargo deny check bans licenses sources` (installing cargo-deny when it is missing). Prints
//!   how long each phase took. This is the test command of the README and of `.ci/run`.
//! - `cargo xtask bench [--quick]`: builds the benchmark harness in release mode and runs it at
//!   100k and 1M users (`--quick`: 10k), writing `target/bench/report.md`.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("bench") => bench(args.iter().any(|a| a == "--quick")),
        _ => {
            eprintln!("usage: cargo xtask ci | cargo xtask bench [--quick]");
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
    let mut test = cargo();
    test.args(["test", "--workspace", "--all-features"]);
    phase("test", test)?;
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
    build.args(["build", "--release", "-p", "bench"]);
    phase("build bench (release)", build)?;
    let out_dir = root().join("target").join("bench");
    std::fs::create_dir_all(&out_dir).map_err(|e| e.to_string())?;
    let sizes: &[(usize, usize)] =
        if quick { &[(10_000, 300)] } else { &[(100_000, 2_000), (1_000_000, 2_000)] };
    let mut report = String::new();
    report.push_str(&machine());
    for &(users, samples) in sizes {
        let db = out_dir.join(format!("bench-{users}.db"));
        let exe = root().join("target").join("release").join("bench");
        println!("==> bench {users} users");
        let started = Instant::now();
        let out = Command::new(&exe)
            .args(["--users", &users.to_string(), "--samples", &samples.to_string()])
            .arg("--db")
            .arg(&db)
            .output()
            .map_err(|e| format!("cannot run {}: {e}", exe.display()))?;
        if !out.status.success() {
            return Err(format!("bench failed: {}", String::from_utf8_lossy(&out.stderr)));
        }
        let table = String::from_utf8_lossy(&out.stdout);
        println!("{table}<== bench {users} users: {:.1} s", started.elapsed().as_secs_f64());
        report.push('\n');
        report.push_str(&table);
        for suffix in ["", "-wal", "-shm"] {
            let mut p = db.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(p);
        }
    }
    let path = out_dir.join("report.md");
    std::fs::write(&path, report).map_err(|e| e.to_string())?;
    println!("report: {}", path.display());
    Ok(())
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
