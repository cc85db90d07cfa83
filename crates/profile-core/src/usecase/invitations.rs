//! How people join an account (seed 003, decisions.md "Users, invitations"): invitations by
//! email and SMS, direct registration by an administrator, and the quick-registration link with
//! its moderated queue. Every message goes to the outbox in the same unit of work as the change
//! that caused it.

use uuid::Uuid;

use crate::access::{self, Actor, Scope};
use crate::error::{AuthFailure, CoreError, StoreError};
use crate::field::UserField;
use crate::ids::{AccountId, DepartmentId, UserId, WorkgroupId};
use crate::model::account::{Account, RegistrationType};
use crate::model::identity::{CodePurpose, Identity, IdentityId, Login, Membership};
use crate::model::image::PreparedImage;
use crate::model::invitation::{
    Invitation, InvitationId, InvitationState, RegistrationLink, RegistrationRequest, RequestState,
    INVITATION_LIFETIME,
};
use crate::model::message::MessageKind;
use crate::model::user::{Role, User, UserPatch};
use crate::ports::Tx;
use crate::secret::{self, SecretHash};
use crate::templates::kinds::{self, InvitationText, Registration};
use crate::templates::ENGLISH;
use crate::usecase::identities::{check_password, consume_code, hash_password, issue_code, parse_login};
use crate::usecase::images::PreparedPhoto;
use crate::usecase::outbox::{queue_message, NOTICE_LIFETIME};
use crate::usecase::users::{add_user, add_user_reusing, NewUser};
use crate::usecase::{check_name, Ctx};

/// The longest custom invitation text.
pub const INVITATION_TEXT_MAX: usize = 2000;

/// Input of [`invite_by_email`] and [`invite_by_sms`].
#[derive(Debug, Clone, Default)]
pub struct Invite {
    /// The email address or phone number the invitation goes to.
    pub address: String,
    /// Further fields of the new user record (`NAME`, `LAST_NAME`, `UF_DEPARTMENT` …).
    pub fields: UserPatch,
    /// Workgroups to join; an extranet invitation needs at least one.
    pub workgroups: Vec<WorkgroupId>,
    /// Invite an extranet user instead of an employee.
    pub extranet: bool,
    /// The text of the email (ignored for SMS, whose text is fixed).
    pub text: Option<String>,
}

/// What an invitation made.
#[derive(Debug, Clone)]
pub struct Invited {
    /// The user record, active and listed from now on.
    pub user: User,
    /// The invitation.
    pub invitation: Invitation,
}

/// Invites someone by email: creates their user record (`EMAIL` is the invited address), an
/// invitation with a single-use token, and the email with its link. Who may invite follows the
/// account's setting.
///
/// # Errors
/// [`CoreError::Forbidden`]/[`CoreError::InsufficientScope`] when the actor may not invite;
/// [`CoreError::Validation`] naming the field; [`CoreError::Conflict`] on `EMAIL` when a user of
/// the account has the address.
pub fn invite_by_email(ctx: Ctx<'_>, actor: &Actor, invite: Invite) -> Result<Invited, CoreError> {
    invite_by_email_with(ctx, actor, invite, None, None)
}

/// [`invite_by_email`] with the new user's photo (`user.add` with `PERSONAL_PHOTO`), decoded
/// by [`crate::usecase::images::prepare`] before this is called, and with `custom` the values
/// of custom fields (`UF_USR_*`; every mandatory field needs one), all in the same unit of
/// work.
///
/// # Errors
/// As [`invite_by_email`]; [`CoreError::Validation`] naming a custom field.
pub fn invite_by_email_with(
    ctx: Ctx<'_>,
    actor: &Actor,
    invite: Invite,
    photo: Option<PreparedImage>,
    custom: Option<&[(String, crate::Value)]>,
) -> Result<Invited, CoreError> {
    check_may_invite(ctx, actor)?;
    let address = parse_login("EMAIL", &invite.address)?;
    if address.is_phone() {
        return Err(CoreError::invalid("EMAIL", "an email invitation needs an email address"));
    }
    send_invitation(ctx, actor, address, invite, photo, custom)
}

