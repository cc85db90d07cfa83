//! Contract cases for joining: invitations by email and SMS, revocation and expiry, direct and
//! quick registration, who may invite, batches and housekeeping, end to end through the use
//! cases; the ports' round trips (`ports`) and the sign-in flows (`signin`) beside them.

use chrono::{DateTime, Duration, Utc};
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
use crate::model::message::{Channel, Delivery, DeliveryUpdate, Message, MessageKind, MessageState};
use crate::ports::{Clock, Database};
use crate::secret::SecretHash;
use crate::totp;
use crate::usecase::credentials::{self, NewCredential};
use crate::usecase::identities::{self, LoginAttempt, LoginOutcome, ProfileEdit};
use crate::usecase::invitations::{self, Acceptance, Invite, RegistrationOutcome, SelfRegistration};
use crate::usecase::{accounts, outbox, users};

mod ports;
mod signin;
pub use ports::*;
pub use signin::*;

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

/// The delivery update that marks a message sent at `at` (in whole seconds, as stored).
pub fn sent_update(id: Uuid, at: DateTime<Utc>) -> DeliveryUpdate {
    let at = DateTime::from_timestamp(at.timestamp(), 0).unwrap_or(at);
    let delivery =
        Delivery { state: MessageState::Sent, attempts: 1, sent_at: Some(at), ..Delivery::due_at(at) };
    DeliveryUpdate { id, delivery, drop_body: true }
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
        LoginAttempt { login: who, password, second_factor: None, app_passwords: true },
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
    let received = last_message(&f, "mod@example.com");
    assert_eq!(
        (received.kind, received.subject.as_str()),
        (MessageKind::RegistrationReceived, "Your registration in acme Inc")
    );
    let queue = invitations::list_registrations(f.ctx(), &f.admin).unwrap();
    assert!(queue.iter().any(|r| r.id == request && r.state == RequestState::Pending));
    assert!(matches!(
        invitations::approve_registration(f.ctx(), &employee, request),
        Err(CoreError::Forbidden { .. })
    ));
    let user = invitations::approve_registration(f.ctx(), &f.admin, request).unwrap();
    let approved = last_message(&f, "mod@example.com");
    assert_eq!(
        (approved.kind, approved.subject.as_str()),
        (MessageKind::RegistrationApproved, "Welcome to acme Inc")
    );
    assert!(approved.body.contains(&format!("{}/login", super::BASE_URL)), "{}", approved.body);
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
    let rejected = last_message(&f, "rej@example.com");
    assert_eq!(rejected.kind, MessageKind::RegistrationRejected);
    assert!(
        rejected.body.starts_with("Your registration in acme Inc was not approved."),
        "{}",
        rejected.body
    );
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
        html: String::new(),
        created_at: t0,
        expires_at: None,
        source: None,
        delivery: Delivery { sent_at, ..Delivery::due_at(t0) },
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
        tx.update_deliveries(&[sent_update(Uuid::from_u128(1_000_000 + n), t0)]).unwrap();
    }
    tx.enqueue(&msg(7, None)).unwrap();
    tx.update_deliveries(&[sent_update(Uuid::from_u128(7), now - Duration::days(1))]).unwrap();
    tx.enqueue(&msg(8, None)).unwrap();
    tx.commit().unwrap();

    f.clock.advance(now - t0);
    let purged = maintenance::purge_stale_records(f.ctx(), &policy, &Default::default()).unwrap();
    assert_eq!(
        purged,
        Purged {
            codes: 1,
            login_failures: 1,
            sent_messages: old_sent as u64,
            expired_bodies: 0,
            sessions: 0,
            custom_values: 0
        }
    );
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
    assert_eq!(
        maintenance::purge_stale_records(f.ctx(), &policy, &Default::default()).unwrap(),
        Purged::default()
    );

    // The ports delete at most `limit` records, the soonest due first.
    let later = f.clock.now();
    let mut tx = db.write().unwrap();
    for (n, ago) in [(20, 1), (21, 3), (22, 2)] {
        tx.enqueue(&msg(n, None)).unwrap();
        tx.update_deliveries(&[sent_update(Uuid::from_u128(n), later - Duration::seconds(ago))]).unwrap();
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
