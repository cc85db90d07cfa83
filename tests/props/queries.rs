//! Every store against the reference semantics: random filters, quick searches, sorts, pages and
//! audiences over a varied data set return exactly what the in-memory reference returns. Both
//! databases hold a second account with the same users, so a row leaking across accounts would
//! show up as an extra row.

use chrono::Duration;
use profile_core::access::Audience;
use profile_core::field::{FieldKind, UserField};
use profile_core::ids::UserId;
use profile_core::model::user::Role;
use profile_core::ports::{Clock, Database};
use profile_core::query::{Condition, Op, PageRequest, SortKey, UserFilter, UserQuery};
use profile_core::testing::contract::{patch, Fixture};
use profile_core::testing::MemoryDb;
use profile_core::usecase::users::{self, NewUser};
use profile_core::usecase::workgroups;
use profile_core::Value;
use proptest::prelude::*;

use crate::stores::every_store;

const WORDS: [&str; 12] = [
    "",
    "Anna",
    "anna",
    "Berg",
    "Ölaf",
    "50%_off",
    "a_b",
    "zed",
    "Müller",
    "Фёдор Ørsted",
    "Łukasz",
    "王小明",
];
const FINDS: [&str; 24] = [
    "p1",
    "se",
    "an",
    "ber",
    "zed",
    "ola",
    "50",
    "x",
    "MÜLLER",
    "muller",
    "фед",
    "ФЁДОР",
    "orsted",
    "luk",
    "王",
    "p1.seed@",
    "P12.SEED@",
    "p2.seed@x",
    "5550123",
    "+1 (555) 012",
    "555 01",
    "0123",
    "1555012399",
    "seed anna",
];
const PHONES: [&str; 4] = ["+1 555-012-3456", "555.012.34", "(0)30 1234 5678", ""];
const FIELDS: [UserField; 12] = [
    UserField::Name,
    UserField::LastName,
    UserField::WorkPosition,
    UserField::PersonalCity,
    UserField::Id,
    UserField::PersonalBirthday,
    UserField::UfDepartment,
    UserField::Active,
    UserField::UserType,
    UserField::DateRegister,
    UserField::IsOnline,
    UserField::LastActivityDate,
];
const OPS: [Op; 12] = Op::ALL;

/// 24 employees with varied values, registered seconds apart, some recently active; two external
/// users who share a workgroup with user 2 and one who does not; an integrator. The same in a
/// second account.
fn populate<'a>(db: &'a dyn Database, seed: &[u8]) -> (Fixture<'a>, Fixture<'a>) {
    let f = Fixture::new(db);
    let g = Fixture::with_slug(db, "globex");
    for fx in [&f, &g] {
        let d2 = fx.dept("Two", 1);
        for (i, s) in seed.iter().enumerate() {
            fx.clock.advance(Duration::seconds(i64::from(*s % 7)));
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
                (UserField::WorkPhone, PHONES[(*s as usize) % PHONES.len()]),
                (UserField::PersonalMobile, if s % 5 == 1 { "+44 7700 900123" } else { "" }),
                (UserField::Active, if s % 5 == 0 { "N" } else { "Y" }),
            ]);
            users::update_user(fx.ctx(), &fx.admin, id, &p).unwrap();
            if s % 3 == 1 {
                let mut u = db.read().unwrap().user(fx.account, id).unwrap().unwrap();
                u.last_activity = Some(fx.clock.now() - Duration::seconds(i64::from(*s) * 7));
                let mut tx = db.write().unwrap();
                tx.update_user(&u).unwrap();
                tx.commit().unwrap();
            }
        }
        let shared = workgroups::create_workgroup(fx.ctx(), &fx.admin, "Shared").unwrap().id;
        let other = workgroups::create_workgroup(fx.ctx(), &fx.admin, "Other").unwrap().id;
        workgroups::add_workgroup_member(fx.ctx(), &fx.admin, shared, UserId(2)).unwrap();
        fx.extranet("Xena", &[shared]);
        fx.extranet("Xavi", &[shared]);
        fx.extranet("Xeno", &[other]);
        let integrator = NewUser {
            role: Role::Integrator,
            fields: patch(&[(UserField::Email, "int@partner.test"), (UserField::UfDepartment, "1")]),
            workgroups: vec![],
        };
        let integrator = users::create_user(fx.ctx(), &fx.admin, integrator).unwrap().id;
        // In the external users' group, where only the rule on integrators hides them.
        workgroups::add_workgroup_member(fx.ctx(), &fx.admin, shared, integrator).unwrap();
    }
    (f, g)
}

fn value_for(field: UserField, op: Op, pick: usize) -> Value {
    let list = matches!(op, Op::In | Op::NotIn);
    let one_or_two = |a: String, b: String| if list { Value::TextList(vec![a, b]) } else { Value::Text(a) };
    match field.kind() {
        FieldKind::Id | FieldKind::Departments => {
            let n = (pick % 30) as i64;
            if list {
                Value::IntList(vec![n, n + 3])
            } else {
                Value::Int(n)
            }
        }
        FieldKind::Active | FieldKind::Online => Value::text(if pick % 2 == 0 { "Y" } else { "N" }),
        FieldKind::UserType => Value::text(["employee", "extranet", "email"][pick % 3]),
        FieldKind::Date => one_or_two(format!("19{:02}-05-15", 50 + pick % 40), "1970-01-10".into()),
        // Around the fixture clock's start, 2026-01-02T03:04:05Z, a second at a time.
        FieldKind::DateTime => one_or_two(
            format!("2026-01-02T03:0{}:{:02}+00:00", 4 + pick % 3, pick % 60),
            "2026-01-02T03:04:05Z".into(),
        ),
        _ => one_or_two(WORDS[pick % WORDS.len()].into(), WORDS[(pick + 3) % WORDS.len()].into()),
    }
}