/// Invites someone by SMS: as [`invite_by_email`], but the phone number (stored as
/// `PERSONAL_MOBILE`) becomes the login, and the text is fixed.
///
/// # Errors
/// As [`invite_by_email`], on `PERSONAL_MOBILE`.
pub fn invite_by_sms(ctx: Ctx<'_>, actor: &Actor, invite: Invite) -> Result<Invited, CoreError> {
    check_may_invite(ctx, actor)?;
    let address = parse_login("PERSONAL_MOBILE", &invite.address)?;
    if !address.is_phone() {
        return Err(CoreError::invalid("PERSONAL_MOBILE", "an SMS invitation needs a phone number"));
    }
    send_invitation(ctx, actor, address, Invite { text: None, ..invite }, None, None)
}

fn send_invitation(
    ctx: Ctx<'_>,
    actor: &Actor,
    address: Login,
    invite: Invite,
    photo: Option<PreparedImage>,
    custom: Option<&[(String, crate::Value)]>,
) -> Result<Invited, CoreError> {
    let text = match invite.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        Some(t) if t.chars().count() > INVITATION_TEXT_MAX => {
            return Err(CoreError::invalid("text", format!("longer than {INVITATION_TEXT_MAX} characters")))
        }
        t => t.map(str::to_string),
    };
    let mut fields = invite.fields;
    let field = if address.is_phone() { UserField::PersonalMobile } else { UserField::Email };
    fields.merge(&UserPatch::from_text([(field, address.as_str())])?);
    let mut tx = ctx.db.write()?;
    let account = tx.account(actor.account)?.ok_or_else(|| CoreError::not_found("account", actor.account))?;
    let now = ctx.clock.now();
    let earlier = tx.invitations_to(actor.account, &address)?;
    if earlier.iter().any(|i| i.state_at(now) == InvitationState::Pending) {
        return Err(CoreError::conflict(field.code(), "this address already has a pending invitation"));
    }
    // Inviting again after a revocation or expiry takes up the record that invitation made.
    let mut reuse = None;
    if let Some(last) = earlier.last() {
        let dead = matches!(last.state_at(now), InvitationState::Revoked { .. } | InvitationState::Expired);
        if dead && tx.identity_of_user(actor.account, last.user)?.is_none() {
            reuse = Some(last.user);
        }
    }
    let role = if invite.extranet { Role::Extranet } else { Role::Employee };
    let new = NewUser { role, fields, workgroups: invite.workgroups };
    let mut user = add_user_reusing(&mut *tx, ctx, actor, new, reuse)?;
    if let Some(photo) = photo {
        crate::usecase::users::set_photo_in(&mut *tx, ctx, &mut user, PreparedPhoto::Set(photo))?;
        tx.update_user(&user)?;
    }
    if let Some(raw) = custom {
        for values in crate::usecase::custom::parse_values(&*tx, actor, user.id, raw, true)? {
            tx.set_custom_values(actor.account, &values)?;
        }
    }
    let invitation = issue_invitation(&mut *tx, ctx, actor, &account, user.id, &address, text)?;
    tx.commit()?;
    Ok(Invited { user, invitation })
}

/// Creates an invitation for an existing user record and queues its message.
fn issue_invitation(
    tx: &mut dyn Tx,
    ctx: Ctx<'_>,
    actor: &Actor,
    account: &Account,
    user: UserId,
    address: &Login,
    text: Option<String>,
) -> Result<Invitation, CoreError> {
    let now = ctx.clock.now();
    let token = secret::new_token(ctx.ids);
    let invitation = Invitation {
        id: InvitationId(ctx.ids.uuid()),
        account: account.id,
        user,
        address: address.clone(),
        hash: SecretHash::of(&token),
        invited_by: actor.user,
        created_at: now,
        expires_at: now + INVITATION_LIFETIME,
        state: InvitationState::Pending,
    };
    check_invitation_rate(tx, ctx, actor)?;
    tx.insert_invitation(&invitation)?;
    let link = format!("{}/invite/{token}", ctx.base_url);
    let inviter = match actor.user {
        Some(u) => tx.user(account.id, u)?.map(|u| u.display_name()),
        None => None,
    };
    let composed = kinds::invitation(
        &ENGLISH,
        InvitationText {
            account: &account.name,
            inviter: inviter.as_deref().filter(|n| !n.is_empty()),
            link: &link,
            days: INVITATION_LIFETIME.num_days(),
            note: text.as_deref(),
        },
    );
    let (id, expires) = (Some(invitation.id.0), Some(invitation.expires_at));
    queue_message(tx, ctx, Some(account.id), MessageKind::Invitation, address, &composed, expires, id)?;
    Ok(invitation)
}

