//! Custom fields on every store against the reference: random typed values on two fields,
//! random conditions and sorts on them through `find_users` (which resolves them), the same
//! answer everywhere; `FIND` words that prefix the searchable string field's values or the
//! users' names. A second account defines the same fields with other values, so a value
//! crossing accounts would show up.

use profile_core::access::Select;
use profile_core::ids::UserId;
use profile_core::model::custom::CustomKind;
use profile_core::ports::{Clock, Database};
use profile_core::query::{CustomCondition, Op, PageRequest, UserFilter, UserQuery};
use profile_core::testing::contract::Fixture;
use profile_core::testing::MemoryDb;
use profile_core::usecase::custom::{self, FieldSpec};
use profile_core::usecase::users::{self, UserUpdate};
use profile_core::Value;
use proptest::prelude::*;

use crate::stores::every_store;

const TAGS: [&str; 5] = ["alpha", "Beta", "beta", "gamma", "al"];
const FINDS: [&str; 6] = ["al", "bet", "gamma", "p1", "seed be", "alphas"];
const OPS: [Op; 7] = [Op::Eq, Op::Ne, Op::Gt, Op::Le, Op::Contains, Op::NotContains, Op::In];

fn populate<'a>(db: &'a dyn Database, seed: &[u8]) -> Vec<Fixture<'a>> {
    let fixtures = vec![Fixture::new(db), Fixture::with_slug(db, "globex")];
    for (n, fx) in fixtures.iter().enumerate() {
        let spec = |name: &str, kind, multiple| FieldSpec {
            field_name: Some(name.into()),
            kind: Some(kind),
            multiple: Some(multiple),
            ..FieldSpec::default()
        };
        custom::add_field(fx.ctx(), &fx.admin, spec("codes", CustomKind::Integer, true)).unwrap();
        let tag = FieldSpec { searchable: Some(true), ..spec("tag", CustomKind::String, false) };
        custom::add_field(fx.ctx(), &fx.admin, tag).unwrap();
        for (i, s) in seed.iter().enumerate() {
            let id = fx.employee(&format!("P{i}"), "Seed", &[1]);
            let s = s.wrapping_add(n as u8 * 77);
            let mut values = Vec::new();
            if s % 4 != 0 {
                let codes: Vec<i64> = (0..(s % 3)).map(|k| i64::from((s >> k) % 6)).collect();
                values.push(("UF_USR_CODES".to_string(), Value::IntList(codes)));
            }
            if s % 5 != 0 {
                values.push(("UF_USR_TAG".to_string(), Value::text(TAGS[(s as usize) % TAGS.len()])));
            }
            users::update_user_with(
                fx.ctx(),
                &fx.admin,
                id,
                UserUpdate { custom: values, ..UserUpdate::default() },
            )
            .unwrap();
        }
    }
    fixtures
}

type Answer = Result<(Vec<UserId>, Option<u64>), String>;

fn answer(f: &Fixture<'_>, filter: &UserFilter, sort: Option<(&str, bool)>, start: u64) -> Answer {
    let sort = match sort {
        Some((name, desc)) => {
            vec![custom::sort_key(f.ctx(), &f.admin, name, desc).map_err(|e| e.to_string())?]
        }
        None => Vec::new(),
    };
    let q = UserQuery {
        filter: filter.clone(),
        sort,
        page: PageRequest { start, count_total: true },
        now: f.clock.now(),
    };
    let page =
        users::find_users(f.ctx(), &f.admin, &q, &Select::parse(["ID"]), false).map_err(|e| e.to_string())?;
    Ok((page.items.iter().map(|u| u.id).collect(), page.total))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn custom_filters_and_sorts_match_the_reference(
        seed in prop::collection::vec(any::<u8>(), 20),
        conds in prop::collection::vec((any::<bool>(), 0usize..OPS.len(), 0usize..8), 0..3),
        sort in prop::option::of((any::<bool>(), any::<bool>())),
        start in 0u64..12,
        find in prop::option::of(0usize..FINDS.len()),
    ) {
        let mut filter = UserFilter::default();
        if let Some(i) = find {
            filter = filter.with_find(FINDS[i]).unwrap();
        }
        for (on_codes, oi, pick) in conds {
            let (name, value) = if on_codes {
                let v = if OPS[oi] == Op::In { Value::IntList(vec![pick as i64 % 6, 2]) } else { Value::Int(pick as i64 % 6) };
                ("UF_USR_CODES", v)
            } else {
                ("UF_USR_TAG", Value::text(TAGS.get(pick).copied().unwrap_or("")))
            };
            filter.custom.push(CustomCondition { name: name.into(), op: OPS[oi], value });
        }
        let sort = sort.map(|(codes, desc)| (if codes { "UF_USR_CODES" } else { "UF_USR_TAG" }, desc));
        let memory = MemoryDb::new();
        let reference = answer(&populate(&memory, &seed)[0], &filter, sort, start);
        let stores = every_store();
        for (store, db) in &stores.all {
            let got = answer(&populate(&**db, &seed)[0], &filter, sort, start);
            prop_assert_eq!(&got, &reference, "{}: {:?} sorted {:?} from {}", store, filter, sort, start);
        }
    }
}
