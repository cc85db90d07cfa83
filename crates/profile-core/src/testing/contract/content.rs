//! The card's content: absences (who records them, who sees their kind and note, the chart
//! of a department with its sub-departments, "away until", `CARDFILE_ABSENT_ON`), "about me",
//! interests (`UF_INTERESTS=#tag`, counted tags), appreciations (counts for all, messages for
//! the recipient and each giver's own), the form layout, `CARDFILE_STATUS` — and nothing
//! crossing accounts.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use chrono::{Duration, NaiveDate};

use super::*;
use crate::model::absence::AbsenceKind;
use crate::model::user::PresenceStatus;
use crate::usecase::absences::{self, AbsenceFilter, AbsenceSpec};
use crate::usecase::{about, appreciations, hr, layout, presence};

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn spec(kind: AbsenceKind, from: &str, to: &str, note: &str) -> AbsenceSpec {
    AbsenceSpec { kind: Some(kind), from: Some(day(from)), to: Some(day(to)), note: Some(note.into()) }
}

fn found(f: &Fixture<'_>, actor: &Actor, filter: UserFilter) -> Vec<u32> {
    let mut q = f.query(filter);
    q.page.count_total = true;
    let page = users::find_users(f.ctx(), actor, &q, &Select::All, false).unwrap();
    let ids: Vec<u32> = page.items.iter().map(|u| u.id.0).collect();
    assert_eq!(page.total, Some(ids.len() as u64), "the total counts the users found");
    ids
}

