//! Offset paging to the end, with writes between pages, against the reference: every page of
//! every query (any filter, sort, search and audience) is exactly what the in-memory reference
//! answers for the same state, on every store. The
//! stores cache what queries found between pages (`query_cache`); a write between two pages
//! must never leave a page stale, duplicated or short.

use chrono::Duration;
use profile_core::access::Audience;
use profile_core::field::UserField;
use profile_core::ids::UserId;
use profile_core::model::user::{Role, UserPatch};
use profile_core::ports::{Clock, Database};
use profile_core::query::{Condition, Op, PageRequest, SortKey, UserFilter, UserQuery};
use profile_core::testing::contract::{patch, Fixture};
use profile_core::testing::MemoryDb;
use profile_core::usecase::users::{self, NewUser};
use profile_core::usecase::workgroups;
use profile_core::Value;
use proptest::prelude::*;

use crate::stores::every_store;

const LAST: [&str; 9] = ["", "Berg", "berg", "Öström", "Abel", "Zimmer", "Lind", "O'Neil", "Moreau"];
const POSITION: [&str; 5] = ["", "Engineer", "engineering lead", "Sales", "Design engineer"];
const USERS: usize = 140;

/// `USERS` employees in two departments with varied names and positions, two external users
/// who share a workgroup with user 2, and one who does not.
fn populate<'a>(db: &'a dyn Database, seed: &[u8]) -> Fixture<'a> {
    let f = Fixture::new(db);
    let d2 = f.dept("Two", 1);
    let rows: Vec<NewUser> = (0..USERS)
        .map(|i| {
            let s = seed[i % seed.len()].wrapping_add(i as u8);
            let dep = if s % 3 == 0 { d2.0 } else { 1 };
            NewUser {
                role: Role::Employee,
                fields: UserPatch::parse([
                    (UserField::Name, Value::text(format!("N{}", s % 11))),
                    (UserField::LastName, Value::text(LAST[(s as usize / 3) % LAST.len()])),
                    (UserField::WorkPosition, Value::text(POSITION[(s as usize / 5) % POSITION.len()])),
                    (UserField::Email, Value::text(format!("u{i}@paging.test"))),
                    (UserField::Active, Value::text(if s % 7 == 0 { "N" } else { "Y" })),
                    (UserField::UfDepartment, Value::IntList(vec![i64::from(dep)])),
                ])
                .unwrap(),
                workgroups: vec![],
            }
        })
        .collect();
    users::create_users_bulk(f.ctx(), &f.admin, rows).unwrap();
    let shared = workgroups::create_workgroup(f.ctx(), &f.admin, "Shared").unwrap().id;
    let other = workgroups::create_workgroup(f.ctx(), &f.admin, "Other").unwrap().id;
    workgroups::add_workgroup_member(f.ctx(), &f.admin, shared, UserId(2)).unwrap();
    f.extranet("Xena", &[shared]);
    f.extranet("Xavi", &[shared]);
    f.extranet("Xeno", &[other]);
    f
}

/// A write between two pages, the same on every store.
#[derive(Debug, Clone)]
enum Write {
    Rename(u32, usize),
    Dismiss(u32),
    Invite(u32),
    JoinGroup(u32),
}

fn apply(f: &Fixture<'_>, w: &Write) {
    let id = |n: u32| UserId(2 + n % USERS as u32);
    match w {
        Write::Rename(n, k) => {
            users::update_user(
                f.ctx(),
                &f.admin,
                id(*n),
                &patch(&[(UserField::LastName, LAST[k % LAST.len()])]),
            )
            .unwrap();
        }
        Write::Dismiss(n) => {
            users::update_user(f.ctx(), &f.admin, id(*n), &patch(&[(UserField::Active, "N")])).unwrap();
        }
        Write::Invite(n) => {
            let fields = patch(&[
                (UserField::Email, &format!("new{n}@paging.test")),
                (UserField::LastName, LAST[*n as usize % LAST.len()]),
                (UserField::UfDepartment, "1"),
            ]);
            // The same address twice is taken up again: fine on every store alike.
            let _ = users::create_user(
                f.ctx(),
                &f.admin,
                NewUser { role: Role::Employee, fields, workgroups: vec![] },
            );
        }
        Write::JoinGroup(n) => {
            let groups = workgroups::list_workgroups(f.ctx(), &f.admin).unwrap();
            let _ = workgroups::add_workgroup_member(f.ctx(), &f.admin, groups[0].id, id(*n));
        }
    }
}

