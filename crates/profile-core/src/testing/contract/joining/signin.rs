//! Contract cases for signing in and keeping an account safe: login changes and contacts,
//! passwords and resets, the lockout, two-step login and application passwords, social logins
//! and profile push, identity deletion, and REST credentials and the outbox's access rules.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use super::*;

pub fn uc_login_change_and_contacts(db: &dyn Database) {
    let f = Fixture::new(db);
    let (user, identity) = joined(&f, "lena@example.com");
    let (_, other) = joined(&f, "taken@example.com");

    let code_id = identities::request_login_change(f.ctx(), identity, "Lena@New.example").unwrap();
    let mail = last_message(&f, "lena@new.example");
    assert_eq!((mail.kind, mail.account), (MessageKind::ConfirmationCode, None));
    let code = code_in(&mail);
    let wrong = if code == "111111" { "222222" } else { "111111" };
    // Five wrong tries kill the code (paced, so the address's lockout does not step in).
    for _ in 0..5 {
        bad_login(identities::confirm_code(f.ctx(), identity, code_id, wrong, false));
        f.clock.advance(Duration::minutes(1));
    }
    bad_login(identities::confirm_code(f.ctx(), identity, code_id, &code, false));

    let code_id = identities::request_login_change(f.ctx(), identity, "lena@new.example").unwrap();
    let code = code_in(&last_message(&f, "lena@new.example"));
    bad_login(identities::confirm_code(f.ctx(), other, code_id, &code, false));
    let changed = identities::confirm_code(f.ctx(), identity, code_id, &code, true).unwrap();
    assert_eq!(changed.login, login("lena@new.example"));
    bad_login(log_in(&f, "lena@example.com", PASSWORD));
    logged_in(log_in(&f, "lena@new.example", PASSWORD));
    let view = users::get_user(f.ctx(), &f.admin, user, &crate::access::Select::All, true).unwrap();
    assert_eq!(
        view.get(UserField::Email),
        Some(&crate::Value::text("lena@new.example")),
        "pushed to the account"
    );

    // Somebody else's login cannot be taken, even with a code sent to it.
    let code_id = identities::request_login_change(f.ctx(), identity, "taken@example.com").unwrap();
    let code = code_in(&last_message(&f, "taken@example.com"));
    let r = identities::confirm_code(f.ctx(), identity, code_id, &code, false);
    assert!(matches!(r, Err(CoreError::Conflict { ref field, .. }) if field == "LOGIN"), "{r:?}");

    // A confirmed phone logs in too.
    let code_id = identities::request_contact(f.ctx(), identity, "+1 (555) 010-0199").unwrap();
    let code = code_in(&last_message(&f, "+15550100199"));
    identities::confirm_code(f.ctx(), identity, code_id, &code, true).unwrap();
    let (who, _) = logged_in(log_in(&f, "+15550100199", PASSWORD));
    assert_eq!(who, identity);
    let view = users::get_user(f.ctx(), &f.admin, user, &crate::access::Select::All, true).unwrap();
    assert_eq!(view.get(UserField::PersonalMobile), Some(&crate::Value::text("+15550100199")));
}

