//! Contract cases for identities, invitations and registration, credentials and the outbox:
//! the port methods first, then every flow end to end through the use cases.

use chrono::Duration;
use uuid::Uuid;

use super::{patch, Fixture};
use crate::access::{Actor, Scope};
use crate::error::{AuthFailure, CoreError, StoreError};
use crate::field::UserField;
use crate::ids::UserId;
use crate::model::account::{AccountSettings, RegistrationType};
use crate::model::credential::{Credential, CredentialId, CredentialKind};
use crate::model::identity::{
    AppPassword, CodePurpose, ConfirmationCode, Identity, IdentityId, LockoutPolicy, Login, LoginFailures,
    Membership, SocialLink, Totp,
};
use crate::model::invitation::{
    Invitation, InvitationId, InvitationState, RegistrationLink, RegistrationRequest, RequestState,
};
use crate::model::message::{Channel, Message, MessageKind};
use crate::ports::{Clock, Database};
use crate::secret::SecretHash;
use crate::totp;
use crate::usecase::credentials::{self, NewCredential};
use crate::usecase::identities::{self, LoginAttempt, LoginOutcome, ProfileEdit};
use crate::usecase::invitations::{self, Acceptance, Invite, RegistrationOutcome, SelfRegistration};
use crate::usecase::{accounts, outbox, users};

pub const PASSWORD: &str = "correct horse battery";

fn login(s: &str) -> Login {
    Login::parse(s).unwrap()
}

fn bad_login(r: Result<impl std::fmt::Debug, CoreError>) {
    match r {
        Err(CoreError::Unauthorized { failure: AuthFailure::BadLogin }) => {}
        other => panic!("expected a bad-login failure, got {other:?}"),
    }
}

/// The last message queued to `recipient`.
pub fn last_message(f: &Fixture<'_>, recipient: &str) -> Message {
    let all = f.db.read().unwrap().messages(None).unwrap();
    all.into_iter()
        .rev()
        .find(|m| m.recipient == recipient)
        .unwrap_or_else(|| panic!("no message to {recipient}"))
}

/// The token at the end of a link in a message (`…/invite/TOKEN`).
pub fn link_token(m: &Message, path: &str) -> String {
    let at = m.body.find(path).unwrap_or_else(|| panic!("no {path} link in {:?}", m.body)) + path.len();
    m.body[at..].chars().take_while(char::is_ascii_alphanumeric).collect()
}

/// The 6-digit code in a message.
pub fn code_in(m: &Message) -> String {
    let digits: Vec<&str> = m.body.split(|c: char| !c.is_ascii_digit()).filter(|w| w.len() == 6).collect();
    assert_eq!(digits.len(), 1, "one code in {:?}", m.body);
    digits[0].to_string()
}

pub fn log_in(f: &Fixture<'_>, who: &str, password: &str) -> Result<LoginOutcome, CoreError> {
    identities::log_in(
        f.ctx(),
        &LockoutPolicy::default(),
        LoginAttempt { login: who, password, second_factor: None },
    )
}

fn logged_in(r: Result<LoginOutcome, CoreError>) -> (IdentityId, Vec<Membership>) {
    match r {
        Ok(LoginOutcome::LoggedIn { identity, memberships }) => (identity, memberships),
        other => panic!("expected a login, got {other:?}"),
    }
}

pub fn invite(f: &Fixture<'_>, address: &str) -> invitations::Invited {
    invitations::invite_by_email(
        f.ctx(),
        &f.admin,
        Invite {
            address: address.into(),
            fields: patch(&[(UserField::UfDepartment, "1"), (UserField::Name, "Ivy")]),
            text: Some("Welcome aboard!".into()),
            ..Invite::default()
        },
    )
    .unwrap()
}

/// Invites `address` and accepts with a new identity; returns the user and identity.
pub fn joined(f: &Fixture<'_>, address: &str) -> (UserId, IdentityId) {
    let invited = invite(f, address);
    let token = link_token(&last_message(f, address), "/invite/");
    let a = invitations::accept_invitation(
        f.ctx(),
        &token,
        Acceptance::NewIdentity { password: PASSWORD.into() },
    )
    .unwrap();
    assert_eq!(a.user, invited.user.id);
    (a.user, a.identity)
}

// ---------------------------------------------------------------- ports

