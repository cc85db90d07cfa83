//! Custom fields: definitions (admin only, scope `user.userfield`, type fixed, IDs never
//! reused), typed values written with the user and read under the scope rule, deleted fields'
//! values unread and purged, and nothing crossing accounts.

use super::Fixture;
use crate::access::{Scope, Select};
use crate::error::CoreError;
use crate::field::UserField;
use crate::ids::UserId;
use crate::model::custom::CustomKind;
use crate::model::user::UserPatch;
use crate::ports::Database;
use crate::query::{CustomCondition, Op, UserFilter};
use crate::usecase::custom::{self, CustomSelect, FieldSpec, OptionSpec};
use crate::usecase::invitations::{self, Invite};
use crate::usecase::users::{self, ReadOptions, UserUpdate};
use crate::Value;

fn spec(name: &str, kind: CustomKind) -> FieldSpec {
    FieldSpec { field_name: Some(name.into()), kind: Some(kind), ..FieldSpec::default() }
}

fn option(value: &str) -> OptionSpec {
    OptionSpec { value: value.into(), sort: 10, ..OptionSpec::default() }
}

fn set(f: &Fixture<'_>, user: UserId, pairs: &[(&str, Value)]) -> Result<(), CoreError> {
    let custom = pairs.iter().map(|(k, v)| ((*k).to_string(), v.clone())).collect();
    users::update_user_with(f.ctx(), &f.admin, user, UserUpdate { custom, ..UserUpdate::default() }).map(drop)
}

fn read(f: &Fixture<'_>, actor: &crate::access::Actor, user: UserId) -> Vec<(String, Value)> {
    let all = ReadOptions { custom: CustomSelect::All, ..ReadOptions::default() };
    users::get_user_with(f.ctx(), actor, user, &Select::All, &all).unwrap().custom
}