pub fn uc_passwords_and_reset(db: &dyn Database) {
    let f = Fixture::new(db);
    let (_, identity) = joined(&f, "pat@example.com");
    bad_login(identities::change_password(f.ctx(), identity, "not it at all", "new password 1"));
    let r = identities::change_password(f.ctx(), identity, PASSWORD, "short");
    assert!(matches!(r, Err(CoreError::Validation { ref field, .. }) if field == "password"));
    identities::change_password(f.ctx(), identity, PASSWORD, "new password 1").unwrap();
    bad_login(log_in(&f, "pat@example.com", PASSWORD));
    logged_in(log_in(&f, "pat@example.com", "new password 1"));

    // A reset for an unknown login answers the same and sends nothing.
    let before = f.db.read().unwrap().messages(None).unwrap().len();
    let ghost = identities::request_password_reset(f.ctx(), "ghost@example.com").unwrap();
    assert_eq!(f.db.read().unwrap().messages(None).unwrap().len(), before);
    bad_login(identities::reset_password(f.ctx(), ghost, "123456", "whatever pass"));

    let code_id = identities::request_password_reset(f.ctx(), "PAT@example.com").unwrap();
    let code = code_in(&last_message(&f, "pat@example.com"));
    identities::reset_password(f.ctx(), code_id, &code, "reset password 2").unwrap();
    bad_login(identities::reset_password(f.ctx(), code_id, &code, "reset password 3"));
    logged_in(log_in(&f, "pat@example.com", "reset password 2"));

    // A reset code sent to a login that changed since then is dead.
    let stale = identities::request_password_reset(f.ctx(), "pat@example.com").unwrap();
    let stale_code = code_in(&last_message(&f, "pat@example.com"));
    let change = identities::request_login_change(f.ctx(), identity, "pat@new.example").unwrap();
    let change_code = code_in(&last_message(&f, "pat@new.example"));
    identities::confirm_code(f.ctx(), identity, change, &change_code, false).unwrap();
    bad_login(identities::reset_password(f.ctx(), stale, &stale_code, "reset password 5"));
    logged_in(log_in(&f, "pat@new.example", "reset password 2"));

    // Guessing codes runs into the lockout of the address, like guessing passwords.
    let mut results = Vec::new();
    for _ in 0..3 {
        let id = identities::request_password_reset(f.ctx(), "pat@new.example").unwrap();
        let real = code_in(&last_message(&f, "pat@new.example"));
        let wrong = if real == "999999" { "999998" } else { "999999" };
        for _ in 0..4 {
            results.push(identities::reset_password(f.ctx(), id, wrong, "guessed password"));
        }
    }
    assert!(results.iter().any(|r| matches!(r, Err(CoreError::TooManyAttempts { .. }))), "{results:?}");
    f.clock.advance(Duration::hours(25));

    // Codes expire.
    let code_id = identities::request_password_reset(f.ctx(), "pat@new.example").unwrap();
    let code = code_in(&last_message(&f, "pat@new.example"));
    f.clock.advance(crate::model::identity::CODE_LIFETIME);
    bad_login(identities::reset_password(f.ctx(), code_id, &code, "reset password 4"));
}

pub fn uc_lockout(db: &dyn Database) {
    let f = Fixture::new(db);
    joined(&f, "lou@example.com");
    // The same sequence of answers for a login that exists and one that does not.
    for who in ["lou@example.com", "nobody@example.com"] {
        for _ in 0..3 {
            bad_login(log_in(&f, who, "wrong password"));
        }
        let locked = log_in(&f, who, PASSWORD);
        assert!(
            matches!(locked, Err(CoreError::TooManyAttempts { retry_after_secs: 2 })),
            "{who}: {locked:?}"
        );
        f.clock.advance(Duration::seconds(2));
        for _ in 3..10 {
            bad_login(log_in(&f, who, "wrong password"));
            f.clock.advance(Duration::seconds(600));
        }
        f.clock.advance(-Duration::seconds(600));
        let locked = log_in(&f, who, PASSWORD);
        assert!(
            matches!(locked, Err(CoreError::TooManyAttempts { retry_after_secs: 900 })),
            "{who}: {locked:?}"
        );
        f.clock.advance(Duration::minutes(15));
    }
    logged_in(log_in(&f, "lou@example.com", PASSWORD));
    // Success clears the count.
    bad_login(log_in(&f, "lou@example.com", "wrong password"));
    logged_in(log_in(&f, "lou@example.com", PASSWORD));
}

