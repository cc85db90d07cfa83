//! The database file: creation, reopening, refusing files Cardfile must not touch.

use profile_core::field::UserField;
use profile_core::ids::UserId;
use profile_core::model::user::{Role, User};
use profile_core::ports::{Clock, Database};
use profile_core::testing::contract::{patch, Fixture};
use profile_core::usecase::users;
use profile_core::StoreError;
use store_sqlite::{SqliteDb, SCHEMA_VERSION};

#[test]
fn committed_writes_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cardfile.db");
    let (account, eve) = {
        let db = SqliteDb::open(&path).unwrap();
        let f = Fixture::new(&db);
        let eve = f.employee("Eve", "Durable", &[1]);
        users::update_user(f.ctx(), &f.admin, eve, &patch(&[(UserField::WorkPosition, "Keeper")])).unwrap();
        (f.account, eve)
    };
    let db = SqliteDb::open(&path).unwrap();
    let tx = db.read().unwrap();
    let u = tx.user(account, eve).unwrap().unwrap();
    assert_eq!(u.text(UserField::WorkPosition), "Keeper");
    assert_eq!(tx.user(account, UserId(1)).unwrap().unwrap().text(UserField::Name), "Ada");
}

#[test]
fn refuses_a_foreign_sqlite_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.db");
    let other = rusqlite::Connection::open(&path).unwrap();
    other.execute_batch("CREATE TABLE notes(body TEXT); INSERT INTO notes VALUES ('keep me');").unwrap();
    drop(other);
    let err = SqliteDb::open(&path).unwrap_err();
    assert!(matches!(&err, StoreError::Incompatible(m) if m.contains("not a Cardfile database")), "{err}");
    // Untouched: same content, still in its own journal mode, no WAL beside it.
    assert!(!dir.path().join("other.db-wal").exists());
    let other = rusqlite::Connection::open(&path).unwrap();
    let body: String = other.query_row("SELECT body FROM notes", [], |r| r.get(0)).unwrap();
    assert_eq!(body, "keep me");
    let mode: String = other.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "delete");
}

#[test]
fn refuses_a_file_that_is_not_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    std::fs::write(
        &path,
        "these are my notes, not a database, and they are long enough to have a header".repeat(20),
    )
    .unwrap();
    let before = std::fs::read(&path).unwrap();
    let err = SqliteDb::open(&path).unwrap_err();
    assert!(matches!(&err, StoreError::Incompatible(m) if m.contains("not an SQLite database")), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn refuses_a_file_from_a_newer_cardfile() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cardfile.db");
    drop(SqliteDb::open(&path).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(&format!("PRAGMA user_version = {}", SCHEMA_VERSION + 1)).unwrap();
    drop(conn);
    let err = SqliteDb::open(&path).unwrap_err();
    assert!(matches!(&err, StoreError::Incompatible(m) if m.contains("newer Cardfile")), "{err}");
}

#[test]
fn readers_keep_their_snapshot_while_a_writer_commits() {
    let dir = tempfile::tempdir().unwrap();
    let db = SqliteDb::open(dir.path().join("c.db")).unwrap();
    let f = Fixture::new(&db);
    let snapshot = db.read().unwrap();
    assert_eq!(snapshot.user(f.account, UserId(2)).unwrap(), None);
    // A writer on another thread is not blocked by the open reader.
    std::thread::scope(|s| {
        let account = f.account;
        let now = f.clock.now();
        let db = &db;
        s.spawn(move || {
            let mut tx = db.write().unwrap();
            tx.insert_user(&User::new(account, UserId(2), Role::Employee, now)).unwrap();
            tx.commit().unwrap();
        })
        .join()
        .unwrap();
    });
    assert_eq!(snapshot.user(f.account, UserId(2)).unwrap(), None);
    drop(snapshot);
    assert!(db.read().unwrap().user(f.account, UserId(2)).unwrap().is_some());
}

#[test]
fn read_connections_are_bounded_and_reused() {
    use store_sqlite::Options;
    let dir = tempfile::tempdir().unwrap();
    let options =
        Options { readers: 2, busy_timeout: std::time::Duration::from_millis(200), ..Options::default() };
    let db = SqliteDb::open_with(dir.path().join("c.db"), options).unwrap();
    let a = db.read().unwrap();
    let b = db.read().unwrap();
    // A third reader waits for one of the two, and gives up after the busy timeout.
    let err = db.read().err().unwrap();
    assert!(matches!(&err, StoreError::Overloaded(m) if m.contains("busy")), "{err}");
    drop((a, b));
    // A reader given back on another thread wakes one that waits.
    let held = db.read().unwrap();
    let (taken, go) = std::sync::mpsc::channel();
    std::thread::scope(|s| {
        s.spawn(|| {
            let other = db.read().unwrap();
            taken.send(()).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(50));
            drop(other);
        });
        go.recv().unwrap();
        assert!(db.read().is_ok(), "woken when the other thread gave its reader back");
    });
    drop(held);
}