/// How the holder of an invitation token accepts it.
#[derive(Debug, Clone)]
pub enum Acceptance {
    /// Create a network profile whose login is the invited address.
    NewIdentity {
        /// Its password.
        password: String,
    },
    /// Join with the profile the holder is logged in as (the token proves control of the invited
    /// address).
    Existing(IdentityId),
}

/// What accepting made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accepted {
    /// The account joined.
    pub account: AccountId,
    /// The user record, now linked.
    pub user: UserId,
    /// The identity it is linked to.
    pub identity: IdentityId,
}

/// What an invitation's link shows before it is accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvitationPreview {
    /// The account's name.
    pub account_name: String,
    /// The invited address.
    pub address: Login,
    /// Its state now (pending, accepted, revoked, expired).
    pub state: InvitationState,
    /// Whether the address is already the login or a contact of a network profile (then the
    /// holder signs in to accept).
    pub has_identity: bool,
}

/// Reads an invitation by its token, for the page that accepts it.
///
/// # Errors
/// [`CoreError::Unauthorized`] ([`AuthFailure::UnknownCredential`]) for an unknown token.
pub fn preview_invitation(ctx: Ctx<'_>, token: &str) -> Result<InvitationPreview, CoreError> {
    let tx = ctx.db.read()?;
    let invitation = tx
        .invitation_by_token(&SecretHash::of(token))?
        .ok_or_else(|| CoreError::unauthorized(AuthFailure::UnknownCredential))?;
    let account =
        tx.account(invitation.account)?.ok_or_else(|| CoreError::not_found("account", invitation.account))?;
    Ok(InvitationPreview {
        account_name: account.name,
        has_identity: tx.identity_by_handle(&invitation.address)?.is_some(),
        state: invitation.state_at(ctx.clock.now()),
        address: invitation.address,
    })
}

/// Accepts an invitation: links its user record to a new or an existing identity. The token
/// works once, and only while the invitation is pending and unexpired.
///
/// # Errors
/// [`CoreError::Unauthorized`] ([`AuthFailure::UnknownCredential`]) for an unknown token;
/// [`CoreError::Conflict`] on `token` once it was used, revoked or has expired, on `LOGIN` when
/// a new profile is asked for an address that already has one (log in and accept with it), on
/// `USER` when the profile already belongs to the account; [`CoreError::Validation`] on
/// `password`.
pub fn accept_invitation(ctx: Ctx<'_>, token: &str, acceptance: Acceptance) -> Result<Accepted, CoreError> {
    let unknown = || CoreError::unauthorized(AuthFailure::UnknownCredential);
    if !secret::is_token_shaped(token) {
        return Err(unknown());
    }
    let who = match acceptance {
        Acceptance::NewIdentity { password } => {
            check_password(&password)?;
            Who::New(hash_password(ctx, &password))
        }
        Acceptance::Existing(id) => Who::Existing(id),
    };
    let mut tx = ctx.db.write()?;
    let mut invitation = tx.invitation_by_token(&SecretHash::of(token))?.ok_or_else(unknown)?;
    let now = ctx.clock.now();
    match invitation.state_at(now) {
        InvitationState::Pending => {}
        InvitationState::Expired => {
            expire(&mut *tx, &mut invitation)?;
            tx.commit()?;
            return Err(CoreError::conflict("token", "the invitation has expired"));
        }
        s => return Err(CoreError::conflict("token", format!("the invitation is {}", s.code()))),
    }
    let mut user = tx
        .user(invitation.account, invitation.user)?
        .ok_or_else(|| CoreError::not_found("user", invitation.user))?;
    let identity = match who {
        Who::New(hash) => {
            if tx.identity_by_handle(&invitation.address)?.is_some() {
                return Err(CoreError::conflict(
                    "LOGIN",
                    "a network profile with this login exists: log in with it and accept again",
                ));
            }
            let mut identity = Identity::new(IdentityId(ctx.ids.uuid()), invitation.address.clone(), now);
            identity.password = Some(hash);
            identity.name = user.text(UserField::Name).to_string();
            identity.last_name = user.text(UserField::LastName).to_string();
            tx.insert_identity(&identity).map_err(login_taken)?;
            identity.id
        }
        // Re-read, so a profile deleted meanwhile is refused.
        Who::Existing(id) => tx.identity(id)?.ok_or_else(|| CoreError::not_found("identity", id))?.id,
    };
    join(&mut *tx, identity, invitation.account, user.id)?;
    invitation.state = InvitationState::Accepted { at: now, identity };
    tx.update_invitation(&invitation)?;
    user.updated_at = now;
    tx.update_user(&user)?;
    tx.commit()?;
    Ok(Accepted { account: invitation.account, user: user.id, identity })
}

