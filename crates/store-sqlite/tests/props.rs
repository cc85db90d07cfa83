//! SQLite against the reference semantics: random filters and sorts over a varied data set
//! return exactly what the in-memory reference returns, and never a row of another account.

use profile_core::access::Audience;
use profile_core::field::{FieldKind, UserField};
use profile_core::ids::UserId;
use profile_core::ports::Database;
use profile_core::query::{Condition, Op, PageRequest, SortKey, UserFilter, UserQuery};
use profile_core::testing::contract::{patch, Fixture};
use profile_core::testing::MemoryDb;
use profile_core::usecase::users;
use profile_core::Value;
use proptest::prelude::*;
use store_sqlite::SqliteDb;

const WORDS: [&str; 8] = ["", "Anna", "anna", "Berg", "Ölaf", "50%_off", "a_b", "zed"];
const FIELDS: [UserField; 9] = [
    UserField::Name,
    UserField::LastName,
    UserField::WorkPosition,
    UserField::PersonalCity,
    UserField::Id,
    UserField::PersonalBirthday,
    UserField::UfDepartment,
    UserField::Active,
    UserField::UserType,
];
const OPS: [Op; 12] = [
    Op::Eq,
    Op::Ne,
    Op::Gt,
    Op::Ge,
    Op::Lt,
    Op::Le,
    Op::Contains,
    Op::NotContains,
    Op::Like,
    Op::NotLike,
    Op::In,
    Op::NotIn,
];

/// The same 24 users in one account of each database, and a second account holding copies.
fn populate<'a>(db: &'a dyn Database, seed: &[u8]) -> (Fixture<'a>, Fixture<'a>) {
    let f = Fixture::new(db);
    let g = Fixture::with_slug(db, "globex");
    for fx in [&f, &g] {
        let d2 = fx.dept("Two", 1);
        for (i, s) in seed.iter().enumerate() {
            let w = |k: u8| WORDS[((s >> k) as usize) % WORDS.len()];
            let dep = if s % 3 == 0 { d2.0 } else { 1 };
            let id = fx.employee(&format!("P{i}"), "Seed", &[dep]);
            let birthday = format!("19{:02}-0{}-1{}", 50 + s % 40, 1 + s % 9, s % 10);
            let p = patch(&[
                (UserField::Name, w(0)),
                (UserField::LastName, w(1)),
                (UserField::WorkPosition, w(2)),
                (UserField::PersonalCity, w(3)),
                (UserField::PersonalBirthday, if s % 4 == 0 { "" } else { &birthday }),
                (UserField::Active, if s % 5 == 0 { "N" } else { "Y" }),
            ]);
            users::update_user(fx.ctx(), &fx.admin, id, &p).unwrap();
        }
    }
    (f, g)
}

fn value_for(field: UserField, op: Op, pick: usize) -> Value {
    let list = matches!(op, Op::In | Op::NotIn);
    match field.kind() {
        FieldKind::Id | FieldKind::Departments => {
            let n = (pick % 30) as i64;
            if list {
                Value::IntList(vec![n, n + 3])
            } else {
                Value::Int(n)
            }
        }
        FieldKind::Active => Value::text(if pick % 2 == 0 { "Y" } else { "N" }),
        FieldKind::UserType => Value::text(["employee", "extranet", "email"][pick % 3]),
        FieldKind::Date => {
            let d = format!("19{:02}-05-15", 50 + pick % 40);
            if list {
                Value::TextList(vec![d, "1970-01-10".into()])
            } else {
                Value::Text(d)
            }
        }
        _ => {
            let w = WORDS[pick % WORDS.len()].to_string();
            if list {
                Value::TextList(vec![w, WORDS[(pick + 3) % WORDS.len()].into()])
            } else {
                Value::Text(w)
            }
        }
    }
}

fn ids(db: &dyn Database, f: &Fixture<'_>, q: &UserQuery) -> (Vec<u32>, Option<u64>) {
    let page = db.read().unwrap().query_users(f.account, q, Audience::Everyone).unwrap();
    assert!(page.items.iter().all(|u| u.account == f.account), "a row of another account");
    (page.items.iter().map(|u| u.id.0).collect(), page.total)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn sqlite_matches_the_reference(
        seed in prop::collection::vec(any::<u8>(), 24),
        conds in prop::collection::vec((0usize..FIELDS.len(), 0usize..OPS.len(), 0usize..64), 0..3),
        sort in prop::option::of((0usize..4, any::<bool>())),
        start in 0u64..30,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let sqlite = SqliteDb::open(dir.path().join("p.db")).unwrap();
        let memory = MemoryDb::new();
        let (fs, _) = populate(&sqlite, &seed);
        let (fm, _) = populate(&memory, &seed);
        let mut filter = UserFilter::default();
        for (fi, oi, pick) in conds {
            let (field, op) = (FIELDS[fi], OPS[oi]);
            if let Ok(c) = Condition::parse(field, op, &value_for(field, op, pick)) {
                filter = filter.and(c);
            }
        }
        let sort = sort.map(|(i, desc)| vec![SortKey::new(FIELDS[i], desc).unwrap()]).unwrap_or_default();
        let q = UserQuery { filter, sort, page: PageRequest { start, count_total: true }, now: fs.clock_now() };
        prop_assert_eq!(ids(&sqlite, &fs, &q), ids(&memory, &fm, &q), "{:?}", q);
        prop_assert_eq!(fs.account, fm.account);
        let _ = UserId(0);
    }
}

trait Now {
    fn clock_now(&self) -> chrono::DateTime<chrono::Utc>;
}

impl Now for Fixture<'_> {
    fn clock_now(&self) -> chrono::DateTime<chrono::Utc> {
        profile_core::ports::Clock::now(&self.clock)
    }
}
