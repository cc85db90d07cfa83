//! The store contract suite: every port method and every use case, run against a backend.
//! A backend's test file calls [`store_contract_tests!`](crate::store_contract_tests) with an
//! expression that makes a fresh, empty database; each case then becomes its own `#[test]`.
//!
//! The cases panic on failure (they are tests); they use only the public API.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use chrono::{Duration, NaiveDate};

use crate::access::{Actor, Audience, Scope, ScopeSet, Select};
use crate::error::{CoreError, StoreError};
use crate::field::{FieldKind, UserField};
use crate::ids::{AccountId, DepartmentId, Sequence, UserId, WorkgroupId};
use crate::model::account::{Account, AccountSettings, InvitePolicy};
use crate::model::department::Department;
use crate::model::user::{Role, User, UserPatch};
use crate::model::workgroup::Workgroup;
use crate::ports::{Clock, Database};
use crate::query::{Condition, Op, PageRequest, SortKey, UserFilter, UserQuery};
use crate::secret::Argon2id;
use crate::testing::{CountingIds, FixedClock};
use crate::usecase::accounts::{self, CreateAccountRequest};
use crate::usecase::departments::{self, DepartmentPatch, DepartmentQuery, NewDepartment};
use crate::usecase::users::{self, NewUser, RoleChange};
use crate::usecase::{workgroups, Ctx};
use crate::Value;

mod joining;
pub use joining::*;

/// Generates one `#[test]` per contract case; `$make` builds a fresh empty database.
#[macro_export]
macro_rules! store_contract_tests {
    ($make:expr) => {
        $crate::store_contract_tests!(@cases $make;
            accounts_round_trip, sequences_per_account, transactions_commit_or_nothing,
            user_round_trip_every_field, user_email_unique, bulk_insert, bulk_insert_keeps_each_rows_fields,
            departments_round_trip,
            workgroup_membership, filters_every_operator, sort_and_offset_paging, cursor_paging,
            quick_search, visibility, accounts_are_isolated, uc_bootstrap_account,
            uc_account_rename_and_settings, uc_create_user_rules, uc_update_user_rules,
            uc_department_rules, uc_supervisors_and_subordinates, uc_projection_by_scope,
            uc_change_role, uc_workgroups, uc_query_scope_rules, search_totals,
            identities_round_trip, invitations_round_trip, credentials_and_outbox_round_trip,
            uc_invite_accept_log_in, uc_sms_invite, uc_invitation_revoke_and_expire,
            uc_direct_registration, uc_quick_registration, uc_login_change_and_contacts,
            uc_passwords_and_reset, uc_lockout, uc_two_step_and_app_passwords,
            uc_socials_and_profile_push, uc_identity_deletion, uc_credentials, uc_outbox_access,
            uc_invite_rules, batch_units, optimistic_batch_units, uc_set_up_login, uc_export_scan, uc_hr_details,
            uc_purge_stale_records, quick_search_contacts_and_scripts, uc_department_names_and_subdepartments,
            department_listing_pages);
        $crate::store_contract_tests!(@shared $make; concurrent_writers);
    };
    (@shared $make:expr; $($case:ident),*) => {
        $(
            #[test]
            fn $case() {
                let db = $make;
                $crate::testing::contract::$case(&db);
            }
        )*
    };
    (@cases $make:expr; $($case:ident),*) => {
        $(
            #[test]
            fn $case() {
                let db = $make;
                $crate::testing::contract::$case(&db);
            }
        )*
    };
}

