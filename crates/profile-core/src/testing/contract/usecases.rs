//! The contract cases of the directory's use cases: accounts, people, departments and
//! supervisors, workgroups, HR details, projection and the export scan, each run through the
//! use cases against the backend.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use super::*;

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
    // The same from one read, with the role and the paths to each department.
    let s = users::structure(f.ctx(), &f.admin, both, false).unwrap();
    assert_eq!(
        (s.id, s.role, s.supervisors.clone(), s.subordinates.clone()),
        (both, Role::Employee, vec![h, i], vec![])
    );
    let names: Vec<Vec<&str>> = s.paths.iter().map(|p| p.iter().map(|d| d.name.as_str()).collect()).collect();
    let root = f.db.read().unwrap().department(f.account, DepartmentId(1)).unwrap().unwrap().name;
    assert_eq!(names, vec![vec![root.as_str(), "Sales"], vec![root.as_str(), "IT"]]);
    assert_eq!(users::structure(f.ctx(), &f.admin, e, false).unwrap().subordinates, vec![e1]);
    assert!(matches!(
        users::structure(f.ctx(), &f.admin, UserId(999), false),
        Err(CoreError::NotFound { .. })
    ));
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
