//! Properties of joining and authentication, on every store: an invitation token works once and
//! only inside its window; a credential never authenticates after its revocation; no flow tells
//! a caller whether a login exists.

use chrono::Duration;
use profile_core::access::Scope;
use profile_core::ids::UserId;
use profile_core::model::credential::CredentialKind;
use profile_core::model::identity::LockoutPolicy;
use profile_core::model::invitation::INVITATION_LIFETIME;
use profile_core::testing::contract::{self, Fixture, PASSWORD};
use profile_core::usecase::credentials::{self, NewCredential};
use profile_core::usecase::identities::{self, LoginAttempt};
use profile_core::usecase::invitations::{self, Acceptance, SelfRegistration};
use profile_core::{AuthFailure, CoreError};
use proptest::prelude::*;

use crate::stores::one_store;

/// What an answer says, without the parts that must differ (IDs).
fn shape<T>(r: &Result<T, CoreError>) -> String {
    match r {
        Ok(_) => "ok".into(),
        Err(CoreError::TooManyAttempts { retry_after_secs }) => format!("wait {retry_after_secs}"),
        Err(e) => format!("{e}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Accepting works exactly once, only before the expiry and only if not revoked; a token with
    /// one character changed never works.
    #[test]
    fn an_invitation_token_works_once_inside_its_window(
        wait_secs in 0i64..(2 * INVITATION_LIFETIME.num_seconds()),
        revoke in any::<bool>(),
        tries in 1usize..4,
        flip in 0usize..32,
    ) {
        let stores = one_store();
        let db = stores.db();
        let f = Fixture::new(db);
        let invited = contract::invite(&f, "guest@example.com");
        let token = contract::link_token(&contract::last_message(&f, "guest@example.com"), "/invite/");
        let mut forged = token.clone().into_bytes();
        forged[flip] = if forged[flip] == b'a' { b'b' } else { b'a' };
        let forged = String::from_utf8(forged).unwrap();
        let r = invitations::accept_invitation(f.ctx(), &forged, Acceptance::NewIdentity { password: PASSWORD.into() });
        let unknown = matches!(r, Err(CoreError::Unauthorized { failure: AuthFailure::UnknownCredential }));
        prop_assert!(unknown, "{:?}", r);
        if revoke {
            invitations::revoke_invitation(f.ctx(), &f.admin, invited.invitation.id).unwrap();
        }
        f.clock.advance(Duration::seconds(wait_secs));
        let inside = wait_secs < INVITATION_LIFETIME.num_seconds() && !revoke;
        for attempt in 0..tries {
            let r = invitations::accept_invitation(f.ctx(), &token, Acceptance::NewIdentity { password: PASSWORD.into() });
            prop_assert_eq!(r.is_ok(), inside && attempt == 0, "attempt {}: {:?}", attempt, r);
            if let Err(e) = r {
                let refused = matches!(e, CoreError::Conflict { ref field, .. } if field == "token");
                prop_assert!(refused, "{:?}", e);
            }
        }
        let logged_in = identities::log_in(
            f.ctx(),
            &LockoutPolicy::default(),
            LoginAttempt { login: "guest@example.com", password: PASSWORD, second_factor: None, app_passwords: true },
        );
        prop_assert_eq!(logged_in.is_ok(), inside);
    }

    /// Whatever happens around it (other credentials revoked, time passing, the owner dismissed
    /// and reinstated), a revoked credential never authenticates again.
    #[test]
    fn a_credential_never_authenticates_after_revocation(
        ops in prop::collection::vec((0usize..3, 0u8..4, 0i64..3600), 1..24),
    ) {
        let stores = one_store();
        let db = stores.db();
        let f = Fixture::new(db);
        let owner = f.employee("Cody", "Redential", &[1]);
        let actor = f.actor(owner, &[Scope::User]);
        let issued: Vec<_> = (0..3)
            .map(|i| {
                credentials::create_credential(
                    f.ctx(),
                    &actor,
                    NewCredential {
                        kind: CredentialKind::Webhook,
                        name: format!("hook {i}"),
                        owner: None,
                        scopes: [Scope::User].into_iter().collect(),
                        expires_at: None,
                    },
                )
                .unwrap()
            })
            .collect();
        let mut revoked = [false; 3];
        let mut dismissed = false;
        for (i, op, secs) in ops {
            match op {
                0 => {
                    credentials::revoke_credential(f.ctx(), &f.admin, issued[i].credential.id).unwrap();
                    revoked[i] = true;
                }
                1 => f.clock.advance(Duration::seconds(secs)),
                2 => {
                    dismissed = !dismissed;
                    let active = if dismissed { "N" } else { "Y" };
                    profile_core::usecase::users::update_user(
                        f.ctx(),
                        &f.admin,
                        owner,
                        &contract::patch(&[(profile_core::field::UserField::Active, active)]),
                    )
                    .unwrap();
                }
                _ => {}
            }
            for (j, c) in issued.iter().enumerate() {
                let r = credentials::authenticate_webhook(f.ctx(), owner, &c.token);
                let expected = if revoked[j] {
                    Some(AuthFailure::UnknownCredential)
                } else if dismissed {
                    Some(AuthFailure::Dismissed)
                } else {
                    None
                };
                match (r, expected) {
                    (Ok(a), None) => prop_assert_eq!(a.actor.user, Some(owner)),
                    (Err(CoreError::Unauthorized { failure }), Some(want)) => prop_assert_eq!(failure, want),
                    (other, want) => prop_assert!(false, "credential {}: {:?}, expected {:?}", j, other, want),
                }
                let wrong_owner = credentials::authenticate_webhook(f.ctx(), UserId(1), &c.token);
                prop_assert!(wrong_owner.is_err());
            }
        }
    }

    /// The same sequence of actions on a login that exists and on one that does not gets the
    /// same sequence of answers: failed logins and lockout, password reset, confirming a reset,
    /// registering through the link, adding the address as a contact.
    #[test]
    fn no_flow_tells_whether_a_login_exists(
        waits in prop::collection::vec(0i64..40, 1..16),
        code in "[0-9]{6}",
    ) {
        let stores = one_store();
        let db = stores.db();
        let f = Fixture::new(db);
        contract::joined(&f, "known@example.com");
        let (_, someone) = contract::joined(&f, "someone@example.com");
        let link = invitations::create_registration_link(f.ctx(), &f.admin).unwrap();
        let link = link.rsplit('/').next().unwrap().to_string();
        let mut answers: Vec<Vec<String>> = Vec::new();
        // Lockout is kept per login, so the two runs do not disturb each other.
        for who in ["known@example.com", "unknown@example.com"] {
            let mut seen = Vec::new();
            for &wait in &waits {
                let r = identities::log_in(
                    f.ctx(),
                    &LockoutPolicy::default(),
                    LoginAttempt { login: who, password: "a wrong password", second_factor: None, app_passwords: true },
                );
                seen.push(shape(&r));
                f.clock.advance(Duration::seconds(wait));
            }
            let reset = identities::request_password_reset(f.ctx(), who);
            seen.push(shape(&reset));
            seen.push(shape(&identities::reset_password(f.ctx(), reset.unwrap(), &code, "a new password")));
            let reg = invitations::register_with_link(
                f.ctx(),
                &link,
                SelfRegistration { email: who.into(), name: "A".into(), last_name: "B".into(), password: PASSWORD.into() },
            );
            seen.push(shape(&reg));
            seen.push(shape(&identities::request_contact(f.ctx(), someone, who)));
            answers.push(seen);
        }
        prop_assert_eq!(&answers[0], &answers[1]);
    }
}