enum Who {
    New(String),
    Existing(IdentityId),
}

fn login_taken(e: StoreError) -> CoreError {
    match e {
        StoreError::UniqueViolation { .. } => {
            CoreError::conflict("LOGIN", "this login belongs to another network profile")
        }
        e => e.into(),
    }
}

/// Links a user record to an identity, refusing a second record of the same account.
fn join(tx: &mut dyn Tx, identity: IdentityId, account: AccountId, user: UserId) -> Result<(), CoreError> {
    if tx.memberships(identity)?.iter().any(|m| m.account == account) {
        return Err(CoreError::conflict("USER", "this network profile already belongs to the account"));
    }
    tx.link_user(identity, Membership { account, user }).map_err(|e| match e {
        StoreError::UniqueViolation { .. } => {
            CoreError::conflict("USER", "the user already has a network profile")
        }
        e => e.into(),
    })?;
    Ok(())
}

fn expire(tx: &mut dyn Tx, invitation: &mut Invitation) -> Result<(), CoreError> {
    invitation.state = InvitationState::Expired;
    tx.update_invitation(invitation)?;
    deactivate(tx, invitation.account, invitation.user)
}

fn deactivate(tx: &mut dyn Tx, account: AccountId, user: UserId) -> Result<(), CoreError> {
    if let Some(mut u) = tx.user(account, user)? {
        u.active = false;
        tx.update_user(&u)?;
    }
    Ok(())
}

/// Revokes a pending invitation: the token stops working and the user record is deactivated.
/// Administrators revoke any; others the ones they sent.
///
/// # Errors
/// [`CoreError::NotFound`] when the actor may not see it; [`CoreError::Conflict`] on `state`
/// when it is no longer pending.
pub fn revoke_invitation(ctx: Ctx<'_>, actor: &Actor, id: InvitationId) -> Result<Invitation, CoreError> {
    actor.require(Scope::User)?;
    let mut tx = ctx.db.write()?;
    let mut invitation = tx
        .invitation(actor.account, id)?
        .filter(|i| actor.is_admin() || i.invited_by.is_some_and(|by| actor.is(by)))
        .ok_or_else(|| CoreError::not_found("invitation", id))?;
    match invitation.state_at(ctx.clock.now()) {
        InvitationState::Pending => {}
        s => return Err(CoreError::conflict("state", format!("the invitation is {}", s.code()))),
    }
    invitation.state = InvitationState::Revoked { at: ctx.clock.now() };
    tx.update_invitation(&invitation)?;
    deactivate(&mut *tx, invitation.account, invitation.user)?;
    tx.commit()?;
    Ok(invitation)
}

/// Marks every pending invitation past its expiry as expired and deactivates its user record,
/// in every account. The server runs it periodically; returns how many expired.
///
/// # Errors
/// [`CoreError::Storage`].
pub fn expire_invitations(ctx: Ctx<'_>) -> Result<usize, CoreError> {
    let mut tx = ctx.db.write()?;
    let due = tx.invitations_expiring(ctx.clock.now())?;
    for mut invitation in due.iter().cloned() {
        expire(&mut *tx, &mut invitation)?;
    }
    tx.commit()?;
    Ok(due.len())
}

