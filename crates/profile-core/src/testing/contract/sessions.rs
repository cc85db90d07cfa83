//! Web sessions on a store: signing in, resuming, "last seen", expiry, signing out, the
//! identity's list, and the changes that end every session.

use chrono::Duration;

use super::{joined, last_message, Fixture, PASSWORD};
use crate::error::CoreError;
use crate::model::identity::LockoutPolicy;
use crate::model::session::{SessionId, SessionPolicy};
use crate::ports::{Clock, Database};
use crate::usecase::identities::{self, LoginAttempt};
use crate::usecase::maintenance;
use crate::usecase::sessions::{self, SignIn, Started};

fn attempt<'a>(login: &'a str, password: &'a str) -> LoginAttempt<'a> {
    LoginAttempt { login, password, second_factor: None, app_passwords: false }
}

fn started(f: &Fixture<'_>, login: &str, password: &str, device: &str) -> Started {
    match sessions::sign_in(f.ctx(), &LockoutPolicy::default(), attempt(login, password), device).unwrap() {
        SignIn::Started(s) => s,
        SignIn::SecondFactorNeeded { .. } => panic!("no second factor set"),
    }
}

fn unauthorized<T: std::fmt::Debug>(r: Result<T, CoreError>) {
    assert!(matches!(r, Err(CoreError::Unauthorized { .. })), "{r:?}");
}

pub fn uc_sessions(db: &dyn Database) {
    let f = Fixture::new(db);
    let policy = SessionPolicy::default();
    let (user, identity) = joined(&f, "sam@example.com");
    let before = f.db.read().unwrap().user(f.account, user).unwrap().unwrap();
    f.clock.advance(chrono::Duration::minutes(1));
    let a = started(&f, "sam@example.com", PASSWORD, &format!("Firefox\n{}", "x".repeat(300)));
    // A sign-in is the user's LAST_LOGIN and activity, and no change of the user.
    let after = f.db.read().unwrap().user(f.account, user).unwrap().unwrap();
    assert_eq!((after.last_login, after.last_activity), (Some(f.clock.now()), Some(f.clock.now())));
    assert_eq!(after.updated_at, before.updated_at);
    assert_eq!(a.session.identity, identity);
    assert_eq!(a.memberships.iter().map(|m| m.user).collect::<Vec<_>>(), vec![user]);
    assert!(a.token.len() >= 22, "at least 128 bits");
    assert_eq!(a.session.device.chars().count(), 200);
    assert!(!a.session.device.contains('\n'));
    let resumed = sessions::resume(f.ctx(), &policy, &a.token).unwrap();
    assert_eq!(resumed.id, a.session.id);
    unauthorized(sessions::resume(f.ctx(), &policy, "not a token"));
    unauthorized(sessions::sign_in(
        f.ctx(),
        &LockoutPolicy::default(),
        attempt("sam@example.com", "wrong one"),
        "x",
    ));

    // Application passwords work for REST's Basic authentication, never for /login.
    let (_, app) = identities::create_app_password(f.ctx(), identity, "Mail client").unwrap();
    unauthorized(sessions::sign_in(
        f.ctx(),
        &LockoutPolicy::default(),
        attempt("sam@example.com", &app),
        "x",
    ));
    let rest = LoginAttempt { app_passwords: true, ..attempt("sam@example.com", &app) };
    assert!(identities::log_in(f.ctx(), &LockoutPolicy::default(), rest).is_ok());

    // "Last seen" is written at most once a minute, and keeps an idle session alive.
    f.clock.advance(Duration::seconds(30));
    assert!(!sessions::touch(f.ctx(), &policy, &resumed).unwrap());
    f.clock.advance(Duration::seconds(31));
    assert!(sessions::touch(f.ctx(), &policy, &resumed).unwrap());
    let seen = sessions::resume(f.ctx(), &policy, &a.token).unwrap().last_seen;
    assert_eq!(seen.timestamp(), f.clock.now().timestamp());
    f.clock.advance(policy.idle - Duration::seconds(1));
    assert!(sessions::resume(f.ctx(), &policy, &a.token).is_ok(), "just inside the idle time");
    f.clock.advance(Duration::seconds(2));
    unauthorized(sessions::resume(f.ctx(), &policy, &a.token));

    // Used all the time, a session still ends at its absolute age.
    let b = started(&f, "sam@example.com", PASSWORD, "Chrome");
    assert_ne!(b.session.id, a.session.id, "a new session at every sign-in");
    for _ in 0..15 {
        f.clock.advance(Duration::days(1));
        let s = sessions::resume(f.ctx(), &policy, &b.token);
        match s {
            Ok(s) => {
                sessions::touch(f.ctx(), &policy, &s).unwrap();
            }
            Err(_) => break,
        }
    }
    unauthorized(sessions::resume(f.ctx(), &policy, &b.token));
    // The sweep deletes the records of ended sessions an hour after they ended.
    f.clock.advance(Duration::hours(2));
    let purged = maintenance::purge_stale_records(f.ctx(), &LockoutPolicy::default(), &policy).unwrap();
    assert_eq!(purged.sessions, 2, "{purged:?}");
    assert!(f.db.read().unwrap().sessions_of(identity).unwrap().is_empty());

    // The list, ending one, signing out.
    let c = started(&f, "sam@example.com", PASSWORD, "Phone");
    let d = started(&f, "sam@example.com", PASSWORD, "Laptop");
    let listed: Vec<SessionId> =
        sessions::list_sessions(f.ctx(), &policy, identity).unwrap().iter().map(|s| s.id).collect();
    assert_eq!(listed, vec![c.session.id, d.session.id], "live ones, oldest first");
    sessions::end_session(f.ctx(), identity, c.session.id).unwrap();
    unauthorized(sessions::resume(f.ctx(), &policy, &c.token));
    assert!(sessions::resume(f.ctx(), &policy, &d.token).is_ok());
    joined(&f, "otto@example.com");
    let e = started(&f, "otto@example.com", PASSWORD, "Otto's");
    let err = sessions::end_session(f.ctx(), identity, e.session.id);
    assert!(matches!(err, Err(CoreError::NotFound { .. })), "not sam's: {err:?}");
    assert!(sessions::resume(f.ctx(), &policy, &e.token).is_ok());
    sessions::sign_out(f.ctx(), &d.token).unwrap();
    unauthorized(sessions::resume(f.ctx(), &policy, &d.token));
    sessions::sign_out(f.ctx(), &d.token).unwrap();

    // A password change or reset ends every session of the identity, and only its.
    let g = started(&f, "sam@example.com", PASSWORD, "One");
    let h = started(&f, "sam@example.com", PASSWORD, "Two");
    identities::change_password(f.ctx(), identity, PASSWORD, "a new long password 2").unwrap();
    unauthorized(sessions::resume(f.ctx(), &policy, &g.token));
    unauthorized(sessions::resume(f.ctx(), &policy, &h.token));
    assert!(sessions::resume(f.ctx(), &policy, &e.token).is_ok(), "otto stays signed in");
    let i = started(&f, "otto@example.com", PASSWORD, "Again");
    let code_id = identities::request_password_reset(f.ctx(), "otto@example.com").unwrap();
    let mail = last_message(&f, "otto@example.com");
    let digits: String = mail.body.lines().find(|l| l.starts_with("    ")).unwrap().trim().into();
    identities::reset_password(f.ctx(), code_id, &digits, "otto's new password").unwrap();
    unauthorized(sessions::resume(f.ctx(), &policy, &i.token));
    unauthorized(sessions::resume(f.ctx(), &policy, &e.token));

    // Live sessions survive the sweep.
    let live = started(&f, "otto@example.com", "otto's new password", "Live");
    let purged = maintenance::purge_stale_records(f.ctx(), &LockoutPolicy::default(), &policy).unwrap();
    assert_eq!(purged.sessions, 0, "{purged:?}");
    assert!(sessions::resume(f.ctx(), &policy, &live.token).is_ok());
    assert!(f.db.read().unwrap().sessions_of(identity).unwrap().is_empty(), "every one of sam's has ended");
}

