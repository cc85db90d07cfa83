//! Opening a database: the schema is created in an empty one and found again in Cardfile's
//! own; a database of another program, or of a newer Cardfile, is refused before anything is
//! written.

use profile_core::ports::Database;
use profile_core::StoreError;
use store_postgres::testing::empty_database;
use store_postgres::PgDb;

/// Runs `sql` on the database at `url` with psql, as an operator would.
fn psql(url: &str, sql: &str) {
    let psql = store_postgres::program("psql");
    let out = std::process::Command::new(&psql)
        .args(["-q", "-v", "ON_ERROR_STOP=1", url, "-c", sql])
        .output()
        .unwrap();
    assert!(out.status.success(), "psql: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn an_empty_database_gets_the_schema_and_keeps_it() {
    let url = empty_database();
    let db = PgDb::open(&url).unwrap();
    assert!(db.read().unwrap().accounts().unwrap().is_empty());
    drop(db);
    // Opened again: found, not created twice.
    PgDb::open(&url).unwrap();
    assert!(store_postgres::holds_tables(&url, None).unwrap());
}

#[test]
fn a_database_of_another_program_is_refused_untouched() {
    let url = empty_database();
    psql(&url, "CREATE TABLE orders (id int)");
    match PgDb::open(&url) {
        Err(StoreError::Incompatible(why)) => assert!(why.contains("another program"), "{why}"),
        other => panic!("opened a foreign database: {other:?}"),
    }
    let out = std::process::Command::new(store_postgres::program("psql"))
        .args(["-At", &url, "-c", "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "1", "nothing was created beside it");
}

#[test]
fn a_newer_schema_is_refused() {
    let url = empty_database();
    drop(PgDb::open(&url).unwrap());
    psql(&url, "UPDATE meta SET value = '99' WHERE key = 'schema'");
    match PgDb::open(&url) {
        Err(StoreError::Incompatible(why)) => assert!(why.contains("newer"), "{why}"),
        other => panic!("opened a newer schema: {other:?}"),
    }
}

#[test]
fn a_server_that_does_not_answer_is_a_clear_error() {
    // A port nothing listens on (bound, then released).
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let options = store_postgres::Options { wait: std::time::Duration::from_secs(2), ..Default::default() };
    let err = PgDb::open_with(&format!("postgres://cardfile:secret@127.0.0.1:{port}/x"), None, options)
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("cannot be reached"), "{text}");
    assert!(!text.contains("secret"), "the password never shows: {text}");
}