/// The account's invitations, oldest first, each with its state as of now. Administrators see
/// all; other inviters the ones they sent.
///
/// # Errors
/// [`CoreError::InsufficientScope`] without the `user` scope.
pub fn list_invitations(ctx: Ctx<'_>, actor: &Actor) -> Result<Vec<Invitation>, CoreError> {
    actor.require(Scope::User)?;
    let now = ctx.clock.now();
    let tx = ctx.db.read()?;
    Ok(tx
        .invitations(actor.account)?
        .into_iter()
        .filter(|i| actor.is_admin() || i.invited_by.is_some_and(|by| actor.is(by)))
        .map(|mut i| {
            i.state = i.state_at(now);
            i
        })
        .collect())
}

/// Registers an employee directly: an active user record with a network profile whose login is
/// `EMAIL`. A new profile gets a generated password, mailed through the outbox, and the user is
/// never on the invited list. When the address already has a profile, its owner must prove
/// control of it: the record is invited instead, and the profile joins when they accept.
///
/// # Errors
/// As [`invite_by_email`]; `EMAIL` is required.
pub fn register_directly(ctx: Ctx<'_>, actor: &Actor, fields: UserPatch) -> Result<User, CoreError> {
    // Access first: who may not invite learns nothing from validation.
    check_may_invite(ctx, actor)?;
    let email = match fields.get(UserField::Email) {
        Some(crate::Value::Text(e)) => parse_login("EMAIL", e)?,
        _ => return Err(CoreError::invalid("EMAIL", "an email address is required")),
    };
    let password = secret::new_token(ctx.ids)[..16].to_string();
    let hash = hash_password(ctx, &password);
    let mut tx = ctx.db.write()?;
    let account = tx.account(actor.account)?.ok_or_else(|| CoreError::not_found("account", actor.account))?;
    let mut fields = fields;
    if !fields.touches(UserField::UfDepartment) {
        let root = root_department(&*tx, actor.account)?;
        fields.merge(&UserPatch::from_text([(UserField::UfDepartment, root.0.to_string().as_str())])?);
    }
    let user =
        add_user(&mut *tx, ctx, actor, NewUser { role: Role::Employee, fields, workgroups: Vec::new() })?;
    if tx.identity_by_handle(&email)?.is_some() {
        issue_invitation(&mut *tx, ctx, actor, &account, user.id, &email, None)?;
        tx.commit()?;
        return Ok(user);
    }
    let mut identity = Identity::new(IdentityId(ctx.ids.uuid()), email.clone(), ctx.clock.now());
    identity.password = Some(hash);
    identity.name = user.text(UserField::Name).to_string();
    identity.last_name = user.text(UserField::LastName).to_string();
    tx.insert_identity(&identity).map_err(login_taken)?;
    join(&mut *tx, identity.id, actor.account, user.id)?;
    let link = format!("{}/login", ctx.base_url);
    let composed = kinds::generated_password(&ENGLISH, &account.name, email.as_str(), &password, &link);
    let expires = Some(ctx.clock.now() + NOTICE_LIFETIME);
    queue_message(
        &mut *tx,
        ctx,
        Some(actor.account),
        MessageKind::GeneratedPassword,
        &email,
        &composed,
        expires,
        None,
    )?;
    tx.commit()?;
    Ok(user)
}

fn root_department(tx: &dyn Tx, account: AccountId) -> Result<DepartmentId, CoreError> {
    tx.departments(account)?
        .into_iter()
        .find(|d| d.parent.is_none())
        .map(|d| d.id)
        .ok_or_else(|| CoreError::not_found("department", "root"))
}

/// Makes a new quick-registration link for the account, replacing the old one (which stops
/// working). Returns the URL, shown once. Administrators only.
///
/// # Errors
/// [`CoreError::Forbidden`], [`CoreError::InsufficientScope`].
pub fn create_registration_link(ctx: Ctx<'_>, actor: &Actor) -> Result<String, CoreError> {
    actor.require(Scope::User)?;
    actor.require_admin()?;
    let token = secret::new_token(ctx.ids);
    let mut tx = ctx.db.write()?;
    tx.set_registration_link(&RegistrationLink {
        account: actor.account,
        hash: SecretHash::of(&token),
        created_at: ctx.clock.now(),
    })?;
    tx.commit()?;
    Ok(format!("{}/register/{token}", ctx.base_url))
}