pub fn identities_round_trip(db: &dyn Database) {
    let f = Fixture::new(db);
    let now = f.clock.now();
    let id = IdentityId(Uuid::from_u128(7));
    let mut ann = Identity::new(id, login("ann@example.com"), now);
    ann.password = Some("$argon2id$v=19$m=8,t=1,p=1$c2FsdA$aGFzaA".into());
    ann.contacts = vec![login("+49 30 1234567"), login("ann@home.example")];
    ann.name = "Ann".into();
    ann.socials = vec![SocialLink { provider: "google".into(), subject: "g-1".into() }];
    ann.app_passwords = vec![AppPassword {
        id: Uuid::from_u128(8),
        name: "mail".into(),
        hash: SecretHash::of("x"),
        created_at: now,
    }];
    ann.totp = Some(Totp {
        secret: vec![1, 2, 3],
        enabled: true,
        last_step: Some(42),
        recovery: vec![SecretHash::of("r1"), SecretHash::of("r2")],
    });
    let mut tx = db.write().unwrap();
    tx.insert_identity(&ann).unwrap();
    tx.commit().unwrap();

    let tx = db.read().unwrap();
    assert_eq!(tx.identity(id).unwrap(), Some(ann.clone()));
    for h in ["ann@example.com", "+49301234567", "ann@home.example"] {
        assert_eq!(tx.identity_by_handle(&login(h)).unwrap().map(|i| i.id), Some(id), "{h}");
    }
    assert_eq!(tx.identity_by_handle(&login("bob@example.com")).unwrap(), None);
    assert_eq!(tx.identity_by_social("google", "g-1").unwrap().map(|i| i.id), Some(id));
    assert_eq!(tx.identity_by_social("google", "g-2").unwrap(), None);
    drop(tx);

    // Handles and social logins are unique across identities.
    let mut bob = Identity::new(IdentityId(Uuid::from_u128(9)), login("ann@home.example"), now);
    let mut tx = db.write().unwrap();
    assert_eq!(tx.insert_identity(&bob).unwrap_err(), StoreError::UniqueViolation { what: "LOGIN".into() });
    drop(tx);
    bob.login = login("bob@example.com");
    bob.socials = ann.socials.clone();
    let mut tx = db.write().unwrap();
    assert_eq!(tx.insert_identity(&bob).unwrap_err(), StoreError::UniqueViolation { what: "SOCIAL".into() });
    drop(tx);
    bob.socials.clear();
    let mut tx = db.write().unwrap();
    tx.insert_identity(&bob).unwrap();
    // An update that drops a contact frees it; one that takes another's handle is refused.
    ann.contacts.pop();
    ann.totp = None;
    ann.app_passwords.clear();
    tx.update_identity(&ann).unwrap();
    let mut stolen = bob.clone();
    stolen.name = "Robert".into();
    stolen.contacts.push(login("ann@example.com"));
    assert_eq!(
        tx.update_identity(&stolen).unwrap_err(),
        StoreError::UniqueViolation { what: "LOGIN".into() }
    );
    tx.commit().unwrap();
    let tx = db.read().unwrap();
    assert_eq!(tx.identity(id).unwrap(), Some(ann.clone()));
    assert_eq!(tx.identity_by_handle(&login("ann@home.example")).unwrap(), None);
    assert_eq!(tx.identity(bob.id).unwrap(), Some(bob.clone()), "the refused update left bob as he was");
    drop(tx);

    // Links to user records, one identity per record.
    let m = Membership { account: f.account, user: UserId(1) };
    let mut tx = db.write().unwrap();
    tx.link_user(id, m).unwrap();
    assert_eq!(tx.link_user(bob.id, m).unwrap_err(), StoreError::UniqueViolation { what: "USER".into() });
    tx.commit().unwrap();
    let tx = db.read().unwrap();
    assert_eq!(tx.memberships(id).unwrap(), vec![m]);
    assert_eq!(tx.memberships(bob.id).unwrap(), vec![]);
    assert_eq!(tx.identity_of_user(f.account, UserId(1)).unwrap(), Some(id));
    assert_eq!(tx.identity_of_user(f.account, UserId(2)).unwrap(), None);
    drop(tx);

    // Login failures, per handle.
    let fail = LoginFailures { count: 3, last: now };
    let mut tx = db.write().unwrap();
    tx.set_login_failures("nobody@example.com", Some(fail)).unwrap();
    tx.commit().unwrap();
    assert_eq!(db.read().unwrap().login_failures("nobody@example.com").unwrap(), Some(fail));
    let mut tx = db.write().unwrap();
    tx.set_login_failures("nobody@example.com", None).unwrap();
    tx.commit().unwrap();
    assert_eq!(db.read().unwrap().login_failures("nobody@example.com").unwrap(), None);

    // Codes.
    let mut code = ConfirmationCode {
        id: Uuid::from_u128(10),
        purpose: CodePurpose::ChangeLogin(id),
        target: login("+1 555 0100 200"),
        hash: SecretHash::keyed(b"10", "123456"),
        created_at: now,
        expires_at: now + Duration::minutes(15),
        attempts_left: 5,
        used: false,
    };
    let mut tx = db.write().unwrap();
    tx.insert_code(&code).unwrap();
    code.attempts_left = 4;
    code.used = true;
    tx.update_code(&code).unwrap();
    tx.commit().unwrap();
    assert_eq!(db.read().unwrap().code(code.id).unwrap(), Some(code.clone()));
    let request_code = ConfirmationCode {
        id: Uuid::from_u128(11),
        purpose: CodePurpose::Registration(Uuid::from_u128(99)),
        ..code
    };
    let mut tx = db.write().unwrap();
    tx.insert_code(&request_code).unwrap();
    tx.commit().unwrap();
    assert_eq!(db.read().unwrap().code(request_code.id).unwrap(), Some(request_code));

    // Deleting an identity frees its handles and links and drops its codes.
    let mut tx = db.write().unwrap();
    tx.delete_identity(id).unwrap();
    tx.commit().unwrap();
    let tx = db.read().unwrap();
    assert_eq!(tx.identity(id).unwrap(), None);
    assert_eq!(tx.identity_by_handle(&login("ann@example.com")).unwrap(), None);
    assert_eq!(tx.identity_by_social("google", "g-1").unwrap(), None);
    assert_eq!(tx.identity_of_user(f.account, UserId(1)).unwrap(), None);
    assert_eq!(tx.code(Uuid::from_u128(10)).unwrap(), None);
    assert!(tx.code(Uuid::from_u128(11)).unwrap().is_some(), "registration codes are not the identity's");
}

pub fn invitations_round_trip(db: &dyn Database) {
    let f = Fixture::new(db);
    let other = Fixture::with_slug(db, "globex");
    let now = f.clock.now();
    let inv = |n: u128, account, state| Invitation {
        id: InvitationId(Uuid::from_u128(n)),
        account,
        user: UserId(n as u32),
        address: login(&format!("guest{n}@example.com")),
        hash: SecretHash::of(&format!("token{n}")),
        invited_by: Some(UserId(1)),
        created_at: now,
        expires_at: now + Duration::days(n as i64),
        state,
    };
    let a = inv(3, f.account, InvitationState::Pending);
    let b = inv(1, f.account, InvitationState::Pending);
    let c = inv(2, other.account, InvitationState::Pending);
    let mut tx = db.write().unwrap();
    for i in [&a, &b, &c] {
        tx.insert_invitation(i).unwrap();
    }
    tx.commit().unwrap();
    let tx = db.read().unwrap();
    assert_eq!(tx.invitations(f.account).unwrap(), vec![a.clone(), b.clone()], "oldest first, one account");
    assert_eq!(tx.invitation(f.account, b.id).unwrap(), Some(b.clone()));
    assert_eq!(tx.invitation(f.account, c.id).unwrap(), None, "another account's");
    assert_eq!(tx.invitation_by_token(&SecretHash::of("token2")).unwrap(), Some(c.clone()));
    assert_eq!(tx.invitation_by_token(&SecretHash::of("token9")).unwrap(), None);
    assert_eq!(tx.invitations_to(f.account, &login("guest1@example.com")).unwrap(), vec![b.clone()]);
    assert_eq!(
        tx.invitations_to(f.account, &login("guest2@example.com")).unwrap(),
        vec![],
        "another account's"
    );
    assert_eq!(tx.invitations_to(other.account, &login("guest2@example.com")).unwrap(), vec![c.clone()]);
    let due: Vec<_> =
        tx.invitations_expiring(now + Duration::days(2)).unwrap().into_iter().map(|i| i.id).collect();
    assert_eq!(due, vec![b.id, c.id]);
    drop(tx);
    let identity = IdentityId(Uuid::from_u128(5));
    let mut tx = db.write().unwrap();
    for (i, state) in [
        (&b, InvitationState::Accepted { at: now, identity }),
        (&c, InvitationState::Revoked { at: now }),
        (&a, InvitationState::Expired),
    ] {
        tx.update_invitation(&Invitation { state, ..i.clone() }).unwrap();
    }
    tx.commit().unwrap();
    let tx = db.read().unwrap();
    assert_eq!(
        tx.invitation(f.account, b.id).unwrap().unwrap().state,
        InvitationState::Accepted { at: now, identity }
    );
    assert_eq!(
        tx.invitation(other.account, c.id).unwrap().unwrap().state,
        InvitationState::Revoked { at: now }
    );
    assert_eq!(tx.invitation(f.account, a.id).unwrap().unwrap().state, InvitationState::Expired);
    assert!(
        tx.invitations_expiring(now + Duration::days(30)).unwrap().is_empty(),
        "only pending ones expire"
    );
    drop(tx);

    // One registration link per account; a new one replaces the old.
    let link = |t: &str| RegistrationLink { account: f.account, hash: SecretHash::of(t), created_at: now };
    let mut tx = db.write().unwrap();
    tx.set_registration_link(&link("one")).unwrap();
    tx.set_registration_link(&link("two")).unwrap();
    tx.commit().unwrap();
    let tx = db.read().unwrap();
    assert_eq!(tx.registration_link(f.account).unwrap(), Some(link("two")));
    assert_eq!(tx.registration_link(other.account).unwrap(), None);
    assert_eq!(tx.registration_link_by_token(&SecretHash::of("one")).unwrap(), None);
    assert_eq!(tx.registration_link_by_token(&SecretHash::of("two")).unwrap(), Some(link("two")));
    drop(tx);

    let req = |n: u128| RegistrationRequest {
        id: Uuid::from_u128(n),
        account: f.account,
        link: SecretHash::of(&format!("link{n}")),
        email: format!("r{n}@example.com"),
        name: "Rita".into(),
        last_name: "Reg".into(),
        password: Some("$argon2id$stub".into()),
        identity: None,
        state: RequestState::Unconfirmed,
        created_at: now,
    };
    let mut tx = db.write().unwrap();
    tx.insert_request(&req(20)).unwrap();
    tx.insert_request(&req(10)).unwrap();
    tx.commit().unwrap();
    let approved = RegistrationRequest {
        password: None,
        identity: Some(identity),
        state: RequestState::Approved { user: UserId(4) },
        ..req(20)
    };
    let mut tx = db.write().unwrap();
    tx.update_request(&approved).unwrap();
    tx.commit().unwrap();
    let tx = db.read().unwrap();
    assert_eq!(tx.requests(f.account).unwrap(), vec![approved.clone(), req(10)]);
    assert_eq!(tx.request(Uuid::from_u128(10)).unwrap(), Some(req(10)));
    assert!(tx.requests(other.account).unwrap().is_empty());
}