pub fn uc_absences(db: &dyn Database) {
    let f = Fixture::new(db);
    let other = Fixture::with_slug(db, "globex");
    let sales = f.dept("Sales", 1);
    let north = departments::add_department(
        f.ctx(),
        &f.admin,
        NewDepartment { name: "North".into(), parent: Some(sales), sort: None, head: None },
    )
    .unwrap()
    .id;
    let boss = f.employee("Bea", "Boss", &[sales.0]);
    f.set_head(sales, Some(boss));
    let ann = f.employee("Ann", "Arbor", &[north.0]);
    let bob = f.employee("Bob", "Brook", &[1]);
    let hr_person = f.employee("Hal", "Human", &[1]);
    hr::grant_hr_permission(f.ctx(), &f.admin, hr_person).unwrap();
    let as_user = |u: UserId| f.actor(u, &[Scope::User]);

    // Recorded by the person, their supervisor or an administrator; not by a colleague.
    let own = absences::add_absence(
        f.ctx(),
        &as_user(ann),
        ann,
        spec(AbsenceKind::Vacation, "2026-01-01", "2026-01-04", "Alps"),
    )
    .unwrap();
    let sick = absences::add_absence(
        f.ctx(),
        &as_user(boss),
        ann,
        spec(AbsenceKind::SickLeave, "2026-01-05", "2026-01-06", "flu"),
    )
    .unwrap();
    absences::add_absence(
        f.ctx(),
        &f.admin,
        bob,
        spec(AbsenceKind::BusinessTrip, "2026-01-10", "2026-01-12", ""),
    )
    .unwrap();
    let r = absences::add_absence(
        f.ctx(),
        &as_user(bob),
        ann,
        spec(AbsenceKind::Other, "2026-02-01", "2026-02-01", ""),
    );
    assert!(matches!(r, Err(CoreError::Forbidden { .. })), "{r:?}");
    let r = absences::add_absence(
        f.ctx(),
        &as_user(ann),
        ann,
        spec(AbsenceKind::Other, "2026-02-02", "2026-02-01", ""),
    );
    assert!(matches!(r, Err(CoreError::Validation { ref field, .. }) if field == "DATE_TO"), "{r:?}");
    let r = absences::add_absence(
        f.ctx(),
        &as_user(ann),
        ann,
        AbsenceSpec { kind: None, ..spec(AbsenceKind::Other, "2026-02-01", "2026-02-01", "") },
    );
    assert!(matches!(r, Err(CoreError::Validation { ref field, .. }) if field == "KIND"), "{r:?}");
    let r = absences::update_absence(f.ctx(), &as_user(bob), own.id, AbsenceSpec::default());
    assert!(matches!(r, Err(CoreError::Forbidden { .. })), "{r:?}");

    // "Away until" follows the adjoining sick leave (the clock is at 2026-01-02).
    assert_eq!(absences::away_until_of(f.ctx(), &as_user(bob), ann).unwrap(), Some(day("2026-01-06")));
    assert_eq!(absences::away_until_of(f.ctx(), &as_user(bob), bob).unwrap(), None);
    let im = f.actor(bob, &[Scope::Im]);
    assert_eq!(
        presence::presence_card(f.ctx(), &im, Some(ann)).unwrap().absent_until,
        Some(day("2026-01-06"))
    );

    // The chart of Sales takes North's people; kinds and notes only where the rule allows.
    let january = |department: Option<DepartmentId>, user: Option<UserId>| AbsenceFilter {
        user,
        department,
        from: day("2026-01-01"),
        to: day("2026-01-31"),
    };
    let list = |actor: &Actor, filter: AbsenceFilter| {
        absences::list_absences(f.ctx(), actor, &filter, PageRequest::default()).unwrap()
    };
    let chart = list(&as_user(bob), january(Some(sales), None));
    assert_eq!(chart.total, Some(2));
    assert_eq!(chart.items.iter().map(|a| a.id).collect::<Vec<_>>(), vec![own.id, sick.id]);
    assert!(chart.items.iter().all(|a| a.kind.is_none() && a.note.is_none()), "a colleague sees only dates");
    for reader in [as_user(ann), as_user(boss), as_user(hr_person), f.admin.clone()] {
        let seen = list(&reader, january(Some(sales), None));
        assert_eq!(seen.items[1].kind, Some(AbsenceKind::SickLeave), "{:?}", reader.user);
        assert_eq!(seen.items[1].note.as_deref(), Some("flu"));
    }
    assert_eq!(list(&as_user(bob), january(None, None)).total, Some(3));
    assert_eq!(list(&as_user(bob), january(None, Some(bob))).items[0].kind, Some(AbsenceKind::BusinessTrip));
    let r = absences::list_absences(
        f.ctx(),
        &as_user(bob),
        &AbsenceFilter { from: day("2026-01-01"), to: day("2027-06-01"), ..january(None, None) },
        PageRequest::default(),
    );
    assert!(matches!(r, Err(CoreError::Validation { ref field, .. }) if field == "DATE_TO"), "{r:?}");

    // Absent on a day, as a filter of user queries.
    let absent_on =
        |d: &str| found(&f, &as_user(bob), UserFilter { absent_on: Some(day(d)), ..UserFilter::default() });
    assert_eq!(absent_on("2026-01-05"), vec![ann.0]);
    assert_eq!(absent_on("2026-01-11"), vec![bob.0]);
    assert_eq!(absent_on("2026-01-20"), Vec::<u32>::new());

    // Changes and deletion.
    let moved = AbsenceSpec { to: Some(day("2026-01-20")), ..AbsenceSpec::default() };
    absences::update_absence(f.ctx(), &as_user(boss), sick.id, moved).unwrap();
    assert_eq!(absent_on("2026-01-20"), vec![ann.0]);
    absences::delete_absence(f.ctx(), &as_user(ann), sick.id).unwrap();
    assert_eq!(absent_on("2026-01-20"), Vec::<u32>::new());
    assert_eq!(absences::away_until_of(f.ctx(), &as_user(bob), ann).unwrap(), Some(day("2026-01-04")));

    // The other account sees none of it, and cannot touch it.
    let theirs = list(&other.admin, january(None, None));
    assert_eq!(theirs.total, Some(0));
    let r = absences::delete_absence(other.ctx(), &other.admin, own.id);
    assert!(matches!(r, Err(CoreError::NotFound { .. })), "{r:?}");
}

