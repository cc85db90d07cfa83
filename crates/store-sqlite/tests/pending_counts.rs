//! `FIND` totals come from per-prefix counts whose changes are written at commit (for a batch,
//! once at the batch's commit). Meanwhile a unit of work must see its own changes and those of
//! the batch's committed units, never those of a unit that rolled back, and nothing that was
//! not committed may reach the file.

use profile_core::access::Audience;
use profile_core::field::UserField;
use profile_core::ids::{AccountId, DepartmentId, UserId};
use profile_core::model::user::{Role, User};
use profile_core::ports::{Clock, Database, Tx};
use profile_core::query::{PageRequest, UserFilter, UserQuery};
use profile_core::testing::contract::Fixture;
use store_sqlite::SqliteDb;

fn zed(account: AccountId, id: u32, now: chrono::DateTime<chrono::Utc>) -> User {
    let mut u = User::new(account, UserId(id), Role::Employee, now);
    u.text.insert(UserField::Name, format!("Zed{id}"));
    u.text.insert(UserField::Email, format!("u{id}@example.com"));
    u.departments = vec![DepartmentId(1)];
    u
}

/// The total of `FIND=zed` as `tx` sees it (a full first page, so the total is counted).
fn total(tx: &dyn Tx, account: AccountId, now: chrono::DateTime<chrono::Utc>) -> Option<u64> {
    let q = UserQuery {
        filter: UserFilter::default().with_find("zed").unwrap(),
        sort: vec![],
        page: PageRequest { start: 0, count_total: true },
        now,
    };
    let page = tx.query_users(account, &q, Audience::Everyone).unwrap();
    assert_eq!(page.items.len(), 50, "a full page: the total comes from the counts");
    page.total
}

#[test]
fn uncommitted_counts_are_seen_by_their_unit_and_never_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.db");
    let db = SqliteDb::open(&path).unwrap();
    let f = Fixture::new(&db);
    let (a, now) = (f.account, f.clock.now());

    // A batch: 55 users over 55 units, one more in a unit that rolls back.
    let batch = db.batch().unwrap();
    for id in 2..57 {
        let mut unit = batch.write().unwrap();
        unit.insert_user(&zed(a, id, now)).unwrap();
        if id == 56 {
            assert_eq!(total(&*unit, a, now), Some(55), "a unit sees its own insert");
            drop(unit); // rolled back
        } else {
            unit.commit().unwrap();
        }
    }
    assert_eq!(total(&*batch.read().unwrap(), a, now), Some(54), "committed units only");
    Box::new(batch).commit().unwrap();
    assert_eq!(total(&*db.read().unwrap(), a, now), Some(54));

    // A batch dropped without commit, and a plain write dropped without commit: no trace.
    let batch = db.batch().unwrap();
    let mut unit = batch.write().unwrap();
    unit.insert_user(&zed(a, 60, now)).unwrap();
    unit.commit().unwrap();
    drop(batch);
    let mut tx = db.write().unwrap();
    tx.insert_user(&zed(a, 61, now)).unwrap();
    assert_eq!(total(&*tx, a, now), Some(55), "a transaction sees its own insert");
    drop(tx);
    assert_eq!(total(&*db.read().unwrap(), a, now), Some(54));

    // A committed plain write, then the file reopened: the counts were written.
    let mut tx = db.write().unwrap();
    tx.insert_user(&zed(a, 62, now)).unwrap();
    tx.commit().unwrap();
    drop(db);
    let db = SqliteDb::open(&path).unwrap();
    assert_eq!(total(&*db.read().unwrap(), a, now), Some(55));
}

/// The IDs `FIND=word` matches as `tx` sees them.
fn found(tx: &dyn Tx, account: AccountId, word: &str, now: chrono::DateTime<chrono::Utc>) -> Vec<u32> {
    let q = UserQuery {
        filter: UserFilter::default().with_find(word).unwrap(),
        sort: vec![],
        page: PageRequest { start: 0, count_total: false },
        now,
    };
    tx.query_users(account, &q, Audience::Everyone).unwrap().items.iter().map(|u| u.id.0).collect()
}

/// Inside a batch, search documents reach the index lazily (FTS5 would otherwise write a segment
/// per unit): every read and every re-index must still see exactly the committed units' users.
#[test]
fn a_batch_searches_what_its_units_committed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.db");
    let db = SqliteDb::open(&path).unwrap();
    let f = Fixture::new(&db);
    let (a, now) = (f.account, f.clock.now());
    let batch = db.batch().unwrap();
    for id in [2, 3] {
        let mut unit = batch.write().unwrap();
        unit.insert_user(&zed(a, id, now)).unwrap();
        unit.commit().unwrap();
    }
    // A unit finds its own insert and the earlier units'; then it rolls back.
    let mut unit = batch.write().unwrap();
    unit.insert_user(&zed(a, 4, now)).unwrap();
    assert_eq!(found(&*unit, a, "zed", now), vec![2, 3, 4]);
    drop(unit);
    assert_eq!(
        found(&*batch.read().unwrap(), a, "zed", now),
        vec![2, 3],
        "the rolled-back unit's user is gone"
    );
    // A rename in a later unit re-indexes a user that is only queued so far.
    let mut unit = batch.write().unwrap();
    unit.insert_user(&zed(a, 5, now)).unwrap();
    unit.commit().unwrap();
    let mut unit = batch.write().unwrap();
    let mut five = unit.user(a, UserId(5)).unwrap().unwrap();
    five.text.insert(UserField::Name, "Quill".into());
    unit.update_user(&five).unwrap();
    unit.commit().unwrap();
    // A unit that wrote the queue (to search) and rolled back leaves it queued, not lost.
    let mut unit = batch.write().unwrap();
    unit.insert_user(&zed(a, 6, now)).unwrap();
    unit.commit().unwrap();
    let unit = batch.write().unwrap();
    assert_eq!(found(&*unit, a, "zed", now), vec![2, 3, 6]);
    drop(unit);
    let reader = batch.read().unwrap();
    assert_eq!(found(&*reader, a, "zed", now), vec![2, 3, 6]);
    assert_eq!(found(&*reader, a, "quill", now), vec![5]);
    drop(reader);
    let mut unit = batch.write().unwrap();
    unit.insert_user(&zed(a, 7, now)).unwrap();
    unit.commit().unwrap();
    Box::new(batch).commit().unwrap();
    // After the commit, and in the file after reopening.
    drop(db);
    let db = SqliteDb::open(&path).unwrap();
    let tx = db.read().unwrap();
    assert_eq!(found(&*tx, a, "zed", now), vec![2, 3, 6, 7]);
    assert_eq!(found(&*tx, a, "quill", now), vec![5]);
}