pub fn credentials_and_outbox_round_trip(db: &dyn Database) {
    let f = Fixture::new(db);
    let other = Fixture::with_slug(db, "globex");
    let now = f.clock.now();
    let cred = |n: u128, account, kind| Credential {
        id: CredentialId(Uuid::from_u128(n)),
        account,
        kind,
        name: format!("cred {n}"),
        owner: UserId(1),
        scopes: [Scope::User, Scope::Department].into_iter().collect(),
        hash: SecretHash::of(&format!("t{n}")),
        created_at: now,
        expires_at: (n == 2).then(|| now + Duration::days(1)),
        revoked_at: None,
    };
    let a = cred(2, f.account, CredentialKind::Webhook);
    let b = cred(1, f.account, CredentialKind::AppToken);
    let c = cred(3, other.account, CredentialKind::Webhook);
    let mut tx = db.write().unwrap();
    for x in [&a, &b, &c] {
        tx.insert_credential(x).unwrap();
    }
    let dup = Credential { id: CredentialId(Uuid::from_u128(4)), ..a.clone() };
    assert_eq!(tx.insert_credential(&dup).unwrap_err(), StoreError::UniqueViolation { what: "TOKEN".into() });
    tx.commit().unwrap();
    let revoked = Credential { revoked_at: Some(now), ..b.clone() };
    let mut tx = db.write().unwrap();
    tx.update_credential(&revoked).unwrap();
    tx.commit().unwrap();
    let tx = db.read().unwrap();
    assert_eq!(tx.credentials(f.account).unwrap(), vec![a.clone(), revoked.clone()]);
    assert_eq!(tx.credential(f.account, a.id).unwrap(), Some(a.clone()));
    assert_eq!(tx.credential(f.account, c.id).unwrap(), None);
    assert_eq!(tx.credential_by_token(&SecretHash::of("t3")).unwrap(), Some(c));
    assert_eq!(tx.credential_by_token(&SecretHash::of("t9")).unwrap(), None);
    drop(tx);

    let msg = |n: u128, account| Message {
        id: Uuid::from_u128(n),
        account,
        kind: MessageKind::Invitation,
        channel: if n == 2 { Channel::Sms } else { Channel::Email },
        recipient: format!("to{n}"),
        subject: "s".into(),
        body: format!("body {n}\nline two"),
        created_at: now,
        sent_at: None,
    };
    let mut tx = db.write().unwrap();
    tx.enqueue(&msg(3, Some(f.account))).unwrap();
    tx.enqueue(&msg(1, None)).unwrap();
    tx.enqueue(&msg(2, Some(other.account))).unwrap();
    tx.mark_sent(Uuid::from_u128(3), now).unwrap();
    tx.mark_sent(Uuid::from_u128(3), now + Duration::hours(1)).unwrap();
    tx.commit().unwrap();
    let tx = db.read().unwrap();
    // Once sent, the body (which may hold a live link, code or password) is dropped.
    let sent = Message { sent_at: Some(now), body: String::new(), ..msg(3, Some(f.account)) };
    assert_eq!(tx.messages(Some(f.account)).unwrap(), vec![sent.clone()], "the first send time stays");
    assert_eq!(tx.messages(None).unwrap(), vec![sent, msg(1, None), msg(2, Some(other.account))]);
}

// ---------------------------------------------------------------- flows