/// Threads writing at once (which a store may group into one commit): for each of several
/// emails all of them try to invite someone with it, and exactly one is kept while the others
/// are refused as taken; each also sets a shared user's position and then sends the same value
/// again (nothing to change). Every answer holds afterwards.
pub fn concurrent_writers(db: &(dyn Database + Sync)) {
    const THREADS: u64 = 6;
    const ROUNDS: usize = 12;
    let f = Fixture::new(db);
    let dept = f.dept("Team", 1);
    let target = f.employee("Tara", "Target", &[dept.0]);
    let kept: Vec<Vec<(usize, UserId)>> = std::thread::scope(|s| {
        let threads: Vec<_> = (0..THREADS)
            .map(|t| {
                let admin = f.admin.clone();
                s.spawn(move || {
                    let clock = FixedClock::new();
                    let ids = CountingIds::starting_at(1_000_000 * (t + 1));
                    let ctx =
                        Ctx { db, clock: &clock, ids: &ids, passwords: &TEST_HASHER, base_url: BASE_URL };
                    let mut kept = Vec::new();
                    for round in 0..ROUNDS {
                        let fields = patch(&[
                            (UserField::Email, &format!("shared{round}@concurrent.test")),
                            (UserField::UfDepartment, &dept.0.to_string()),
                        ]);
                        match users::create_user(
                            ctx,
                            &admin,
                            NewUser { role: Role::Employee, fields, workgroups: vec![] },
                        ) {
                            Ok(user) => kept.push((round, user.id)),
                            Err(CoreError::Conflict { field, .. }) => assert_eq!(field, "EMAIL"),
                            Err(e) => panic!("round {round}: {e:?}"),
                        }
                        let position = patch(&[(UserField::WorkPosition, &format!("p{t}.{round}"))]);
                        users::update_user(ctx, &admin, target, &position).unwrap();
                        users::update_user(ctx, &admin, target, &position).unwrap();
                    }
                    kept
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let tx = db.read().unwrap();
    for round in 0..ROUNDS {
        let winners: Vec<UserId> =
            kept.iter().flatten().filter(|(r, _)| *r == round).map(|(_, id)| *id).collect();
        assert_eq!(winners.len(), 1, "round {round}: one invitation kept, the others refused");
        let email = format!("shared{round}@concurrent.test");
        assert_eq!(tx.user_by_email(f.account, &email).unwrap(), Some(winners[0]));
    }
    let position = tx.user(f.account, target).unwrap().unwrap().text(UserField::WorkPosition).to_string();
    assert!(position.starts_with('p'), "{position}");
}

/// A database with one account created through the use cases.
pub struct Fixture<'a> {
    pub db: &'a dyn Database,
    pub clock: FixedClock,
    pub ids: CountingIds,
    pub account: AccountId,
    pub admin: Actor,
}

/// The password hasher of the suite: argon2id at the cheapest cost.
pub const TEST_HASHER: Argon2id = Argon2id::FAST_INSECURE;
/// The base URL of links in the suite's messages.
pub const BASE_URL: &str = "https://cardfile.test";

impl<'a> Fixture<'a> {
    pub fn new(db: &'a dyn Database) -> Fixture<'a> {
        Fixture::with_slug(db, "acme")
    }

    pub fn with_slug(db: &'a dyn Database, slug: &str) -> Fixture<'a> {
        let clock = FixedClock::new();
        // Distinct UUID ranges and random bytes per account, so two fixtures on one database
        // never collide.
        let ids = CountingIds::starting_at(slug.len() as u64 * 1000);
        let ctx = Ctx { db, clock: &clock, ids: &ids, passwords: &TEST_HASHER, base_url: BASE_URL };
        let created = accounts::create_account(
            ctx,
            CreateAccountRequest {
                slug: slug.into(),
                name: format!("{slug} Inc"),
                admin: patch(&[
                    (UserField::Email, &format!("admin@{slug}.test")),
                    (UserField::Name, "Ada"),
                    (UserField::LastName, "Admin"),
                ]),
            },
        )
        .unwrap();
        let admin = users::actor_for(ctx, created.account.id, created.admin.id, ScopeSet::all()).unwrap();
        Fixture { db, account: created.account.id, admin, clock, ids }
    }

    pub fn ctx(&self) -> Ctx<'_> {
        Ctx { db: self.db, clock: &self.clock, ids: &self.ids, passwords: &TEST_HASHER, base_url: BASE_URL }
    }

    pub fn actor(&self, user: UserId, scopes: &[Scope]) -> Actor {
        users::actor_for(self.ctx(), self.account, user, scopes.iter().copied().collect()).unwrap()
    }

    pub fn dept(&self, name: &str, parent: u32) -> DepartmentId {
        departments::add_department(
            self.ctx(),
            &self.admin,
            NewDepartment { name: name.into(), parent: Some(DepartmentId(parent)), sort: None, head: None },
        )
        .unwrap()
        .id
    }

    pub fn employee(&self, name: &str, last: &str, deps: &[u32]) -> UserId {
        let email =
            format!("{}.{}@{}.test", name.to_lowercase(), last.to_lowercase(), self.account.0.as_u128());
        let mut raw = vec![
            (UserField::Name, Value::text(name)),
            (UserField::LastName, Value::text(last)),
            (UserField::Email, Value::text(email)),
        ];
        raw.push((UserField::UfDepartment, Value::IntList(deps.iter().map(|&d| i64::from(d)).collect())));
        let new =
            NewUser { role: Role::Employee, fields: UserPatch::parse(raw).unwrap(), workgroups: vec![] };
        users::create_user(self.ctx(), &self.admin, new).unwrap().id
    }

    pub fn extranet(&self, name: &str, groups: &[WorkgroupId]) -> UserId {
        let new = NewUser {
            role: Role::Extranet,
            fields: patch(&[
                (UserField::Name, name),
                (UserField::Email, &format!("{}@partner.test", name.to_lowercase())),
            ]),
            workgroups: groups.to_vec(),
        };
        users::create_user(self.ctx(), &self.admin, new).unwrap().id
    }

    pub fn set_head(&self, dept: DepartmentId, head: Option<UserId>) {
        let p = DepartmentPatch { head: Some(head), ..Default::default() };
        departments::update_department(self.ctx(), &self.admin, dept, p).unwrap();
    }

    pub fn query(&self, filter: UserFilter) -> UserQuery {
        UserQuery { filter, sort: vec![], page: PageRequest::default(), now: self.clock.now() }
    }

    pub fn ids_of(&self, audience: Audience, q: &UserQuery) -> Vec<u32> {
        let tx = self.db.read().unwrap();
        tx.query_users(self.account, q, audience).unwrap().items.iter().map(|u| u.id.0).collect()
    }
}

pub fn patch(pairs: &[(UserField, &str)]) -> UserPatch {
    UserPatch::parse(pairs.iter().map(|(f, v)| (*f, Value::text(*v)))).unwrap()
}

fn cond(field: UserField, op: Op, v: Value) -> Condition {
    Condition::parse(field, op, &v).unwrap()
}

fn only(c: Condition) -> UserFilter {
    UserFilter::default().and(c)
}

// ---------------------------------------------------------------- ports

pub fn accounts_round_trip(db: &dyn Database) {
    let clock = FixedClock::new();
    let a = Account {
        id: AccountId(uuid::Uuid::from_u128(7)),
        slug: "north".into(),
        name: "North".into(),
        renamed: false,
        settings: AccountSettings {
            invite_policy: InvitePolicy::Everyone,
            registration: crate::model::account::RegistrationType::Public,
            whitelisted_domains: vec!["north.test".into(), "n.test".into()],
            greeting: "Welcome!\nBe kind.".into(),
        },
        created_at: clock.now(),
    };
    let mut tx = db.write().unwrap();
    tx.insert_account(&a).unwrap();
    let mut dup = a.clone();
    dup.id = AccountId(uuid::Uuid::from_u128(8));
    assert_eq!(tx.insert_account(&dup), Err(StoreError::UniqueViolation { what: "slug".into() }));
    tx.commit().unwrap();
    let tx = db.read().unwrap();
    assert_eq!(tx.account(a.id).unwrap(), Some(a.clone()));
    assert_eq!(tx.account_by_slug("north").unwrap(), Some(a.clone()));
    assert_eq!(tx.account_by_slug("south").unwrap(), None);
    assert_eq!(tx.accounts().unwrap(), vec![a.clone()]);
    drop(tx);
    let mut b = a.clone();
    b.name = "North AG".into();
    b.renamed = true;
    b.settings = AccountSettings::default();
    let mut tx = db.write().unwrap();
    tx.update_account(&b).unwrap();
    tx.commit().unwrap();
    assert_eq!(db.read().unwrap().account(a.id).unwrap(), Some(b));
}

pub fn sequences_per_account(db: &dyn Database) {
    let f = Fixture::new(db);
    let g = Fixture::with_slug(db, "globex");
    let mut tx = db.write().unwrap();
    // The fixtures used user 1 and department 1 of each account.
    assert_eq!(tx.next_id(f.account, Sequence::User).unwrap(), 2);
    assert_eq!(tx.next_id(f.account, Sequence::User).unwrap(), 3);
    assert_eq!(tx.next_id(f.account, Sequence::Department).unwrap(), 2);
    assert_eq!(tx.next_id(f.account, Sequence::Workgroup).unwrap(), 1);
    assert_eq!(tx.next_id(g.account, Sequence::User).unwrap(), 2);
    tx.commit().unwrap();
    // A deleted department's ID is never handed out again.
    let d = f.dept("Temp", 1);
    departments::delete_department(f.ctx(), &f.admin, d).unwrap();
    assert_eq!(f.dept("Next", 1).0, d.0 + 1);
}

pub fn transactions_commit_or_nothing(db: &dyn Database) {
    let f = Fixture::new(db);
    let mut u = db.read().unwrap().user(f.account, UserId(1)).unwrap().unwrap();
    u.text.insert(UserField::WorkPosition, "Chief".into());
    {
        let mut tx = db.write().unwrap();
        tx.update_user(&u).unwrap();
        assert_eq!(tx.user(f.account, UserId(1)).unwrap().unwrap().text(UserField::WorkPosition), "Chief");
        // dropped without commit
    }
    assert_eq!(
        db.read().unwrap().user(f.account, UserId(1)).unwrap().unwrap().text(UserField::WorkPosition),
        ""
    );
    let mut ro = db.read().unwrap();
    assert_eq!(ro.update_user(&u), Err(StoreError::ReadOnly));
    drop(ro);
    // A read snapshot does not see a commit made after it began.
    let snapshot = db.read().unwrap();
    assert!(snapshot.user(f.account, UserId(1)).unwrap().is_some());
    let mut tx = db.write().unwrap();
    tx.update_user(&u).unwrap();
    tx.commit().unwrap();
    assert_eq!(snapshot.user(f.account, UserId(1)).unwrap().unwrap().text(UserField::WorkPosition), "");
    drop(snapshot);
    assert_eq!(
        db.read().unwrap().user(f.account, UserId(1)).unwrap().unwrap().text(UserField::WorkPosition),
        "Chief"
    );
}

/// A valid, distinct value for every writable text field.
pub fn sample_text(field: UserField, n: u32) -> String {
    match field.kind() {
        FieldKind::Email => format!("person{n}@example.com"),
        FieldKind::Phone => format!("+1 555 010 {n:04}"),
        FieldKind::Extension => format!("{}", 100 + n),
        FieldKind::Gender => "F".into(),
        FieldKind::TimeZone => "Europe/Berlin".into(),
        FieldKind::File => format!("https://files.example.com/{n}.png"),
        _ => {
            let s = format!("{} {n} äß", field.code().to_lowercase());
            s.chars().take(field.max_len()).collect()
        }
    }
}

pub fn user_round_trip_every_field(db: &dyn Database) {
    let f = Fixture::new(db);
    let d2 = f.dept("Two", 1);
    let mut u = User::new(f.account, UserId(0), Role::Employee, f.clock.now());
    for field in UserField::text_fields() {
        u.text.insert(field, sample_text(field, 7));
    }
    u.departments = vec![DepartmentId(1), d2];
    u.birthday = NaiveDate::from_ymd_opt(1988, 2, 29);
    u.employment_date = NaiveDate::from_ymd_opt(2020, 1, 15);
    u.last_login = Some(f.clock.now() - Duration::days(2));
    u.last_activity = Some(f.clock.now() - Duration::minutes(3));
    u.updated_at = f.clock.now() + Duration::seconds(5);
    u.active = false;
    let mut tx = db.write().unwrap();
    u.id = UserId(tx.next_id(f.account, Sequence::User).unwrap());
    tx.insert_user(&u).unwrap();
    tx.commit().unwrap();
    let tx = db.read().unwrap();
    assert_eq!(tx.user(f.account, u.id).unwrap(), Some(u.clone()));
    assert_eq!(tx.user(f.account, UserId(999)).unwrap(), None);
    assert_eq!(tx.user_by_email(f.account, "person7@example.com").unwrap(), Some(u.id));
    assert_eq!(tx.user_by_email(f.account, "nobody@example.com").unwrap(), None);
    assert_eq!(tx.department_members(f.account, d2).unwrap(), vec![u.id]);
    assert_eq!(tx.department_members(f.account, DepartmentId(1)).unwrap(), vec![UserId(1), u.id]);
    assert_eq!(tx.count_active_admins(f.account).unwrap(), 1);
    drop(tx);
    // Clearing fields and moving departments round-trips too.
    let mut v = u.clone();
    v.text.clear();
    v.text.insert(UserField::Name, "Only".into());
    v.departments = vec![d2];
    v.birthday = None;
    v.active = true;
    let mut tx = db.write().unwrap();
    tx.update_user(&v).unwrap();
    tx.commit().unwrap();
    let tx = db.read().unwrap();
    assert_eq!(tx.user(f.account, u.id).unwrap(), Some(v));
    assert_eq!(tx.department_members(f.account, DepartmentId(1)).unwrap(), vec![UserId(1)]);
    assert_eq!(tx.user_by_email(f.account, "person7@example.com").unwrap(), None);
}

pub fn user_email_unique(db: &dyn Database) {
    let f = Fixture::new(db);
    let a = f.employee("Ann", "Lee", &[1]);
    let tx = db.read().unwrap();
    let mut dup = tx.user(f.account, a).unwrap().unwrap();
    drop(tx);
    dup.id = UserId(50);
    let mut tx = db.write().unwrap();
    assert_eq!(tx.insert_user(&dup), Err(StoreError::UniqueViolation { what: "EMAIL".into() }));
    let mut admin = tx.user(f.account, UserId(1)).unwrap().unwrap();
    admin.text.insert(UserField::Email, dup.text(UserField::Email).to_string());
    assert_eq!(tx.update_user(&admin), Err(StoreError::UniqueViolation { what: "EMAIL".into() }));
    // The same email in another account is fine.
    drop(tx);
    let g = Fixture::with_slug(db, "globex");
    let mut other = dup.clone();
    other.account = g.account;
    other.departments = vec![DepartmentId(1)];
    let mut tx = db.write().unwrap();
    tx.insert_user(&other).unwrap();
    tx.commit().unwrap();
}

pub fn bulk_insert(db: &dyn Database) {
    let f = Fixture::new(db);
    let d = f.dept("Sales", 1);
    let rows: Vec<NewUser> = (0..120)
        .map(|i| NewUser {
            role: Role::Employee,
            fields: UserPatch::parse([
                (UserField::Name, Value::text(format!("Bulk{i}"))),
                (UserField::LastName, Value::text("Loader")),
                (UserField::Email, Value::text(format!("bulk{i}@acme.test"))),
                (UserField::WorkPosition, Value::text("Clerk")),
                (UserField::UfDepartment, Value::IntList(vec![i64::from(d.0)])),
            ])
            .unwrap(),
            workgroups: vec![],
        })
        .collect();
    let ids = users::create_users_bulk(f.ctx(), &f.admin, rows.clone()).unwrap();
    assert_eq!(ids.len(), 120);
    assert_eq!(ids[0], UserId(2));
    assert_eq!(db.read().unwrap().department_members(f.account, d).unwrap().len(), 120);
    let u = db.read().unwrap().user(f.account, ids[5]).unwrap().unwrap();
    assert_eq!(u.text(UserField::Name), "Bulk5");
    // Bulk-loaded users are searchable like any other.
    let q = f.query(UserFilter::default().with_find("bulk57").unwrap());
    assert_eq!(f.ids_of(Audience::Everyone, &q), vec![ids[57].0]);
    let q = f.query(UserFilter::default().with_find("bulk5").unwrap());
    assert_eq!(f.ids_of(Audience::Everyone, &q).len(), 11, "bulk5 and bulk50..59");
    // A bad row anywhere writes nothing.
    let mut bad = rows[..3].to_vec();
    bad[2].fields = patch(&[
        (UserField::Name, "X"),
        (UserField::Email, "bulk0@acme.test"),
        (UserField::UfDepartment, "1"),
    ]);
    let err = users::create_users_bulk(f.ctx(), &f.admin, bad).unwrap_err();
    assert!(matches!(err.row(), (Some(2), CoreError::Conflict { field, .. }) if field == "EMAIL"), "{err:?}");
    assert_eq!(db.read().unwrap().department_members(f.account, d).unwrap().len(), 120);
    // An email another user already has is named by its row too.
    let mut taken = rows[..2].to_vec();
    taken[0].fields = patch(&[(UserField::Email, "fresh@acme.test"), (UserField::UfDepartment, "1")]);
    let err = users::create_users_bulk(f.ctx(), &f.admin, taken).unwrap_err();
    assert!(matches!(err.row(), (Some(1), CoreError::Conflict { field, .. }) if field == "EMAIL"), "{err:?}");
}

/// Rows of one load that fill different fields each get exactly theirs: none is lost, none is
/// taken from a neighbour, whether a store binds every field or only those some row fills.
pub fn bulk_insert_keeps_each_rows_fields(db: &dyn Database) {
    let f = Fixture::new(db);
    let extras =
        [UserField::PersonalCity, UserField::WorkCompany, UserField::SecondName, UserField::WorkPhone];
    let value = |field: UserField, i: usize| match field {
        UserField::WorkPhone => format!("+1 555 {i:04}"),
        _ => format!("{}{i}", field.code().to_lowercase()),
    };
    // Row i fills one of the extras; row 33 alone fills UF_SKILLS; 70 rows make statements of
    // many rows and a remainder in a store that groups them.
    let filled = |i: usize| {
        let mut set = vec![extras[i % extras.len()]];
        if i == 33 {
            set.push(UserField::UfSkills);
        }
        set
    };
    let rows: Vec<NewUser> = (0..70)
        .map(|i| {
            let mut pairs = vec![
                (UserField::Name, Value::text(format!("Each{i}"))),
                (UserField::Email, Value::text(format!("each{i}@acme.test"))),
                (UserField::UfDepartment, Value::IntList(vec![1])),
            ];
            pairs.extend(filled(i).into_iter().map(|x| (x, Value::text(value(x, i)))));
            NewUser { role: Role::Employee, fields: UserPatch::parse(pairs).unwrap(), workgroups: vec![] }
        })
        .collect();
    let ids = users::create_users_bulk(f.ctx(), &f.admin, rows).unwrap();
    let tx = db.read().unwrap();
    for (i, id) in ids.iter().enumerate() {
        let u = tx.user(f.account, *id).unwrap().unwrap();
        assert_eq!(u.text(UserField::Name), format!("Each{i}"));
        assert_eq!(u.text(UserField::Email), format!("each{i}@acme.test"));
        for x in extras.iter().chain([&UserField::UfSkills]) {
            let want = if filled(i).contains(x) { value(*x, i) } else { String::new() };
            assert_eq!(u.text(*x), want, "row {i}, {}", x.code());
        }
        assert_eq!(u.departments, vec![DepartmentId(1)]);
    }
}

pub fn departments_round_trip(db: &dyn Database) {
    let f = Fixture::new(db);
    let tx = db.read().unwrap();
    let root = tx.department(f.account, DepartmentId(1)).unwrap().unwrap();
    assert_eq!((root.parent, root.name.as_str()), (None, "acme Inc"));
    drop(tx);
    let d = Department {
        account: f.account,
        id: DepartmentId(9),
        name: "Nine".into(),
        sort: -3,
        parent: Some(root.id),
        head: Some(UserId(1)),
    };
    let mut tx = db.write().unwrap();
    tx.insert_department(&d).unwrap();
    tx.commit().unwrap();
    assert_eq!(db.read().unwrap().department(f.account, d.id).unwrap(), Some(d.clone()));
    let tx = db.read().unwrap();
    assert_eq!(tx.child_departments(f.account, root.id).unwrap(), vec![d.clone()]);
    assert_eq!(tx.child_departments(f.account, d.id).unwrap(), vec![]);
    assert_eq!(tx.departments_headed_by(f.account, UserId(1)).unwrap(), vec![d.clone()]);
    assert_eq!(tx.departments_headed_by(f.account, UserId(2)).unwrap(), vec![]);
    drop(tx);
    let mut e = d.clone();
    e.head = None;
    e.name = "Neun".into();
    let mut tx = db.write().unwrap();
    tx.update_department(&e).unwrap();
    tx.commit().unwrap();
    assert_eq!(db.read().unwrap().departments(f.account).unwrap(), vec![root.clone(), e]);
    let mut tx = db.write().unwrap();
    tx.delete_department(f.account, d.id).unwrap();
    tx.commit().unwrap();
    assert_eq!(db.read().unwrap().departments(f.account).unwrap(), vec![root]);
}

pub fn workgroup_membership(db: &dyn Database) {
    let f = Fixture::new(db);
    let a = f.employee("Ann", "Lee", &[1]);
    let b = f.employee("Bob", "Ray", &[1]);
    let c = f.employee("Cid", "Moe", &[1]);
    let g = Workgroup {
        account: f.account,
        id: WorkgroupId(4),
        name: "Guild".into(),
        external: false,
        created_at: f.clock.now(),
    };
    let mut tx = db.write().unwrap();
    tx.insert_workgroup(&g).unwrap();
    tx.add_workgroup_member(f.account, g.id, a).unwrap();
    tx.add_workgroup_member(f.account, g.id, b).unwrap();
    tx.add_workgroup_member(f.account, g.id, b).unwrap();
    tx.commit().unwrap();
    let tx = db.read().unwrap();
    assert_eq!(tx.workgroup(f.account, g.id).unwrap(), Some(g.clone()));
    assert_eq!(tx.workgroups(f.account).unwrap(), vec![g.clone()]);
    assert_eq!(tx.workgroup_members(f.account, g.id).unwrap(), vec![a, b]);
    assert_eq!(tx.user_workgroups(f.account, a).unwrap(), vec![g.id]);
    assert!(tx.share_workgroup(f.account, a, b).unwrap());
    assert!(!tx.share_workgroup(f.account, a, c).unwrap());
    drop(tx);
    let mut h = g.clone();
    h.external = true;
    h.name = "Guild 2".into();
    let mut tx = db.write().unwrap();
    tx.update_workgroup(&h).unwrap();
    tx.remove_workgroup_member(f.account, g.id, a).unwrap();
    tx.remove_workgroup_member(f.account, g.id, c).unwrap();
    tx.commit().unwrap();
    let tx = db.read().unwrap();
    assert_eq!(tx.workgroup(f.account, g.id).unwrap(), Some(h));
    assert_eq!(tx.workgroup_members(f.account, g.id).unwrap(), vec![b]);
    assert!(!tx.share_workgroup(f.account, a, b).unwrap());
}

// ---------------------------------------------------------------- queries

/// Three users with known values, for the filter cases.
fn filter_fixture(db: &dyn Database) -> (Fixture<'_>, [u32; 3], DepartmentId) {
    let f = Fixture::new(db);
    let d = f.dept("Labs", 1);
    let a = f.employee("Anna", "Berg", &[1]).0;
    let b = f.employee("Boris", "Adams", &[d.0]).0;
    let c = f.employee("Carl", "Cole", &[1, d.0]).0;
    let set = |id: u32, p: UserPatch| {
        users::update_user(f.ctx(), &f.admin, UserId(id), &p).unwrap();
    };
    set(
        a,
        patch(&[
            (UserField::PersonalBirthday, "1990-01-01"),
            (UserField::WorkPosition, "Sales Manager"),
            (UserField::PersonalCity, "Berlin"),
        ]),
    );
    set(b, patch(&[(UserField::PersonalBirthday, "1985-06-30"), (UserField::WorkPosition, "Engineer")]));
    set(
        c,
        patch(&[
            (UserField::Active, "N"),
            (UserField::WorkPosition, "sales assistant"),
            (UserField::PersonalCity, "Bonn"),
        ]),
    );
    (f, [a, b, c], d)
}

pub fn filters_every_operator(db: &dyn Database) {
    let (f, [a, b, c], d) = filter_fixture(db);
    let all = |c: Condition| f.ids_of(Audience::Everyone, &f.query(only(c)));
    let t = Value::text;
    use UserField as F;
    assert_eq!(all(cond(F::LastName, Op::Eq, t("Berg"))), vec![a]);
    assert_eq!(all(cond(F::LastName, Op::Ne, t("Berg"))), vec![1, b, c]);
    assert_eq!(all(cond(F::LastName, Op::Gt, t("Berg"))), vec![c]);
    assert_eq!(all(cond(F::LastName, Op::Ge, t("Berg"))), vec![a, c]);
    assert_eq!(all(cond(F::LastName, Op::Lt, t("Berg"))), vec![1, b]);
    assert_eq!(all(cond(F::LastName, Op::Le, t("Adams"))), vec![b]);
    assert_eq!(all(cond(F::WorkPosition, Op::Contains, t("SALES"))), vec![a, c]);
    assert_eq!(all(cond(F::WorkPosition, Op::NotContains, t("sales"))), vec![1, b]);
    assert_eq!(all(cond(F::WorkPosition, Op::Like, t("sales%"))), vec![a, c]);
    assert_eq!(all(cond(F::WorkPosition, Op::Like, t("%er"))), vec![a, b]);
    assert_eq!(all(cond(F::WorkPosition, Op::NotLike, t("%er"))), vec![1, c]);
    assert_eq!(all(cond(F::WorkPosition, Op::Contains, t("50%_"))), Vec::<u32>::new());
    assert_eq!(all(cond(F::Name, Op::In, Value::TextList(vec!["Anna".into(), "Carl".into()]))), vec![a, c]);
    assert_eq!(
        all(cond(F::Name, Op::NotIn, Value::TextList(vec!["Anna".into(), "Carl".into()]))),
        vec![1, b]
    );
    // Empty text is a value: equal to "", and below every other string.
    assert_eq!(all(cond(F::PersonalCity, Op::Eq, t(""))), vec![1, b]);
    assert_eq!(all(cond(F::PersonalCity, Op::Ne, t(""))), vec![a, c]);
    assert_eq!(all(cond(F::PersonalCity, Op::Lt, t("Bonn"))), vec![1, a, b]);
    assert_eq!(all(cond(F::Id, Op::Gt, t("2"))), vec![b, c]);
    assert_eq!(all(cond(F::Id, Op::In, Value::IntList(vec![1, i64::from(c)]))), vec![1, c]);
    assert_eq!(all(cond(F::Id, Op::NotIn, Value::IntList(vec![1, i64::from(c)]))), vec![a, b]);
    assert_eq!(all(cond(F::Id, Op::Le, t("2"))), vec![1, a]);
    assert_eq!(all(cond(F::PersonalBirthday, Op::Lt, t("1989-01-01"))), vec![b]);
    assert_eq!(all(cond(F::PersonalBirthday, Op::Ge, t("1985-06-30"))), vec![a, b]);
    assert_eq!(all(cond(F::PersonalBirthday, Op::Eq, t("1990-01-01"))), vec![a]);
    assert_eq!(all(cond(F::PersonalBirthday, Op::Ne, t("1990-01-01"))), vec![1, b, c]);
    assert_eq!(
        all(cond(
            F::PersonalBirthday,
            Op::In,
            Value::TextList(vec!["1985-06-30".into(), "2000-01-01".into()])
        )),
        vec![b]
    );
    assert_eq!(all(cond(F::DateRegister, Op::Ge, t("2026-01-02"))), vec![1, a, b, c]);
    assert_eq!(all(cond(F::DateRegister, Op::Gt, t("2026-01-02T03:04:05+00:00"))), Vec::<u32>::new());
    let dep = d.0.to_string();
    assert_eq!(all(cond(F::UfDepartment, Op::Eq, t(&dep))), vec![b, c]);
    assert_eq!(all(cond(F::UfDepartment, Op::In, Value::IntList(vec![1]))), vec![1, a, c]);
    assert_eq!(all(cond(F::UfDepartment, Op::Ne, t(&dep))), vec![1, a]);
    assert_eq!(all(cond(F::Active, Op::Eq, t("Y"))), vec![1, a, b]);
    assert_eq!(all(cond(F::Active, Op::Eq, t("false"))), vec![c]);
    assert_eq!(all(cond(F::UserType, Op::Eq, t("employee"))), vec![1, a, b, c]);
    assert_eq!(all(cond(F::UserType, Op::Eq, t("extranet"))), Vec::<u32>::new());
    assert_eq!(all(cond(F::IsOnline, Op::Eq, t("Y"))), Vec::<u32>::new());
    // Conditions combine with AND.
    let both = only(cond(F::WorkPosition, Op::Contains, t("sales"))).and(cond(F::Active, Op::Eq, t("Y")));
    assert_eq!(f.ids_of(Audience::Everyone, &f.query(both)), vec![a]);
    // IS_ONLINE follows the last activity.
    let mut u = db.read().unwrap().user(f.account, UserId(b)).unwrap().unwrap();
    u.last_activity = Some(f.clock.now() - Duration::minutes(5));
    let mut tx = db.write().unwrap();
    tx.update_user(&u).unwrap();
    tx.commit().unwrap();
    assert_eq!(all(cond(F::IsOnline, Op::Eq, t("Y"))), vec![b]);
    assert_eq!(all(cond(F::IsOnline, Op::Eq, t("N"))), vec![1, a, c]);
    assert_eq!(all(cond(F::LastActivityDate, Op::Gt, t("2020-01-01"))), vec![b]);
    // Date-time lists compare to the second; a single date with @ is a one-item list.
    let exact = Value::TextList(vec!["2026-01-02T03:04:05+00:00".into(), "1999-01-01".into()]);
    assert_eq!(all(cond(F::DateRegister, Op::In, exact.clone())), vec![1, a, b, c], "the time part counts");
    assert_eq!(all(cond(F::DateRegister, Op::NotIn, exact)), Vec::<u32>::new());
    let midnight = Value::TextList(vec!["2026-01-02".into()]);
    assert_eq!(all(cond(F::DateRegister, Op::In, midnight)), Vec::<u32>::new(), "midnight is another second");
    let one_day = Value::Date(NaiveDate::from_ymd_opt(1990, 1, 1).unwrap());
    assert_eq!(all(cond(F::PersonalBirthday, Op::In, one_day.clone())), vec![a]);
    assert_eq!(all(cond(F::PersonalBirthday, Op::NotIn, one_day)), vec![1, b, c]);
    let huge = Value::IntList((0..1001).collect());
    assert!(Condition::parse(F::Id, Op::In, &huge).is_err(), "lists are bounded");
}

pub fn sort_and_offset_paging(db: &dyn Database) {
    let f = Fixture::new(db);
    let names = ["Zed", "Amy", "Kim", "Amy", "Bo"];
    let mut ids = vec![];
    for (i, n) in names.iter().enumerate() {
        ids.push(f.employee(&format!("P{i}"), n, &[1]).0);
    }
    let mut q = f.query(UserFilter::default());
    q.sort = vec![SortKey::new(UserField::LastName, false).unwrap()];
    // Ties fall back to ID; the admin's "Admin" sorts first.
    assert_eq!(f.ids_of(Audience::Everyone, &q), vec![1, ids[1], ids[3], ids[4], ids[2], ids[0]]);
    q.sort = vec![SortKey::new(UserField::LastName, true).unwrap()];
    assert_eq!(f.ids_of(Audience::Everyone, &q), vec![ids[0], ids[2], ids[4], ids[1], ids[3], 1]);
    assert!(SortKey::new(UserField::UfDepartment, false).is_err());
    // 120 more users: pages of 50 with a total, the last page short.
    for i in 0..120 {
        f.employee(&format!("N{i}"), "Many", &[1]);
    }
    let mut q = f.query(only(cond(UserField::LastName, Op::Eq, Value::text("Many"))));
    let tx = db.read().unwrap();
    let p1 = tx.query_users(f.account, &q, Audience::Everyone).unwrap();
    assert_eq!((p1.items.len(), p1.total, p1.next(0)), (50, Some(120), Some(50)));
    q.page = PageRequest::from_start(100).unwrap();
    let p3 = tx.query_users(f.account, &q, Audience::Everyone).unwrap();
    assert_eq!((p3.items.len(), p3.total, p3.next(100)), (20, Some(120), None));
    q.page = PageRequest::from_start(-1).unwrap();
    let fast = tx.query_users(f.account, &q, Audience::Everyone).unwrap();
    assert_eq!((fast.items.len(), fast.total), (50, None));
    assert_eq!(fast.items, p1.items);
    q.page = PageRequest::from_start(500).unwrap();
    assert_eq!(tx.query_users(f.account, &q, Audience::Everyone).unwrap().items, vec![]);
}

pub fn cursor_paging(db: &dyn Database) {
    let f = Fixture::new(db);
    for i in 0..130 {
        f.employee(&format!("C{i}"), "Cursor", &[1]);
    }
    let mut seen = vec![];
    let mut last = 0i64;
    for _ in 0..10 {
        let mut q = f.query(only(cond(UserField::Id, Op::Gt, Value::Int(last))));
        q.sort = vec![SortKey::new(UserField::Id, false).unwrap()];
        q.page = PageRequest::from_start(-1).unwrap();
        let page = f.ids_of(Audience::Everyone, &q);
        seen.extend(page.iter().copied());
        match page.last() {
            Some(&l) if page.len() == 50 => last = i64::from(l),
            _ => break,
        }
    }
    assert_eq!(seen, (1..=131).collect::<Vec<u32>>());
}

/// `FIND` finds a whole email address, its start and its local part, phone numbers however
/// they are typed (with or without the country code), folded Latin and Cyrillic names and
/// other scripts — and a reader below `user_basic` never through contacts.
pub fn quick_search_contacts_and_scripts(db: &dyn Database) {
    let f = Fixture::new(db);
    let jane = f.employee("Jane", "Doe", &[1]);
    let fields = patch(&[
        (UserField::Email, "Jane.Doe@Example.com"),
        (UserField::WorkPhone, "+1 555-012-3456"),
        (UserField::PersonalMobile, "+44 7700 900123"),
    ]);
    users::update_user(f.ctx(), &f.admin, jane, &fields).unwrap();
    let fyodor = f.employee("Фёдор", "Ørsted-Müller", &[1]);
    let wang = f.employee("王小明", "Łukasiewicz", &[1]);
    let (jane, fyodor, wang) = (jane.0, fyodor.0, wang.0);
    let find =
        |text: &str| f.ids_of(Audience::Everyone, &f.query(UserFilter::default().with_find(text).unwrap()));
    for (text, who) in [
        ("jane.doe@example.com", vec![jane]),
        ("JANE.DOE@EXAMPLE.COM", vec![jane]),
        ("jane.doe@exa", vec![jane]),
        ("jane.doe", vec![jane]),
        ("doe jane", vec![jane]),
        ("5550123456", vec![jane]),
        ("+1 (555) 012-3456", vec![jane]),
        ("555 012 34", vec![jane]),
        ("7700 900", vec![jane]),
        ("447700", vec![jane]),
        ("федор", vec![fyodor]),
        ("ФЁД", vec![fyodor]),
        ("orsted muller", vec![fyodor]),
        ("lukas", vec![wang]),
        ("王小", vec![wang]),
        ("example", vec![]),
        ("bob.doe@example.com", vec![]),
        ("9999 9999", vec![]),
    ] {
        assert_eq!(find(text), who, "FIND={text}");
    }
    let brief = f.actor(UserId(1), &[Scope::UserBrief]);
    let found = |text: &str| {
        let q = f.query(UserFilter::default().with_find(text).unwrap());
        users::find_users(f.ctx(), &brief, &q, &Select::All, false)
            .unwrap()
            .items
            .iter()
            .map(|u| u.id.0)
            .collect::<Vec<_>>()
    };
    assert_eq!(found("jane.doe@example.com"), Vec::<u32>::new(), "no email probing below user_basic");
    assert_eq!(found("5550123456"), Vec::<u32>::new(), "nor phone probing");
    assert_eq!(found("doe"), vec![jane], "names are found");
}

/// `UF_DEPARTMENT_NAME` finds the members of the departments whose names its words prefix;
/// `subdepartments` widens `UF_DEPARTMENT` to every department below.
pub fn uc_department_names_and_subdepartments(db: &dyn Database) {
    let f = Fixture::new(db);
    let sales = f.dept("Sales Europe", 1);
    let north = f.dept("Nordic Sales", sales.0);
    let far = f.dept("Iceland", north.0);
    let other = f.dept("Support", 1);
    let a = f.employee("Ann", "A", &[sales.0]).0;
    let b = f.employee("Bo", "B", &[north.0]).0;
    let c = f.employee("Cy", "C", &[far.0]).0;
    let d = f.employee("Di", "D", &[other.0]).0;
    let run = |filter: UserFilter| {
        users::find_users(f.ctx(), &f.admin, &f.query(filter), &Select::All, false)
            .unwrap()
            .items
            .iter()
            .map(|u| u.id.0)
            .collect::<Vec<_>>()
    };
    let named = |text: &str| {
        run(UserFilter { department_name: crate::query::search_words(text), ..Default::default() })
    };
    assert_eq!(named("sales"), vec![a, b]);
    assert_eq!(named("SAL eur"), vec![a]);
    assert_eq!(named("icel"), vec![c]);
    assert_eq!(named("marketing"), Vec::<u32>::new());
    let in_dept = |id: DepartmentId, wide: bool| {
        let filter = UserFilter { subdepartments: wide, ..Default::default() }.and(cond(
            UserField::UfDepartment,
            Op::Eq,
            Value::Int(i64::from(id.0)),
        ));
        run(filter)
    };
    assert_eq!(in_dept(sales, false), vec![a]);
    assert_eq!(in_dept(sales, true), vec![a, b, c]);
    assert_eq!(in_dept(north, true), vec![b, c]);
    assert_eq!(in_dept(other, true), vec![d]);
    let everyone = in_dept(DepartmentId(1), true);
    assert!(everyone.contains(&1) && everyone.len() == 5, "{everyone:?}");
    let not_sales = UserFilter { subdepartments: true, ..Default::default() }.and(cond(
        UserField::UfDepartment,
        Op::Ne,
        Value::Int(i64::from(sales.0)),
    ));
    assert_eq!(run(not_sales), vec![1, d]);
}

/// `department.get` paged to its end, in tree order and by a column, with a rename and a new
/// department between pages: every page is exactly the reference's page of that moment.
pub fn department_listing_pages(db: &dyn Database) {
    let f = Fixture::new(db);
    let mut parents = vec![DepartmentId(1)];
    for i in 0..130u32 {
        let parent = parents[(i as usize * 7) % parents.len()];
        parents.push(f.dept(&format!("D{:03}", (i * 53) % 130), parent.0));
    }
    for sort in [None, Some((departments::DepartmentColumn::Name, true))] {
        let mut q = DepartmentQuery { sort, ..DepartmentQuery::default() };
        for round in 0..10 {
            let page = departments::list_departments(f.ctx(), &f.admin, &q).unwrap();
            let all = db.read().unwrap().departments(f.account).unwrap();
            assert_eq!(page, q.page_of(q.apply(all)), "page at {} ({sort:?})", q.page.start);
            let Some(next) = page.next(q.page.start) else { break };
            q.page.start = next;
            if round % 2 == 0 {
                let p = DepartmentPatch { name: Some(format!("A{round}")), ..Default::default() };
                departments::update_department(f.ctx(), &f.admin, parents[round + 5], p).unwrap();
            } else {
                f.dept(&format!("New{round}"), 1);
            }
        }
    }
}

pub fn quick_search(db: &dyn Database) {
    let f = Fixture::new(db);
    let labs = f.dept("Research Labs", 1);
    let a = f.employee("Marta", "Kowalski", &[1]).0;
    let b = f.employee("Mark", "Smith", &[labs.0]).0;
    let c = f.employee("Olga", "Markova", &[1]).0;
    users::update_user(f.ctx(), &f.admin, UserId(c), &patch(&[(UserField::WorkPosition, "Chief Engineer")]))
        .unwrap();
    let find =
        |text: &str| f.ids_of(Audience::Everyone, &f.query(UserFilter::default().with_find(text).unwrap()));
    assert_eq!(find("mar"), vec![a, b, c]);
    assert_eq!(find("MARK"), vec![b, c]);
    assert_eq!(find("mark smi"), vec![b]);
    assert_eq!(find("kowal"), vec![a]);
    assert_eq!(find("engin"), vec![c]);
    assert_eq!(find("research"), vec![b]);
    assert_eq!(find("olga.markova"), vec![c]);
    // Only the local part of an email is searchable as words: a shared domain would match
    // everyone. (The whole address is, from its start: see quick_search_contacts_and_scripts.)
    assert_eq!(find("test"), Vec::<u32>::new());
    assert_eq!(find("zzz"), Vec::<u32>::new());
    // Words match from their start only.
    assert_eq!(find("arta"), Vec::<u32>::new());
    // A department rename is searchable at once; so is a user's move.
    let p = DepartmentPatch { name: Some("Quantum Lab".into()), ..Default::default() };
    departments::update_department(f.ctx(), &f.admin, labs, p).unwrap();
    assert_eq!(find("research"), Vec::<u32>::new());
    assert_eq!(find("quant"), vec![b]);
    users::update_user(
        f.ctx(),
        &f.admin,
        UserId(a),
        &patch(&[(UserField::UfDepartment, &labs.0.to_string())]),
    )
    .unwrap();
    assert_eq!(find("quant"), vec![a, b]);
    users::update_user(f.ctx(), &f.admin, UserId(a), &patch(&[(UserField::Name, "Berta")])).unwrap();
    assert_eq!(find("berta"), vec![a]);
    users::update_user(f.ctx(), &f.admin, UserId(a), &patch(&[(UserField::LastName, "Müller-Łódź")]))
        .unwrap();
    assert_eq!(find("muller lodz"), vec![a], "diacritics fold");
    assert_eq!(find("marta"), vec![a], "still found by the email address");
    // FIND counts and pages like any other filter, and combines with conditions.
    for i in 0..60 {
        f.employee(&format!("Zelda{i}"), "Quest", &[1]);
    }
    let tx = db.read().unwrap();
    let q = f.query(UserFilter::default().with_find("zeld").unwrap());
    let page = tx.query_users(f.account, &q, Audience::Everyone).unwrap();
    assert_eq!((page.items.len(), page.total), (50, Some(60)));
    let narrowed = UserFilter::default().with_find("quest").unwrap().and(cond(
        UserField::Name,
        Op::Eq,
        Value::text("Zelda7"),
    ));
    assert_eq!(tx.query_users(f.account, &f.query(narrowed), Audience::Everyone).unwrap().total, Some(1));
}

pub fn visibility(db: &dyn Database) {
    let f = Fixture::new(db);
    let emp = f.employee("Eve", "Emp", &[1]);
    let other = f.employee("Oli", "Other", &[1]);
    let g1 = workgroups::create_workgroup(f.ctx(), &f.admin, "Partners").unwrap().id;
    let g2 = workgroups::create_workgroup(f.ctx(), &f.admin, "Vendors").unwrap().id;
    workgroups::add_workgroup_member(f.ctx(), &f.admin, g1, emp).unwrap();
    let x1 = f.extranet("Xena", &[g1]);
    let x2 = f.extranet("Xavi", &[g2]);
    let integ = users::create_user(
        f.ctx(),
        &f.admin,
        NewUser {
            role: Role::Integrator,
            fields: patch(&[(UserField::Email, "i@partner.test"), (UserField::UfDepartment, "1")]),
            workgroups: vec![],
        },
    )
    .unwrap()
    .id;
    let q = f.query(UserFilter::default());
    let ids = |a: Audience| f.ids_of(a, &q);
    assert_eq!(ids(Audience::Everyone), vec![1, emp.0, other.0, x1.0, x2.0, integ.0]);
    assert_eq!(ids(Audience::Intranet { viewer: emp }), vec![1, emp.0, other.0, x1.0]);
    assert_eq!(ids(Audience::Intranet { viewer: other }), vec![1, emp.0, other.0]);
    assert_eq!(ids(Audience::Intranet { viewer: integ }), vec![1, emp.0, other.0, integ.0]);
    assert_eq!(ids(Audience::Extranet { viewer: x1 }), vec![emp.0, x1.0]);
    assert_eq!(ids(Audience::Extranet { viewer: x2 }), vec![x2.0]);
    // Counts and FIND honour visibility too, and so does filtering a list of IDs.
    let tx = db.read().unwrap();
    let every = [UserId(999), integ, x2, x1, other, emp, UserId(1), x1];
    assert_eq!(
        tx.visible_users(f.account, &every, Audience::Everyone).unwrap(),
        vec![UserId(1), emp, other, x1, x2, integ]
    );
    assert_eq!(
        tx.visible_users(f.account, &every, Audience::Intranet { viewer: emp }).unwrap(),
        vec![UserId(1), emp, other, x1]
    );
    assert_eq!(
        tx.visible_users(f.account, &every, Audience::Extranet { viewer: x1 }).unwrap(),
        vec![emp, x1]
    );
    let counted = tx.query_users(f.account, &q, Audience::Intranet { viewer: other }).unwrap();
    assert_eq!(counted.total, Some(3));
    let fq = f.query(UserFilter::default().with_find("x").unwrap());
    assert_eq!(tx.query_users(f.account, &fq, Audience::Intranet { viewer: emp }).unwrap().total, Some(1));
    assert_eq!(tx.query_users(f.account, &fq, Audience::Everyone).unwrap().total, Some(2));
    drop(tx);
    // Through the use case, an invisible user is "not found", exactly like a missing one.
    let as_other = f.actor(other, &[Scope::User]);
    let missing = users::get_user(f.ctx(), &as_other, UserId(999), &Select::All, false).unwrap_err();
    let hidden = users::get_user(f.ctx(), &as_other, x1, &Select::All, false).unwrap_err();
    assert_eq!(
        format!("{missing:?}").replace("999", "N"),
        format!("{hidden:?}").replace(&x1.0.to_string(), "N")
    );
    // ADMIN_MODE lets administrators (only) see everyone.
    assert!(users::get_user(f.ctx(), &f.admin, x2, &Select::All, true).is_ok());
    assert!(users::get_user(f.ctx(), &f.admin, x2, &Select::All, false).is_err());
    assert!(users::get_user(f.ctx(), &as_other, x2, &Select::All, true).is_err());
}

pub fn accounts_are_isolated(db: &dyn Database) {
    let f = Fixture::new(db);
    let g = Fixture::with_slug(db, "globex");
    let a = f.employee("Same", "Name", &[1]);
    let b = g.employee("Same", "Name", &[1]);
    assert_eq!(a, b, "IDs are per account");
    let q = f.query(UserFilter::default().with_find("same").unwrap());
    let tx = db.read().unwrap();
    for (fx, other) in [(&f, &g), (&g, &f)] {
        let page = tx.query_users(fx.account, &q, Audience::Everyone).unwrap();
        assert_eq!(page.total, Some(1));
        assert!(page.items.iter().all(|u| u.account == fx.account));
        assert!(tx.departments(fx.account).unwrap().iter().all(|d| d.account == fx.account));
        assert_ne!(fx.account, other.account);
    }
    drop(tx);
    // A department of account B is unknown to account A's users.
    let gd = g.dept("Globex Only", 1);
    let err = departments::get_department(f.ctx(), &f.admin, gd).unwrap_err();
    assert!(matches!(err, CoreError::NotFound { .. }));
    let err =
        users::update_user(f.ctx(), &f.admin, UserId(99), &patch(&[(UserField::Name, "X")])).unwrap_err();
    assert!(matches!(err, CoreError::NotFound { .. }));
}

// ---------------------------------------------------------------- use cases

/// HR fields, records and the HR permission: who reads, who writes, what is refused, and that
/// nothing crosses accounts.
pub fn uc_hr_details(db: &dyn Database) {
    use crate::model::hr::HrField;
    use crate::usecase::hr;
    let f = Fixture::new(db);
    let g = Fixture::with_slug(db, "globex");
    let ann = f.employee("Ann", "Officer", &[1]);
    let bob = f.employee("Bob", "Subject", &[1]);
    let cat = f.employee("Cat", "Colleague", &[1]);
    let group = workgroups::create_workgroup(f.ctx(), &f.admin, "Partners").unwrap().id;
    let xena = f.extranet("Xena", &[group]);
    let as_user = |u: UserId| users::actor_for(f.ctx(), f.account, u, ScopeSet::all()).unwrap();
    let field = |k: &str, l: &str| HrField { key: k.into(), label: l.into() };
    let set = |k: &str, v: &str| vec![(k.to_string(), v.to_string())];

    // Fields: administrators define them; keys are checked and raised to upper case.
    let defined = hr::define_hr_fields(
        f.ctx(),
        &f.admin,
        vec![field("passport_no", "Passport number"), field("SALARY_BAND", "Salary band")],
    )
    .unwrap();
    assert_eq!(defined[0].key, "PASSPORT_NO");
    for (bad, at) in [
        (vec![field("1ST", "x")], "field 1: KEY"),
        (vec![field("A", "x"), field("a", "y")], "field 2: KEY"),
        (vec![field("OK", " ")], "field 1: LABEL"),
        (vec![field("HAS SPACE", "x")], "field 1: KEY"),
    ] {
        let err = hr::define_hr_fields(f.ctx(), &f.admin, bad).unwrap_err();
        assert!(matches!(&err, CoreError::Validation { field, .. } if field == at), "{err:?}");
    }
    assert!(matches!(hr::define_hr_fields(f.ctx(), &as_user(ann), vec![]), Err(CoreError::Forbidden { .. })));
    assert_eq!(hr::hr_fields(f.ctx(), &as_user(cat)).unwrap(), defined, "refused calls changed nothing");

    // The permission: administrators grant it to active intranet users only.
    assert!(matches!(hr::grant_hr_permission(f.ctx(), &as_user(cat), ann), Err(CoreError::Forbidden { .. })));
    hr::grant_hr_permission(f.ctx(), &f.admin, ann).unwrap();
    hr::grant_hr_permission(f.ctx(), &f.admin, ann).unwrap();
    assert_eq!(hr::hr_holders(f.ctx(), &f.admin).unwrap(), vec![ann]);
    let err = hr::grant_hr_permission(f.ctx(), &f.admin, xena).unwrap_err();
    assert!(matches!(&err, CoreError::Validation { field, .. } if field == "role"), "{err:?}");
    let err = hr::grant_hr_permission(f.ctx(), &f.admin, UserId(999)).unwrap_err();
    assert!(matches!(err, CoreError::NotFound { .. }));
    users::update_user(f.ctx(), &f.admin, cat, &patch(&[(UserField::Active, "N")])).unwrap();
    let err = hr::grant_hr_permission(f.ctx(), &f.admin, cat).unwrap_err();
    assert!(matches!(&err, CoreError::Conflict { field, .. } if field == "ACTIVE"), "{err:?}");
    users::update_user(f.ctx(), &f.admin, cat, &patch(&[(UserField::Active, "Y")])).unwrap();

    // Writing: administrators and holders; every key must be defined; empty clears.
    let rec = hr::update_hr_record(f.ctx(), &as_user(ann), bob, &set("passport_no", "X123")).unwrap();
    assert_eq!(rec.values, vec![("PASSPORT_NO".to_string(), "X123".to_string())]);
    hr::update_hr_record(f.ctx(), &f.admin, bob, &set("SALARY_BAND", "B2")).unwrap();
    let err = hr::update_hr_record(
        f.ctx(),
        &f.admin,
        bob,
        &[("SALARY_BAND".into(), "B3".into()), ("SHOE_SIZE".into(), "44".into())],
    )
    .unwrap_err();
    assert!(matches!(&err, CoreError::Validation { field, .. } if field == "SHOE_SIZE"), "{err:?}");
    let err =
        hr::update_hr_record(f.ctx(), &f.admin, bob, &set("SALARY_BAND", &"x".repeat(4001))).unwrap_err();
    assert!(matches!(err, CoreError::Validation { .. }));
    assert!(
        matches!(
            hr::update_hr_record(f.ctx(), &as_user(bob), bob, &set("SALARY_BAND", "A1")),
            Err(CoreError::Forbidden { .. })
        ),
        "users read their own record but do not change it"
    );
    assert!(matches!(
        hr::update_hr_record(f.ctx(), &as_user(cat), bob, &set("SALARY_BAND", "A1")),
        Err(CoreError::Forbidden { .. })
    ));

    // Reading: the user, administrators, holders; not colleagues; external users learn nothing.
    let expect =
        vec![("PASSPORT_NO".to_string(), "X123".to_string()), ("SALARY_BAND".to_string(), "B2".to_string())];
    for reader in [as_user(bob), f.admin.clone(), as_user(ann)] {
        assert_eq!(hr::hr_record(f.ctx(), &reader, bob).unwrap().values, expect, "{reader:?}");
    }
    assert!(matches!(hr::hr_record(f.ctx(), &as_user(cat), bob), Err(CoreError::Forbidden { .. })));
    assert!(matches!(hr::hr_record(f.ctx(), &as_user(xena), bob), Err(CoreError::NotFound { .. })));
    assert!(matches!(hr::hr_fields(f.ctx(), &as_user(xena)), Err(CoreError::Forbidden { .. })));
    let basic = Actor { scopes: [Scope::UserBasic].into_iter().collect(), ..as_user(bob) };
    assert!(matches!(hr::hr_record(f.ctx(), &basic, bob), Err(CoreError::InsufficientScope { .. })));
    // Revoked, the holder is an ordinary colleague again; a holder turned external loses it too.
    hr::revoke_hr_permission(f.ctx(), &f.admin, ann).unwrap();
    assert!(matches!(hr::hr_record(f.ctx(), &as_user(ann), bob), Err(CoreError::Forbidden { .. })));
    hr::grant_hr_permission(f.ctx(), &f.admin, cat).unwrap();
    workgroups::add_workgroup_member(f.ctx(), &f.admin, group, cat).unwrap();
    users::change_role(f.ctx(), &f.admin, cat, RoleChange { role: Role::Extranet, departments: vec![] })
        .unwrap();
    assert!(matches!(hr::hr_record(f.ctx(), &as_user(cat), bob), Err(CoreError::NotFound { .. })));

    // Dropping a field deletes its values; clearing a value removes it.
    hr::define_hr_fields(f.ctx(), &f.admin, vec![field("SALARY_BAND", "Band")]).unwrap();
    hr::define_hr_fields(f.ctx(), &f.admin, defined.clone()).unwrap();
    let rec = hr::hr_record(f.ctx(), &f.admin, bob).unwrap();
    assert_eq!(rec.values, vec![("SALARY_BAND".to_string(), "B2".to_string())]);
    let rec = hr::update_hr_record(f.ctx(), &f.admin, bob, &set("SALARY_BAND", "")).unwrap();
    assert!(rec.values.is_empty());

    // Accounts: the same user ID in another account is another user with nothing of this one's.
    hr::update_hr_record(f.ctx(), &f.admin, bob, &set("PASSPORT_NO", "P1")).unwrap();
    assert!(hr::hr_fields(g.ctx(), &g.admin).unwrap().is_empty());
    g.employee("Other", "Ann", &[1]);
    let globex_bob = g.employee("Other", "Bob", &[1]);
    assert_eq!(globex_bob, bob);
    assert!(hr::hr_record(g.ctx(), &g.admin, bob).unwrap().values.is_empty());
    assert!(hr::hr_holders(g.ctx(), &g.admin).unwrap().is_empty());
    assert_eq!(db.read().unwrap().hr_values(g.account, bob).unwrap().len(), 0);
    assert_eq!(db.read().unwrap().hr_values(f.account, bob).unwrap().len(), 1);
}

/// `users_after` and [`users::for_each_user`]: every user of one account exactly once, by ID,
/// across chunk boundaries; other accounts' users never; administrators only.
pub fn uc_export_scan(db: &dyn Database) {
    use std::ops::ControlFlow;
    let f = Fixture::new(db);
    let g = Fixture::with_slug(db, "globex");
    let rows: Vec<NewUser> = (0..2_345)
        .map(|i| NewUser {
            role: Role::Employee,
            fields: patch(&[
                (UserField::Name, &format!("S{i}")),
                (UserField::Email, &format!("s{i}@acme.test")),
                (UserField::UfDepartment, "1"),
            ]),
            workgroups: vec![],
        })
        .collect();
    users::create_users_bulk(f.ctx(), &f.admin, rows).unwrap();
    g.employee("Other", "Account", &[1]);
    let tx = db.read().unwrap();
    let page = tx.users_after(f.account, UserId(10), 5).unwrap();
    assert_eq!(page.iter().map(|u| u.id.0).collect::<Vec<_>>(), vec![11, 12, 13, 14, 15]);
    assert!(tx.users_after(f.account, UserId(u32::MAX), 5).unwrap().is_empty());
    assert!(tx.users_after(f.account, UserId(2_346), 5).unwrap().is_empty(), "the admin and 2,345 users");
    drop(tx);
    let mut seen = Vec::new();
    users::for_each_user(f.ctx(), &f.admin, &mut |u| {
        assert_eq!(u.account, f.account);
        seen.push(u.id.0);
        ControlFlow::Continue(())
    })
    .unwrap();
    assert_eq!(seen, (1..=2_346).collect::<Vec<_>>(), "every user once, by ID, across chunks");
    let mut first = Vec::new();
    users::for_each_user(f.ctx(), &f.admin, &mut |u| {
        first.push(u.id.0);
        if first.len() == 3 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })
    .unwrap();
    assert_eq!(first, vec![1, 2, 3], "a break stops the scan");
    let employee = f.actor(UserId(2), &[Scope::User]);
    let err = users::for_each_user(f.ctx(), &employee, &mut |_| ControlFlow::Continue(())).unwrap_err();
    assert!(matches!(err, CoreError::Forbidden { .. }), "{err:?}");
}

pub fn uc_bootstrap_account(db: &dyn Database) {
    let f = Fixture::new(db);
    let acct = accounts::get_account(f.ctx(), &f.admin).unwrap();
    assert_eq!((acct.slug.as_str(), acct.name.as_str(), acct.renamed), ("acme", "acme Inc", false));
    let admin = db.read().unwrap().user(f.account, UserId(1)).unwrap().unwrap();
    assert_eq!(
        (admin.role, admin.departments.as_slice(), admin.active),
        (Role::Administrator, &[DepartmentId(1)][..], true)
    );
    let dup = CreateAccountRequest { slug: "acme".into(), name: "Again".into(), admin: UserPatch::default() };
    assert!(matches!(accounts::create_account(f.ctx(), dup), Err(CoreError::Conflict { .. })));
    let bad =
        CreateAccountRequest { slug: "Not A Slug".into(), name: "x".into(), admin: UserPatch::default() };
    assert!(matches!(accounts::create_account(f.ctx(), bad), Err(CoreError::Validation { .. })));
    assert_eq!(accounts::list_accounts(f.ctx()).unwrap().len(), 1);
    assert_eq!(accounts::find_account(f.ctx(), "acme").unwrap().id, f.account);
    assert!(accounts::find_account(f.ctx(), "nope").is_err());
}

pub fn uc_account_rename_and_settings(db: &dyn Database) {
    let f = Fixture::new(db);
    let emp = f.employee("Eve", "Emp", &[1]);
    let as_emp = f.actor(emp, &[Scope::User]);
    assert!(matches!(accounts::rename_account(f.ctx(), &as_emp, "Mine"), Err(CoreError::Forbidden { .. })));
    assert_eq!(accounts::rename_account(f.ctx(), &f.admin, "  Acme Corp ").unwrap().name, "Acme Corp");
    assert!(matches!(accounts::rename_account(f.ctx(), &f.admin, "Again"), Err(CoreError::Conflict { .. })));
    assert_eq!(
        accounts::rename_account(f.ctx(), &Actor::operator(f.account), "Operator may").unwrap().name,
        "Operator may"
    );
    let s = AccountSettings {
        whitelisted_domains: vec!["@Acme.test".into(), "acme.test".into()],
        greeting: " Hi ".into(),
        ..Default::default()
    };
    let saved = accounts::update_account_settings(f.ctx(), &f.admin, s).unwrap().settings;
    assert_eq!((saved.whitelisted_domains, saved.greeting.as_str()), (vec!["acme.test".to_string()], "Hi"));
    let bad = AccountSettings { whitelisted_domains: vec!["not a domain".into()], ..Default::default() };
    assert!(matches!(
        accounts::update_account_settings(f.ctx(), &f.admin, bad),
        Err(CoreError::Validation { .. })
    ));
    // Invite policy: employees may create users only when everyone may invite.
    let new = || NewUser {
        role: Role::Employee,
        fields: patch(&[(UserField::Email, "n@acme.test"), (UserField::UfDepartment, "1")]),
        workgroups: vec![],
    };
    assert!(matches!(users::create_user(f.ctx(), &as_emp, new()), Err(CoreError::Forbidden { .. })));
    let open = AccountSettings { invite_policy: InvitePolicy::Everyone, ..Default::default() };
    accounts::update_account_settings(f.ctx(), &f.admin, open).unwrap();
    assert!(users::create_user(f.ctx(), &as_emp, new()).is_ok());
    // Account settings need the write scope, even for an administrator.
    let admin_brief = f.actor(UserId(1), &[Scope::UserBrief, Scope::Department]);
    assert!(matches!(
        accounts::rename_account(f.ctx(), &admin_brief, "X"),
        Err(CoreError::InsufficientScope { .. })
    ));
    let s = AccountSettings::default();
    let err = accounts::update_account_settings(f.ctx(), &admin_brief, s).unwrap_err();
    assert!(matches!(err, CoreError::InsufficientScope { .. }));
}

pub fn uc_create_user_rules(db: &dyn Database) {
    let f = Fixture::new(db);
    let mk = |role, pairs: &[(UserField, &str)], groups: Vec<WorkgroupId>| {
        users::create_user(f.ctx(), &f.admin, NewUser { role, fields: patch(pairs), workgroups: groups })
    };
    let err = mk(Role::Employee, &[(UserField::Email, "a@acme.test")], vec![]).unwrap_err();
    assert!(matches!(&err, CoreError::Validation { field, .. } if field == "UF_DEPARTMENT"), "{err:?}");
    let err =
        mk(Role::Employee, &[(UserField::Email, "a@acme.test"), (UserField::UfDepartment, "77")], vec![])
            .unwrap_err();
    assert!(matches!(&err, CoreError::Validation { field, .. } if field == "UF_DEPARTMENT"), "{err:?}");
    let err = mk(Role::Employee, &[(UserField::UfDepartment, "1")], vec![]).unwrap_err();
    assert!(matches!(&err, CoreError::Validation { field, .. } if field == "EMAIL"), "{err:?}");
    let ok = mk(Role::Employee, &[(UserField::Email, "A@Acme.test"), (UserField::UfDepartment, "1")], vec![])
        .unwrap();
    assert_eq!(ok.text(UserField::Email), "a@acme.test");
    let err =
        mk(Role::Employee, &[(UserField::Email, "a@acme.test"), (UserField::UfDepartment, "1")], vec![])
            .unwrap_err();
    assert!(matches!(&err, CoreError::Conflict { field, .. } if field == "EMAIL"), "{err:?}");
    // External users: a workgroup is required, departments are refused, the group turns external.
    let err = mk(Role::Extranet, &[(UserField::Email, "x@p.test")], vec![]).unwrap_err();
    assert!(matches!(&err, CoreError::Validation { field, .. } if field == "SONET_GROUP_ID"), "{err:?}");
    let g = workgroups::create_workgroup(f.ctx(), &f.admin, "Ext").unwrap();
    assert!(!g.external);
    let err =
        mk(Role::Extranet, &[(UserField::Email, "x@p.test"), (UserField::UfDepartment, "1")], vec![g.id])
            .unwrap_err();
    assert!(matches!(&err, CoreError::Validation { field, .. } if field == "UF_DEPARTMENT"), "{err:?}");
    let err = mk(Role::Extranet, &[(UserField::Email, "x@p.test")], vec![WorkgroupId(99)]).unwrap_err();
    assert!(matches!(&err, CoreError::Validation { field, .. } if field == "SONET_GROUP_ID"), "{err:?}");
    let x = mk(Role::Extranet, &[(UserField::Email, "x@p.test")], vec![g.id]).unwrap();
    let tx = db.read().unwrap();
    assert!(tx.workgroup(f.account, g.id).unwrap().unwrap().external);
    assert_eq!(tx.workgroup_members(f.account, g.id).unwrap(), vec![x.id]);
    // Nothing of the refused attempts was written: IDs went only to the two that succeeded.
    assert_eq!((ok.id, x.id), (UserId(2), UserId(3)));
    // Non-admins never create administrators.
    drop(tx);
    accounts::update_account_settings(
        f.ctx(),
        &f.admin,
        AccountSettings { invite_policy: InvitePolicy::Everyone, ..Default::default() },
    )
    .unwrap();
    let as_emp = f.actor(ok.id, &[Scope::User]);
    let new = NewUser {
        role: Role::Administrator,
        fields: patch(&[(UserField::Email, "boss@acme.test"), (UserField::UfDepartment, "1")]),
        workgroups: vec![],
    };
    assert!(matches!(users::create_user(f.ctx(), &as_emp, new), Err(CoreError::Forbidden { .. })));
    // Inviters who are not administrators bring people only into workgroups they belong to.
    let into = |email: &str| NewUser {
        role: Role::Employee,
        fields: patch(&[(UserField::Email, email), (UserField::UfDepartment, "1")]),
        workgroups: vec![g.id],
    };
    let err = users::create_user(f.ctx(), &as_emp, into("in1@acme.test")).unwrap_err();
    assert!(matches!(err, CoreError::Forbidden { .. }), "{err:?}");
    workgroups::add_workgroup_member(f.ctx(), &f.admin, g.id, ok.id).unwrap();
    assert!(users::create_user(f.ctx(), &as_emp, into("in2@acme.test")).is_ok());
}

pub fn uc_update_user_rules(db: &dyn Database) {
    let f = Fixture::new(db);
    let d = f.dept("Ops", 1);
    let eve = f.employee("Eve", "Emp", &[1]);
    let bob = f.employee("Bob", "Emp", &[1]);
    let as_eve = f.actor(eve, &[Scope::User]);
    let u = users::update_user(
        f.ctx(),
        &as_eve,
        eve,
        &patch(&[(UserField::WorkPosition, "Lead"), (UserField::PersonalMobile, "+49 170 1234567")]),
    )
    .unwrap();
    assert_eq!(u.text(UserField::WorkPosition), "Lead");
    for refused in [patch(&[(UserField::Active, "N")]), patch(&[(UserField::UfDepartment, &d.0.to_string())])]
    {
        assert!(matches!(
            users::update_user(f.ctx(), &as_eve, eve, &refused),
            Err(CoreError::Forbidden { .. })
        ));
    }
    assert!(matches!(
        users::update_user(f.ctx(), &as_eve, bob, &patch(&[(UserField::Name, "B")])),
        Err(CoreError::Forbidden { .. })
    ));
    let read_only = f.actor(eve, &[Scope::UserBasic]);
    assert!(matches!(
        users::update_user(f.ctx(), &read_only, eve, &patch(&[(UserField::Name, "E")])),
        Err(CoreError::InsufficientScope { .. })
    ));
    // Bad input changes nothing.
    assert!(UserPatch::parse([(UserField::Name, Value::text("x".repeat(26)))]).is_err());
    let bobs_email =
        db.read().unwrap().user(f.account, bob).unwrap().unwrap().text(UserField::Email).to_string();
    let err = users::update_user(
        f.ctx(),
        &as_eve,
        eve,
        &patch(&[(UserField::Email, &bobs_email), (UserField::Name, "Changed")]),
    )
    .unwrap_err();
    assert!(matches!(&err, CoreError::Conflict { field, .. } if field == "EMAIL"), "{err:?}");
    assert_eq!(db.read().unwrap().user(f.account, eve).unwrap().unwrap().text(UserField::Name), "Eve");
    let err =
        users::update_user(f.ctx(), &f.admin, bob, &patch(&[(UserField::UfDepartment, "")])).unwrap_err();
    assert!(matches!(&err, CoreError::Validation { field, .. } if field == "UF_DEPARTMENT"), "{err:?}");
    // Dismiss and reinstate; a dismissed user's credentials stop working.
    f.clock.advance(Duration::seconds(30));
    let gone = users::update_user(f.ctx(), &f.admin, bob, &patch(&[(UserField::Active, "N")])).unwrap();
    assert!(!gone.active);
    assert_eq!(gone.updated_at, f.clock.now());
    assert!(matches!(
        users::actor_for(f.ctx(), f.account, bob, ScopeSet::all()),
        Err(CoreError::Unauthorized { .. })
    ));
    assert!(users::update_user(f.ctx(), &f.admin, bob, &patch(&[(UserField::Active, "Y")])).unwrap().active);
    assert!(users::actor_for(f.ctx(), f.account, bob, ScopeSet::all()).is_ok());
    // The last active administrator cannot be dismissed.
    let err =
        users::update_user(f.ctx(), &f.admin, UserId(1), &patch(&[(UserField::Active, "N")])).unwrap_err();
    assert!(matches!(&err, CoreError::Conflict { field, .. } if field == "ACTIVE"), "{err:?}");
    // An update that changes nothing leaves TIMESTAMP_X alone.
    let before = db.read().unwrap().user(f.account, eve).unwrap().unwrap();
    f.clock.advance(Duration::seconds(30));
    let same =
        users::update_user(f.ctx(), &as_eve, eve, &patch(&[(UserField::WorkPosition, "Lead")])).unwrap();
    assert_eq!(same.updated_at, before.updated_at);
    // Employment facts are the administrators' to change; nobody may become unreachable.
    for admin_only in [UserField::XmlId, UserField::UfEmploymentDate, UserField::UfTimeman] {
        let value = if admin_only == UserField::UfEmploymentDate { "2020-01-01" } else { "X1" };
        let err = users::update_user(f.ctx(), &as_eve, eve, &patch(&[(admin_only, value)])).unwrap_err();
        assert!(matches!(err, CoreError::Forbidden { .. }), "{admin_only:?}");
    }
    let unreachable = patch(&[(UserField::Email, ""), (UserField::PersonalMobile, "")]);
    let err = users::update_user(f.ctx(), &as_eve, eve, &unreachable).unwrap_err();
    assert!(matches!(&err, CoreError::Validation { field, .. } if field == "EMAIL"), "{err:?}");
}

pub fn uc_department_rules(db: &dyn Database) {
    let f = Fixture::new(db);
    let a = f.dept("A", 1);
    let b = f.dept("B", a.0);
    let c = f.dept("C", b.0);
    let add = |name: &str, parent: Option<u32>| {
        departments::add_department(
            f.ctx(),
            &f.admin,
            NewDepartment { name: name.into(), parent: parent.map(DepartmentId), sort: None, head: None },
        )
    };
    assert!(matches!(add("Second root", None), Err(CoreError::Conflict { .. })));
    assert!(matches!(add("Orphan", Some(99)), Err(CoreError::Conflict { .. })));
    assert!(matches!(add("  ", Some(1)), Err(CoreError::Validation { .. })));
    let mv = |id: DepartmentId, parent: u32| {
        departments::update_department(
            f.ctx(),
            &f.admin,
            id,
            DepartmentPatch { parent: Some(DepartmentId(parent)), ..Default::default() },
        )
    };
    assert!(matches!(mv(a, c.0), Err(CoreError::Conflict { .. })), "into own subtree");
    assert!(matches!(mv(a, a.0), Err(CoreError::Conflict { .. })), "under itself");
    assert!(matches!(mv(DepartmentId(1), a.0), Err(CoreError::Conflict { .. })), "root stays root");
    assert!(matches!(mv(a, 99), Err(CoreError::Validation { .. })));
    assert_eq!(mv(c, a.0).unwrap().parent, Some(a));
    // Heads must be intranet users of the account.
    let x = {
        let g = workgroups::create_workgroup(f.ctx(), &f.admin, "G").unwrap();
        f.extranet("Xan", &[g.id])
    };
    let head = |u: u32| {
        departments::update_department(
            f.ctx(),
            &f.admin,
            b,
            DepartmentPatch { head: Some(Some(UserId(u))), ..Default::default() },
        )
    };
    assert!(matches!(head(x.0), Err(CoreError::Validation { .. })));
    assert!(matches!(head(999), Err(CoreError::Validation { .. })));
    assert_eq!(head(1).unwrap().head, Some(UserId(1)));
    // Deleting: not the root, not with children, not with members.
    let del = |id: DepartmentId| departments::delete_department(f.ctx(), &f.admin, id);
    assert!(matches!(del(DepartmentId(1)), Err(CoreError::Conflict { .. })));
    assert!(matches!(del(a), Err(CoreError::Conflict { .. })));
    let m = f.employee("Mem", "Ber", &[b.0]);
    assert!(matches!(del(b), Err(CoreError::Conflict { .. })));
    users::update_user(f.ctx(), &f.admin, m, &patch(&[(UserField::UfDepartment, "1")])).unwrap();
    del(b).unwrap();
    assert!(matches!(del(b), Err(CoreError::NotFound { .. })));
    // Reading, listing in tree order, filtering, sorting.
    let emp = f.employee("Eve", "Emp", &[1]);
    let as_emp = f.actor(emp, &[Scope::Department]);
    assert!(matches!(add_as(&f, &as_emp), Err(CoreError::Forbidden { .. })));
    let no_scope = f.actor(emp, &[Scope::User]);
    assert!(matches!(
        departments::get_department(f.ctx(), &no_scope, a),
        Err(CoreError::InsufficientScope { .. })
    ));
    let z = f.dept("Zeta", 1);
    departments::update_department(
        f.ctx(),
        &f.admin,
        z,
        DepartmentPatch { sort: Some(100), ..Default::default() },
    )
    .unwrap();
    let list = departments::list_departments(f.ctx(), &as_emp, &DepartmentQuery::default()).unwrap();
    let order: Vec<u32> = list.items.iter().map(|d| d.id.0).collect();
    assert_eq!(order, vec![1, z.0, a.0, c.0]);
    assert_eq!(list.total, Some(4));
    let q = DepartmentQuery {
        parents: Some(vec![DepartmentId(1)]),
        sort: Some((departments::DepartmentColumn::Name, true)),
        ..Default::default()
    };
    let names: Vec<String> = departments::list_departments(f.ctx(), &as_emp, &q)
        .unwrap()
        .items
        .into_iter()
        .map(|d| d.name)
        .collect();
    assert_eq!(names, vec!["Zeta", "A"]);
    // Heads are visible, active intranet users.
    let head = |u: UserId| {
        let p = DepartmentPatch { head: Some(Some(u)), ..Default::default() };
        departments::update_department(f.ctx(), &f.admin, z, p)
    };
    let integ = users::create_user(
        f.ctx(),
        &f.admin,
        NewUser {
            role: Role::Integrator,
            fields: patch(&[(UserField::Email, "i@p.test"), (UserField::UfDepartment, "1")]),
            workgroups: vec![],
        },
    )
    .unwrap()
    .id;
    assert!(matches!(head(integ), Err(CoreError::Validation { .. })), "integrators are hidden");
    let gone = f.employee("Gone", "Away", &[1]);
    users::update_user(f.ctx(), &f.admin, gone, &patch(&[(UserField::Active, "N")])).unwrap();
    assert!(matches!(head(gone), Err(CoreError::Validation { .. })), "dismissed");
}

fn add_as(f: &Fixture<'_>, actor: &Actor) -> Result<Department, CoreError> {
    departments::add_department(
        f.ctx(),
        actor,
        NewDepartment { name: "X".into(), parent: Some(DepartmentId(1)), sort: None, head: None },
    )
}

pub fn uc_supervisors_and_subordinates(db: &dyn Database) {
    // root(head H) > sales(no head) > east(head E); root > it(head I)
    let f = Fixture::new(db);
    let sales = f.dept("Sales", 1);
    let east = f.dept("East", sales.0);
    let it = f.dept("IT", 1);
    let h = f.employee("Hanna", "Head", &[1]);
    let e = f.employee("Emil", "East", &[east.0]);
    let s1 = f.employee("Sam", "Sales", &[sales.0]);
    let e1 = f.employee("Edda", "Eastern", &[east.0]);
    let i = f.employee("Ivo", "It", &[it.0]);
    let both = f.employee("Bea", "Both", &[sales.0, it.0]);
    f.set_head(DepartmentId(1), Some(h));
    f.set_head(east, Some(e));
    f.set_head(it, Some(i));
    let sup = |u: UserId| users::supervisors_of(f.ctx(), &f.admin, u, false).unwrap();
    let sub = |u: UserId| users::subordinates_of(f.ctx(), &f.admin, u, false).unwrap();
    assert_eq!(sup(e1), vec![e]);
    assert_eq!(sup(e), vec![h], "a head reports to the next head up");
    assert_eq!(sup(s1), vec![h], "a department without a head reports to the next head up");
    assert_eq!(sup(both), vec![h, i]);
    assert_eq!(sup(h), Vec::<UserId>::new());
    assert_eq!(sub(h), vec![UserId(1), e, s1, i, both]);
    assert_eq!(sub(e), vec![e1]);
    assert_eq!(sub(i), vec![both]);
    assert_eq!(sub(e1), Vec::<UserId>::new());
    assert!(matches!(
        users::subordinates_of(f.ctx(), &f.admin, UserId(999), false),
        Err(CoreError::NotFound { .. })
    ));
    // An integrator who reports to I is hidden, unless an administrator asks in ADMIN_MODE.
    let integ = users::create_user(
        f.ctx(),
        &f.admin,
        NewUser {
            role: Role::Integrator,
            fields: patch(&[
                (UserField::Email, "int@partner.test"),
                (UserField::UfDepartment, &it.0.to_string()),
            ]),
            workgroups: vec![],
        },
    )
    .unwrap()
    .id;
    assert_eq!(users::subordinates_of(f.ctx(), &f.admin, i, false).unwrap(), vec![both]);
    assert_eq!(users::subordinates_of(f.ctx(), &f.admin, i, true).unwrap(), vec![both, integ]);
    let as_emp = f.actor(e1, &[Scope::User]);
    assert_eq!(
        users::subordinates_of(f.ctx(), &as_emp, i, true).unwrap(),
        vec![both],
        "ADMIN_MODE is for administrators"
    );
    assert!(users::supervisors_of(f.ctx(), &as_emp, integ, false).is_err(), "a hidden user is not found");
}

pub fn uc_projection_by_scope(db: &dyn Database) {
    let f = Fixture::new(db);
    let eve = f.employee("Eve", "Emp", &[1]);
    users::update_user(
        f.ctx(),
        &f.admin,
        eve,
        &patch(&[(UserField::WorkPhone, "+1 555 0100"), (UserField::PersonalWww, "https://eve.example")]),
    )
    .unwrap();
    let view = |scopes: &[Scope], select: &Select| {
        users::get_user(f.ctx(), &f.actor(UserId(1), scopes), eve, select, false).unwrap()
    };
    let brief = view(&[Scope::UserBrief], &Select::All);
    assert!(brief.get(UserField::Name).is_some());
    assert!(brief.get(UserField::Email).is_none());
    assert!(brief.get(UserField::WorkPhone).is_none());
    let basic = view(&[Scope::UserBasic], &Select::All);
    assert_eq!(basic.get(UserField::WorkPhone), Some(&Value::text("+1 555 0100")));
    assert!(basic.get(UserField::PersonalWww).is_none());
    assert!(basic.get(UserField::LastLogin).is_none());
    let full = view(&[Scope::User], &Select::All);
    assert_eq!(full.get(UserField::PersonalWww), Some(&Value::text("https://eve.example")));
    assert_eq!(full.fields.len(), UserField::ALL.len());
    let picked = view(&[Scope::UserBrief], &Select::parse(["NAME", "EMAIL"]));
    let codes: Vec<&str> = picked.fields.iter().map(|(f, _)| f.code()).collect();
    assert_eq!(codes, vec!["ID", "NAME"]);
    assert!(matches!(
        users::get_user(f.ctx(), &f.actor(UserId(1), &[Scope::Department]), eve, &Select::All, false),
        Err(CoreError::InsufficientScope { .. })
    ));
    let me = users::current_user(f.ctx(), &f.actor(eve, &[Scope::UserBrief]), &Select::All).unwrap();
    assert_eq!(me.id, eve);
    assert!(users::current_user(f.ctx(), &Actor::operator(f.account), &Select::All).is_err());
}

pub fn uc_change_role(db: &dyn Database) {
    let f = Fixture::new(db);
    let eve = f.employee("Eve", "Emp", &[1]);
    let g = workgroups::create_workgroup(f.ctx(), &f.admin, "G").unwrap();
    let ch = |u: UserId, role: Role, deps: Vec<DepartmentId>| {
        users::change_role(f.ctx(), &f.admin, u, RoleChange { role, departments: deps })
    };
    assert!(
        matches!(ch(eve, Role::Extranet, vec![]), Err(CoreError::Validation { .. })),
        "needs a workgroup"
    );
    workgroups::add_workgroup_member(f.ctx(), &f.admin, g.id, eve).unwrap();
    f.set_head(DepartmentId(1), Some(eve));
    assert!(matches!(ch(eve, Role::Extranet, vec![]), Err(CoreError::Conflict { .. })), "heads a department");
    f.set_head(DepartmentId(1), None);
    let x = ch(eve, Role::Extranet, vec![]).unwrap();
    assert_eq!((x.role, x.departments.len()), (Role::Extranet, 0));
    assert!(db.read().unwrap().workgroup(f.account, g.id).unwrap().unwrap().external);
    assert!(
        matches!(ch(eve, Role::Employee, vec![]), Err(CoreError::Validation { .. })),
        "needs departments"
    );
    assert_eq!(
        ch(eve, Role::Administrator, vec![DepartmentId(1)]).unwrap().departments,
        vec![DepartmentId(1)]
    );
    assert!(ch(UserId(1), Role::Employee, vec![]).is_ok(), "another admin exists now");
    assert!(matches!(ch(eve, Role::Employee, vec![]), Err(CoreError::Conflict { .. })), "last admin");
    let as_emp = f.actor(UserId(1), &[Scope::User]);
    assert!(matches!(
        users::change_role(f.ctx(), &as_emp, eve, RoleChange { role: Role::Employee, departments: vec![] }),
        Err(CoreError::Forbidden { .. })
    ));
}

pub fn uc_workgroups(db: &dyn Database) {
    let f = Fixture::new(db);
    let eve = f.employee("Eve", "Emp", &[1]);
    let g1 = workgroups::create_workgroup(f.ctx(), &f.admin, "One").unwrap();
    let g2 = workgroups::create_workgroup(f.ctx(), &f.admin, "Two").unwrap();
    assert!(matches!(workgroups::create_workgroup(f.ctx(), &f.admin, ""), Err(CoreError::Validation { .. })));
    let x = f.extranet("Xan", &[g1.id]);
    let as_x = f.actor(x, &[Scope::User]);
    assert!(matches!(workgroups::create_workgroup(f.ctx(), &as_x, "Mine"), Err(CoreError::Forbidden { .. })));
    assert_eq!(workgroups::list_workgroups(f.ctx(), &as_x).unwrap().len(), 1);
    assert_eq!(workgroups::list_workgroups(f.ctx(), &f.admin).unwrap().len(), 2);
    assert!(workgroups::workgroup_members(f.ctx(), &as_x, g2.id).is_err());
    assert_eq!(workgroups::workgroup_members(f.ctx(), &as_x, g1.id).unwrap(), vec![x]);
    let as_eve = f.actor(eve, &[Scope::User]);
    assert!(matches!(
        workgroups::add_workgroup_member(f.ctx(), &as_eve, g2.id, eve),
        Err(CoreError::Forbidden { .. })
    ));
    assert!(!workgroups::add_workgroup_member(f.ctx(), &f.admin, g2.id, eve).unwrap().external);
    assert!(workgroups::add_workgroup_member(f.ctx(), &f.admin, g2.id, x).unwrap().external);
    workgroups::remove_workgroup_member(f.ctx(), &f.admin, g1.id, x).unwrap();
    assert!(matches!(
        workgroups::remove_workgroup_member(f.ctx(), &f.admin, g2.id, x),
        Err(CoreError::Conflict { .. })
    ));
    assert!(matches!(
        workgroups::add_workgroup_member(f.ctx(), &f.admin, WorkgroupId(99), eve),
        Err(CoreError::NotFound { .. })
    ));
    // Someone who shares no group with an external member does not see them in a member list.
    let outsider = f.employee("Out", "Sider", &[1]);
    let as_outsider = f.actor(outsider, &[Scope::User]);
    assert_eq!(workgroups::workgroup_members(f.ctx(), &as_outsider, g2.id).unwrap(), vec![eve]);
    let operator = Actor::operator(f.account);
    assert_eq!(workgroups::workgroup_members(f.ctx(), &operator, g2.id).unwrap(), vec![eve, x]);
}

pub fn uc_query_scope_rules(db: &dyn Database) {
    let f = Fixture::new(db);
    f.employee("Eve", "Emp", &[1]);
    let brief = f.actor(UserId(1), &[Scope::UserBrief]);
    let by_email = f.query(only(cond(UserField::Email, Op::Eq, Value::text("x@y.z"))));
    let err = users::find_users(f.ctx(), &brief, &by_email, &Select::All, false).unwrap_err();
    assert!(matches!(&err, CoreError::Validation { field, .. } if field == "EMAIL"), "{err:?}");
    let mut sorted = f.query(UserFilter::default());
    sorted.sort = vec![SortKey::new(UserField::Email, false).unwrap()];
    assert!(users::find_users(f.ctx(), &brief, &sorted, &Select::All, false).is_err());
    let page =
        users::find_users(f.ctx(), &brief, &f.query(UserFilter::default()), &Select::All, false).unwrap();
    assert_eq!(page.total, Some(2));
    assert!(page.items.iter().all(|v| v.get(UserField::Email).is_none()));
}

/// Totals of a quick search past the first page, for every audience, through renames, role
/// changes and moves (stores may keep counts of their own; they must stay exact).
pub fn search_totals(db: &dyn Database) {
    let f = Fixture::new(db);
    let g_shared = workgroups::create_workgroup(f.ctx(), &f.admin, "Shared").unwrap().id;
    let g_other = workgroups::create_workgroup(f.ctx(), &f.admin, "Other").unwrap().id;
    let viewer = f.employee("Vera", "Viewer", &[1]);
    workgroups::add_workgroup_member(f.ctx(), &f.admin, g_shared, viewer).unwrap();
    let mut quinns = vec![];
    for i in 0..55 {
        quinns.push(f.employee(&format!("Quinn{i}"), "Staff", &[1]));
    }
    let seen = f.extranet("Quinnx", &[g_shared]);
    let hidden = f.extranet("Quinny", &[g_other]);
    let total = |audience: Audience, text: &str| {
        let q = f.query(UserFilter::default().with_find(text).unwrap());
        let page = db.read().unwrap().query_users(f.account, &q, audience).unwrap();
        assert!(page.items.len() <= 50);
        page.total.unwrap()
    };
    let intranet = Audience::Intranet { viewer };
    assert_eq!(total(Audience::Everyone, "qu"), 57);
    assert_eq!(total(intranet, "qu"), 56);
    assert_eq!(total(Audience::Extranet { viewer: seen }, "qu"), 1);
    assert_eq!(total(intranet, "quinn"), 56, "longer words are counted from the index");
    // A rename out of the prefix, a dismissal (still listed), a role change to external.
    let rex = patch(&[(UserField::Name, "Rex"), (UserField::Email, "rex@acme.test")]);
    users::update_user(f.ctx(), &f.admin, quinns[0], &rex).unwrap();
    users::update_user(f.ctx(), &f.admin, quinns[1], &patch(&[(UserField::Active, "N")])).unwrap();
    workgroups::add_workgroup_member(f.ctx(), &f.admin, g_other, quinns[2]).unwrap();
    users::change_role(
        f.ctx(),
        &f.admin,
        quinns[2],
        RoleChange { role: Role::Extranet, departments: vec![] },
    )
    .unwrap();
    assert_eq!(total(Audience::Everyone, "qu"), 56);
    assert_eq!(total(intranet, "qu"), 54);
    // Department names count too, and follow renames.
    let d = f.dept("Quality", 1);
    for u in &quinns[10..12] {
        users::update_user(f.ctx(), &f.admin, *u, &patch(&[(UserField::UfDepartment, &d.0.to_string())]))
            .unwrap();
    }
    let e = f.employee("Zoe", "Zed", &[d.0]);
    assert_eq!(total(Audience::Everyone, "qual"), 3);
    assert_eq!(total(Audience::Everyone, "qu"), 57);
    departments::update_department(
        f.ctx(),
        &f.admin,
        d,
        DepartmentPatch { name: Some("Assurance".into()), ..Default::default() },
    )
    .unwrap();
    assert_eq!(total(Audience::Everyone, "qual"), 0);
    assert_eq!(total(Audience::Everyone, "qu"), 56);
    assert_eq!(total(Audience::Everyone, "as"), 3);
    let _ = (hidden, e);
    // Email words count only for readers who may see emails.
    for i in 0..52 {
        let fields = patch(&[
            (UserField::Name, &format!("Mailer{i}")),
            (UserField::Email, &format!("ywork{i}@acme.test")),
            (UserField::UfDepartment, "1"),
        ]);
        users::create_user(f.ctx(), &f.admin, NewUser { role: Role::Employee, fields, workgroups: vec![] })
            .unwrap();
    }
    let with_and_without = |text: &str| {
        let tx = db.read().unwrap();
        let mut q = f.query(UserFilter::default().with_find(text).unwrap());
        let with = tx.query_users(f.account, &q, intranet).unwrap().total.unwrap();
        q.filter.find_contacts = false;
        let without = tx.query_users(f.account, &q, intranet).unwrap().total.unwrap();
        (with, without)
    };
    assert_eq!(with_and_without("yw"), (52, 0));
    assert_eq!(with_and_without("ywork1"), (11, 0));
    assert_eq!(with_and_without("mailer"), (52, 52));
    // Through the use case, the reader's tier decides.
    let brief = f.actor(viewer, &[Scope::UserBrief]);
    let basic = f.actor(viewer, &[Scope::UserBasic]);
    let q = f.query(UserFilter::default().with_find("ywork").unwrap());
    assert_eq!(users::find_users(f.ctx(), &brief, &q, &Select::All, false).unwrap().total, Some(0));
    assert_eq!(users::find_users(f.ctx(), &basic, &q, &Select::All, false).unwrap().total, Some(52));
}