pub fn uc_two_step_and_app_passwords(db: &dyn Database) {
    let f = Fixture::new(db);
    let (_, identity) = joined(&f, "tom@example.com");
    let setup = identities::begin_totp(f.ctx(), identity, "Cardfile").unwrap();
    assert!(setup.uri.starts_with("otpauth://totp/Cardfile:tom@example.com?secret="));
    let secret = f.db.read().unwrap().identity(identity).unwrap().unwrap().totp.unwrap().secret;
    assert_eq!(totp::base32(&secret), setup.secret);
    // Not in force until confirmed.
    logged_in(log_in(&f, "tom@example.com", PASSWORD));
    let code_now = |f: &Fixture<'_>| format!("{:06}", totp::code_at(&secret, totp::step_at(f.clock.now())));
    // Everything here is deterministic (fixed clock, counting random source): this code is not
    // the current one, nor one of its neighbours.
    let wrong = format!("{:06}", (totp::code_at(&secret, totp::step_at(f.clock.now())) + 1) % 1_000_000);
    bad_login(identities::enable_totp(f.ctx(), identity, &wrong));
    let recovery = identities::enable_totp(f.ctx(), identity, &code_now(&f)).unwrap();
    assert_eq!(recovery.len(), identities::RECOVERY_CODES);

    assert_eq!(log_in(&f, "tom@example.com", PASSWORD).unwrap(), LoginOutcome::SecondFactorNeeded);
    let with = |f: &Fixture<'_>, code: &str| {
        identities::log_in(
            f.ctx(),
            &LockoutPolicy::default(),
            LoginAttempt {
                login: "tom@example.com",
                password: PASSWORD,
                second_factor: Some(code),
                app_passwords: true,
            },
        )
    };
    // The code used to switch it on cannot be replayed.
    bad_login(with(&f, &code_now(&f)));
    f.clock.advance(Duration::seconds(30));
    logged_in(with(&f, &code_now(&f)));
    bad_login(with(&f, &code_now(&f)));
    // A recovery code works once.
    logged_in(with(&f, &recovery[0].to_uppercase()));
    bad_login(with(&f, &recovery[0]));
    // The right second factor does not help a wrong password.
    f.clock.advance(Duration::seconds(30));
    bad_login(identities::log_in(
        f.ctx(),
        &LockoutPolicy::default(),
        LoginAttempt {
            login: "tom@example.com",
            password: "wrong password",
            second_factor: Some(&code_now(&f)),
            app_passwords: true,
        },
    ));

    // Application passwords skip the second factor, until revoked.
    let (app, password) = identities::create_app_password(f.ctx(), identity, "mail client").unwrap();
    assert!(!f
        .db
        .read()
        .unwrap()
        .identity(identity)
        .unwrap()
        .unwrap()
        .app_passwords
        .iter()
        .any(|p| p.hash == SecretHash::of("")));
    logged_in(log_in(&f, "tom@example.com", &password));
    identities::revoke_app_password(f.ctx(), identity, app.id).unwrap();
    bad_login(log_in(&f, "tom@example.com", &password));

    bad_login(identities::disable_totp(f.ctx(), identity, "wrong password"));
    identities::disable_totp(f.ctx(), identity, PASSWORD).unwrap();
    logged_in(log_in(&f, "tom@example.com", PASSWORD));
}