pub fn uc_invite_accept_log_in(db: &dyn Database) {
    let f = Fixture::new(db);
    let invited = invite(&f, "Ivy@Example.com");
    let user = invited.user.clone();
    assert!(user.active);
    assert_eq!(
        user.text(UserField::Email),
        "ivy@example.com",
        "the contact email starts as the invited address"
    );
    assert_eq!(user.last_login, None);
    let listed = invitations::list_invitations(f.ctx(), &f.admin).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].state, InvitationState::Pending);
    let mail = last_message(&f, "ivy@example.com");
    assert_eq!(
        (mail.kind, mail.channel, mail.account),
        (MessageKind::Invitation, Channel::Email, Some(f.account))
    );
    assert!(mail.body.contains("Welcome aboard!"), "{}", mail.body);
    assert!(mail.body.contains(&format!("{}/invite/", super::BASE_URL)));
    let token = link_token(&mail, "/invite/");
    // The token is stored only as its hash.
    assert_eq!(listed[0].hash, SecretHash::of(&token));

    // Inviting the same address again is refused.
    let again = invitations::invite_by_email(
        f.ctx(),
        &f.admin,
        Invite {
            address: "ivy@example.com".into(),
            fields: patch(&[(UserField::UfDepartment, "1")]),
            ..Invite::default()
        },
    );
    assert!(matches!(again, Err(CoreError::Conflict { ref field, .. }) if field == "EMAIL"), "{again:?}");

    let short =
        invitations::accept_invitation(f.ctx(), &token, Acceptance::NewIdentity { password: "short".into() });
    assert!(matches!(short, Err(CoreError::Validation { ref field, .. }) if field == "password"));
    let accepted = invitations::accept_invitation(
        f.ctx(),
        &token,
        Acceptance::NewIdentity { password: PASSWORD.into() },
    )
    .unwrap();
    assert_eq!((accepted.account, accepted.user), (f.account, user.id));
    let reuse = invitations::accept_invitation(
        f.ctx(),
        &token,
        Acceptance::NewIdentity { password: PASSWORD.into() },
    );
    assert!(
        matches!(reuse, Err(CoreError::Conflict { ref field, .. }) if field == "token"),
        "single use: {reuse:?}"
    );
    let garbage = invitations::accept_invitation(
        f.ctx(),
        "nope",
        Acceptance::NewIdentity { password: PASSWORD.into() },
    );
    assert!(matches!(garbage, Err(CoreError::Unauthorized { failure: AuthFailure::UnknownCredential })));

    let (identity, memberships) = logged_in(log_in(&f, "IVY@example.com ", PASSWORD));
    assert_eq!(identity, accepted.identity);
    assert_eq!(memberships, vec![Membership { account: f.account, user: user.id }]);
    bad_login(log_in(&f, "ivy@example.com", "wrong password"));
    let actor = identities::open_account(f.ctx(), identity, f.account).unwrap();
    assert_eq!((actor.user, actor.role), (Some(user.id), crate::model::user::Role::Employee));
    let after = users::get_user(f.ctx(), &f.admin, user.id, &crate::access::Select::All, true).unwrap();
    assert!(after.get(UserField::LastLogin).is_some_and(|v| *v != crate::Value::Null), "LAST_LOGIN is set");
    let listed = invitations::list_invitations(f.ctx(), &f.admin).unwrap();
    assert!(matches!(listed[0].state, InvitationState::Accepted { identity: i, .. } if i == identity));

    // Administrators read the login; nobody else does, and it is not a user field to change.
    assert_eq!(identities::user_login(f.ctx(), &f.admin, user.id).unwrap(), Some(login("ivy@example.com")));
    assert_eq!(identities::user_login(f.ctx(), &actor, user.id).unwrap(), Some(login("ivy@example.com")));
    let colleague = f.actor(f.employee("Cole", "League", &[1]), &[Scope::User]);
    assert!(matches!(identities::user_login(f.ctx(), &colleague, user.id), Err(CoreError::Forbidden { .. })));
    assert_eq!(identities::user_login(f.ctx(), &f.admin, colleague.user.unwrap()).unwrap(), None);

    // A second account invites the same person, who joins with the identity they have.
    let other = Fixture::with_slug(db, "globex");
    let second = invite(&other, "ivy@example.com");
    let token = link_token(&last_message(&other, "ivy@example.com"), "/invite/");
    let as_new = invitations::accept_invitation(
        other.ctx(),
        &token,
        Acceptance::NewIdentity { password: PASSWORD.into() },
    );
    assert!(matches!(as_new, Err(CoreError::Conflict { ref field, .. }) if field == "LOGIN"), "{as_new:?}");
    invitations::accept_invitation(other.ctx(), &token, Acceptance::Existing(identity)).unwrap();
    let (_, memberships) = logged_in(log_in(&f, "ivy@example.com", PASSWORD));
    let mut expected = vec![
        Membership { account: f.account, user: user.id },
        Membership { account: other.account, user: second.user.id },
    ];
    expected.sort();
    assert_eq!(memberships, expected);
    assert!(identities::open_account(f.ctx(), identity, other.account).is_ok());
}

pub fn uc_sms_invite(db: &dyn Database) {
    let f = Fixture::new(db);
    let bad = invitations::invite_by_sms(
        f.ctx(),
        &f.admin,
        Invite { address: "sam@example.com".into(), ..Invite::default() },
    );
    assert!(matches!(bad, Err(CoreError::Validation { ref field, .. }) if field == "PERSONAL_MOBILE"));
    let invited = invitations::invite_by_sms(
        f.ctx(),
        &f.admin,
        Invite {
            address: "+44 20 7946 0958".into(),
            fields: patch(&[(UserField::UfDepartment, "1"), (UserField::Name, "Sam")]),
            text: Some("ignored: SMS text is fixed".into()),
            ..Invite::default()
        },
    )
    .unwrap();
    assert_eq!(invited.user.text(UserField::PersonalMobile), "+442079460958");
    assert_eq!(invited.invitation.address, Login::Phone("+442079460958".into()));
    let sms = last_message(&f, "+442079460958");
    assert_eq!((sms.channel, sms.subject.as_str()), (Channel::Sms, ""));
    assert!(!sms.body.contains("ignored"));
    let token = link_token(&sms, "/invite/");
    invitations::accept_invitation(f.ctx(), &token, Acceptance::NewIdentity { password: PASSWORD.into() })
        .unwrap();
    // The phone is the login, in any notation.
    let (_, m) = logged_in(log_in(&f, "+44 (20) 7946-0958", PASSWORD));
    assert_eq!(m, vec![Membership { account: f.account, user: invited.user.id }]);
}