/// Switches the quick-registration link off: the current link stops working, and no new one
/// exists until [`create_registration_link`] makes one. Administrators only.
///
/// # Errors
/// [`CoreError::Forbidden`], [`CoreError::InsufficientScope`].
pub fn disable_registration_link(ctx: Ctx<'_>, actor: &Actor) -> Result<(), CoreError> {
    actor.require(Scope::User)?;
    actor.require_admin()?;
    let mut never = [0u8; 32];
    ctx.ids.fill(&mut never);
    let mut tx = ctx.db.write()?;
    // A hash of no token: nothing can ever match it.
    tx.set_registration_link(&RegistrationLink {
        account: actor.account,
        hash: SecretHash(never),
        created_at: ctx.clock.now(),
    })?;
    tx.commit()?;
    Ok(())
}

/// The account behind a quick-registration token, for the registration page (its greeting).
///
/// # Errors
/// [`CoreError::Unauthorized`] ([`AuthFailure::UnknownCredential`]) for an unknown or replaced token.
pub fn registration_account(ctx: Ctx<'_>, token: &str) -> Result<Account, CoreError> {
    let tx = ctx.db.read()?;
    link_account(&*tx, token).map(|(account, _)| account)
}

fn link_account(tx: &dyn Tx, token: &str) -> Result<(Account, SecretHash), CoreError> {
    let unknown = || CoreError::unauthorized(AuthFailure::UnknownCredential);
    if !secret::is_token_shaped(token) {
        return Err(unknown());
    }
    let link = tx.registration_link_by_token(&SecretHash::of(token))?.ok_or_else(unknown)?;
    Ok((tx.account(link.account)?.ok_or_else(unknown)?, link.hash))
}

/// A registration through the quick-registration link.
#[derive(Debug, Clone)]
pub struct SelfRegistration {
    /// Email: the login of a new profile, and the contact email.
    pub email: String,
    /// First name.
    pub name: String,
    /// Last name.
    pub last_name: String,
    /// The password of a new profile (an existing profile keeps its own).
    pub password: String,
}

/// Registers through the quick-registration link. A code goes to the email; the answer is the
/// code's ID whatever the email is (so it tells nothing about existing profiles).
///
/// # Errors
/// [`CoreError::Unauthorized`] for an unknown link; [`CoreError::Validation`] naming the field.
pub fn register_with_link(ctx: Ctx<'_>, token: &str, form: SelfRegistration) -> Result<Uuid, CoreError> {
    let email = parse_login("EMAIL", &form.email)?;
    if email.is_phone() {
        return Err(CoreError::invalid("EMAIL", "an email address is required"));
    }
    let name = check_name("NAME", &form.name, UserField::Name.max_len())?;
    let last_name = check_name("LAST_NAME", &form.last_name, UserField::LastName.max_len())?;
    check_password(&form.password)?;
    let hash = hash_password(ctx, &form.password);
    let mut tx = ctx.db.write()?;
    let (account, link) = link_account(&*tx, token)?;
    let request = RegistrationRequest {
        id: ctx.ids.uuid(),
        account: account.id,
        link,
        email: email.as_str().to_string(),
        name,
        last_name,
        password: Some(hash),
        identity: None,
        state: RequestState::Unconfirmed,
        created_at: ctx.clock.now(),
    };
    tx.insert_request(&request)?;
    let code = issue_code(&mut *tx, ctx, CodePurpose::Registration(request.id), &email)?;
    tx.commit()?;
    Ok(code)
}

/// Where a confirmed registration stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistrationOutcome {
    /// The registrant is a user of the account now.
    Joined(Accepted),
    /// The account is moderated: an administrator decides.
    AwaitingApproval {
        /// The request.
        request: Uuid,
        /// The registrant's profile (they can log in; the account opens once approved).
        identity: IdentityId,
    },
}

