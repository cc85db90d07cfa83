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
use crate::usecase::{workgroups, Ctx, INVITATIONS_PER_HOUR};
use crate::Value;

mod activity;
mod content;
mod custom;
mod delivery;
mod guard;
mod images;
mod joining;
mod search;
mod sessions;
mod usecases;
pub use activity::*;
pub use content::*;
pub use custom::*;
pub use delivery::*;
pub use guard::*;
pub use images::*;
pub use joining::*;
pub use search::*;
pub use sessions::*;
pub use usecases::*;

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
            department_listing_pages, uc_delivery_claims_and_leases, uc_delivery_retries_and_failures,
            uc_delivery_obsolete_messages, uc_delivery_rendered_messages, uc_invitation_allowance_and_base_url,
            uc_sessions, uc_read_session, uc_sign_in_ticket, uc_lockout_by_client_address, uc_activity, uc_presence_status, uc_messenger_structure,
            uc_photos, uc_backgrounds, uc_custom_fields,
            uc_custom_fields_in_quick_search, uc_absences, uc_about_interests_and_statuses,
            uc_appreciations_and_layouts, uc_structure_overview);
        $crate::store_contract_tests!(@shared $make; concurrent_writers, concurrent_claims);
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
                    let ctx = Ctx {
                        db,
                        clock: &clock,
                        ids: &ids,
                        passwords: &TEST_HASHER,
                        images: &crate::testing::TestImages,
                        base_url: BASE_URL,
                        invitations_per_hour: INVITATIONS_PER_HOUR,
                        client: None,
                    };
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
        let ctx = Ctx {
            db,
            clock: &clock,
            ids: &ids,
            passwords: &TEST_HASHER,
            images: &crate::testing::TestImages,
            base_url: BASE_URL,
            invitations_per_hour: INVITATIONS_PER_HOUR,
            client: None,
        };
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
        Ctx {
            db: self.db,
            clock: &self.clock,
            ids: &self.ids,
            passwords: &TEST_HASHER,
            images: &crate::testing::TestImages,
            base_url: BASE_URL,
            invitations_per_hour: INVITATIONS_PER_HOUR,
            client: None,
        }
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
