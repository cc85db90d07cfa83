//! A company sets up its directory: structure, people, search, changes, a dismissal; then the
//! service restarts and everything is still there.

use chrono::{DateTime, Utc};
use profile_core::access::{Scope, ScopeSet, Select};
use profile_core::field::UserField;
use profile_core::ids::{DepartmentId, UserId};
use profile_core::model::user::{Role, UserPatch};
use profile_core::ports::{Clock, IdGen, RandomIds};
use profile_core::query::{Condition, Op, PageRequest, SortKey, UserFilter, UserQuery};
use profile_core::secret::Argon2id;
use profile_core::usecase::accounts::{self, CreateAccountRequest};
use profile_core::usecase::departments::{self, DepartmentPatch, DepartmentQuery, NewDepartment};
use profile_core::usecase::users::{self, NewUser};
use profile_core::usecase::Ctx;
use profile_core::{CoreError, Value};
use store_sqlite::SqliteDb;

struct At(DateTime<Utc>);

impl Clock for At {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

fn ctx_for<'a>(db: &'a SqliteDb, clock: &'a At, ids: &'a RandomIds) -> Ctx<'a> {
    Ctx {
        db,
        clock,
        ids: ids as &dyn IdGen,
        passwords: &Argon2id::FAST_INSECURE,
        images: &profile_core::ports::NoImages,
        base_url: "http://127.0.0.1:8080",
        invitations_per_hour: 0,
        client: None,
    }
}

fn fields(pairs: &[(UserField, &str)]) -> UserPatch {
    UserPatch::parse(pairs.iter().map(|(f, v)| (*f, Value::text(*v)))).unwrap()
}

#[test]
fn a_company_directory_from_first_run_to_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cardfile.db");
    let clock = At(DateTime::from_timestamp(1_780_000_000, 0).unwrap());
    let ids = RandomIds;
    let account;
    {
        let db = SqliteDb::open(&path).unwrap();
        let ctx = ctx_for(&db, &clock, &ids);
        let created = accounts::create_account(
            ctx,
            CreateAccountRequest {
                slug: "northwind".into(),
                name: "Northwind Traders".into(),
                admin: fields(&[(UserField::Email, "root@northwind.test"), (UserField::Name, "Nancy")]),
            },
        )
        .unwrap();
        account = created.account.id;
        assert_eq!((created.admin.id, created.root.id), (UserId(1), DepartmentId(1)));
        let admin = users::actor_for(ctx, account, created.admin.id, ScopeSet::all()).unwrap();

        let add = |name: &str, parent: u32| {
            departments::add_department(
                ctx,
                &admin,
                NewDepartment {
                    name: name.into(),
                    parent: Some(DepartmentId(parent)),
                    sort: None,
                    head: None,
                },
            )
            .unwrap()
            .id
        };
        let sales = add("Sales", 1);
        let west = add("Sales West", sales.0);
        let hire = |name: &str, last: &str, dep: DepartmentId, position: &str| {
            let f = UserPatch::parse([
                (UserField::Name, Value::text(name)),
                (UserField::LastName, Value::text(last)),
                (UserField::Email, Value::text(format!("{}@northwind.test", name.to_lowercase()))),
                (UserField::WorkPosition, Value::text(position)),
                (UserField::UfDepartment, Value::IntList(vec![i64::from(dep.0)])),
            ])
            .unwrap();
            users::create_user(ctx, &admin, NewUser { role: Role::Employee, fields: f, workgroups: vec![] })
                .unwrap()
                .id
        };
        let andrew = hire("Andrew", "Fuller", sales, "Vice President, Sales");
        let janet = hire("Janet", "Leverling", west, "Sales Representative");
        let steven = hire("Steven", "Buchanan", west, "Sales Manager");
        departments::update_department(
            ctx,
            &admin,
            sales,
            DepartmentPatch { head: Some(Some(andrew)), ..Default::default() },
        )
        .unwrap();
        departments::update_department(
            ctx,
            &admin,
            west,
            DepartmentPatch { head: Some(Some(steven)), ..Default::default() },
        )
        .unwrap();

        // The structure answers who reports to whom.
        assert_eq!(users::supervisors_of(ctx, &admin, janet, false).unwrap(), vec![steven]);
        assert_eq!(users::supervisors_of(ctx, &admin, steven, false).unwrap(), vec![andrew]);
        assert_eq!(users::subordinates_of(ctx, &admin, andrew, false).unwrap(), vec![steven]);

        // A colleague with a brief-scope credential searches and reads, and sees no contacts.
        let reader = users::actor_for(ctx, account, janet, [Scope::UserBrief].into_iter().collect()).unwrap();
        let q = UserQuery {
            filter: UserFilter::default().with_find("sales").unwrap(),
            sort: vec![SortKey::new(UserField::LastName, false).unwrap()],
            page: PageRequest::default(),
            now: clock.now(),
        };
        let page = users::find_users(ctx, &reader, &q, &Select::All, false).unwrap();
        let found: Vec<UserId> = page.items.iter().map(|v| v.id).collect();
        assert_eq!(found, vec![steven, andrew, janet], "by last name: Buchanan, Fuller, Leverling");
        assert_eq!(page.total, Some(3));
        assert!(page.items.iter().all(|v| v.get(UserField::Email).is_none()));

        // Bad input is refused and changes nothing.
        let too_long = UserPatch::parse([(UserField::Name, Value::text("x".repeat(26)))]);
        assert!(matches!(too_long, Err(CoreError::Validation { ref field, .. }) if field == "NAME"));
        let err = departments::delete_department(ctx, &admin, sales).unwrap_err();
        assert!(matches!(err, CoreError::Conflict { .. }));

        // Janet leaves; she stays in the directory as dismissed.
        users::update_user(ctx, &admin, janet, &fields(&[(UserField::Active, "N")])).unwrap();
        let active_only = UserQuery {
            filter: UserFilter::default()
                .and(Condition::parse(UserField::Active, Op::Eq, &Value::text("Y")).unwrap())
                .and(
                    Condition::parse(UserField::UfDepartment, Op::Eq, &Value::Int(i64::from(west.0)))
                        .unwrap(),
                ),
            sort: vec![],
            page: PageRequest::default(),
            now: clock.now(),
        };
        let page = users::find_users(ctx, &admin, &active_only, &Select::All, false).unwrap();
        assert_eq!(page.items.iter().map(|v| v.id).collect::<Vec<_>>(), vec![steven]);
        assert!(matches!(
            users::actor_for(ctx, account, janet, ScopeSet::all()),
            Err(CoreError::Unauthorized { .. })
        ));
    }

    // After a restart, every acknowledged write is there.
    let db = SqliteDb::open(&path).unwrap();
    let ctx = ctx_for(&db, &clock, &ids);
    let admin = users::actor_for(ctx, account, UserId(1), ScopeSet::all()).unwrap();
    let tree = departments::list_departments(ctx, &admin, &DepartmentQuery::default()).unwrap();
    let names: Vec<&str> = tree.items.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, vec!["Northwind Traders", "Sales", "Sales West"]);
    let janet =
        users::get_user(ctx, &admin, UserId(3), &Select::parse(["ACTIVE", "LAST_NAME"]), false).unwrap();
    assert_eq!(janet.get(UserField::Active), Some(&Value::Bool(false)));
    assert_eq!(janet.get(UserField::LastName), Some(&Value::text("Leverling")));
}