pub fn uc_socials_and_profile_push(db: &dyn Database) {
    let f = Fixture::new(db);
    let other = Fixture::with_slug(db, "globex");
    let (user, identity) = joined(&f, "sue@example.com");
    invite(&other, "sue@example.com");
    let token = link_token(&last_message(&other, "sue@example.com"), "/invite/");
    let second = invitations::accept_invitation(other.ctx(), &token, Acceptance::Existing(identity)).unwrap();
    let (_, someone) = joined(&f, "someone@example.com");

    identities::link_social(f.ctx(), identity, "Google", "g-123").unwrap();
    let social = |f: &Fixture<'_>, code: Option<&str>| {
        identities::log_in_social(f.ctx(), &LockoutPolicy::default(), "google", "g-123", code)
    };
    let (who, _) = logged_in(social(&f, None));
    assert_eq!(who, identity);
    // Two-step login applies to social logins too.
    identities::begin_totp(f.ctx(), identity, "Cardfile").unwrap();
    let secret = f.db.read().unwrap().identity(identity).unwrap().unwrap().totp.unwrap().secret;
    let code_now = |f: &Fixture<'_>| format!("{:06}", totp::code_at(&secret, totp::step_at(f.clock.now())));
    identities::enable_totp(f.ctx(), identity, &code_now(&f)).unwrap();
    assert_eq!(social(&f, None).unwrap(), LoginOutcome::SecondFactorNeeded);
    bad_login(social(&f, Some(&code_now(&f))));
    f.clock.advance(Duration::seconds(30));
    logged_in(social(&f, Some(&code_now(&f))));
    identities::disable_totp(f.ctx(), identity, PASSWORD).unwrap();
    let r = identities::link_social(f.ctx(), someone, "google", "g-123");
    assert!(matches!(r, Err(CoreError::Conflict { ref field, .. }) if field == "SOCIAL"));
    identities::unlink_social(f.ctx(), identity, "google", "g-123").unwrap();
    bad_login(social(&f, None));

    // Without push, the accounts keep their names; with it, every account gets the new ones.
    let edit = |name: &str| ProfileEdit { name: name.into(), last_name: "Sutton".into() };
    identities::update_profile(f.ctx(), identity, edit("Susan"), false).unwrap();
    let name = |fx: &Fixture<'_>, u: UserId| {
        users::get_user(fx.ctx(), &fx.admin, u, &crate::access::Select::All, true)
            .unwrap()
            .get(UserField::Name)
            .cloned()
    };
    assert_eq!(name(&f, user), Some(crate::Value::text("Ivy")));
    identities::update_profile(f.ctx(), identity, edit("Suzie"), true).unwrap();
    assert_eq!(name(&f, user), Some(crate::Value::text("Suzie")));
    assert_eq!(name(&other, second.user), Some(crate::Value::text("Suzie")));
    let r = identities::update_profile(f.ctx(), identity, edit(&"x".repeat(26)), true);
    assert!(matches!(r, Err(CoreError::Validation { ref field, .. }) if field == "NAME"), "{r:?}");
    assert_eq!(name(&other, second.user), Some(crate::Value::text("Suzie")), "bad input changes nothing");

    // The profile's photo: each account gets a copy at a URL of its own (no URL ties the
    // accounts together), and a removal pushed removes them.
    use crate::usecase::images::{self, PhotoChange};
    let photo = |fx: &Fixture<'_>, u: UserId| match users::get_user(
        fx.ctx(),
        &fx.admin,
        u,
        &crate::access::Select::All,
        true,
    )
    .unwrap()
    .get(UserField::PersonalPhoto)
    {
        Some(crate::Value::Text(t)) => t.clone(),
        _ => String::new(),
    };
    let copy = |fx: &Fixture<'_>, url: &str| {
        let rest = url.rsplit('/').nth(1).unwrap_or_default().to_string();
        images::served_copy(fx.ctx(), &rest, "large.png").unwrap().map(|c| c.1)
    };
    let upload = PhotoChange::Upload(crate::testing::TestImages::file("sue"));
    identities::set_profile_photo(f.ctx(), identity, &upload, false).unwrap();
    assert_eq!(photo(&f, user), "", "without push the accounts keep theirs");
    identities::set_profile_photo(f.ctx(), identity, &upload, true).unwrap();
    let (here, there) = (photo(&f, user), photo(&other, second.user));
    assert!(!here.is_empty() && here != there, "{here} {there}");
    assert_eq!(copy(&f, &here), Some(b"large sue".to_vec()));
    assert_eq!(copy(&other, &there), Some(b"large sue".to_vec()));
    // Renaming with push carries the photo too: an account whose photo was changed gets it back.
    images::set_photo(other.ctx(), &other.admin, second.user, &PhotoChange::Remove).unwrap();
    identities::update_profile(f.ctx(), identity, edit("Suzie"), true).unwrap();
    let again = photo(&other, second.user);
    assert_eq!(copy(&other, &again), Some(b"large sue".to_vec()));
    let r = identities::set_profile_photo(f.ctx(), identity, &PhotoChange::Upload(b"nope".to_vec()), true);
    assert!(matches!(r, Err(CoreError::Validation { ref field, .. }) if field == "PERSONAL_PHOTO"), "{r:?}");
    identities::set_profile_photo(f.ctx(), identity, &PhotoChange::Remove, true).unwrap();
    assert_eq!((photo(&f, user), photo(&other, second.user)), (String::new(), String::new()));
    assert_eq!(copy(&f, &here), None);
    assert_eq!(copy(&other, &again), None);
}

pub fn uc_identity_deletion(db: &dyn Database) {
    let f = Fixture::new(db);
    let (user, identity) = joined(&f, "dan@example.com");
    let r = identities::delete_identity(f.ctx(), identity, PASSWORD);
    assert!(matches!(r, Err(CoreError::Conflict { ref field, .. }) if field == "ACTIVE"), "{r:?}");
    bad_login(identities::delete_identity(f.ctx(), identity, "wrong password"));
    users::update_user(f.ctx(), &f.admin, user, &patch(&[(UserField::Active, "N")])).unwrap();
    identities::delete_identity(f.ctx(), identity, PASSWORD).unwrap();
    bad_login(log_in(&f, "dan@example.com", PASSWORD));
    // The dismissed record stays, without a login.
    assert!(users::get_user(f.ctx(), &f.admin, user, &crate::access::Select::All, true).is_ok());
    assert_eq!(identities::user_login(f.ctx(), &f.admin, user).unwrap(), None);
}