fn write() -> impl Strategy<Value = Write> {
    prop_oneof![
        (any::<u32>(), 0usize..9).prop_map(|(n, k)| Write::Rename(n, k)),
        any::<u32>().prop_map(Write::Dismiss),
        any::<u32>().prop_map(Write::Invite),
        any::<u32>().prop_map(Write::JoinGroup),
    ]
}

fn audience(pick: usize) -> Audience {
    match pick % 4 {
        0 => Audience::Everyone,
        1 => Audience::Intranet { viewer: UserId(2) },
        2 => Audience::Intranet { viewer: UserId(3) },
        _ => Audience::Extranet { viewer: UserId(USERS as u32 + 2) },
    }
}

fn filter(pick: usize) -> UserFilter {
    let c = |field, op, v: Value| Condition::parse(field, op, &v).unwrap();
    match pick % 8 {
        0 => UserFilter::default(),
        1 => UserFilter::default().and(c(UserField::UfDepartment, Op::Eq, Value::Int(1))),
        2 => UserFilter::default().and(c(UserField::UfDepartment, Op::Eq, Value::Int(2))),
        3 => UserFilter::default().and(c(UserField::WorkPosition, Op::Contains, Value::text("eng"))),
        4 => UserFilter::default().and(c(UserField::Active, Op::Eq, Value::text("Y"))),
        5 => UserFilter::default().with_find("n1").unwrap(),
        6 => UserFilter::default()
            .and(c(UserField::UfDepartment, Op::Eq, Value::IntList(vec![1, 2])))
            .and(c(UserField::LastName, Op::Ne, Value::text("Berg"))),
        _ => UserFilter::default().and(c(UserField::IsOnline, Op::Eq, Value::text("N"))),
    }
}

fn sort(pick: usize) -> Vec<SortKey> {
    let k = |f, d| vec![SortKey::new(f, d).unwrap()];
    match pick % 6 {
        0 => vec![],
        1 => k(UserField::LastName, false),
        2 => k(UserField::LastName, true),
        3 => k(UserField::WorkPosition, true),
        4 => k(UserField::Id, true),
        _ => k(UserField::Name, false),
    }
}

type Answer = (Vec<u32>, Option<u64>);

fn page(db: &dyn Database, f: &Fixture<'_>, q: &UserQuery, audience: Audience) -> Answer {
    let page = db.read().unwrap().query_users(f.account, q, audience).unwrap();
    (page.items.iter().map(|u| u.id.0).collect(), page.total)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn paging_to_the_end_matches_the_reference(
        seed in prop::collection::vec(any::<u8>(), 16),
        pick_filter in 0usize..8,
        pick_sort in 0usize..6,
        who in 0usize..4,
        writes in prop::collection::vec(prop::option::weighted(0.4, write()), 8),
    ) {
        let under_test = every_store();
        let memory = MemoryDb::new();
        let reference = (&memory as &dyn Database, populate(&memory, &seed));
        let stores: Vec<(&str, &dyn Database, Fixture<'_>)> =
            under_test.all.iter().map(|(name, db)| (*name, &**db, populate(&**db, &seed))).collect();
        let a = audience(who);
        let mut start = 0u64;
        // At most eight pages (USERS and the few added are under 200 users); each page may be
        // preceded by a write.
        for w in &writes {
            let q = UserQuery {
                filter: filter(pick_filter),
                sort: sort(pick_sort),
                page: PageRequest { start, count_total: true },
                now: reference.1.clock.now() + Duration::milliseconds(500),
            };
            let expected = page(reference.0, &reference.1, &q, a);
            for (name, db, f) in &stores {
                prop_assert_eq!(&page(*db, f, &q, a), &expected, "{}, page at {}: {:?} as {:?}", name, start, q, a);
            }
            let total = expected.1.unwrap_or(0);
            start += 50;
            if start >= total {
                break;
            }
            if let Some(w) = w {
                apply(&reference.1, w);
                for (_, _, f) in &stores {
                    apply(f, w);
                }
            }
        }
    }
}