/// Everyone; an intranet viewer who shares a group with external users; one who does not; an
/// external viewer; the integrator.
fn audience(pick: usize) -> Audience {
    match pick % 5 {
        0 => Audience::Everyone,
        1 => Audience::Intranet { viewer: UserId(2) },
        2 => Audience::Intranet { viewer: UserId(3) },
        3 => Audience::Extranet { viewer: UserId(26) },
        _ => Audience::Intranet { viewer: UserId(29) },
    }
}

fn ids(db: &dyn Database, f: &Fixture<'_>, q: &UserQuery, audience: Audience) -> (Vec<u32>, Option<u64>) {
    let page = db.read().unwrap().query_users(f.account, q, audience).unwrap();
    (page.items.iter().map(|u| u.id.0).collect(), page.total)
}

type Answer = (Vec<u32>, Option<u64>);

/// Runs one query as `audience` on every store and on the reference, all populated from
/// `seed`; its `now` is the fixtures' clock plus `nanos`. Returns each store's answer by
/// name, the reference's and the query.
fn answers(
    seed: &[u8],
    filter: UserFilter,
    sort: Vec<SortKey>,
    page: PageRequest,
    nanos: u32,
    audience: Audience,
) -> (Vec<(&'static str, Answer)>, Answer, UserQuery) {
    let stores = every_store();
    let memory = MemoryDb::new();
    let (fm, _) = populate(&memory, seed);
    let now = fm.clock.now() + Duration::nanoseconds(i64::from(nanos));
    let q = UserQuery { filter, sort, page, now };
    let found = stores
        .all
        .iter()
        .map(|(name, db)| {
            let (f, _) = populate(&**db, seed);
            (*name, ids(&**db, &f, &q, audience))
        })
        .collect();
    (found, ids(&memory, &fm, &q, audience), q)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn every_store_matches_the_reference(
        seed in prop::collection::vec(any::<u8>(), 24),
        conds in prop::collection::vec((0usize..FIELDS.len(), 0usize..OPS.len(), 0usize..64), 0..3),
        sort in prop::option::of((0usize..FIELDS.len(), any::<bool>())),
        start in 0u64..30,
        find in prop::option::of((0usize..FINDS.len(), any::<bool>())),
        who in 0usize..5,
        now_nanos in 0u32..1_000_000_000,
    ) {
        let mut filter = UserFilter::default();
        for (fi, oi, pick) in conds {
            let (field, op) = (FIELDS[fi], OPS[oi]);
            if let Ok(c) = Condition::parse(field, op, &value_for(field, op, pick)) {
                filter = filter.and(c);
            }
        }
        if let Some((i, email)) = find {
            filter = filter.with_find(FINDS[i]).unwrap();
            filter.find_contacts = email;
        }
        let sort = sort.and_then(|(i, desc)| SortKey::new(FIELDS[i], desc).ok()).into_iter().collect();
        let a = audience(who);
        let page = PageRequest { start, count_total: true };
        // A "now" with sub-seconds: IS_ONLINE must agree to the second.
        let (found, reference, q) = answers(&seed, filter, sort, page, now_nanos, a);
        for (store, answer) in &found {
            prop_assert_eq!(answer, &reference, "{}: {:?} as {:?}", store, q, a);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// The department page (one department, by last name or ID) has a path of its own in both stores;
    /// it must agree with the reference like every other query.
    #[test]
    fn department_pages_match_the_reference(
        seed in prop::collection::vec(any::<u8>(), 24),
        department in 1i64..3,
        sort in prop::option::of(any::<bool>()),
        start in 0u64..24,
        who in 0usize..5,
        count_total in any::<bool>(),
        as_list in any::<bool>(),
    ) {
        let (op, value) = if as_list { (Op::In, Value::IntList(vec![department])) } else { (Op::Eq, Value::Int(department)) };
        let filter = UserFilter::default().and(Condition::parse(UserField::UfDepartment, op, &value).unwrap());
        let sort = sort.map(|desc| SortKey::new(UserField::LastName, desc).unwrap()).into_iter().collect();
        let a = audience(who);
        let (found, reference, q) = answers(&seed, filter, sort, PageRequest { start, count_total }, 0, a);
        for (store, answer) in &found {
            prop_assert_eq!(answer, &reference, "{}: {:?} as {:?}", store, q, a);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// A query for one ID (what `user.get` by ID sends) is one key lookup in both stores; it must
    /// agree with the reference for every audience, including users the viewer may not see,
    /// IDs nobody has, a second page and any sort.
    #[test]
    fn id_lookups_match_the_reference(
        seed in prop::collection::vec(any::<u8>(), 24),
        id in prop_oneof![0i64..34, Just(-1i64), Just(1i64 << 32), Just((1i64 << 32) + 1)],
        sort in prop::option::of((0usize..FIELDS.len(), any::<bool>())),
        start in 0u64..3,
        who in 0usize..5,
        count_total in any::<bool>(),
        as_list in any::<bool>(),
    ) {
        let (op, value) = if as_list { (Op::In, Value::IntList(vec![id])) } else { (Op::Eq, Value::Int(id)) };
        let filter = UserFilter::default().and(Condition::parse(UserField::Id, op, &value).unwrap());
        let sort = sort.and_then(|(i, desc)| SortKey::new(FIELDS[i], desc).ok()).into_iter().collect();
        let a = audience(who);
        let (found, reference, q) = answers(&seed, filter, sort, PageRequest { start, count_total }, 0, a);
        for (store, answer) in &found {
            prop_assert_eq!(answer, &reference, "{}: {:?} as {:?}", store, q, a);
        }
    }
}
