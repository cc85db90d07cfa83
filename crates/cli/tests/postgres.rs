//! The `cardfile` binary on PostgreSQL (`--db postgres://…`, a fresh database of
//! `store_postgres::testing`'s server per test): `migrate` of a 100k-user SQLite file, checked
//! table by table and then by what both databases answer; `import`, `reindex`, `backup` and
//! `restore` (through `pg_dump`/`pg_restore`); one self-signed certificate for every server on a database.

mod common;

use std::ffi::OsStr;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn cardfile(db: &OsStr, args: &[&str]) -> (i32, String, String) {
    common::output(
        Command::new(env!("CARGO_BIN_EXE_cardfile"))
            .arg("--db")
            .arg(db)
            .args(args)
            .env("CARDFILE_LOG", "warn")
            .env_remove("CARDFILE_ACCOUNT"),
    )
}

fn ok(db: &OsStr, args: &[&str]) -> String {
    let (code, out, err) = cardfile(db, args);
    assert_eq!(code, 0, "{args:?}: {err}");
    out
}

fn json(db: &OsStr, args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = ok(db, &all);
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"))
}

/// Everything a database holds that a person would look at, as both stores answer it: every
/// user with their fields (the export), the structure, groups, webhooks and searches.
fn answers(db: &OsStr) -> Vec<String> {
    let mut seen = vec![ok(db, &["export", "--format", "jsonl"])];
    for args in [
        &["dept", "tree"][..],
        &["group", "list"],
        &["webhook", "list"],
        &["invite", "list"],
        &["hr", "fields"],
        &["user", "search", "anna"],
        &["user", "search", "ber"],
        &["user", "search", "u777@"],
        &["user", "search", "+1 555 0100"],
    ] {
        seen.push(ok(db, &[&["--json"][..], args].concat()));
    }
    seen
}

/// A file of 100,000 people in 20 departments of two levels, with names, positions and phones.
fn people_csv(path: &Path, n: usize) {
    const FIRST: [&str; 8] = ["Anna", "Bernd", "Chloé", "Dmitri", "Eva", "Fëdor", "Grace", "Ivo"];
    const LAST: [&str; 6] = ["Berg", "Müller", "Ørsted", "Lee", "O'Neil", "Nguyễn"];
    let mut text = String::from("EMAIL,NAME,LAST_NAME,WORK_POSITION,WORK_PHONE,DEPARTMENTS\n");
    for i in 0..n {
        let _ = writeln!(
            text,
            "u{i}@example.com,{},{},Engineer {},+1 555 {:04},Acme/D{}/T{}",
            FIRST[i % FIRST.len()],
            LAST[i / 7 % LAST.len()],
            i % 13,
            i % 10_000,
            i % 5,
            i % 4
        );
    }
    std::fs::write(path, text).unwrap();
}

#[test]
fn migrate_copies_a_100k_user_file_that_then_answers_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cardfile.db");
    let file = file.as_os_str();
    ok(file, &["init", "--slug", "acme", "--name", "Acme"]);
    let csv = dir.path().join("people.csv");
    people_csv(&csv, 100_000);
    assert_eq!(json(file, &["import", csv.to_str().unwrap()])["users"], 100_000);
    // Rows in the other tables: a workgroup, an HR field, an invitation, a second webhook.
    ok(file, &["group", "add", "Guild"]);
    ok(file, &["hr", "define", "PASSPORT=Passport number"]);
    ok(file, &["invite", "email", "new@example.com"]);
    ok(file, &["webhook", "create", "--name", "sync", "--scope", "user"]);
    let url = store_postgres::testing::fresh_database();
    let url = OsStr::new(&url);
    let done = json(file, &["migrate", "--to", url.to_str().unwrap()]);
    // The administrator, the file's people and the invited record.
    assert_eq!(done["users"], 100_002, "{done}");
    let tables = done["tables"].as_array().unwrap();
    assert_eq!(tables.len(), store_postgres::TABLES.len(), "every table is copied and checked");
    assert_eq!(answers(url), answers(file), "the copy answers as the file does");
    // A second migration into the same database is refused and changes nothing.
    let (code, _, err) = cardfile(file, &["migrate", "--to", url.to_str().unwrap()]);
    assert!(code == 1 && err.contains("empty"), "{err}");
    // The copy takes writes: IDs go on after the file's.
    let added = json(url, &["user", "add", "EMAIL=after@example.com", "NAME=After", "UF_DEPARTMENT=1"]);
    assert_eq!(added["ID"], 100_003, "{added}");
}

#[test]
fn backup_and_restore_on_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let url = store_postgres::testing::fresh_database();
    let url = OsStr::new(&url);
    ok(url, &["init", "--slug", "acme", "--name", "Acme"]);
    ok(url, &["user", "add", "EMAIL=anna@example.com", "NAME=Anna", "LAST_NAME=Berg", "UF_DEPARTMENT=1"]);
    // import and reindex work on PostgreSQL as on a file.
    let csv = dir.path().join("people.csv");
    people_csv(&csv, 50);
    assert_eq!(json(url, &["import", csv.to_str().unwrap()])["users"], 50);
    assert_eq!(json(url, &["reindex"])["reindexed"], 52);
    assert_eq!(json(url, &["user", "search", "u7@"])["total"], 1, "found by address after the reindex");
    let backup = dir.path().join("cardfile.dump");
    ok(url, &["backup", backup.to_str().unwrap()]);
    let (code, _, err) = cardfile(url, &["backup", backup.to_str().unwrap()]);
    assert!(code == 1 && err.contains("exists"), "an existing file is never overwritten: {err}");
    // Into an empty database.
    let other = store_postgres::testing::empty_database();
    let other = OsStr::new(&other);
    ok(other, &["restore", backup.to_str().unwrap()]);
    assert_eq!(answers(other), answers(url));
    // Over a database that holds data: only with --force, and then it is the backup's.
    ok(url, &["user", "add", "EMAIL=late@example.com", "NAME=Late", "UF_DEPARTMENT=1"]);
    let (code, _, err) = cardfile(url, &["restore", backup.to_str().unwrap()]);
    assert!(code == 1 && err.contains("--force"), "{err}");
    ok(url, &["restore", backup.to_str().unwrap(), "--force"]);
    assert_eq!(answers(url), answers(other));
}

#[test]
fn every_server_on_a_database_serves_one_self_signed_certificate() {
    let url = store_postgres::testing::fresh_database();
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (mut first, _, webhook) = common::start_on(url.as_ref(), a.path(), true, true);
    assert!(webhook.is_some());
    let (mut second, _, _) = common::start_on(url.as_ref(), b.path(), false, true);
    let cert = |d: &Path| std::fs::read_to_string(d.join("cardfile.cert.pem")).unwrap();
    let same = cert(a.path()) == cert(b.path());
    for c in [&mut first, &mut second] {
        let _ = c.kill();
        let _ = c.wait();
    }
    assert!(same, "both servers serve the certificate kept in the database");
    assert!(
        cert(a.path()).starts_with("-----BEGIN CERTIFICATE-----"),
        "only the certificate is written, not the key"
    );
}
