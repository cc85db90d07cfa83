//! Property tests of the domain invariants, on the in-memory reference store.

use std::collections::BTreeSet;

use profile_core::access::{project, Scope, Select, Tier};
use profile_core::field::UserField;
use profile_core::ids::{DepartmentId, UserId};
use profile_core::model::department::Tree;
use profile_core::model::user::{Role, User};
use profile_core::ports::Database;
use profile_core::query::{FilterKey, FilterTarget, Op};
use profile_core::testing::contract::{patch, sample_text, Fixture};
use profile_core::testing::MemoryDb;
use profile_core::usecase::departments::{self, DepartmentPatch};
use profile_core::usecase::users;
use proptest::prelude::*;

const OPS: [Op; 12] = Op::ALL;

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Whatever moves are asked for, every department still reaches the root without a cycle.
    #[test]
    fn department_tree_stays_acyclic(parents in prop::collection::vec(0usize..8, 1..8), moves in prop::collection::vec((0usize..9, 0usize..9), 0..20)) {
        let db = MemoryDb::new();
        let f = Fixture::new(&db);
        let mut ids = vec![DepartmentId(1)];
        for (i, p) in parents.iter().enumerate() {
            let parent = ids[p % ids.len()];
            ids.push(f.dept(&format!("D{i}"), parent.0));
        }
        for (a, b) in moves {
            let (id, parent) = (ids[a % ids.len()], ids[b % ids.len()]);
            let p = DepartmentPatch { parent: Some(parent), ..Default::default() };
            let _ = departments::update_department(f.ctx(), &f.admin, id, p);
            let tree = Tree::new(db.read().unwrap().departments(f.account).unwrap());
            for &d in &ids {
                let path: Vec<DepartmentId> = tree.path_to_root(d).map(|x| x.id).collect();
                let unique: BTreeSet<_> = path.iter().collect();
                prop_assert_eq!(unique.len(), path.len(), "cycle through {:?}", d);
                prop_assert_eq!(path.last().copied(), Some(DepartmentId(1)));
            }
        }
    }

    /// Direct subordinates of H are exactly the users whose supervisors (by the definition)
    /// include H.
    #[test]
    fn subordinates_match_supervisor_definition(
        parents in prop::collection::vec(0usize..6, 1..7),
        heads in prop::collection::vec(prop::option::of(0usize..10), 7),
        members in prop::collection::vec(prop::collection::btree_set(0usize..7, 1..3), 10),
    ) {
        let db = MemoryDb::new();
        let f = Fixture::new(&db);
        let mut deps = vec![DepartmentId(1)];
        for (i, p) in parents.iter().enumerate() {
            let parent = deps[p % deps.len()];
            deps.push(f.dept(&format!("D{i}"), parent.0));
        }
        let users: Vec<UserId> = members
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let ds: Vec<u32> = m.iter().map(|d| deps[d % deps.len()].0).collect();
                f.employee(&format!("U{i}"), "Tester", &ds)
            })
            .collect();
        for (d, h) in deps.iter().zip(&heads) {
            f.set_head(*d, h.map(|h| users[h % users.len()]));
        }
        let tx = db.read().unwrap();
        let tree = Tree::new(tx.departments(f.account).unwrap());
        let all: Vec<User> = users.iter().chain([UserId(1)].iter()).map(|u| tx.user(f.account, *u).unwrap().unwrap()).collect();
        drop(tx);
        for h in all.iter().map(|u| u.id) {
            let expected: Vec<UserId> = all
                .iter()
                .filter(|u| tree.supervisors(u.id, &u.departments).contains(&h))
                .map(|u| u.id)
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            let got = users::subordinates_of(f.ctx(), &f.admin, h, false).unwrap();
            prop_assert_eq!(got, expected, "subordinates of {:?}", h);
        }
    }

    /// A projection never shows a field above the reader's tier, whatever is selected.
    #[test]
    fn projection_never_exceeds_tier(tier in prop::sample::select(vec![Tier::Brief, Tier::Basic, Tier::Full]), picks in prop::collection::vec(0usize..UserField::ALL.len(), 0..12), star in any::<bool>()) {
        let db = MemoryDb::new();
        let f = Fixture::new(&db);
        let mut u = User::new(f.account, UserId(9), Role::Employee, chrono::DateTime::from_timestamp(0, 0).unwrap());
        for field in UserField::text_fields() {
            u.text.insert(field, sample_text(field, 1));
        }
        let mut names: Vec<&str> = picks.iter().map(|&i| UserField::ALL[i].code()).collect();
        if star {
            names.push("*");
        }
        let links = profile_core::access::PhotoLinks::new("https://c.example", profile_core::model::image::ImageSize::Large);
        let view = project(u.clone(), tier, &Select::parse(names.iter().copied()), f.clock_now(), &links);
        for (field, value) in &view.fields {
            prop_assert!(field.tier() <= tier, "{:?} leaked to {:?}", field, tier);
            prop_assert_eq!(value, &u.value(*field, f.clock_now()), "{:?} moved into the view as it reads", field);
        }
        prop_assert!(view.get(UserField::Id).is_some());
    }

    /// Every filter key prints to a form that parses back to itself.
    #[test]
    fn filter_keys_round_trip(op in prop::sample::select(OPS.to_vec()), i in 0usize..UserField::ALL.len()) {
        let field = UserField::ALL[i];
        prop_assume!(field.is_filterable());
        let key = FilterKey { op, target: FilterTarget::Field(field) };
        prop_assert_eq!(FilterKey::parse(&key.to_string()), Some(key));
        prop_assert_eq!(FilterKey::parse(&key.to_string().to_lowercase()), Some(key));
    }
}

trait ClockNow {
    fn clock_now(&self) -> chrono::DateTime<chrono::Utc>;
}

impl ClockNow for Fixture<'_> {
    fn clock_now(&self) -> chrono::DateTime<chrono::Utc> {
        profile_core::ports::Clock::now(&self.clock)
    }
}

#[test]
fn self_service_cannot_touch_departments() {
    let db = MemoryDb::new();
    let f = Fixture::new(&db);
    let eve = f.employee("Eve", "Emp", &[1]);
    let as_eve = f.actor(eve, &[Scope::User]);
    assert!(users::update_user(f.ctx(), &as_eve, eve, &patch(&[(UserField::UfDepartment, "1")])).is_err());
}