pub fn uc_invitation_revoke_and_expire(db: &dyn Database) {
    let f = Fixture::new(db);
    let a = invite(&f, "a@example.com");
    let token_a = link_token(&last_message(&f, "a@example.com"), "/invite/");
    let b = invite(&f, "b@example.com");
    let token_b = link_token(&last_message(&f, "b@example.com"), "/invite/");
    let c = invite(&f, "c@example.com");

    // Only administrators (or the inviter) revoke.
    let employee = f.actor(f.employee("Eve", "Ployee", &[1]), &[Scope::User]);
    assert!(matches!(
        invitations::revoke_invitation(f.ctx(), &employee, a.invitation.id),
        Err(CoreError::NotFound { .. })
    ));
    invitations::revoke_invitation(f.ctx(), &f.admin, a.invitation.id).unwrap();
    let user_a = users::get_user(f.ctx(), &f.admin, a.user.id, &crate::access::Select::All, true).unwrap();
    assert_eq!(
        user_a.get(UserField::Active),
        Some(&crate::Value::Bool(false)),
        "revoking deactivates the record"
    );
    let r = invitations::accept_invitation(
        f.ctx(),
        &token_a,
        Acceptance::NewIdentity { password: PASSWORD.into() },
    );
    assert!(matches!(r, Err(CoreError::Conflict { ref field, .. }) if field == "token"));
    assert!(matches!(
        invitations::revoke_invitation(f.ctx(), &f.admin, a.invitation.id),
        Err(CoreError::Conflict { .. })
    ));
    // Inviting the address again takes up the same record, active again, with a new token.
    let again = invite(&f, "a@example.com");
    assert_eq!(again.user.id, a.user.id);
    assert!(again.user.active);
    let token_again = link_token(&last_message(&f, "a@example.com"), "/invite/");
    assert_ne!(token_again, token_a);
    invitations::revoke_invitation(f.ctx(), &f.admin, again.invitation.id).unwrap();

    // Past its expiry an invitation is expired, whether swept or tried.
    f.clock.advance(crate::model::invitation::INVITATION_LIFETIME + Duration::seconds(1));
    let states: Vec<_> =
        invitations::list_invitations(f.ctx(), &f.admin).unwrap().iter().map(|i| i.state.code()).collect();
    assert_eq!(states, vec!["revoked", "expired", "expired", "revoked"]);
    let r = invitations::accept_invitation(
        f.ctx(),
        &token_b,
        Acceptance::NewIdentity { password: PASSWORD.into() },
    );
    assert!(matches!(r, Err(CoreError::Conflict { ref field, .. }) if field == "token"), "{r:?}");
    let active = |u: UserId| {
        users::get_user(f.ctx(), &f.admin, u, &crate::access::Select::All, true)
            .unwrap()
            .get(UserField::Active)
            .cloned()
    };
    assert_eq!(active(b.user.id), Some(crate::Value::Bool(false)), "a tried expired invitation deactivates");
    assert_eq!(active(c.user.id), Some(crate::Value::Bool(true)), "not swept yet");
    assert_eq!(invitations::expire_invitations(f.ctx()).unwrap(), 1);
    assert_eq!(active(c.user.id), Some(crate::Value::Bool(false)));
    assert_eq!(invitations::expire_invitations(f.ctx()).unwrap(), 0);
    bad_login(log_in(&f, "b@example.com", PASSWORD));
}

pub fn uc_direct_registration(db: &dyn Database) {
    let f = Fixture::new(db);
    let user = invitations::register_directly(
        f.ctx(),
        &f.admin,
        patch(&[
            (UserField::Email, "dora@example.com"),
            (UserField::Name, "Dora"),
            (UserField::LastName, "Direct"),
            (UserField::WorkPosition, "Analyst"),
        ]),
    )
    .unwrap();
    assert!(user.active);
    assert_eq!(user.departments, vec![crate::ids::DepartmentId(1)], "the root department by default");
    assert!(
        invitations::list_invitations(f.ctx(), &f.admin).unwrap().is_empty(),
        "never on the invited list"
    );
    let mail = last_message(&f, "dora@example.com");
    assert_eq!(mail.kind, MessageKind::GeneratedPassword);
    let password = mail.body.lines().find_map(|l| l.strip_prefix("Password: ")).unwrap().to_string();
    let (_, m) = logged_in(log_in(&f, "dora@example.com", &password));
    assert_eq!(m, vec![Membership { account: f.account, user: user.id }]);

    // Someone who already has a profile must prove control of it: they are invited, not linked.
    let other = Fixture::with_slug(db, "globex");
    let again = invitations::register_directly(
        other.ctx(),
        &other.admin,
        patch(&[(UserField::Email, "dora@example.com"), (UserField::Name, "Dora")]),
    )
    .unwrap();
    let mail = last_message(&other, "dora@example.com");
    assert_eq!(mail.kind, MessageKind::Invitation);
    assert!(!mail.body.contains("Password"));
    let (identity, m) = logged_in(log_in(&f, "dora@example.com", &password));
    assert_eq!(m.len(), 1, "not a member of the second account before accepting");
    assert_eq!(identities::user_login(other.ctx(), &other.admin, again.id).unwrap(), None);
    let token = link_token(&mail, "/invite/");
    invitations::accept_invitation(other.ctx(), &token, Acceptance::Existing(identity)).unwrap();
    let (_, m) = logged_in(log_in(&f, "dora@example.com", &password));
    assert!(m.contains(&Membership { account: other.account, user: again.id }));

    // Who may: administrators by default; an employee only when everyone may invite.
    let employee = f.actor(f.employee("Emma", "Ploy", &[1]), &[Scope::User]);
    let r = invitations::register_directly(f.ctx(), &employee, patch(&[(UserField::Email, "x@example.com")]));
    assert!(matches!(r, Err(CoreError::Forbidden { .. })), "{r:?}");
    let r = invitations::register_directly(f.ctx(), &f.admin, patch(&[(UserField::Name, "No Mail")]));
    assert!(matches!(r, Err(CoreError::Validation { ref field, .. }) if field == "EMAIL"));
}

fn set_registration(f: &Fixture<'_>, registration: RegistrationType, domains: &[&str]) {
    accounts::update_account_settings(
        f.ctx(),
        &f.admin,
        AccountSettings {
            registration,
            whitelisted_domains: domains.iter().map(|d| d.to_string()).collect(),
            ..AccountSettings::default()
        },
    )
    .unwrap();
}

fn register(f: &Fixture<'_>, link: &str, email: &str) -> Result<RegistrationOutcome, CoreError> {
    let token = link.rsplit('/').next().unwrap();
    let code_id = invitations::register_with_link(
        f.ctx(),
        token,
        SelfRegistration {
            email: email.into(),
            name: "Reg".into(),
            last_name: "Istrant".into(),
            password: PASSWORD.into(),
        },
    )?;
    let code = code_in(&last_message(f, email));
    invitations::confirm_registration(f.ctx(), code_id, &code)
}

