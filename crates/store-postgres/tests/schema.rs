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

/// A database of schema 1 keeps its outbox through the move to `messages` (schema 2), as a
/// SQLite file does through schema 11.
#[test]
fn the_outbox_moves_to_schema_2() {
    use profile_core::model::message::{MessageKind, MessageState};
    let url = empty_database();
    let initial =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/001_initial.sql")).unwrap();
    psql(
        &url,
        &format!(
            "BEGIN; {initial}\nCREATE TABLE meta (key TEXT COLLATE \"C\" PRIMARY KEY, value TEXT NOT NULL); \
             INSERT INTO meta VALUES ('application', 'cardfile'), ('schema', '1'); \
             INSERT INTO outbox (id, account_no, kind, channel, recipient, subject, body, created_at, sent_at) VALUES \
             ('\\x00000000000000000000000000000001', NULL, 'invitation', 'email', 'a@example.com', 's', 'link', 1000, NULL), \
             ('\\x00000000000000000000000000000002', NULL, 'notice', 'email', 'b@example.com', 'w', '', 3000, 3001); COMMIT;"
        ),
    );
    let db = PgDb::open(&url).unwrap();
    let tx = db.read().unwrap();
    let m = tx.messages(None).unwrap();
    assert_eq!(m.len(), 2);
    assert_eq!((m[0].delivery.state, m[0].body.as_str()), (MessageState::Pending, "link"));
    assert_eq!(m[0].expires_at.map(|t| t.timestamp()), Some(1000 + 14 * 86_400));
    assert_eq!((m[1].kind, m[1].delivery.state), (MessageKind::RegistrationApproved, MessageState::Sent));
    drop(tx);
    // New messages are numbered after the copied ones.
    let mut tx = db.write().unwrap();
    let mut next = m[0].clone();
    next.id = uuid::Uuid::from_u128(3);
    tx.enqueue(&next).unwrap();
    tx.commit().unwrap();
    let ids: Vec<u128> = db.read().unwrap().messages(None).unwrap().iter().map(|m| m.id.as_u128()).collect();
    assert_eq!(ids, vec![1, 2, 3]);
}
