//! Activity: `LAST_ACTIVITY_DATE` moves forward only, makes `IS_ONLINE` for 15 minutes, and is
//! no change of the user.

use chrono::Duration;

use super::Fixture;
use crate::access::Select;
use crate::field::UserField;
use crate::ports::{Clock, Database};
use crate::query::{Condition, Op, PageRequest, UserFilter, UserQuery};
use crate::usecase::users;
use crate::value::Value;

pub fn uc_activity(db: &dyn Database) {
    let f = Fixture::new(db);
    let ann = f.employee("Ann", "Arbor", &[1]);
    let bob = f.employee("Bob", "Brook", &[1]);
    let before = db.read().unwrap().user(f.account, ann).unwrap().unwrap();
    assert_eq!(before.last_activity, None);
    let online = |now| {
        let q = UserQuery {
            filter: UserFilter::default()
                .and(Condition::parse(UserField::IsOnline, Op::Eq, &Value::Bool(true)).unwrap()),
            sort: Vec::new(),
            page: PageRequest::from_start(0).unwrap(),
            now,
        };
        let page = users::find_users(f.ctx(), &f.admin, &q, &Select::All, false).unwrap();
        page.items.iter().map(|u| u.id).collect::<Vec<_>>()
    };
    f.clock.advance(Duration::minutes(1));
    let at = f.clock.now();
    users::record_activity(f.ctx(), &[(f.account, ann)]).unwrap();
    let after = db.read().unwrap().user(f.account, ann).unwrap().unwrap();
    assert_eq!(after.last_activity, Some(at));
    assert_eq!(after.updated_at, before.updated_at, "activity is no change of the user");
    assert_eq!(online(at), vec![ann]);
    // Never back: an older report (another process's, written late) changes nothing.
    f.clock.advance(Duration::minutes(-10));
    users::record_activity(f.ctx(), &[(f.account, ann), (f.account, bob)]).unwrap();
    let ann_now = db.read().unwrap().user(f.account, ann).unwrap().unwrap();
    assert_eq!(ann_now.last_activity, Some(at));
    let bob_now = db.read().unwrap().user(f.account, bob).unwrap().unwrap();
    assert_eq!(bob_now.last_activity, Some(at - Duration::minutes(10)));
    // Online for 15 minutes after the last activity.
    assert_eq!(online(at + Duration::minutes(14)), vec![ann]);
    assert!(online(at + Duration::minutes(16)).is_empty());
    // An unknown user is no error.
    users::record_activity(f.ctx(), &[(f.account, crate::ids::UserId(9999))]).unwrap();
}

pub fn uc_presence_status(db: &dyn Database) {
    use crate::access::Scope;
    use crate::error::CoreError;
    use crate::model::user::PresenceStatus;
    let f = Fixture::new(db);
    let ann = f.employee("Ann", "Arbor", &[1]);
    let bob = f.employee("Bob", "Brook", &[1]);
    let as_ann = f.actor(ann, &[Scope::Im]);
    let as_bob = f.actor(bob, &[Scope::Im, Scope::User]);
    assert_eq!(users::status(f.ctx(), &as_ann).unwrap(), None, "never set");
    let before = db.read().unwrap().user(f.account, ann).unwrap().unwrap();
    users::set_status(f.ctx(), &as_ann, PresenceStatus::Dnd).unwrap();
    assert_eq!(users::status(f.ctx(), &as_ann).unwrap(), Some(PresenceStatus::Dnd));
    assert_eq!(users::status(f.ctx(), &as_bob).unwrap(), None, "each sets their own");
    users::set_status(f.ctx(), &as_ann, PresenceStatus::Break).unwrap();
    assert_eq!(users::status(f.ctx(), &as_ann).unwrap(), Some(PresenceStatus::Break));
    let after = db.read().unwrap().user(f.account, ann).unwrap().unwrap();
    assert_eq!(after, before, "a status is no change of the user");
    let without = f.actor(ann, &[Scope::User]);
    assert!(matches!(
        users::set_status(f.ctx(), &without, PresenceStatus::Away),
        Err(CoreError::InsufficientScope { needed: "im" })
    ));
    assert_eq!(
        users::status(f.ctx(), &as_ann).unwrap(),
        Some(PresenceStatus::Break),
        "a refusal changes nothing"
    );
    for s in PresenceStatus::ALL {
        assert_eq!(PresenceStatus::from_code(s.code()), Some(s));
    }
    assert_eq!(PresenceStatus::from_code("DND"), None, "lower case only");
}

pub fn uc_messenger_structure(db: &dyn Database) {
    use crate::access::Scope;
    use crate::error::CoreError;
    use crate::ids::DepartmentId;
    use crate::usecase::messenger;
    let f = Fixture::new(db);
    let sales = f.dept("Sales", 1);
    let east = f.dept("East", sales.0);
    let ann = f.employee("Ann", "Arbor", &[sales.0]);
    let bob = f.employee("Bob", "Brook", &[east.0]);
    f.set_head(sales, Some(ann));
    let reader = f.actor(bob, &[Scope::Im]);
    let found = messenger::departments(f.ctx(), &reader, &[east, DepartmentId(999), sales]).unwrap();
    let root = db.read().unwrap().department(f.account, DepartmentId(1)).unwrap().unwrap().name;
    assert_eq!(found.len(), 2, "unknown departments are left out");
    assert_eq!(found[0].path, vec![root.clone(), "Sales".into(), "East".into()]);
    assert_eq!((found[0].head, found[1].head), (None, Some(ann)));
    let people = messenger::employees(f.ctx(), &reader, &[sales, east]).unwrap();
    assert_eq!(people, vec![(sales, vec![ann]), (east, vec![bob])]);
    let cards = messenger::cards(f.ctx(), &reader, &[bob, ann, crate::ids::UserId(999)]).unwrap();
    assert_eq!(cards.iter().map(|c| c.user.id).collect::<Vec<_>>(), vec![ann, bob]);
    assert!(matches!(messenger::departments(f.ctx(), &reader, &[]), Err(CoreError::Validation { .. })));
    // Bob's colleagues: East's members and his supervisor; Ann's: Sales' members and her
    // subordinates (Bob, through East, which has no head).
    let carl = f.employee("Carl", "Cole", &[east.0]);
    assert_eq!(messenger::colleagues(f.ctx(), &reader, 0, 10).unwrap(), (vec![ann, carl], 2));
    assert_eq!(messenger::colleagues(f.ctx(), &reader, 1, 10).unwrap(), (vec![carl], 2));
    let as_ann = f.actor(ann, &[Scope::Im]);
    assert_eq!(messenger::colleagues(f.ctx(), &as_ann, 0, 50).unwrap(), (vec![bob, carl], 2));
    assert!(matches!(messenger::colleagues(f.ctx(), &as_ann, 0, 51), Err(CoreError::Validation { .. })));
    let without = f.actor(bob, &[Scope::User]);
    assert!(matches!(
        messenger::employees(f.ctx(), &without, &[sales]),
        Err(CoreError::InsufficientScope { needed: "im" })
    ));
}