pub fn uc_quick_registration(db: &dyn Database) {
    let f = Fixture::new(db);
    let employee = f.actor(f.employee("Emil", "Ploy", &[1]), &[Scope::User]);
    assert!(matches!(
        invitations::create_registration_link(f.ctx(), &employee),
        Err(CoreError::Forbidden { .. })
    ));
    let link = invitations::create_registration_link(f.ctx(), &f.admin).unwrap();
    assert!(link.starts_with(&format!("{}/register/", super::BASE_URL)));
    let token = link.rsplit('/').next().unwrap();
    assert_eq!(invitations::registration_account(f.ctx(), token).unwrap().id, f.account);

    // Public: joins at once, as an employee of the root department.
    set_registration(&f, RegistrationType::Public, &[]);
    let RegistrationOutcome::Joined(joined) = register(&f, &link, "pub@example.com").unwrap() else {
        panic!("a public account admits at once")
    };
    let (_, m) = logged_in(log_in(&f, "pub@example.com", PASSWORD));
    assert_eq!(m, vec![Membership { account: f.account, user: joined.user }]);

    // Moderated: waits for an administrator.
    set_registration(&f, RegistrationType::Moderated, &["trusted.example"]);
    let RegistrationOutcome::AwaitingApproval { request, .. } =
        register(&f, &link, "mod@example.com").unwrap()
    else {
        panic!("a moderated account queues")
    };
    let (_, m) = logged_in(log_in(&f, "mod@example.com", PASSWORD));
    assert!(m.is_empty(), "not a member before approval");
    let queue = invitations::list_registrations(f.ctx(), &f.admin).unwrap();
    assert!(queue.iter().any(|r| r.id == request && r.state == RequestState::Pending));
    assert!(matches!(
        invitations::approve_registration(f.ctx(), &employee, request),
        Err(CoreError::Forbidden { .. })
    ));
    let user = invitations::approve_registration(f.ctx(), &f.admin, request).unwrap();
    let (_, m) = logged_in(log_in(&f, "mod@example.com", PASSWORD));
    assert_eq!(m, vec![Membership { account: f.account, user }]);
    assert!(matches!(
        invitations::approve_registration(f.ctx(), &f.admin, request),
        Err(CoreError::Conflict { .. })
    ));

    // Rejected requests never join.
    let RegistrationOutcome::AwaitingApproval { request, .. } =
        register(&f, &link, "rej@example.com").unwrap()
    else {
        panic!("queued")
    };
    invitations::reject_registration(f.ctx(), &f.admin, request).unwrap();
    let (_, m) = logged_in(log_in(&f, "rej@example.com", PASSWORD));
    assert!(m.is_empty());

    // A whitelisted domain skips approval.
    assert!(matches!(register(&f, &link, "wl@trusted.example").unwrap(), RegistrationOutcome::Joined(_)));

    // Codes are single use; a wrong code fails like an unknown one.
    let code_id = invitations::register_with_link(
        f.ctx(),
        token,
        SelfRegistration {
            email: "late@example.com".into(),
            name: "L".into(),
            last_name: "Ate".into(),
            password: PASSWORD.into(),
        },
    )
    .unwrap();
    let code = code_in(&last_message(&f, "late@example.com"));
    let wrong = if code == "000000" { "000001" } else { "000000" };
    bad_login(invitations::confirm_registration(f.ctx(), code_id, wrong));
    bad_login(invitations::confirm_registration(f.ctx(), Uuid::from_u128(1), &code));
    assert!(invitations::confirm_registration(f.ctx(), code_id, &code).is_ok());
    bad_login(invitations::confirm_registration(f.ctx(), code_id, &code));

    // A registration under way when the link is replaced cannot complete.
    let code_id = invitations::register_with_link(
        f.ctx(),
        token,
        SelfRegistration {
            email: "slow@example.com".into(),
            name: "S".into(),
            last_name: "Low".into(),
            password: PASSWORD.into(),
        },
    )
    .unwrap();
    let code = code_in(&last_message(&f, "slow@example.com"));
    // A new link replaces the old one.
    let new_link = invitations::create_registration_link(f.ctx(), &f.admin).unwrap();
    let late = invitations::confirm_registration(f.ctx(), code_id, &code);
    assert!(matches!(late, Err(CoreError::Conflict { ref field, .. }) if field == "token"), "{late:?}");
    assert_ne!(new_link, link);
    let old = invitations::register_with_link(
        f.ctx(),
        token,
        SelfRegistration {
            email: "x@example.com".into(),
            name: "X".into(),
            last_name: "Y".into(),
            password: PASSWORD.into(),
        },
    );
    assert!(matches!(old, Err(CoreError::Unauthorized { failure: AuthFailure::UnknownCredential })));
    // Bad input is refused before anything is written.
    let bad = invitations::register_with_link(
        f.ctx(),
        new_link.rsplit('/').next().unwrap(),
        SelfRegistration {
            email: "not-an-email".into(),
            name: "X".into(),
            last_name: "Y".into(),
            password: PASSWORD.into(),
        },
    );
    assert!(matches!(bad, Err(CoreError::Validation { ref field, .. }) if field == "EMAIL"));
    // Switched off, the link admits nobody.
    invitations::disable_registration_link(f.ctx(), &f.admin).unwrap();
    let off = invitations::registration_account(f.ctx(), new_link.rsplit('/').next().unwrap());
    assert!(matches!(off, Err(CoreError::Unauthorized { .. })));
}

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
            LoginAttempt { login: "tom@example.com", password: PASSWORD, second_factor: Some(code) },
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
    let edit = |name: &str| ProfileEdit {
        name: name.into(),
        last_name: "Sutton".into(),
        photo: "https://img.example/sue.png".into(),
    };
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
    outbox::mark_sent(f.ctx(), mine[0].id).unwrap();
    assert!(outbox::list_messages(f.ctx(), &f.admin, false).unwrap()[0].sent_at.is_some());
}

pub fn uc_invite_rules(db: &dyn Database) {
    let f = Fixture::new(db);
    let emp = f.employee("Ines", "Viter", &[1]);
    let employee = f.actor(emp, &[Scope::User]);
    let by = |actor: &Actor, address: &str, extranet: bool, groups: Vec<crate::ids::WorkgroupId>| {
        let fields = if extranet { patch(&[]) } else { patch(&[(UserField::UfDepartment, "1")]) };
        invitations::invite_by_email(
            f.ctx(),
            actor,
            Invite { address: address.into(), fields, workgroups: groups, extranet, ..Invite::default() },
        )
    };
    // Administrators only, by default; everyone once the account allows it.
    assert!(matches!(by(&employee, "e1@example.com", false, vec![]), Err(CoreError::Forbidden { .. })));
    let reader = f.actor(emp, &[Scope::UserBasic]);
    assert!(matches!(by(&reader, "e1@example.com", false, vec![]), Err(CoreError::InsufficientScope { .. })));
    accounts::update_account_settings(
        f.ctx(),
        &f.admin,
        AccountSettings {
            invite_policy: crate::model::account::InvitePolicy::Everyone,
            ..AccountSettings::default()
        },
    )
    .unwrap();
    let sent = by(&employee, "e1@example.com", false, vec![]).unwrap();
    assert_eq!(sent.invitation.invited_by, Some(emp));
    // Inviters see and revoke their own invitations; administrators all.
    by(&f.admin, "e2@example.com", false, vec![]).unwrap();
    assert_eq!(invitations::list_invitations(f.ctx(), &employee).unwrap().len(), 1);
    assert_eq!(invitations::list_invitations(f.ctx(), &f.admin).unwrap().len(), 2);
    invitations::revoke_invitation(f.ctx(), &employee, sent.invitation.id).unwrap();

    // An extranet invitation needs a workgroup, which turns external.
    let r = by(&f.admin, "x1@example.com", true, vec![]);
    assert!(matches!(r, Err(CoreError::Validation { ref field, .. }) if field == "SONET_GROUP_ID"), "{r:?}");
    let group = crate::usecase::workgroups::create_workgroup(f.ctx(), &f.admin, "Partners").unwrap();
    let guest = by(&f.admin, "x1@example.com", true, vec![group.id]).unwrap();
    assert_eq!(guest.user.role, crate::model::user::Role::Extranet);
    let groups = crate::usecase::workgroups::list_workgroups(f.ctx(), &f.admin).unwrap();
    assert!(groups.iter().any(|g| g.id == group.id && g.external));

    // Bad input changes nothing: no user, no invitation, no message.
    let before = (
        invitations::list_invitations(f.ctx(), &f.admin).unwrap().len(),
        f.db.read().unwrap().messages(None).unwrap().len(),
    );
    for bad in ["not an address", "+1 555 0100 300", ""] {
        assert!(matches!(by(&f.admin, bad, false, vec![]), Err(CoreError::Validation { .. })), "{bad}");
    }
    let r = by(&f.admin, "d@example.com", false, vec![]).map(|_| ());
    assert!(r.is_ok());
    let long = invitations::invite_by_email(
        f.ctx(),
        &f.admin,
        Invite {
            address: "long@example.com".into(),
            fields: patch(&[(UserField::UfDepartment, "1")]),
            text: Some("x".repeat(invitations::INVITATION_TEXT_MAX + 1)),
            ..Invite::default()
        },
    );
    assert!(matches!(long, Err(CoreError::Validation { ref field, .. }) if field == "text"));
    let missing_department = invitations::invite_by_email(
        f.ctx(),
        &f.admin,
        Invite {
            address: "nodept@example.com".into(),
            fields: patch(&[(UserField::UfDepartment, "99")]),
            ..Invite::default()
        },
    );
    assert!(
        matches!(missing_department, Err(CoreError::Validation { ref field, .. }) if field == "UF_DEPARTMENT")
    );
    let after = (
        invitations::list_invitations(f.ctx(), &f.admin).unwrap().len(),
        f.db.read().unwrap().messages(None).unwrap().len(),
    );
    assert_eq!(after, (before.0 + 1, before.1 + 1), "only the one good invitation landed");
}

