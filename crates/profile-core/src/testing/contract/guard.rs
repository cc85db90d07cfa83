//! Sign-in tickets (two-step login asks the password once) and lockout by client address (one
//! client cannot lock others out).

use chrono::Duration;

use super::{joined, last_message, Fixture, PASSWORD};
use crate::error::{AuthFailure, CoreError};
use crate::model::identity::LockoutPolicy;
use crate::ports::{Clock, Database};
use crate::totp;
use crate::usecase::identities::{self, LoginAttempt};
use crate::usecase::sessions::{self, SignIn, TICKET_LIFETIME};
use crate::usecase::Ctx;

fn from<'a>(f: &'a Fixture<'a>, client: &'a str) -> Ctx<'a> {
    Ctx { client: Some(client), ..f.ctx() }
}

fn sign_in(ctx: Ctx<'_>, login: &str, password: &str) -> Result<SignIn, CoreError> {
    let attempt = LoginAttempt { login, password, second_factor: None, app_passwords: false };
    sessions::sign_in(ctx, &LockoutPolicy::default(), attempt, "test")
}

fn failure(r: Result<SignIn, CoreError>) -> AuthFailure {
    match r {
        Err(CoreError::Unauthorized { failure, .. }) => failure,
        other => panic!("expected a refusal: {other:?}"),
    }
}

fn locked(r: Result<SignIn, CoreError>) -> i64 {
    match r {
        Err(CoreError::TooManyAttempts { retry_after_secs }) => retry_after_secs,
        other => panic!("expected a lockout: {other:?}"),
    }
}

pub fn uc_sign_in_ticket(db: &dyn Database) {
    let f = Fixture::new(db);
    let policy = LockoutPolicy::default();
    let (_, identity) = joined(&f, "tia@example.com");
    identities::begin_totp(f.ctx(), identity, "Cardfile").unwrap();
    let secret = f.db.read().unwrap().identity(identity).unwrap().unwrap().totp.unwrap().secret;
    let code = |f: &Fixture<'_>| format!("{:06}", totp::code_at(&secret, totp::step_at(f.clock.now())));
    identities::enable_totp(f.ctx(), identity, &code(&f)).unwrap();
    f.clock.advance(Duration::seconds(30));

    let Ok(SignIn::SecondFactorNeeded { ticket }) = sign_in(f.ctx(), "tia@example.com", PASSWORD) else {
        panic!("a ticket for the second step");
    };
    // A wrong code keeps the ticket good; a forged or altered one is refused as stale.
    let wrong = format!("{:06}", (totp::code_at(&secret, totp::step_at(f.clock.now())) + 1) % 1_000_000);
    let second = |ticket: &str, code: &str| sessions::second_step(f.ctx(), &policy, ticket, code, "test");
    assert_eq!(failure(second(&ticket, &wrong)), AuthFailure::BadLogin);
    let mut forged = ticket.clone();
    forged.replace_range(forged.len() - 1.., if forged.ends_with('0') { "1" } else { "0" });
    assert_eq!(failure(second(&forged, &code(&f))), AuthFailure::Expired);
    assert_eq!(failure(second("not.a.ticket", &code(&f))), AuthFailure::Expired);
    let Ok(SignIn::Started(s)) = second(&ticket, &code(&f)) else { panic!("signed in with the code") };
    assert_eq!(s.session.identity, identity);

    // The ticket lasts TICKET_LIFETIME, and only while the password stays the same.
    let Ok(SignIn::SecondFactorNeeded { ticket }) = sign_in(f.ctx(), "tia@example.com", PASSWORD) else {
        panic!("a second ticket");
    };
    f.clock.advance(TICKET_LIFETIME + Duration::seconds(1));
    assert_eq!(failure(second(&ticket, &code(&f))), AuthFailure::Expired);
    let Ok(SignIn::SecondFactorNeeded { ticket }) = sign_in(f.ctx(), "tia@example.com", PASSWORD) else {
        panic!("a third ticket");
    };
    identities::change_password(f.ctx(), identity, PASSWORD, "a changed password 1").unwrap();
    f.clock.advance(Duration::seconds(30));
    assert_eq!(failure(second(&ticket, &code(&f))), AuthFailure::Expired);
}

pub fn uc_lockout_by_client_address(db: &dyn Database) {
    let f = Fixture::new(db);
    joined(&f, "uma@example.com");
    let policy = LockoutPolicy::default();
    let attacker = from(&f, "192.0.2.7");
    for _ in 0..policy.lock_after {
        let r = sign_in(attacker, "uma@example.com", "a wrong guess");
        if !matches!(r, Err(CoreError::TooManyAttempts { .. })) {
            assert_eq!(failure(r), AuthFailure::BadLogin);
        }
        f.clock.advance(Duration::minutes(10));
    }
    assert!(locked(sign_in(attacker, "uma@example.com", PASSWORD)) > 0, "the guesser is locked out");
    // The owner, from another address, is not.
    let Ok(SignIn::Started(_)) = sign_in(from(&f, "198.51.100.1"), "uma@example.com", PASSWORD) else {
        panic!("the owner signs in from their own address");
    };
    assert!(locked(sign_in(attacker, "uma@example.com", PASSWORD)) > 0, "the guesser stays locked out");

    // One address guessing at many logins runs into its own count.
    let spray = from(&f, "203.0.113.9");
    let per_address = LockoutPolicy::per_address();
    for i in 0..per_address.free_attempts {
        failure(sign_in(spray, &format!("nobody{i}@example.com"), "a wrong guess"));
    }
    assert!(locked(sign_in(spray, "someone@example.com", "a wrong guess")) >= 1);
    // …and so do its reset requests, which cost a message each.
    let asked = identities::request_password_reset(spray, "uma@example.com");
    assert!(matches!(asked, Err(CoreError::TooManyAttempts { .. })), "{asked:?}");
    assert!(identities::request_password_reset(from(&f, "198.51.100.1"), "uma@example.com").is_ok());

    // A wrong reset code locks only the address that guessed it.
    let code_id = identities::request_password_reset(attacker, "uma@example.com").unwrap_or_else(|e| {
        panic!("the first address may still ask for a code: {e:?}");
    });
    let mail = last_message(&f, "uma@example.com");
    let digits: String = mail.body.lines().find(|l| l.starts_with("    ")).unwrap().trim().into();
    let guessed = identities::reset_password(attacker, code_id, "000000", "whatever it is");
    assert!(matches!(guessed, Err(CoreError::TooManyAttempts { .. })), "still locked: {guessed:?}");
    identities::reset_password(from(&f, "198.51.100.1"), code_id, &digits, "uma's new password").unwrap();

    // The operator's unlock lifts every address's lock of the login.
    for _ in 0..policy.lock_after {
        let _ = sign_in(attacker, "uma@example.com", "a wrong guess");
        f.clock.advance(Duration::minutes(10));
    }
    assert!(locked(sign_in(attacker, "uma@example.com", "uma's new password")) > 0);
    identities::operator_unlock(f.ctx(), "uma@example.com").unwrap();
    let Ok(SignIn::Started(_)) = sign_in(attacker, "uma@example.com", "uma's new password") else {
        panic!("unlocked everywhere");
    };
}