/// Offset pages continue where the previous page ended (a per-connection cache), and a write by
/// this process or by another one in between is seen at once: every page always equals the
/// page a fresh connection computes.
#[test]
fn offset_pages_stay_exact_across_writes_from_any_process() {
    use profile_core::query::{PageRequest, UserFilter, UserQuery};
    use store_sqlite::Options;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.db");
    // One reader, so consecutive pages use the same connection and its cache.
    let db = SqliteDb::open_with(&path, Options { readers: 1, ..Options::default() }).unwrap();
    let f = Fixture::new(&db);
    let rows = (0..160)
        .map(|i| users::NewUser {
            role: Role::Employee,
            fields: patch(&[
                (UserField::Email, &format!("u{i}@example.com")),
                (UserField::UfDepartment, "1"),
            ]),
            workgroups: vec![],
        })
        .collect();
    users::create_users_bulk(f.ctx(), &f.admin, rows).unwrap();
    let page = |db: &SqliteDb, start: u64| {
        let q = UserQuery {
            filter: UserFilter::default(),
            sort: vec![],
            page: PageRequest { start, count_total: true },
            now: f.clock.now(),
        };
        let p = db.read().unwrap().query_users(f.account, &q, f.admin.audience(false)).unwrap();
        (p.items.iter().map(|u| u.id.0).collect::<Vec<_>>(), p.total)
    };
    let fresh = |start: u64| page(&SqliteDb::open(&path).unwrap(), start);
    for start in [0, 50, 100, 150] {
        assert_eq!(page(&db, start), fresh(start), "start {start}");
    }
    // A write through this database: the next pages see it.
    users::update_user(f.ctx(), &f.admin, UserId(60), &patch(&[(UserField::Active, "N")])).unwrap();
    f.employee("Late", "Comer", &[1]);
    for start in [0, 50, 100, 150] {
        assert_eq!(page(&db, start), fresh(start), "after a write here, start {start}");
    }
    // A write by another "process" (another database object on the same file).
    let other = SqliteDb::open(&path).unwrap();
    {
        let mut tx = other.write().unwrap();
        tx.insert_user(&User::new(f.account, UserId(900), Role::Employee, f.clock.now())).unwrap();
        tx.commit().unwrap();
    }
    let (ids, total) = page(&db, 150);
    assert_eq!((ids.clone(), total), fresh(150), "after another process wrote");
    assert!(ids.contains(&900), "{ids:?}");
}

/// A backup taken while another connection writes is a consistent, openable copy; an existing
/// target is refused.
#[test]
fn backup_is_a_consistent_copy() {
    let dir = tempfile::tempdir().unwrap();
    let db = SqliteDb::open(dir.path().join("c.db")).unwrap();
    let f = Fixture::new(&db);
    f.employee("Ann", "Lee", &[1]);
    let target = dir.path().join("backup.db");
    db.backup_to(&target).unwrap();
    f.employee("Bob", "Late", &[1]);
    assert!(db.backup_to(&target).is_err(), "never overwrites");
    let copy = SqliteDb::open(&target).unwrap();
    let tx = copy.read().unwrap();
    assert!(tx.user(f.account, UserId(2)).unwrap().is_some(), "Ann is in the backup");
    assert!(tx.user(f.account, UserId(3)).unwrap().is_none(), "Bob came after it");
}