pub fn uc_about_interests_and_statuses(db: &dyn Database) {
    let f = Fixture::new(db);
    let other = Fixture::with_slug(db, "globex");
    let ann = f.employee("Ann", "Arbor", &[1]);
    let bob = f.employee("Bob", "Brook", &[1]);
    let group = crate::usecase::workgroups::create_workgroup(f.ctx(), &f.admin, "Partners").unwrap().id;
    let guest = f.extranet("Gus", &[group]);
    let as_user = |u: UserId| f.actor(u, &[Scope::User]);

    // About me: the person or an administrator; rendered safe.
    let c = about::set_about(f.ctx(), &as_user(ann), ann, "[b]Hi[/b] <script>").unwrap();
    assert_eq!(c.about_html, "<b>Hi</b> &lt;script&gt;");
    let r = about::set_about(f.ctx(), &as_user(bob), ann, "mine now");
    assert!(matches!(r, Err(CoreError::Forbidden { .. })), "{r:?}");
    assert_eq!(about::profile_content(f.ctx(), &as_user(bob), ann).unwrap().about, "[b]Hi[/b] <script>");
    about::set_about(f.ctx(), &f.admin, ann, "").unwrap();
    assert_eq!(about::profile_content(f.ctx(), &as_user(bob), ann).unwrap().about, "");
    let r = about::set_about(f.ctx(), &as_user(ann), ann, &"x".repeat(4_001));
    assert!(matches!(r, Err(CoreError::Validation { ref field, .. }) if field == "ABOUT"), "{r:?}");

    // Interests are normalised tags; a tag finds exactly its holders.
    let tags = |u: UserId, text: &str| {
        let p = UserPatch::parse([(UserField::UfInterests, Value::text(text))]).unwrap();
        users::update_user(f.ctx(), &f.admin, u, &p).unwrap();
    };
    tags(ann, "#Movies, travel #Straße #deep_work #sci-fi");
    tags(bob, "#movies #music");
    tags(guest, "#movies #mountains");
    tags(f.admin.user.unwrap(), "#travel");
    let stored = users::get_user(f.ctx(), &f.admin, ann, &Select::All, false).unwrap();
    assert_eq!(
        stored.get(UserField::UfInterests),
        Some(&Value::text("#movies #travel #strasse #deep_work #sci-fi"))
    );
    let r = UserPatch::parse([(UserField::UfInterests, Value::text("#a.b"))]);
    assert!(matches!(r, Err(CoreError::Validation { ref field, .. }) if field == "UF_INTERESTS"), "{r:?}");
    let holders = |actor: &Actor, tag: &str| {
        found(&f, actor, UserFilter::default().with_interests(&Value::text(tag)).unwrap())
    };
    assert_eq!(holders(&as_user(bob), "#MOVIES"), vec![ann.0, bob.0], "an intranet reader sees no stranger");
    assert_eq!(
        holders(&f.actor(guest, &[Scope::User]), "#movies"),
        vec![guest.0],
        "nor does an external one"
    );
    assert_eq!(holders(&f.admin, "#movie"), Vec::<u32>::new(), "a tag is held whole");
    assert_eq!(holders(&f.admin, "strasse"), vec![ann.0]);
    assert_eq!(holders(&f.admin, "#deep_work"), vec![ann.0], "a tag with _ is one word");
    assert_eq!(holders(&f.admin, "#sci-fi"), vec![ann.0]);
    assert_eq!(holders(&f.admin, "#deep"), Vec::<u32>::new());
    let either = UserFilter::default()
        .with_interests(&Value::TextList(vec!["#music".into(), "#travel".into()]))
        .unwrap();
    assert_eq!(found(&f, &f.admin, either), vec![1, ann.0, bob.0]);
    let both =
        UserFilter::default().with_find("bob").unwrap().with_interests(&Value::text("#movies")).unwrap();
    assert_eq!(found(&f, &f.admin, both), vec![bob.0]);
    // Tags with their holders among administrators and employees, most held first.
    assert_eq!(
        about::interest_tags(f.ctx(), &as_user(bob), "", 50).unwrap(),
        vec![
            ("movies".to_string(), 2),
            ("travel".to_string(), 2),
            ("deep_work".to_string(), 1),
            ("music".to_string(), 1),
            ("sci-fi".to_string(), 1),
            ("strasse".to_string(), 1)
        ]
    );
    assert_eq!(
        about::interest_tags(f.ctx(), &as_user(bob), "#M", 50).unwrap(),
        vec![("movies".to_string(), 2), ("music".to_string(), 1)]
    );
    tags(bob, "");
    assert_eq!(about::interest_tags(f.ctx(), &as_user(ann), "mu", 50).unwrap(), Vec::<(String, u64)>::new());
    let r = about::interest_tags(f.ctx(), &f.actor(guest, &[Scope::User]), "", 50);
    assert!(matches!(r, Err(CoreError::Forbidden { .. })), "{r:?}");
    assert!(about::interest_tags(other.ctx(), &other.admin, "", 50).unwrap().is_empty());

    // Users by the presence status they set.
    presence::set_status(f.ctx(), &f.actor(ann, &[Scope::Im]), PresenceStatus::Dnd).unwrap();
    presence::set_status(f.ctx(), &f.actor(bob, &[Scope::Im]), PresenceStatus::Away).unwrap();
    let with =
        |s: Vec<PresenceStatus>| found(&f, &f.admin, UserFilter { statuses: s, ..UserFilter::default() });
    assert_eq!(with(vec![PresenceStatus::Dnd]), vec![ann.0]);
    assert_eq!(with(vec![PresenceStatus::Dnd, PresenceStatus::Away]), vec![ann.0, bob.0]);
    assert_eq!(with(vec![PresenceStatus::Break]), Vec::<u32>::new());
    let q = f.query(UserFilter { statuses: vec![PresenceStatus::Dnd], ..UserFilter::default() });
    let r = users::find_users(f.ctx(), &f.actor(bob, &[Scope::UserBasic]), &q, &Select::All, false);
    assert!(matches!(r, Err(CoreError::InsufficientScope { .. })), "statuses are read with im: {r:?}");
    let theirs = UserFilter { statuses: vec![PresenceStatus::Dnd], ..UserFilter::default() };
    let mut q = other.query(theirs);
    q.page.count_total = true;
    assert!(users::find_users(other.ctx(), &other.admin, &q, &Select::All, false).unwrap().items.is_empty());
}