pub fn uc_custom_fields(db: &dyn Database) {
    let f = Fixture::new(db);
    let other = Fixture::with_slug(db, "globex");
    let ann = f.employee("Ann", "Arbor", &[1]);
    let bob = f.employee("Bob", "Brook", &[1]);

    // Definitions: names get the prefix; admins with the scope only; names unique.
    let skills = custom::add_field(f.ctx(), &f.admin, spec("skills", CustomKind::String)).unwrap();
    assert_eq!(skills.name, "UF_USR_SKILLS");
    let office = FieldSpec {
        options: Some(vec![option("Berlin"), option("Oslo")]),
        ..spec("UF_OFFICE", CustomKind::Enumeration)
    };
    let office = custom::add_field(f.ctx(), &f.admin, office).unwrap();
    assert_eq!(office.name, "UF_USR_OFFICE");
    let berlin = office.options.iter().find(|o| o.value == "Berlin").unwrap().id;
    let mentor = custom::add_field(f.ctx(), &f.admin, spec("mentor", CustomKind::Employee)).unwrap();
    let codes = FieldSpec { multiple: Some(true), ..spec("codes", CustomKind::Integer) };
    custom::add_field(f.ctx(), &f.admin, codes).unwrap();
    let r = custom::add_field(f.ctx(), &f.admin, spec("SKILLS", CustomKind::Integer));
    assert!(matches!(r, Err(CoreError::Conflict { ref field, .. }) if field == "FIELD_NAME"), "{r:?}");
    let r = custom::add_field(
        f.ctx(),
        &f.actor(ann, &[Scope::User, Scope::UserUserfield]),
        spec("x", CustomKind::String),
    );
    assert!(matches!(r, Err(CoreError::Forbidden { .. })), "{r:?}");
    let r = custom::add_field(f.ctx(), &f.admin, FieldSpec { kind: None, ..spec("y", CustomKind::String) });
    assert!(matches!(r, Err(CoreError::Validation { ref field, .. }) if field == "USER_TYPE_ID"), "{r:?}");
    assert_eq!(custom::list_fields(f.ctx(), &f.admin).unwrap().len(), 4);
    assert!(custom::list_fields(other.ctx(), &other.admin).unwrap().is_empty(), "fields are the account's");

    // The type, MULTIPLE and the name are fixed; options change by ID.
    let r = custom::update_field(
        f.ctx(),
        &f.admin,
        skills.id,
        FieldSpec { kind: Some(CustomKind::Integer), ..FieldSpec::default() },
    );
    assert!(matches!(r, Err(CoreError::Validation { ref field, .. }) if field == "USER_TYPE_ID"), "{r:?}");
    let r = custom::update_field(
        f.ctx(),
        &f.admin,
        skills.id,
        FieldSpec { multiple: Some(true), ..FieldSpec::default() },
    );
    assert!(r.is_err());
    let oslo = office.options.iter().find(|o| o.value == "Oslo").unwrap().id;
    let options = vec![OptionSpec { id: Some(oslo), delete: true, ..option("Oslo") }, option("Paris")];
    let changed = custom::update_field(
        f.ctx(),
        &f.admin,
        office.id,
        FieldSpec { options: Some(options), ..FieldSpec::default() },
    )
    .unwrap();
    let names: Vec<&str> = changed.options.iter().map(|o| o.value.as_str()).collect();
    assert_eq!(names, ["Berlin", "Paris"]);
    let r = custom::update_field(f.ctx(), &f.admin, 9_999, FieldSpec::default());
    assert!(matches!(r, Err(CoreError::NotFound { .. })), "{r:?}");

    // Values: typed, checked, written with the user.
    set(
        &f,
        ann,
        &[
            ("UF_USR_SKILLS", Value::text("Rust, SQL")),
            ("uf_usr_office", Value::Int(i64::from(berlin))),
            ("UF_USR_MENTOR", Value::Int(i64::from(bob.0))),
            ("UF_USR_CODES", Value::IntList(vec![3, 1])),
        ],
    )
    .unwrap();
    let want = vec![
        ("UF_USR_SKILLS".to_string(), Value::text("Rust, SQL")),
        ("UF_USR_OFFICE".to_string(), Value::Int(i64::from(berlin))),
        ("UF_USR_MENTOR".to_string(), Value::Int(i64::from(bob.0))),
        ("UF_USR_CODES".to_string(), Value::IntList(vec![3, 1])),
    ];
    assert_eq!(read(&f, &f.admin, ann), want);
    for bad in [
        ("UF_USR_OFFICE", Value::Int(i64::from(oslo))),
        ("UF_USR_MENTOR", Value::Int(9_999)),
        ("UF_USR_SKILLS", Value::IntList(vec![1, 2])),
        ("UF_USR_NOPE", Value::text("x")),
    ] {
        let r = set(&f, ann, &[("UF_USR_SKILLS", Value::text("changed")), bad.clone()]);
        assert!(matches!(r, Err(CoreError::Validation { .. })), "{bad:?}: {r:?}");
    }
    assert_eq!(read(&f, &f.admin, ann), want, "a refused write changes nothing");
    // Only the fields asked for; under user_brief, only with user.userfield.
    let named =
        ReadOptions { custom: CustomSelect::parse(["ID", "uf_usr_skills"]), ..ReadOptions::default() };
    let v = users::get_user_with(f.ctx(), &f.admin, ann, &Select::All, &named).unwrap();
    assert_eq!(v.custom, want[..1].to_vec());
    assert!(users::get_user(f.ctx(), &f.admin, ann, &Select::All, false).unwrap().custom.is_empty());
    assert!(read(&f, &f.actor(bob, &[Scope::UserBrief]), ann).is_empty());
    assert_eq!(read(&f, &f.actor(bob, &[Scope::UserBrief, Scope::UserUserfield]), ann), want);
    let page = users::find_users_with(
        f.ctx(),
        &f.actor(bob, &[Scope::User]),
        &f.query(crate::query::UserFilter::default()),
        &Select::parse(["ID"]),
        &ReadOptions { custom: CustomSelect::All, ..ReadOptions::default() },
    )
    .unwrap();
    let bobs = page.items.iter().find(|u| u.id == bob).unwrap();
    assert_eq!(bobs.custom[0], ("UF_USR_SKILLS".to_string(), Value::Null), "every field, empty ones too");
    assert_eq!(bobs.custom[3], ("UF_USR_CODES".to_string(), Value::IntList(vec![])));

    // Filters on custom fields, resolved into the users whose values pass.
    set(&f, bob, &[("UF_USR_CODES", Value::IntList(vec![2])), ("UF_USR_SKILLS", Value::text("Go"))]).unwrap();
    let found = |op: Op, name: &str, value: Value| -> Result<Vec<UserId>, CoreError> {
        let filter = UserFilter {
            custom: vec![CustomCondition { name: name.into(), op, value }],
            ..UserFilter::default()
        };
        let page = users::find_users(f.ctx(), &f.admin, &f.query(filter), &Select::parse(["ID"]), false)?;
        Ok(page.items.iter().map(|u| u.id).collect())
    };
    let everyone: Vec<UserId> =
        users::find_users(f.ctx(), &f.admin, &f.query(UserFilter::default()), &Select::All, false)
            .unwrap()
            .items
            .iter()
            .map(|u| u.id)
            .collect();
    let but = |out: &[UserId]| everyone.iter().copied().filter(|u| !out.contains(u)).collect::<Vec<_>>();
    assert_eq!(found(Op::Eq, "UF_USR_CODES", Value::Int(1)).unwrap(), vec![ann]);
    assert_eq!(found(Op::Eq, "UF_USR_CODES", Value::IntList(vec![2, 3])).unwrap(), vec![ann, bob]);
    assert_eq!(found(Op::Gt, "UF_USR_CODES", Value::Int(2)).unwrap(), vec![ann]);
    assert_eq!(found(Op::Le, "UF_USR_CODES", Value::Int(2)).unwrap(), vec![ann, bob]);
    assert_eq!(found(Op::Contains, "UF_USR_SKILLS", Value::text("sql")).unwrap(), vec![ann]);
    assert_eq!(found(Op::NotContains, "UF_USR_SKILLS", Value::text("SQL")).unwrap(), but(&[ann]));
    assert_eq!(found(Op::Eq, "UF_USR_OFFICE", Value::text("")).unwrap(), but(&[ann]), "= nothing: no value");
    assert_eq!(found(Op::Ne, "UF_USR_OFFICE", Value::text("")).unwrap(), vec![ann]);
    assert_eq!(found(Op::Ne, "UF_USR_MENTOR", Value::Int(i64::from(bob.0))).unwrap(), but(&[ann]));
    for (op, name, value) in [
        (Op::Eq, "UF_USR_CODES", Value::text("x")),
        (Op::Eq, "UF_USR_NOPE", Value::Int(1)),
        (Op::Contains, "UF_USR_CODES", Value::text("1")),
        (Op::Gt, "UF_USR_CODES", Value::IntList(vec![1, 2])),
    ] {
        let r = found(op, name, value.clone());
        assert!(matches!(r, Err(CoreError::Validation { .. })), "{op:?} {name} {value:?}: {r:?}");
    }
    let brief = f.actor(bob, &[Scope::UserBrief]);
    let filter = UserFilter {
        custom: vec![CustomCondition { name: "UF_USR_CODES".into(), op: Op::Eq, value: Value::Int(1) }],
        ..UserFilter::default()
    };
    let r = users::find_users(f.ctx(), &brief, &f.query(filter), &Select::All, false);
    assert!(
        matches!(r, Err(CoreError::Validation { .. })),
        "a reader who may not read values may not filter by them"
    );

    // Sorting by a custom field's first value: users without one first, ascending.
    let sorted = |name: &str, desc: bool| -> Vec<UserId> {
        let mut q = f.query(UserFilter::default());
        q.sort = vec![custom::sort_key(f.ctx(), &f.admin, name, desc).unwrap()];
        users::find_users(f.ctx(), &f.admin, &q, &Select::parse(["ID"]), false)
            .unwrap()
            .items
            .iter()
            .map(|u| u.id)
            .collect()
    };
    let by_skills = sorted("UF_USR_SKILLS", false);
    assert_eq!(by_skills[by_skills.len() - 2..], [bob, ann], "Go before Rust: {by_skills:?}");
    assert_eq!(sorted("uf_usr_skills", true)[..2], [ann, bob]);
    let by_codes = sorted("UF_USR_CODES", false);
    assert_eq!(by_codes[by_codes.len() - 2..], [bob, ann], "2 before 3: {by_codes:?}");
    assert_eq!(by_codes[..by_codes.len() - 2], but(&[ann, bob])[..], "the rest by ID");
    assert!(custom::sort_key(f.ctx(), &f.admin, "UF_USR_NOPE", false).is_err());
    assert!(custom::sort_key(f.ctx(), &f.actor(bob, &[Scope::UserBrief]), "UF_USR_CODES", false).is_err());

    // EDIT_IN_LIST=N: only administrators change the field.
    custom::update_field(
        f.ctx(),
        &f.admin,
        mentor.id,
        FieldSpec { edit_in_list: Some(false), ..FieldSpec::default() },
    )
    .unwrap();
    let own = UserUpdate { custom: vec![("UF_USR_MENTOR".into(), Value::text(""))], ..UserUpdate::default() };
    let r = users::update_user_with(f.ctx(), &f.actor(bob, &[Scope::User]), bob, own);
    assert!(matches!(r, Err(CoreError::Forbidden { .. })), "{r:?}");
    let own = UserUpdate {
        custom: vec![("UF_USR_CODES".into(), Value::IntList(vec![4]))],
        ..UserUpdate::default()
    };
    users::update_user_with(f.ctx(), &f.actor(bob, &[Scope::User]), bob, own).unwrap();
    // A deleted option is no value any more.
    let deleted = vec![OptionSpec { id: Some(berlin), delete: true, ..option("Berlin") }];
    custom::update_field(
        f.ctx(),
        &f.admin,
        office.id,
        FieldSpec { options: Some(deleted), ..FieldSpec::default() },
    )
    .unwrap();
    assert_eq!(read(&f, &f.admin, ann)[1], ("UF_USR_OFFICE".to_string(), Value::Null));

    // Mandatory fields need a value when a user is created with values.
    custom::update_field(
        f.ctx(),
        &f.admin,
        skills.id,
        FieldSpec { mandatory: Some(true), ..FieldSpec::default() },
    )
    .unwrap();
    let invite = |address: &str| Invite {
        address: address.into(),
        fields: UserPatch::parse([(UserField::UfDepartment, Value::IntList(vec![1]))]).unwrap(),
        ..Invite::default()
    };
    let r = invitations::invite_by_email_with(f.ctx(), &f.admin, invite("cy@example.com"), None, Some(&[]));
    assert!(matches!(r, Err(CoreError::Validation { ref field, .. }) if field == "UF_USR_SKILLS"), "{r:?}");
    let given = [("UF_USR_SKILLS".to_string(), Value::text("Go"))];
    let cy =
        invitations::invite_by_email_with(f.ctx(), &f.admin, invite("cy@example.com"), None, Some(&given))
            .unwrap();
    assert_eq!(read(&f, &f.admin, cy.user.id)[0].1, Value::text("Go"));

    // A deleted field is unread at once, purged later; its ID is never reused.
    custom::delete_field(f.ctx(), &f.admin, skills.id).unwrap();
    assert_eq!(read(&f, &f.admin, ann).len(), 3);
    let purged =
        crate::usecase::maintenance::purge_stale_records(f.ctx(), &Default::default(), &Default::default());
    assert!(purged.unwrap().custom_values >= 2, "housekeeping purges the deleted field's values");
    let mut tx = db.write().unwrap();
    assert_eq!(tx.purge_custom_values(100).unwrap(), 0);
    tx.commit().unwrap();
    let again = custom::add_field(f.ctx(), &f.admin, spec("skills", CustomKind::String)).unwrap();
    assert!(again.id > mentor.id);
    assert_eq!(
        read(&f, &f.admin, ann)[3],
        ("UF_USR_SKILLS".to_string(), Value::Null),
        "no old value comes back"
    );
}