/// An employee of department 1 with only an email.
fn batch_user(email: &str) -> crate::usecase::users::NewUser {
    crate::usecase::users::NewUser {
        role: crate::model::user::Role::Employee,
        fields: patch(&[(UserField::Email, email), (UserField::UfDepartment, "1")]),
        workgroups: vec![],
    }
}

/// How many users the administrator finds through `db`.
fn user_total(f: &Fixture<'_>, db: &dyn Database) -> u64 {
    crate::usecase::users::find_users(
        crate::usecase::Ctx { db, ..f.ctx() },
        &f.admin,
        &f.query(crate::query::UserFilter::default()),
        &crate::access::Select::All,
        true,
    )
    .unwrap()
    .total
    .unwrap()
}

pub fn batch_units(db: &dyn Database) {
    let f = Fixture::new(db);
    let new_user = batch_user;
    let count = |db: &dyn Database| user_total(&f, db);
    let before = count(db);

    // Dropped without commit: nothing stays.
    {
        let batch = db.batch().unwrap();
        let ctx = crate::usecase::Ctx { db: batch.as_database(), ..f.ctx() };
        crate::usecase::users::create_user(ctx, &f.admin, new_user("b1@example.com")).unwrap();
        assert_eq!(count(batch.as_database()), before + 1, "a unit sees the batch's earlier writes");
        assert!(batch.batch().is_err(), "batches do not nest");
    }
    assert_eq!(count(db), before);

    // Committed: the good units stay, a failed unit rolls back alone.
    let batch = db.batch().unwrap();
    let ctx = crate::usecase::Ctx { db: batch.as_database(), ..f.ctx() };
    crate::usecase::users::create_user(ctx, &f.admin, new_user("b1@example.com")).unwrap();
    let dup = crate::usecase::users::create_user(ctx, &f.admin, new_user("b1@example.com"));
    assert!(matches!(dup, Err(CoreError::Conflict { .. })), "{dup:?}");
    let bad = crate::usecase::departments::add_department(
        ctx,
        &f.admin,
        crate::usecase::departments::NewDepartment {
            name: "".into(),
            parent: Some(crate::ids::DepartmentId(1)),
            sort: None,
            head: None,
        },
    );
    assert!(bad.is_err());
    crate::usecase::users::create_user(ctx, &f.admin, new_user("b2@example.com")).unwrap();
    {
        let unit = batch.as_database().read().unwrap();
        assert!(batch.as_database().write().is_err(), "one unit at a time");
        drop(unit);
    }
    let mut unit = batch.as_database().read().unwrap();
    assert!(
        unit.insert_account(&crate::model::account::Account {
            id: crate::ids::AccountId(Uuid::from_u128(77)),
            slug: "nope".into(),
            name: "Nope".into(),
            renamed: false,
            settings: AccountSettings::default(),
            created_at: f.clock.now(),
        })
        .is_err(),
        "a read unit stays read-only"
    );
    drop(unit);
    batch.commit().unwrap();
    assert_eq!(count(db), before + 2);
}

pub fn optimistic_batch_units(db: &dyn Database) {
    let f = Fixture::new(db);
    let create = |batch: &dyn crate::ports::Batch, email: &str| {
        let ctx = crate::usecase::Ctx { db: batch.as_database(), ..f.ctx() };
        crate::usecase::users::create_user(ctx, &f.admin, batch_user(email))
    };
    let before = user_total(&f, db);
    let holders = db.read().unwrap().hr_holders(f.account).unwrap();
    let ada = f.admin.user.unwrap();
    assert!(!holders.contains(&ada));

    // Units that fail before writing anything leave the batch usable.
    let batch = db.optimistic_batch().unwrap();
    create(&*batch, "o1@example.com").unwrap();
    assert_eq!(user_total(&f, batch.as_database()), before + 1, "a unit sees the batch's earlier writes");
    let dup = create(&*batch, "o1@example.com");
    assert!(matches!(dup, Err(CoreError::Conflict { .. })), "{dup:?}");
    create(&*batch, "o2@example.com").unwrap();
    assert!(!batch.must_rerun());
    batch.commit().unwrap();
    assert_eq!(user_total(&f, db), before + 2);

    // A unit rolled back after writing: undone alone, or the batch says it must run again and
    // then keeps nothing.
    let batch = db.optimistic_batch().unwrap();
    create(&*batch, "o3@example.com").unwrap();
    {
        let mut unit = batch.as_database().write().unwrap();
        unit.set_hr_holder(f.account, ada, true).unwrap();
    }
    if batch.must_rerun() {
        assert!(batch.as_database().write().is_err(), "no unit after");
        assert!(batch.as_database().read().is_err());
        assert!(batch.commit().is_err(), "and no commit");
        assert_eq!(user_total(&f, db), before + 2, "nothing of the batch is kept");
    } else {
        assert!(!batch.as_database().read().unwrap().hr_holders(f.account).unwrap().contains(&ada));
        batch.commit().unwrap();
        assert_eq!(user_total(&f, db), before + 3);
    }
    assert_eq!(db.read().unwrap().hr_holders(f.account).unwrap(), holders);
    assert!(db.write().is_ok(), "the writer is free again");
}