/// Confirms a registration with the code sent to the email. The registrant's profile is created
/// (or, when the email is already a login, that profile is used: the code proved control of it).
/// A public account, or a moderated one whose whitelisted domains include the email's, adds the
/// user at once; otherwise the request waits for an administrator.
///
/// # Errors
/// [`CoreError::Unauthorized`] for any code failure; [`CoreError::Conflict`] on `EMAIL` when the
/// profile already belongs to the account or a user of the account has the email.
pub fn confirm_registration(
    ctx: Ctx<'_>,
    code_id: Uuid,
    code: &str,
) -> Result<RegistrationOutcome, CoreError> {
    let tx = ctx.db.write()?;
    let (mut tx, used) =
        consume_code(tx, ctx, code_id, code, &|p| matches!(p, CodePurpose::Registration(_)))?;
    let CodePurpose::Registration(request_id) = used.purpose else {
        return Err(CoreError::unauthorized(AuthFailure::BadLogin));
    };
    let mut request =
        tx.request(request_id)?.ok_or_else(|| CoreError::not_found("registration", request_id))?;
    let account =
        tx.account(request.account)?.ok_or_else(|| CoreError::not_found("account", request.account))?;
    // A link replaced or switched off since the registration started admits nobody.
    if tx.registration_link(account.id)?.is_none_or(|l| l.hash != request.link) {
        return Err(CoreError::conflict("token", "the registration link is no longer valid"));
    }
    let now = ctx.clock.now();
    let identity = match tx.identity_by_handle(&used.target)? {
        Some(existing) => existing.id,
        None => {
            let mut identity = Identity::new(IdentityId(ctx.ids.uuid()), used.target.clone(), now);
            identity.password = request.password.clone();
            identity.name = request.name.clone();
            identity.last_name = request.last_name.clone();
            tx.insert_identity(&identity).map_err(login_taken)?;
            identity.id
        }
    };
    if tx.memberships(identity)?.iter().any(|m| m.account == account.id) {
        return Err(CoreError::conflict("EMAIL", "you already belong to this account"));
    }
    request.identity = Some(identity);
    request.password = None;
    let domain = request.email.rsplit('@').next().unwrap_or("").to_string();
    let automatic = account.settings.registration == RegistrationType::Public
        || account.settings.whitelisted_domains.contains(&domain);
    let outcome = if automatic {
        let user = admit(&mut *tx, ctx, &account, &mut request)?;
        RegistrationOutcome::Joined(Accepted { account: account.id, user, identity })
    } else {
        request.state = RequestState::Pending;
        notify_registration(&mut *tx, ctx, &account, &used.target, Registration::Received)?;
        RegistrationOutcome::AwaitingApproval { request: request.id, identity }
    };
    tx.update_request(&request)?;
    tx.commit()?;
    Ok(outcome)
}

/// Tells a registrant how their registration stands.
fn notify_registration(
    tx: &mut dyn Tx,
    ctx: Ctx<'_>,
    account: &Account,
    to: &Login,
    how: Registration,
) -> Result<(), CoreError> {
    let kind = match how {
        Registration::Received => MessageKind::RegistrationReceived,
        Registration::Approved => MessageKind::RegistrationApproved,
        Registration::Rejected => MessageKind::RegistrationRejected,
    };
    let composed = kinds::registration(&ENGLISH, how, &account.name, &format!("{}/login", ctx.base_url));
    let expires = Some(ctx.clock.now() + NOTICE_LIFETIME);
    queue_message(tx, ctx, Some(account.id), kind, to, &composed, expires, None)
}

/// Refuses an invitation beyond the inviter's hourly allowance ([`Ctx::invitations_per_hour`];
/// the server's operator and the CLI have none).
fn check_invitation_rate(tx: &dyn Tx, ctx: Ctx<'_>, actor: &Actor) -> Result<(), CoreError> {
    let (Some(inviter), limit) = (actor.user, ctx.invitations_per_hour) else { return Ok(()) };
    if limit == 0 {
        return Ok(());
    }
    let now = ctx.clock.now();
    let since = now - chrono::Duration::hours(1);
    let recent = tx.invitation_times_by(actor.account, inviter, since, limit as usize)?;
    if recent.len() < limit as usize {
        return Ok(());
    }
    // The allowance frees up an hour after the oldest invitation counted.
    let wait =
        recent.iter().min().map_or(3600, |oldest| (*oldest + chrono::Duration::hours(1) - now).num_seconds());
    Err(CoreError::TooManyAttempts { retry_after_secs: wait.max(1) })
}