/// [`crate::usecase::reading`]: use cases inside read what is committed; where the store has
/// read sessions they read one snapshot (a write committed meanwhile is not seen) and may not
/// write.
pub fn uc_read_session(db: &dyn Database) {
    use crate::access::Select;
    use crate::field::UserField;
    use crate::model::user::UserPatch;
    use crate::usecase::users;
    use crate::Value;

    let f = Fixture::new(db);
    let (user, _) = joined(&f, "rita@example.com");
    let set = |name: &str| {
        let patch = UserPatch::from_text([(UserField::Name, name)]).unwrap();
        users::update_user(f.ctx(), &f.admin, user, &patch)
    };
    fn name_in(
        ctx: crate::usecase::Ctx<'_>,
        f: &Fixture<'_>,
        user: crate::ids::UserId,
    ) -> Result<Option<Value>, CoreError> {
        Ok(users::get_user(ctx, &f.admin, user, &Select::All, false)?.get(UserField::Name).cloned())
    }
    let name = |ctx: crate::usecase::Ctx<'_>| name_in(ctx, &f, user);
    set("Rita").unwrap();
    let snapshots = db.read_session().is_some();
    let (first, second, write) = crate::usecase::reading(f.ctx(), |ctx| {
        let first = name(ctx)?;
        // Committed outside the session, between two of its reads.
        set("Rosa").unwrap();
        let second = name(ctx)?;
        let write = users::update_user(ctx, &f.admin, user, &UserPatch::from_text([(UserField::Name, "X")])?);
        Ok((first, second, write))
    })
    .unwrap();
    assert_eq!(first, Some(Value::Text("Rita".into())));
    let rosa = Some(Value::Text("Rosa".into()));
    if snapshots {
        assert_eq!(second, first, "one snapshot for the whole session");
        assert!(matches!(write, Err(CoreError::Storage(crate::StoreError::ReadOnly))), "{write:?}");
        // Afterwards the latest is read again.
        assert_eq!(name(f.ctx()).unwrap(), rosa);
    } else {
        assert_eq!(second, rosa);
        write.unwrap();
    }
}
