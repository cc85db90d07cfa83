//! Bounded work: a filter over its budget is refused before any store sees it, and a read that
//! runs past the store's time budget is stopped and reported as overload, on both stores, while
//! the same store without a budget answers it.

use std::time::Duration;

use chrono::{DateTime, Utc};
use profile_core::access::{Actor, ScopeSet, Select};
use profile_core::field::UserField;
use profile_core::model::user::{Role, UserPatch};
use profile_core::ports::{Clock, Database, IdGen, RandomIds};
use profile_core::query::{Condition, Op, PageRequest, UserFilter, UserQuery, FILTER_CONDITIONS_MAX};
use profile_core::secret::Argon2id;
use profile_core::usecase::accounts::{self, CreateAccountRequest};
use profile_core::usecase::users::{self, NewUser};
use profile_core::usecase::Ctx;
use profile_core::{CoreError, StoreError, Value};

struct At(DateTime<Utc>);

impl Clock for At {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

const NOW: i64 = 1_780_000_000;

fn ctx<'a>(db: &'a dyn Database, clock: &'a At) -> Ctx<'a> {
    Ctx {
        db,
        clock,
        ids: &RandomIds as &dyn IdGen,
        passwords: &Argon2id::FAST_INSECURE,
        images: &profile_core::ports::NoImages,
        base_url: "http://127.0.0.1:8080",
        invitations_per_hour: 0,
        client: None,
    }
}

fn fields(pairs: &[(UserField, String)]) -> UserPatch {
    UserPatch::parse(pairs.iter().map(|(f, v)| (*f, Value::text(v.as_str())))).unwrap()
}

/// An account of `n` users, and its administrator.
fn company(db: &dyn Database, n: usize) -> Actor {
    let clock = At(DateTime::from_timestamp(NOW, 0).unwrap());
    let c = ctx(db, &clock);
    let created = accounts::create_account(
        c,
        CreateAccountRequest {
            slug: "acme".into(),
            name: "Acme".into(),
            admin: fields(&[(UserField::Email, "root@acme.test".into()), (UserField::Name, "Root".into())]),
        },
    )
    .unwrap();
    let admin = users::actor_for(c, created.account.id, created.admin.id, ScopeSet::all()).unwrap();
    let rows = (0..n)
        .map(|i| NewUser {
            role: Role::Employee,
            fields: fields(&[
                (UserField::Email, format!("person{i}@acme.test")),
                (UserField::Name, format!("Name{i}")),
                (UserField::LastName, format!("Family{}", i % 97)),
                (UserField::WorkPosition, format!("Engineer grade {}", i % 13)),
                (UserField::UfDepartment, "1".into()),
            ]),
            workgroups: Vec::new(),
        })
        .collect();
    users::create_users_bulk(c, &admin, rows).unwrap();
    admin
}

/// A filter that makes the store look at every user many times: `conditions` "contains"
/// conditions, each true of every user.
fn costly(conditions: usize) -> UserQuery {
    let mut filter = UserFilter::default();
    for i in 0..conditions {
        let field = [UserField::Name, UserField::LastName, UserField::WorkPosition, UserField::Email][i % 4];
        let text = ["a", "m", "e", "@"][i % 4];
        filter = filter.and(Condition::parse(field, Op::Contains, &Value::text(text)).unwrap());
    }
    UserQuery {
        filter,
        sort: Vec::new(),
        page: PageRequest::from_start(0).unwrap(),
        now: DateTime::from_timestamp(NOW, 0).unwrap(),
    }
}

fn find(db: &dyn Database, admin: &Actor, query: &UserQuery) -> Result<Option<u64>, CoreError> {
    let clock = At(DateTime::from_timestamp(NOW, 0).unwrap());
    users::find_users(ctx(db, &clock), admin, query, &Select::All, false).map(|p| p.total)
}

/// Against `timed` (a store with a read budget the costly read takes several times over) and
/// `untimed` (the same data, no budget).
fn a_long_read_is_stopped(timed: &dyn Database, untimed: &dyn Database, admin: &Actor, users: u64) {
    let one = UserQuery {
        filter: UserFilter::default().and(Condition::parse(UserField::Id, Op::Eq, &Value::Int(1)).unwrap()),
        ..costly(0)
    };
    // A new connection's first statement plans and loads the catalogue (on PostgreSQL, tens of
    // milliseconds on a busy machine): warmed, whatever it answers.
    let _ = find(timed, admin, &one);
    let query = costly(FILTER_CONDITIONS_MAX);
    assert_eq!(find(untimed, admin, &query).unwrap(), Some(users), "without a budget the read answers");
    match find(timed, admin, &query) {
        Err(CoreError::Storage(StoreError::Overloaded(why))) => assert!(why.contains("time budget"), "{why}"),
        other => panic!("expected an overload, got {other:?}"),
    }
    // A short read on the same store (and connection) still answers: the budget is per unit of
    // work.
    assert_eq!(find(timed, admin, &one).unwrap(), Some(1));
}

#[test]
fn a_filter_over_its_budget_is_refused_naming_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let db = store_sqlite::SqliteDb::open(dir.path().join("b.db")).unwrap();
    let admin = company(&db, 10);
    match find(&db, &admin, &costly(FILTER_CONDITIONS_MAX + 1)) {
        Err(CoreError::Validation { field, reason }) => {
            assert_eq!(field, "FILTER");
            assert!(reason.contains(&format!("at most {FILTER_CONDITIONS_MAX} conditions")), "{reason}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    let ids: Vec<i64> = (1..=1000).collect();
    let mut filter = UserFilter::default();
    for field in
        [UserField::Id, UserField::UfDepartment, UserField::Id, UserField::UfDepartment, UserField::Id]
    {
        filter = filter.and(Condition::parse(field, Op::In, &Value::IntList(ids.clone())).unwrap());
    }
    let ok = UserQuery { filter: filter.clone(), ..costly(0) };
    assert_eq!(find(&db, &admin, &ok).unwrap(), Some(11), "5,000 values together are within the budget");
    let over = UserQuery {
        filter: filter.and(Condition::parse(UserField::Id, Op::Ne, &Value::Int(0)).unwrap()),
        ..costly(0)
    };
    match find(&db, &admin, &over) {
        Err(CoreError::Validation { field, reason }) => {
            assert_eq!(field, "FILTER");
            assert!(reason.contains("at most 5000 values"), "{reason}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn a_read_past_its_time_budget_is_stopped_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let untimed = store_sqlite::SqliteDb::open(&path).unwrap();
    let admin = company(&untimed, 5000);
    // A short read never reaches the progress handler (10,000 steps), so 1 ms stops only the
    // costly one (~40 ms optimised, ~400 ms in a debug build).
    let options = store_sqlite::Options { read_budget: Some(Duration::from_millis(1)), ..Default::default() };
    let timed = store_sqlite::SqliteDb::open_with(&path, options).unwrap();
    a_long_read_is_stopped(&timed, &untimed, &admin, 5000);
}

#[test]
fn a_read_past_its_time_budget_is_stopped_on_postgres() {
    let url = store_postgres::testing::fresh_database();
    let untimed = store_postgres::PgDb::open(&url).unwrap();
    let admin = company(&untimed, 10_000);
    let options =
        store_postgres::Options { read_budget: Some(Duration::from_millis(1)), ..Default::default() };
    let timed = store_postgres::PgDb::open_with(&url, None, options).unwrap();
    a_long_read_is_stopped(&timed, &untimed, &admin, 10_000);
}