pub fn uc_appreciations_and_layouts(db: &dyn Database) {
    let f = Fixture::new(db);
    let other = Fixture::with_slug(db, "globex");
    let ann = f.employee("Ann", "Arbor", &[1]);
    let bob = f.employee("Bob", "Brook", &[1]);
    let cy = f.employee("Cy", "Cole", &[1]);
    let as_user = |u: UserId| f.actor(u, &[Scope::User]);

    // Given to a colleague, with a badge that exists.
    let first = appreciations::give(f.ctx(), &as_user(bob), ann, "Star", "Great launch").unwrap();
    f.clock.advance(Duration::seconds(5));
    appreciations::give(f.ctx(), &as_user(cy), ann, "star", "Thanks for the help").unwrap();
    f.clock.advance(Duration::seconds(5));
    appreciations::give(f.ctx(), &as_user(bob), ann, "cup", "Coffee!").unwrap();
    for (who, badge, message, field) in
        [(ann, "star", "me", "USER_ID"), (bob, "nope", "x", "BADGE"), (bob, "star", "  ", "MESSAGE")]
    {
        let r = appreciations::give(f.ctx(), &as_user(who), ann, badge, message);
        assert!(matches!(r, Err(CoreError::Validation { field: ref got, .. }) if got == field), "{r:?}");
    }
    let r = appreciations::give(other.ctx(), &other.admin, ann, "star", "cross");
    assert!(matches!(r, Err(CoreError::NotFound { .. })), "{r:?}");

    // Counts for everyone who sees her; messages for her, and each giver's own.
    let counts = appreciations::counts(f.ctx(), &as_user(cy), ann).unwrap();
    assert_eq!(counts, vec![("cup".to_string(), 1), ("star".to_string(), 2)]);
    let read = |reader: UserId| {
        let page = appreciations::list(f.ctx(), &as_user(reader), ann, PageRequest::default()).unwrap();
        page.items.iter().map(|a| a.message.clone()).collect::<Vec<_>>()
    };
    assert_eq!(read(ann), ["Coffee!", "Thanks for the help", "Great launch"]);
    assert_eq!(read(bob), ["Coffee!", "Great launch"]);
    assert_eq!(read(cy), ["Thanks for the help"]);
    let admin_reads = appreciations::list(f.ctx(), &f.admin, ann, PageRequest::default()).unwrap();
    assert_eq!(admin_reads.total, Some(0), "not even an administrator reads others' messages");
    assert_eq!(first.giver, bob);

    // Administrators add badge kinds.
    appreciations::add_badge(f.ctx(), &f.admin, "mentor", "Mentor").unwrap();
    let r = appreciations::add_badge(f.ctx(), &f.admin, "mentor", "Again");
    assert!(matches!(r, Err(CoreError::Conflict { .. })), "{r:?}");
    let r = appreciations::add_badge(f.ctx(), &f.admin, "star", "Star");
    assert!(matches!(r, Err(CoreError::Conflict { .. })), "{r:?}");
    let r = appreciations::add_badge(f.ctx(), &as_user(bob), "mine", "Mine");
    assert!(matches!(r, Err(CoreError::Forbidden { .. })), "{r:?}");
    appreciations::give(f.ctx(), &as_user(cy), bob, "mentor", "You taught me Rust").unwrap();
    let badges = appreciations::badges(f.ctx(), &as_user(cy)).unwrap();
    assert!(badges.iter().any(|b| b.code == "mentor" && !b.builtin));
    assert!(!appreciations::badges(other.ctx(), &other.admin).unwrap().iter().any(|b| b.code == "mentor"));

    // Layouts: the default until an administrator sets the account's, one's own until reset.
    let seen = |u: UserId| layout::layout(f.ctx(), &as_user(u)).unwrap();
    assert!(!seen(ann).own && seen(ann).fields.contains(&"EMAIL".to_string()));
    layout::set_layout(f.ctx(), &f.admin, &["email".into(), "WORK_PHONE".into(), "ABOUT".into()], true)
        .unwrap();
    assert_eq!(seen(ann).fields, ["EMAIL", "WORK_PHONE", "ABOUT"]);
    let own = layout::set_layout(f.ctx(), &as_user(ann), &["ABOUT".into(), "EMAIL".into()], false).unwrap();
    assert!(own.own);
    assert_eq!(seen(ann).fields, ["ABOUT", "EMAIL"]);
    assert_eq!(seen(bob).fields, ["EMAIL", "WORK_PHONE", "ABOUT"], "one's own layout is one's own");
    let r = layout::set_layout(f.ctx(), &as_user(bob), &["EMAIL".into()], true);
    assert!(matches!(r, Err(CoreError::Forbidden { .. })), "{r:?}");
    for bad in [vec!["NOPE".to_string()], vec!["EMAIL".into(), "email".into()]] {
        let r = layout::set_layout(f.ctx(), &as_user(bob), &bad, false);
        assert!(matches!(r, Err(CoreError::Validation { ref field, .. }) if field == "FIELDS"), "{r:?}");
    }
    let back = layout::reset_layout(f.ctx(), &as_user(ann)).unwrap();
    assert!(!back.own);
    assert_eq!(back.fields, ["EMAIL", "WORK_PHONE", "ABOUT"]);
    assert!(!layout::layout(other.ctx(), &other.admin).unwrap().fields.is_empty());
    assert_ne!(layout::layout(other.ctx(), &other.admin).unwrap().fields, ["EMAIL", "WORK_PHONE", "ABOUT"]);
}