fn webhook(owner: Option<UserId>, scopes: &[Scope]) -> NewCredential {
    NewCredential {
        kind: CredentialKind::Webhook,
        name: "sync script".into(),
        owner,
        scopes: scopes.iter().copied().collect(),
        expires_at: None,
    }
}

fn failure(r: Result<credentials::Authenticated, CoreError>) -> AuthFailure {
    match r {
        Err(CoreError::Unauthorized { failure }) => failure,
        other => panic!("expected an authentication failure, got {other:?}"),
    }
}

pub fn uc_credentials(db: &dyn Database) {
    let f = Fixture::new(db);
    let other = Fixture::with_slug(db, "globex");
    let emp = f.employee("Wes", "Hook", &[1]);
    let employee = f.actor(emp, &[Scope::User]);
    let issued = credentials::create_credential(f.ctx(), &employee, webhook(None, &[Scope::User])).unwrap();
    assert_eq!(issued.token.len(), 32);
    assert!(issued.token.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
    assert_eq!(issued.credential.hash, SecretHash::of(&issued.token), "stored as SHA-256");
    assert_eq!(issued.credential.owner, emp);

    let auth = credentials::authenticate_webhook(f.ctx(), emp, &issued.token).unwrap();
    assert_eq!(
        auth.actor,
        Actor {
            account: f.account,
            user: Some(emp),
            role: crate::model::user::Role::Employee,
            scopes: [Scope::User].into_iter().collect()
        }
    );
    assert_eq!(
        failure(credentials::authenticate_webhook(f.ctx(), UserId(1), &issued.token)),
        AuthFailure::WrongOwner
    );
    assert_eq!(
        failure(credentials::authenticate_app_token(f.ctx(), &issued.token)),
        AuthFailure::UnknownCredential
    );
    let mut flipped = issued.token.clone();
    flipped.replace_range(0..1, if flipped.starts_with('a') { "b" } else { "a" });
    assert_eq!(
        failure(credentials::authenticate_webhook(f.ctx(), emp, &flipped)),
        AuthFailure::UnknownCredential
    );
    assert_eq!(
        failure(credentials::authenticate_webhook(f.ctx(), emp, "short")),
        AuthFailure::UnknownCredential
    );

    // Rules: only for oneself unless administrator; tokens are for administrators.
    let r = credentials::create_credential(f.ctx(), &employee, webhook(Some(UserId(1)), &[Scope::User]));
    assert!(matches!(r, Err(CoreError::Forbidden { .. })));
    let r = credentials::create_credential(
        f.ctx(),
        &employee,
        NewCredential { kind: CredentialKind::AppToken, ..webhook(None, &[Scope::User]) },
    );
    assert!(matches!(r, Err(CoreError::Forbidden { .. })));
    let brief = f.actor(emp, &[Scope::UserBrief]);
    let r = credentials::create_credential(f.ctx(), &brief, webhook(None, &[Scope::User]));
    assert!(matches!(r, Err(CoreError::Forbidden { .. })), "no scope escalation: {r:?}");
    assert!(credentials::create_credential(f.ctx(), &brief, webhook(None, &[Scope::UserBrief])).is_ok());
    let r = credentials::create_credential(f.ctx(), &f.admin, webhook(None, &[]));
    assert!(matches!(r, Err(CoreError::Validation { ref field, .. }) if field == "scopes"));
    let r = credentials::create_credential(
        f.ctx(),
        &f.admin,
        NewCredential { expires_at: Some(f.clock.now()), ..webhook(None, &[Scope::User]) },
    );
    assert!(matches!(r, Err(CoreError::Validation { ref field, .. }) if field == "expires_at"));
    let r = credentials::create_credential(f.ctx(), &f.admin, webhook(Some(UserId(999)), &[Scope::User]));
    assert!(matches!(r, Err(CoreError::Validation { ref field, .. }) if field == "owner"));
    let r = credentials::create_credential(other.ctx(), &other.admin, webhook(Some(emp), &[Scope::User]));
    assert!(
        matches!(r, Err(CoreError::Validation { ref field, .. }) if field == "owner"),
        "another account's user"
    );

    // An application token acts as its administrator, with its scopes, and can expire.
    let app = credentials::create_credential(
        f.ctx(),
        &f.admin,
        NewCredential {
            kind: CredentialKind::AppToken,
            name: "HR sync".into(),
            owner: None,
            scopes: [Scope::UserBasic, Scope::Department].into_iter().collect(),
            expires_at: Some(f.clock.now() + Duration::days(1)),
        },
    )
    .unwrap();
    let auth = credentials::authenticate_app_token(f.ctx(), &app.token).unwrap();
    assert_eq!(
        (auth.actor.user, auth.actor.role),
        (Some(UserId(1)), crate::model::user::Role::Administrator)
    );
    assert!(!auth.actor.scopes.has(Scope::User));
    assert_eq!(
        failure(credentials::authenticate_webhook(f.ctx(), UserId(1), &app.token)),
        AuthFailure::UnknownCredential
    );

    // Lists: administrators see all, others their own.
    assert_eq!(credentials::list_credentials(f.ctx(), &f.admin).unwrap().len(), 3);
    let mine = credentials::list_credentials(f.ctx(), &employee).unwrap();
    assert_eq!(mine.len(), 2);
    assert_eq!(mine[0].id, issued.credential.id);
    assert!(credentials::list_credentials(other.ctx(), &other.admin).unwrap().is_empty());

    // Revocation, expiry and dismissal take effect at once.
    assert!(matches!(
        credentials::revoke_credential(f.ctx(), &employee, app.credential.id),
        Err(CoreError::NotFound { .. })
    ));
    assert!(matches!(
        credentials::revoke_credential(other.ctx(), &other.admin, issued.credential.id),
        Err(CoreError::NotFound { .. })
    ));
    f.clock.advance(Duration::days(1));
    assert_eq!(failure(credentials::authenticate_app_token(f.ctx(), &app.token)), AuthFailure::Expired);
    users::update_user(f.ctx(), &f.admin, emp, &patch(&[(UserField::Active, "N")])).unwrap();
    assert_eq!(
        failure(credentials::authenticate_webhook(f.ctx(), emp, &issued.token)),
        AuthFailure::Dismissed
    );
    assert_eq!(
        failure(credentials::authenticate_webhook(f.ctx(), UserId(1), &issued.token)),
        AuthFailure::WrongOwner,
        "a wrong user ID is reported as such, whatever the owner's state"
    );
    users::update_user(f.ctx(), &f.admin, emp, &patch(&[(UserField::Active, "Y")])).unwrap();
    assert!(credentials::authenticate_webhook(f.ctx(), emp, &issued.token).is_ok());
    credentials::revoke_credential(f.ctx(), &employee, issued.credential.id).unwrap();
    credentials::revoke_credential(f.ctx(), &employee, issued.credential.id).unwrap();
    assert_eq!(
        failure(credentials::authenticate_webhook(f.ctx(), emp, &issued.token)),
        AuthFailure::UnknownCredential
    );
}

pub fn uc_outbox_access(db: &dyn Database) {
    let f = Fixture::new(db);
    let other = Fixture::with_slug(db, "globex");
    invite(&f, "o1@example.com");
    invite(&other, "o2@example.com");
    identities::request_password_reset(f.ctx(), "admin@acme.test").unwrap();
    let employee = f.actor(f.employee("Otto", "Box", &[1]), &[Scope::User]);
    assert!(matches!(outbox::list_messages(f.ctx(), &employee, false), Err(CoreError::Forbidden { .. })));
    let mine = outbox::list_messages(f.ctx(), &f.admin, false).unwrap();
    assert_eq!(mine.iter().map(|m| m.recipient.as_str()).collect::<Vec<_>>(), vec!["o1@example.com"]);
    assert!(matches!(outbox::list_messages(f.ctx(), &f.admin, true), Err(CoreError::Forbidden { .. })));
    let all = outbox::list_messages(f.ctx(), &Actor::operator(f.account), true).unwrap();
    assert_eq!(all.len(), 2, "no identity for admin@acme.test yet, so no reset message: {all:?}");
    outbox::mark_sent(f.ctx(), &f.admin, false, mine[0].id).unwrap();
    let after = outbox::list_messages(f.ctx(), &f.admin, false).unwrap();
    assert!(after[0].delivery.sent_at.is_some() && after[0].body_dropped());
    let err = outbox::mark_sent(
        f.ctx(),
        &f.admin,
        false,
        all.iter().find(|m| m.account != Some(f.account)).unwrap().id,
    );
    assert!(matches!(err, Err(CoreError::NotFound { .. })), "another account's message: {err:?}");
}
