//! The card's visibility rules on every store, against an oracle written from the rules
//! themselves: random colleagues under random heads, random absences and appreciations; for
//! every reader, an absence's kind and note are shown exactly to the person, their
//! supervisors, administrators and HR, and an appreciation's message exactly to its recipient
//! and its giver. A second account holds the same shape of data and never shows through.

use std::collections::BTreeSet;

use chrono::{Duration, NaiveDate};
use profile_core::access::{Actor, Scope};
use profile_core::ids::{DepartmentId, UserId};
use profile_core::model::absence::AbsenceKind;
use profile_core::ports::{Clock, Database};
use profile_core::query::PageRequest;
use profile_core::testing::contract::Fixture;
use profile_core::usecase::absences::{self, AbsenceFilter, AbsenceSpec};
use profile_core::usecase::departments::{self, DepartmentPatch};
use profile_core::usecase::{appreciations, hr};
use proptest::prelude::*;

use crate::stores::one_store;

/// What one world holds, as the oracle sees it.
struct World {
    people: Vec<UserId>,
    heads: BTreeSet<UserId>,
    hr: Option<UserId>,
    /// (absence ID, who is away)
    absences: Vec<(u32, UserId)>,
    /// (message, recipient, giver)
    given: Vec<(String, UserId, UserId)>,
}

/// People in two teams under Sales (1 > Sales > Team A, Team B); `seed` picks who heads what,
/// who holds HR, the absences and the appreciations.
fn build(f: &Fixture<'_>, seed: &[u8]) -> World {
    let sales = f.dept("Sales", 1);
    let teams: Vec<DepartmentId> = ["Team A", "Team B"]
        .iter()
        .map(|n| {
            departments::add_department(
                f.ctx(),
                &f.admin,
                departments::NewDepartment { name: (*n).into(), parent: Some(sales), sort: None, head: None },
            )
            .unwrap()
            .id
        })
        .collect();
    let people: Vec<UserId> =
        (0..6).map(|i| f.employee(&format!("P{i}"), "Seed", &[teams[i % 2].0])).collect();
    let mut heads = BTreeSet::new();
    for (n, dept) in [sales, teams[0], teams[1]].into_iter().enumerate() {
        let pick = seed.get(n).copied().unwrap_or(0);
        if pick % 3 != 0 {
            let head = people[usize::from(pick) % people.len()];
            let p = DepartmentPatch { head: Some(Some(head)), ..Default::default() };
            departments::update_department(f.ctx(), &f.admin, dept, p).unwrap();
            heads.insert(head);
        }
    }
    let hr = seed.get(3).filter(|b| *b % 2 == 0).map(|b| people[usize::from(*b) % people.len()]);
    if let Some(h) = hr {
        hr::grant_hr_permission(f.ctx(), &f.admin, h).unwrap();
    }
    let start = f.clock.now().date_naive();
    let mut absences_made = Vec::new();
    let mut given = Vec::new();
    for (i, b) in seed.iter().enumerate().skip(4) {
        let who = people[usize::from(*b) % people.len()];
        let from = start + Duration::days(i64::from(*b % 20));
        let spec = AbsenceSpec {
            kind: Some(AbsenceKind::ALL[usize::from(*b) % AbsenceKind::ALL.len()]),
            from: Some(from),
            to: Some(from + Duration::days(i64::from(*b % 4))),
            note: Some(format!("note {i}")),
        };
        let a = absences::add_absence(f.ctx(), &f.admin, who, spec).unwrap();
        absences_made.push((a.id, who));
        let giver = people[(usize::from(*b) / 7) % people.len()];
        if giver != who {
            let message = format!("thanks {i}");
            let actor = f.actor(giver, &[Scope::User]);
            appreciations::give(f.ctx(), &actor, who, "star", &message).unwrap();
            given.push((message, who, giver));
        }
    }
    World { people, heads, hr, absences: absences_made, given }
}

/// Whether `reader` supervises `person`, by the rule: the nearest head on the way up from
/// the person's team who is not the person.
fn supervises(f: &Fixture<'_>, reader: UserId, person: UserId) -> bool {
    let tx = f.db.read().unwrap();
    let user = tx.user(f.account, person).unwrap().unwrap();
    let tree = profile_core::model::department::Tree::new(tx.departments(f.account).unwrap());
    let dept = user.departments[0];
    let nearest = tree.path_to_root(dept).find_map(|d| d.head.filter(|&h| h != person));
    nearest == Some(reader)
}

fn check(db: &dyn Database, seed: &[u8]) -> Result<(), TestCaseError> {
    let f = Fixture::new(db);
    let other = Fixture::with_slug(db, "globex");
    let w = build(&f, seed);
    build(&other, seed);
    let from: NaiveDate = f.clock.now().date_naive();
    let filter = AbsenceFilter { user: None, department: None, from, to: from + Duration::days(40) };
    for &reader in &w.people {
        let actor: Actor = f.actor(reader, &[Scope::User]);
        let page = absences::list_absences(f.ctx(), &actor, &filter, PageRequest::default()).unwrap();
        prop_assert_eq!(page.items.len(), w.absences.len(), "every absence is listed, once, in its account");
        for a in &page.items {
            let person = w.absences.iter().find(|(id, _)| *id == a.id).map(|(_, p)| *p).unwrap();
            let privileged = reader == person
                || w.hr == Some(reader)
                || (w.heads.contains(&reader) && supervises(&f, reader, person));
            prop_assert_eq!(a.kind.is_some(), privileged, "reader {} absence {} of {}", reader, a.id, person);
            prop_assert_eq!(a.note.is_some(), privileged);
        }
        for &recipient in &w.people {
            let read = appreciations::list(f.ctx(), &actor, recipient, PageRequest::default()).unwrap();
            let mut got: Vec<String> = read.items.iter().map(|a| a.message.clone()).collect();
            got.sort();
            let mut expected: Vec<String> = w
                .given
                .iter()
                .filter(|(_, r, g)| *r == recipient && (reader == recipient || *g == reader))
                .map(|(m, _, _)| m.clone())
                .collect();
            expected.sort();
            prop_assert_eq!(got, expected, "reader {} recipient {}", reader, recipient);
            let counted: u64 =
                appreciations::counts(f.ctx(), &actor, recipient).unwrap().iter().map(|(_, n)| n).sum();
            prop_assert_eq!(counted, w.given.iter().filter(|(_, r, _)| *r == recipient).count() as u64);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn absence_details_and_appreciation_messages_reach_exactly_whom_the_rules_say(
        seed in prop::collection::vec(any::<u8>(), 4..16),
    ) {
        let stores = one_store();
        check(stores.db(), &seed)?;
    }
}