pub fn uc_structure_overview(db: &dyn Database) {
    let f = Fixture::new(db);
    let other = Fixture::with_slug(db, "globex");
    let sales = f.dept("Sales", 1);
    let ann = f.employee("Ann", "Arbor", &[sales.0]);
    f.employee("Bob", "Brook", &[sales.0, 1]);
    other.employee("Cy", "Cole", &[1]);
    f.set_head(sales, Some(ann));
    let s = departments::structure_overview(f.ctx(), &f.admin).unwrap();
    assert_eq!(s.departments.iter().map(|d| d.id).collect::<Vec<_>>(), vec![DepartmentId(1), sales]);
    // The administrator is in the root department too.
    assert_eq!(s.members, vec![(DepartmentId(1), 2), (sales, 2)]);
    assert_eq!(s.heads, vec![(ann, "Ann Arbor".to_string())]);
    // A new member counts at once (a store may keep the counts between reads).
    f.employee("Cy", "Cole", &[sales.0]);
    let again = departments::structure_overview(f.ctx(), &f.admin).unwrap();
    assert_eq!(again.members, vec![(DepartmentId(1), 2), (sales, 3)]);
    let group = crate::usecase::workgroups::create_workgroup(f.ctx(), &f.admin, "Partners").unwrap().id;
    let guest = f.extranet("Gus", &[group]);
    let r = departments::structure_overview(f.ctx(), &f.actor(guest, &[Scope::Department]));
    assert!(matches!(r, Err(CoreError::Forbidden { .. })), "{r:?}");
}
