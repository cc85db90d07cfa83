//! The contract cases of user queries that search and page: `FIND` in every form, totals,
//! department names and sub-departments, and `department.get` paged to its end.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use super::*;

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