/// `FIND` also looks at the words of searchable (`IS_SEARCHABLE`) string fields, for readers
/// who may read custom values: at once when a value changes or a field becomes searchable or
/// stops being; never a deleted field's, another account's, or a field of another type.
pub fn uc_custom_fields_in_quick_search(db: &dyn Database) {
    let f = Fixture::new(db);
    let other = Fixture::with_slug(db, "globex");
    let ann = f.employee("Ann", "Arbor", &[1]);
    let bob = f.employee("Bob", "Brook", &[1]);
    let carl = other.employee("Carl", "Cole", &[1]);
    let searchable = |name: &str, kind: CustomKind| FieldSpec { searchable: Some(true), ..spec(name, kind) };
    let office = custom::add_field(f.ctx(), &f.admin, searchable("office", CustomKind::String)).unwrap();
    let skills = custom::add_field(f.ctx(), &f.admin, spec("skills", CustomKind::String)).unwrap();
    custom::add_field(f.ctx(), &f.admin, searchable("badge", CustomKind::Integer)).unwrap();
    custom::add_field(other.ctx(), &other.admin, searchable("office", CustomKind::String)).unwrap();
    set(&f, ann, &[("UF_USR_OFFICE", Value::text("Berlin Mitte")), ("UF_USR_SKILLS", Value::text("Rust"))])
        .unwrap();
    set(&f, bob, &[("UF_USR_OFFICE", Value::text("Bern")), ("UF_USR_BADGE", Value::Int(4711))]).unwrap();
    let custom = vec![("UF_USR_OFFICE".to_string(), Value::text("Berlin"))];
    users::update_user_with(other.ctx(), &other.admin, carl, UserUpdate { custom, ..UserUpdate::default() })
        .unwrap();

    let found = |actor: &crate::access::Actor, text: &str| {
        let mut q = f.query(UserFilter::default().with_find(text).unwrap());
        q.page.count_total = true;
        let page = users::find_users(f.ctx(), actor, &q, &Select::All, false).unwrap();
        let ids: Vec<u32> = page.items.iter().map(|u| u.id.0).collect();
        assert_eq!(page.total, Some(ids.len() as u64), "FIND={text}: the total counts the same users");
        ids
    };
    let admin = f.admin.clone();
    for (text, who) in [
        ("berlin", vec![ann.0]),
        ("mitte", vec![ann.0]),
        // A short word's total comes from counts that leave custom words out: it is counted.
        ("ber", vec![ann.0, bob.0]),
        ("b", vec![ann.0, bob.0]),
        ("ann mitt", vec![ann.0]),
        ("bob mitte", vec![]),
        ("rust", vec![]),
        ("4711", vec![]),
    ] {
        assert_eq!(found(&admin, text), who, "FIND={text}");
    }
    // Under user_basic, custom values are read only with the user.userfield scope; so are
    // they searched.
    let basic = f.actor(bob, &[Scope::UserBasic]);
    assert_eq!(found(&basic, "mitte"), Vec::<u32>::new(), "no probing of unreadable values");
    let with_scope = f.actor(bob, &[Scope::UserBasic, Scope::UserUserfield]);
    assert_eq!(found(&with_scope, "mitte"), vec![ann.0]);

    // A field that becomes searchable is searched at once, and stops at once.
    let on = FieldSpec { searchable: Some(true), ..FieldSpec::default() };
    custom::update_field(f.ctx(), &f.admin, skills.id, on.clone()).unwrap();
    assert_eq!(found(&admin, "rust"), vec![ann.0]);
    let off = FieldSpec { searchable: Some(false), ..FieldSpec::default() };
    custom::update_field(f.ctx(), &f.admin, office.id, off).unwrap();
    assert_eq!(found(&admin, "mitte"), Vec::<u32>::new());
    custom::update_field(f.ctx(), &f.admin, office.id, on).unwrap();

    // A changed value is found by its new words only; a cleared one by none.
    set(&f, ann, &[("UF_USR_OFFICE", Value::text("Paris"))]).unwrap();
    assert_eq!(found(&admin, "berlin"), Vec::<u32>::new());
    assert_eq!(found(&admin, "pari"), vec![ann.0]);
    set(&f, bob, &[("UF_USR_OFFICE", Value::Null)]).unwrap();
    assert_eq!(found(&admin, "bern"), Vec::<u32>::new());

    // A deleted field is searched no more, nor is a new field of the same name.
    custom::delete_field(f.ctx(), &f.admin, office.id).unwrap();
    assert_eq!(found(&admin, "pari"), Vec::<u32>::new());
    custom::add_field(f.ctx(), &f.admin, searchable("office", CustomKind::String)).unwrap();
    assert_eq!(found(&admin, "pari"), Vec::<u32>::new(), "the old values do not come back");

    // The other account's values stay its own.
    assert_eq!(found(&admin, "berlin"), Vec::<u32>::new());
    let mut q = other.query(UserFilter::default().with_find("berlin").unwrap());
    q.page.count_total = true;
    let theirs = users::find_users(other.ctx(), &other.admin, &q, &Select::All, false).unwrap();
    assert_eq!(theirs.items.iter().map(|u| u.id).collect::<Vec<_>>(), vec![carl]);
}
