//! `--config FILE` and the `CARDFILE_*` variables on the real binary: the file sets options, a
//! variable overrides the file, a flag overrides both; a bad file is bad usage (exit 2) and
//! changes nothing.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

mod common;

/// Runs `cardfile ARGS` in `dir` with exactly the `CARDFILE_*` variables in `env`.
fn cardfile(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cardfile"));
    for (key, _) in std::env::vars() {
        if key.starts_with("CARDFILE_") {
            cmd.env_remove(key);
        }
    }
    common::output(cmd.current_dir(dir).args(args).envs(env.iter().copied()).env("CARDFILE_LOG", "warn"))
}

fn ok_json(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Value {
    let (code, out, err) = cardfile(dir, env, args);
    assert_eq!(code, 0, "{args:?}: {err}");
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"))
}

#[test]
fn the_file_sets_options_and_variables_and_flags_override_it() {
    let dir = tempfile::tempdir().unwrap();
    let etc = dir.path().join("etc");
    std::fs::create_dir(&etc).unwrap();
    // Paths in the file are relative to the file; the file works from any directory.
    std::fs::write(
        etc.join("cardfile.toml"),
        "db = \"data/people.db\"\njson = true\nbase_url = \"https://people.example.com\"\n\
         [init]\nadmin_email = \"it@example.com\"\nslug = \"acme\"\nname = \"Acme\"\n",
    )
    .unwrap();
    std::fs::create_dir(etc.join("data")).unwrap();
    let config = etc.join("cardfile.toml");
    let config = config.to_str().unwrap();

    let first = ok_json(dir.path(), &[], &["--config", config, "init"]);
    assert_eq!(first["login"], "it@example.com", "[init] admin_email");
    assert!(
        first["webhook"].as_str().unwrap().starts_with("https://people.example.com/rest/1/"),
        "base_url: {first}"
    );
    assert!(etc.join("data/people.db").exists(), "db is relative to the file");
    assert_eq!(ok_json(dir.path(), &[], &["--config", config, "account", "show"])["slug"], "acme");

    // CARDFILE_CONFIG names the file too; a variable beats the file, a flag beats the variable.
    let via_env = [("CARDFILE_CONFIG", config)];
    assert_eq!(ok_json(dir.path(), &via_env, &["account", "show"])["name"], "Acme");
    let hook = ok_json(dir.path(), &via_env, &["webhook", "create", "--scope", "user"]);
    assert!(hook["url"].as_str().unwrap().starts_with("https://people.example.com/"));
    let other = [("CARDFILE_CONFIG", config), ("CARDFILE_BASE_URL", "http://env.example")];
    let hook = ok_json(dir.path(), &other, &["webhook", "create", "--scope", "user"]);
    assert!(hook["url"].as_str().unwrap().starts_with("http://env.example/"), "{hook}");
    let hook = ok_json(
        dir.path(),
        &other,
        &["--base-url", "http://flag.example", "webhook", "create", "--scope", "user"],
    );
    assert!(hook["url"].as_str().unwrap().starts_with("http://flag.example/"), "{hook}");
    // Switches take the usual spellings; anything else is bad usage.
    let (code, out, _) =
        cardfile(dir.path(), &[("CARDFILE_CONFIG", config), ("CARDFILE_JSON", "no")], &["account", "show"]);
    assert_eq!(code, 0);
    assert!(serde_json::from_str::<Value>(out.trim()).is_err(), "CARDFILE_JSON=no beats json = true: {out}");
    let (code, _, err) = cardfile(dir.path(), &[("CARDFILE_JSON", "maybe")], &["account", "list"]);
    assert_eq!(code, 2, "{err}");
    // A variable for the database: the file's db no longer applies.
    let (code, _, err) = cardfile(
        dir.path(),
        &[("CARDFILE_CONFIG", config), ("CARDFILE_DB", "elsewhere.db")],
        &["account", "show"],
    );
    assert_eq!(code, 1, "a fresh database has no account: {err}");
}

#[test]
fn serve_takes_its_options_from_the_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("c.toml"),
        "db = \"s.db\"\n[serve]\nlisten = \"127.0.0.1:0\"\ntls_self_signed = true\nmmap_mib = 64\nquery_cache_mib = 16\n",
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_cardfile"))
        .current_dir(dir.path())
        .args(["--config", "c.toml", "--json", "serve"])
        .env("CARDFILE_LOG", "warn")
        .env_remove("CARDFILE_DB")
        .env_remove("CARDFILE_LISTEN")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut listening = None;
    for _ in 0..20 {
        let mut line = String::new();
        if stderr.read_line(&mut line).unwrap() == 0 {
            break;
        }
        if let Some(addr) = line.trim().strip_prefix("cardfile: listening on ") {
            listening = Some(addr.to_string());
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let addr = listening.expect("the server announced its address");
    assert!(addr.starts_with("https://127.0.0.1:"), "TLS and the listen address from the file: {addr}");
    assert!(!addr.ends_with(":8080") && !addr.ends_with(":0"), "{addr}");
    assert!(dir.path().join("s.db").exists() && dir.path().join("s.cert.pem").exists());
}

#[test]
fn a_bad_file_is_bad_usage_and_names_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("db = \"x.db\"\nlisten = \"127.0.0.1:1\"\n", "unknown key listen"),
        ("[serve]\nlisen = \"127.0.0.1:1\"\n", "unknown key [serve] lisen"),
        ("[server]\nlisten = 1\n", "unknown key server"),
        ("db = [\"a\", \"b\"]\n", "db is a TOML array"),
        ("db = \"unclosed\n", "not valid TOML"),
    ];
    for (text, says) in cases {
        std::fs::write(dir.path().join("bad.toml"), text).unwrap();
        let (code, _, err) = cardfile(dir.path(), &[], &["--config", "bad.toml", "account", "list"]);
        assert_eq!(code, 2, "{text:?}");
        assert!(err.contains(says), "{text:?}: {err}");
        assert!(err.contains("bad.toml"), "the message names the file: {err}");
    }
    let (code, _, err) = cardfile(dir.path(), &[], &["--config", "missing.toml", "account", "list"]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot read the config file missing.toml"), "{err}");
    // A value clap refuses is named with its option.
    std::fs::write(dir.path().join("bad.toml"), "[serve]\nlisten = \"nowhere\"\n").unwrap();
    let (code, _, err) = cardfile(dir.path(), &[], &["--config", "bad.toml", "serve"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--listen"), "{err}");
    std::fs::write(dir.path().join("bad.toml"), "[serve]\nmmap_mib = 99999999\n").unwrap();
    let (code, _, err) = cardfile(dir.path(), &[], &["--config", "bad.toml", "serve"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--mmap-mib"), "{err}");
    let files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(files, vec![std::ffi::OsString::from("bad.toml")], "nothing was created");
}