pub fn uc_set_up_login(db: &dyn Database) {
    let f = Fixture::new(db);
    let op = Actor::operator(f.account);
    assert!(matches!(
        identities::set_up_login(f.ctx(), &f.admin, UserId(1), "ada@acme.test", Some(PASSWORD)),
        Err(CoreError::Forbidden { .. })
    ));
    let (identity, generated) =
        identities::set_up_login(f.ctx(), &op, UserId(1), "ada@acme.test", None).unwrap();
    let generated = generated.unwrap();
    assert_eq!(generated.len(), 20);
    let (who, m) = logged_in(log_in(&f, "ada@acme.test", &generated));
    assert_eq!((who, m), (identity, vec![Membership { account: f.account, user: UserId(1) }]));
    let again = identities::set_up_login(f.ctx(), &op, UserId(1), "other@acme.test", Some(PASSWORD));
    assert!(matches!(again, Err(CoreError::Conflict { ref field, .. }) if field == "USER"));
    let bob = f.employee("Bob", "Login", &[1]);
    let taken = identities::set_up_login(f.ctx(), &op, bob, "ADA@acme.test", Some(PASSWORD));
    assert!(matches!(taken, Err(CoreError::Conflict { ref field, .. }) if field == "LOGIN"));
    let short = identities::set_up_login(f.ctx(), &op, bob, "bob@acme.test", Some("short"));
    assert!(matches!(short, Err(CoreError::Validation { ref field, .. }) if field == "password"));
    identities::set_up_login(f.ctx(), &op, bob, "bob@acme.test", Some(PASSWORD)).unwrap();
    logged_in(log_in(&f, "bob@acme.test", PASSWORD));
}

/// Purging deletes exactly what no rule reads any more: codes expired over an hour ago, failed
/// logins the lockout forgives, messages sent over 30 days ago (more than one chunk of them);
/// live codes, counting failures, recent and unsent messages stay, and a second purge finds
/// nothing.
pub fn uc_purge_stale_records(db: &dyn Database) {
    use crate::usecase::maintenance::{self, Purged, PURGE_CHUNK, SENT_MESSAGES_KEPT};
    let f = Fixture::new(db);
    let policy = LockoutPolicy::default();
    let t0 = f.clock.now();
    let now = t0 + SENT_MESSAGES_KEPT + Duration::days(1);
    let code = |n: u128, expires_at| ConfirmationCode {
        id: Uuid::from_u128(n),
        purpose: CodePurpose::Registration(Uuid::from_u128(99)),
        target: login("code@example.com"),
        hash: SecretHash::keyed(b"x", "123456"),
        created_at: t0,
        expires_at,
        attempts_left: 5,
        used: false,
    };
    let msg = |n: u128, sent_at| Message {
        id: Uuid::from_u128(n),
        account: Some(f.account),
        kind: MessageKind::Invitation,
        channel: Channel::Email,
        recipient: format!("to{n}@example.com"),
        subject: "s".into(),
        body: String::new(),
        created_at: t0,
        sent_at,
    };
    let old_sent = PURGE_CHUNK as u128 + 5;
    let mut tx = db.write().unwrap();
    tx.insert_code(&code(1, t0 + Duration::minutes(15))).unwrap();
    tx.insert_code(&code(2, now - Duration::minutes(30))).unwrap();
    tx.insert_code(&code(3, now + Duration::minutes(10))).unwrap();
    tx.set_login_failures("old@example.com", Some(LoginFailures { count: 9, last: t0 })).unwrap();
    let recent = LoginFailures { count: 9, last: now - Duration::hours(1) };
    tx.set_login_failures("recent@example.com", Some(recent)).unwrap();
    for n in 0..old_sent {
        tx.enqueue(&msg(1_000_000 + n, None)).unwrap();
        tx.mark_sent(Uuid::from_u128(1_000_000 + n), t0).unwrap();
    }
    tx.enqueue(&msg(7, None)).unwrap();
    tx.mark_sent(Uuid::from_u128(7), now - Duration::days(1)).unwrap();
    tx.enqueue(&msg(8, None)).unwrap();
    tx.commit().unwrap();

    f.clock.advance(now - t0);
    let purged = maintenance::purge_stale_records(f.ctx(), &policy).unwrap();
    assert_eq!(purged, Purged { codes: 1, login_failures: 1, sent_messages: old_sent as u64 });
    let tx = db.read().unwrap();
    assert_eq!(tx.code(Uuid::from_u128(1)).unwrap(), None);
    assert!(tx.code(Uuid::from_u128(2)).unwrap().is_some(), "expired within the hour: kept");
    assert!(tx.code(Uuid::from_u128(3)).unwrap().is_some());
    assert_eq!(tx.login_failures("old@example.com").unwrap(), None);
    assert_eq!(tx.login_failures("recent@example.com").unwrap(), Some(recent));
    let left: Vec<Uuid> = tx.messages(None).unwrap().into_iter().map(|m| m.id).collect();
    assert_eq!(left, vec![Uuid::from_u128(7), Uuid::from_u128(8)]);
    drop(tx);
    // The failures that were kept still count: one more locks the login.
    let kept = db.read().unwrap().login_failures("recent@example.com").unwrap();
    assert_eq!(policy.failed(kept, f.clock.now()).count, 10);
    assert_eq!(maintenance::purge_stale_records(f.ctx(), &policy).unwrap(), Purged::default());

    // The ports delete at most `limit` records, the soonest due first.
    let later = f.clock.now();
    let mut tx = db.write().unwrap();
    for (n, ago) in [(20, 1), (21, 3), (22, 2)] {
        tx.enqueue(&msg(n, None)).unwrap();
        tx.mark_sent(Uuid::from_u128(n), later - Duration::seconds(ago)).unwrap();
    }
    // Message 7, sent a day ago, is due first, then 21.
    assert_eq!(tx.purge_sent(later, 2).unwrap(), 2);
    let left: Vec<u128> = tx.messages(None).unwrap().iter().map(|m| m.id.as_u128()).collect();
    assert_eq!(left, vec![8, 20, 22]);
    // Code 2 expired before code 3 will.
    assert_eq!(tx.purge_codes(later + Duration::hours(1), 1).unwrap(), 1);
    assert_eq!(tx.code(Uuid::from_u128(2)).unwrap(), None);
    assert!(tx.code(Uuid::from_u128(3)).unwrap().is_some());
    let older = LoginFailures { count: 1, last: later - Duration::hours(2) };
    tx.set_login_failures("older@example.com", Some(older)).unwrap();
    assert_eq!(tx.purge_login_failures(later, 1).unwrap(), 1);
    assert_eq!(tx.login_failures("older@example.com").unwrap(), None);
    assert!(tx.login_failures("recent@example.com").unwrap().is_some());
    tx.commit().unwrap();
}