/// Creates the user record of a request (an employee in the root department) and links it.
fn admit(
    tx: &mut dyn Tx,
    ctx: Ctx<'_>,
    account: &Account,
    request: &mut RegistrationRequest,
) -> Result<UserId, CoreError> {
    let Some(identity) = request.identity else {
        return Err(CoreError::conflict("state", "the registration is not confirmed"));
    };
    let root = root_department(tx, account.id)?;
    let fields = UserPatch::from_text([
        (UserField::Email, request.email.as_str()),
        (UserField::Name, request.name.as_str()),
        (UserField::LastName, request.last_name.as_str()),
        (UserField::UfDepartment, root.0.to_string().as_str()),
    ])?;
    let operator = Actor::operator(account.id);
    let user =
        add_user(tx, ctx, &operator, NewUser { role: Role::Employee, fields, workgroups: Vec::new() })?;
    join(tx, identity, account.id, user.id)?;
    request.state = RequestState::Approved { user: user.id };
    Ok(user.id)
}

/// The account's registration requests (administrators).
///
/// # Errors
/// [`CoreError::Forbidden`], [`CoreError::InsufficientScope`].
pub fn list_registrations(ctx: Ctx<'_>, actor: &Actor) -> Result<Vec<RegistrationRequest>, CoreError> {
    actor.require(Scope::User)?;
    actor.require_admin()?;
    Ok(ctx.db.read()?.requests(actor.account)?)
}

/// Approves a pending registration: the registrant becomes an employee of the account.
///
/// # Errors
/// [`CoreError::NotFound`] for a request of another account; [`CoreError::Conflict`] on `state`
/// when it is not pending, or on `EMAIL` when a user of the account has the email by now.
pub fn approve_registration(ctx: Ctx<'_>, actor: &Actor, request: Uuid) -> Result<UserId, CoreError> {
    decide(ctx, actor, request, true).map(|r| match r.state {
        RequestState::Approved { user } => user,
        _ => UserId(0),
    })
}

/// Rejects a pending registration.
///
/// # Errors
/// As [`approve_registration`].
pub fn reject_registration(ctx: Ctx<'_>, actor: &Actor, request: Uuid) -> Result<(), CoreError> {
    decide(ctx, actor, request, false).map(|_| ())
}

fn decide(ctx: Ctx<'_>, actor: &Actor, id: Uuid, approve: bool) -> Result<RegistrationRequest, CoreError> {
    actor.require(Scope::User)?;
    actor.require_admin()?;
    let mut tx = ctx.db.write()?;
    let mut request = tx
        .request(id)?
        .filter(|r| r.account == actor.account)
        .ok_or_else(|| CoreError::not_found("registration", id))?;
    if request.state != RequestState::Pending {
        return Err(CoreError::conflict("state", format!("the registration is {}", request.state.code())));
    }
    let account = tx.account(actor.account)?.ok_or_else(|| CoreError::not_found("account", actor.account))?;
    let to = Login::Email(request.email.clone());
    let how = if approve {
        admit(&mut *tx, ctx, &account, &mut request)?;
        Registration::Approved
    } else {
        request.state = RequestState::Rejected;
        Registration::Rejected
    };
    notify_registration(&mut *tx, ctx, &account, &to, how)?;
    tx.update_request(&request)?;
    tx.commit()?;
    Ok(request)
}

/// Who may invite, for adapters that want to hide the button: the same check the invitations
/// make.
///
/// # Errors
/// [`CoreError::Forbidden`], [`CoreError::InsufficientScope`].
pub fn check_may_invite(ctx: Ctx<'_>, actor: &Actor) -> Result<(), CoreError> {
    let tx = ctx.db.read()?;
    let account = tx.account(actor.account)?.ok_or_else(|| CoreError::not_found("account", actor.account))?;
    access::check_invite(actor, &account)
}
