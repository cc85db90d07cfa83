//! Network identities: logging in (with lockout and two-step authentication), passwords and
//! their reset, contacts and login changes confirmed by code, social logins, pushing name and
//! photo to every account, and deletion; application passwords and TOTP in `factors`.
//!
//! No answer here tells a caller whether a login exists: a wrong login and a wrong password fail
//! alike, after the same password-hashing work; lockout counts failures per login whether or not
//! it exists; a reset request answers the same either way.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::access::{Actor, ScopeSet};
use crate::error::{AuthFailure, CoreError, StoreError};
use crate::field::UserField;
use crate::ids::{AccountId, UserId};
use crate::model::identity::{
    AppPassword, CodePurpose, ConfirmationCode, Identity, IdentityId, LockoutPolicy, Login, Membership,
    SocialLink, Totp, CODE_ATTEMPTS, CODE_LIFETIME,
};
use crate::model::message::MessageKind;
use crate::ports::Tx;
use crate::secret::{self, same_bytes, SecretHash};
use crate::templates::kinds::{self, CodeFor, SecurityChange};
use crate::templates::ENGLISH;
use crate::totp;
use crate::usecase::images;
use crate::usecase::outbox::{queue_message, NOTICE_LIFETIME};
use crate::usecase::{check_name, Ctx};

mod factors;
mod lockout;
mod profile;
pub use factors::*;
use lockout::Guard;
use profile::push;
pub use profile::{set_profile_photo, update_profile, ProfileEdit};

/// The shortest password.
pub const PASSWORD_MIN: usize = 8;
/// The longest password.
pub const PASSWORD_MAX: usize = 256;
/// How many recovery codes two-step set-up hands out.
pub const RECOVERY_CODES: usize = 10;

/// Checks a new password: 8–256 characters, not only spaces.
///
/// # Errors
/// [`CoreError::Validation`] on `password`.
pub fn check_password(password: &str) -> Result<(), CoreError> {
    let n = password.chars().count();
    if n < PASSWORD_MIN {
        return Err(CoreError::invalid("password", format!("at least {PASSWORD_MIN} characters")));
    }
    if n > PASSWORD_MAX {
        return Err(CoreError::invalid("password", format!("at most {PASSWORD_MAX} characters")));
    }
    if password.trim().is_empty() {
        return Err(CoreError::invalid("password", "must not be only spaces"));
    }
    Ok(())
}

/// Parses a login handle.
///
/// # Errors
/// [`CoreError::Validation`] on `field`.
pub fn parse_login(field: &str, raw: &str) -> Result<Login, CoreError> {
    Login::parse(raw).map_err(|r| CoreError::invalid(field, r))
}

pub(crate) fn hash_password(ctx: Ctx<'_>, password: &str) -> String {
    let mut salt = [0u8; 16];
    ctx.ids.fill(&mut salt);
    ctx.passwords.hash(password, &salt)
}

/// A login attempt.
#[derive(Debug, Clone, Copy)]
pub struct LoginAttempt<'a> {
    /// The login or a confirmed contact, as typed.
    pub login: &'a str,
    /// The password, or an application password.
    pub password: &'a str,
    /// A TOTP code or a recovery code, when two-step login is on.
    pub second_factor: Option<&'a str>,
    /// Whether an application password is accepted as the password (REST's Basic
    /// authentication); never on the web's `/login`, where it would skip the second factor.
    pub app_passwords: bool,
}

/// The result of a login attempt that did not fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginOutcome {
    /// The identity is authenticated.
    LoggedIn {
        /// Who.
        identity: IdentityId,
        /// The accounts where they are an active user.
        memberships: Vec<Membership>,
    },
    /// The password was right; two-step login needs a code too. Ask and try again with it.
    SecondFactorNeeded,
}

/// Logs in with a login (or confirmed contact) and password. An application password logs in
/// without the second factor (that is what it is for).
///
/// The attempt is counted as a failure before the password is checked, under the write lock, so
/// parallel guesses cannot outrun the lockout; a success clears the count. Everything the check
/// relied on (password hash, application password, TOTP step, recovery code) is checked again
/// under the write lock before the login is granted, so a concurrent change wins.
///
/// # Errors
/// [`CoreError::TooManyAttempts`] while the login is delayed or locked (the password is not
/// even checked); [`CoreError::Unauthorized`] with [`AuthFailure::BadLogin`] for an unknown
/// login, a wrong password or a wrong second factor alike.
pub fn log_in(
    ctx: Ctx<'_>,
    policy: &LockoutPolicy,
    attempt: LoginAttempt<'_>,
) -> Result<LoginOutcome, CoreError> {
    let guard = Guard::login(ctx, &lockout_key(attempt.login), policy);
    let now = ctx.clock.now();
    let identity = {
        let mut tx = ctx.db.write()?;
        // Known or not, the same write: the answer's timing says nothing either.
        guard.count(&mut *tx, now)?;
        let identity = match Login::parse(attempt.login) {
            Ok(login) => tx.identity_by_handle(&login)?,
            Err(_) => None,
        };
        tx.commit()?;
        identity
    };
    let Some(identity) = identity else {
        // The same work as a real check, so timing does not tell unknown logins apart.
        let _ = hash_password(ctx, attempt.password);
        return Err(CoreError::unauthorized(AuthFailure::BadLogin));
    };
    match check_secrets(ctx, &identity, attempt, now) {
        Verdict::Wrong => Err(CoreError::unauthorized(AuthFailure::BadLogin)),
        Verdict::NeedsSecondFactor => {
            // The password was right: take back this attempt's count.
            let mut tx = ctx.db.write()?;
            guard.take_back(&mut *tx)?;
            tx.commit()?;
            Ok(LoginOutcome::SecondFactorNeeded)
        }
        Verdict::Right(checked) => finish_login(ctx, &guard, identity.id, &checked),
    }
}

/// What a successful check relied on, to be confirmed under the write lock.
#[derive(Default)]
struct Checked {
    /// The password hash that matched.
    password: Option<String>,
    /// The application password that matched.
    app: Option<SecretHash>,
    /// The TOTP step that matched.
    totp_step: Option<i64>,
    /// The recovery code that matched.
    recovery: Option<SecretHash>,
}

enum Verdict {
    Wrong,
    NeedsSecondFactor,
    Right(Checked),
}

fn check_secrets(
    ctx: Ctx<'_>,
    identity: &Identity,
    attempt: LoginAttempt<'_>,
    now: DateTime<Utc>,
) -> Verdict {
    let app = SecretHash::of(attempt.password);
    if attempt.app_passwords && identity.app_passwords.iter().any(|p| same_bytes(&p.hash.0, &app.0)) {
        return Verdict::Right(Checked { app: Some(app), ..Checked::default() });
    }
    let stored = identity.password.as_deref().unwrap_or("");
    if !ctx.passwords.verify(attempt.password, stored) {
        return Verdict::Wrong;
    }
    second_factor(
        identity,
        attempt.second_factor,
        now,
        Checked { password: Some(stored.to_string()), ..Checked::default() },
    )
}

/// The second factor, when two-step login is on.
fn second_factor(identity: &Identity, code: Option<&str>, now: DateTime<Utc>, checked: Checked) -> Verdict {
    let Some(t) = identity.totp.as_ref().filter(|t| t.enabled) else {
        return Verdict::Right(checked);
    };
    let Some(code) = code else {
        return Verdict::NeedsSecondFactor;
    };
    if let Some(step) = totp::verify(&t.secret, code, now, t.last_step) {
        return Verdict::Right(Checked { totp_step: Some(step), ..checked });
    }
    let h = SecretHash::of(&factors::normalise_recovery(code));
    if t.recovery.contains(&h) {
        return Verdict::Right(Checked { recovery: Some(h), ..checked });
    }
    Verdict::Wrong
}

/// Grants a checked login: re-reads the identity under the write lock, confirms what the check
/// relied on, uses up the TOTP step or recovery code, and clears the failure count.
fn finish_login(
    ctx: Ctx<'_>,
    guard: &Guard,
    identity: IdentityId,
    checked: &Checked,
) -> Result<LoginOutcome, CoreError> {
    let bad = || CoreError::unauthorized(AuthFailure::BadLogin);
    let mut tx = ctx.db.write()?;
    let Some(mut id) = tx.identity(identity)? else {
        return Err(bad());
    };
    let password_holds = checked.password.as_ref().is_none_or(|h| id.password.as_ref() == Some(h));
    let app_holds = checked.app.is_none_or(|h| id.app_passwords.iter().any(|p| p.hash == h));
    if !password_holds || !app_holds {
        return Err(bad());
    }
    if checked.totp_step.is_some() || checked.recovery.is_some() {
        let Some(t) = id.totp.as_mut().filter(|t| t.enabled) else {
            return Err(bad());
        };
        if let Some(step) = checked.totp_step {
            if t.last_step.is_some_and(|last| last >= step) {
                return Err(bad());
            }
            t.last_step = Some(step);
        }
        if let Some(used) = checked.recovery {
            let before = t.recovery.len();
            t.recovery.retain(|h| *h != used);
            if t.recovery.len() == before {
                return Err(bad());
            }
        }
        tx.update_identity(&id)?;
    }
    guard.succeeded(&mut *tx)?;
    let memberships = active_memberships(&*tx, id.id)?;
    tx.commit()?;
    Ok(LoginOutcome::LoggedIn { identity: id.id, memberships })
}

/// Failures are counted per typed login, normalised when it parses, so a lock looks the same
/// for logins that exist and logins that do not.
fn lockout_key(raw: &str) -> String {
    Login::parse(raw).map_or_else(|_| raw.trim().to_lowercase(), |l| l.as_str().to_string())
}

/// For the server's operator (the CLI): the profile whose login or confirmed contact is `login`.
///
/// # Errors
/// [`CoreError::Validation`] on `login`; [`CoreError::NotFound`] when no profile has it.
pub fn operator_identity(ctx: Ctx<'_>, login: &str) -> Result<IdentityId, CoreError> {
    let handle = parse_login("login", login)?;
    ctx.db
        .read()?
        .identity_by_handle(&handle)?
        .map(|i| i.id)
        .ok_or_else(|| CoreError::not_found("profile", login))
}

/// For the server's operator: lifts the lockout of a login (the failed attempts are forgotten).
/// A login that was never locked, or is no profile's, is no error: the answer says nothing
/// about which logins exist.
///
/// # Errors
/// [`CoreError::Storage`].
pub fn operator_unlock(ctx: Ctx<'_>, login: &str) -> Result<(), CoreError> {
    let mut tx = ctx.db.write()?;
    lockout::unlock(&mut *tx, &lockout_key(login))?;
    tx.commit()?;
    Ok(())
}

/// For the server's operator: switches two-step sign-in off for the profile of `login` (its
/// owner lost the phone and the recovery codes). Every session of the profile ends.
///
/// # Errors
/// As [`operator_identity`].
pub fn operator_disable_totp(ctx: Ctx<'_>, login: &str) -> Result<(), CoreError> {
    let identity = operator_identity(ctx, login)?;
    let mut tx = ctx.db.write()?;
    let mut id = load(&*tx, identity)?;
    id.totp = None;
    tx.update_identity(&id)?;
    tx.delete_sessions_of(identity)?;
    tx.commit()?;
    Ok(())
}

pub(crate) fn active_memberships(tx: &dyn Tx, identity: IdentityId) -> Result<Vec<Membership>, CoreError> {
    let mut out = Vec::new();
    for m in tx.memberships(identity)? {
        if tx.user(m.account, m.user)?.is_some_and(|u| u.active) {
            out.push(m);
        }
    }
    Ok(out)
}

/// Enters an account as a logged-in identity (a browser session): records `LAST_LOGIN` and
/// returns the actor, with every scope.
///
/// # Errors
/// [`CoreError::NotFound`] on `account` when the identity is not an active user there.
pub fn open_account(ctx: Ctx<'_>, identity: IdentityId, account: AccountId) -> Result<Actor, CoreError> {
    let mut tx = ctx.db.write()?;
    let membership = tx.memberships(identity)?.into_iter().find(|m| m.account == account);
    let mut user = match membership {
        Some(m) => tx.user(account, m.user)?.filter(|u| u.active),
        None => None,
    }
    .ok_or_else(|| CoreError::not_found("account", account))?;
    let now = ctx.clock.now();
    user.last_login = Some(now);
    user.last_activity = Some(now);
    tx.update_user(&user)?;
    tx.commit()?;
    Ok(Actor { account, user: Some(user.id), role: user.role, scopes: ScopeSet::all() })
}

fn load(tx: &dyn Tx, id: IdentityId) -> Result<Identity, CoreError> {
    tx.identity(id)?.ok_or_else(|| CoreError::not_found("identity", id))
}

fn require_password(ctx: Ctx<'_>, identity: &Identity, password: &str) -> Result<(), CoreError> {
    if ctx.passwords.verify(password, identity.password.as_deref().unwrap_or("")) {
        Ok(())
    } else {
        Err(CoreError::unauthorized(AuthFailure::BadLogin))
    }
}

/// Changes the password; the current one is required. Every session of the identity ends.
///
/// # Errors
/// [`CoreError::Unauthorized`] when `current` is wrong; [`CoreError::Validation`] on `password`.
pub fn change_password(
    ctx: Ctx<'_>,
    identity: IdentityId,
    current: &str,
    new: &str,
) -> Result<(), CoreError> {
    check_password(new)?;
    require_password(ctx, &load(&*ctx.db.read()?, identity)?, current)?;
    let hash = hash_password(ctx, new);
    // Re-read under the write lock, so nothing changed meanwhile is lost.
    let mut tx = ctx.db.write()?;
    let mut id = load(&*tx, identity)?;
    id.password = Some(hash);
    tx.update_identity(&id)?;
    // Whoever else was signed in with the old password is signed out.
    tx.delete_sessions_of(identity)?;
    notify_change(&mut *tx, ctx, SecurityChange::Password, &id.login, &id.login)?;
    tx.commit()?;
    Ok(())
}

/// Tells the holder of `to` that the login or password of their profile (now `login`)
/// changed, with the link to reset the password if it was not them.
fn notify_change(
    tx: &mut dyn Tx,
    ctx: Ctx<'_>,
    what: SecurityChange,
    to: &Login,
    login: &Login,
) -> Result<(), CoreError> {
    let kind = match what {
        SecurityChange::Login => MessageKind::LoginChanged,
        SecurityChange::Password => MessageKind::PasswordChanged,
    };
    let composed = kinds::security_change(&ENGLISH, what, login.as_str(), &format!("{}/reset", ctx.base_url));
    let expires = ctx.clock.now() + NOTICE_LIFETIME;
    queue_message(tx, ctx, None, kind, to, &composed, Some(expires), None)
}

/// Issues a code for `purpose`, sent to `target`, in the caller's unit of work.
pub(crate) fn issue_code(
    tx: &mut dyn Tx,
    ctx: Ctx<'_>,
    purpose: CodePurpose,
    target: &Login,
) -> Result<Uuid, CoreError> {
    let id = ctx.ids.uuid();
    let code = secret::new_code(ctx.ids);
    let now = ctx.clock.now();
    tx.insert_code(&ConfirmationCode {
        id,
        purpose,
        target: target.clone(),
        hash: SecretHash::keyed(id.as_bytes(), &code),
        created_at: now,
        expires_at: now + CODE_LIFETIME,
        attempts_left: CODE_ATTEMPTS,
        used: false,
    })?;
    let what = match purpose {
        CodePurpose::AddContact(_) => CodeFor::Contact,
        CodePurpose::ChangeLogin(_) => CodeFor::Login,
        CodePurpose::ResetPassword(_) => CodeFor::Reset,
        CodePurpose::Registration(_) => CodeFor::Registration,
    };
    let kind = if what == CodeFor::Reset { MessageKind::ResetCode } else { MessageKind::ConfirmationCode };
    let composed = kinds::code(&ENGLISH, what, &code, CODE_LIFETIME.num_minutes());
    queue_message(tx, ctx, None, kind, target, &composed, Some(now + CODE_LIFETIME), Some(id))?;
    Ok(id)
}

/// Checks a code and marks it used. A wrong code costs an attempt and counts as a failed login
/// of the address it was sent to (so guessing codes runs into the same lockout as guessing
/// passwords), committed at once. Every failure (unknown, wrong, expired, used, out of
/// attempts, another purpose) looks the same.
pub(crate) fn consume_code<'a>(
    mut tx: Box<dyn Tx + 'a>,
    ctx: Ctx<'_>,
    id: Uuid,
    code: &str,
    purpose: &dyn Fn(&CodePurpose) -> bool,
) -> Result<(Box<dyn Tx + 'a>, ConfirmationCode), CoreError> {
    let bad = || CoreError::unauthorized(AuthFailure::BadLogin);
    let Some(mut stored) = tx.code(id)? else {
        return Err(bad());
    };
    let now = ctx.clock.now();
    let guard = Guard::login(ctx, stored.target.as_str(), &LockoutPolicy::default());
    guard.wait(&*tx, now)?;
    if stored.used || stored.attempts_left == 0 || now >= stored.expires_at || !purpose(&stored.purpose) {
        return Err(bad());
    }
    if !same_bytes(&SecretHash::keyed(id.as_bytes(), code.trim()).0, &stored.hash.0) {
        stored.attempts_left -= 1;
        tx.update_code(&stored)?;
        guard.fail(&mut *tx, now)?;
        tx.commit()?;
        return Err(bad());
    }
    stored.used = true;
    tx.update_code(&stored)?;
    Ok((tx, stored))
}

/// Asks for a password reset. The answer is a code ID whether or not the login exists, and the
/// same write happens either way; only when the login exists is a code sent to it (otherwise
/// the stored code can never match).
///
/// # Errors
/// [`CoreError::Validation`] on `login` when it is neither an email nor a phone number;
/// [`CoreError::TooManyAttempts`] while the client's address is delayed ([`Ctx::client`]).
pub fn request_password_reset(ctx: Ctx<'_>, login: &str) -> Result<Uuid, CoreError> {
    let login = parse_login("login", login)?;
    let mut tx = ctx.db.write()?;
    // Each request costs a message: it counts against the client's address like a failure.
    Guard::client(ctx).count(&mut *tx, ctx.clock.now())?;
    let id = match tx.identity_by_handle(&login)? {
        Some(identity) => issue_code(&mut *tx, ctx, CodePurpose::ResetPassword(identity.id), &login)?,
        None => {
            let id = ctx.ids.uuid();
            let mut never = [0u8; 32];
            ctx.ids.fill(&mut never);
            let now = ctx.clock.now();
            tx.insert_code(&ConfirmationCode {
                id,
                purpose: CodePurpose::ResetPassword(IdentityId(ctx.ids.uuid())),
                target: login,
                // Random bytes, not the hash of any code: nothing matches them.
                hash: SecretHash(never),
                created_at: now,
                expires_at: now + CODE_LIFETIME,
                attempts_left: CODE_ATTEMPTS,
                used: false,
            })?;
            id
        }
    };
    tx.commit()?;
    Ok(id)
}

/// Sets a new password with a reset code, and lifts any lockout of the login it was sent to.
/// The code works only while that address still belongs to the identity.
///
/// # Errors
/// [`CoreError::Unauthorized`] ([`AuthFailure::BadLogin`]) for any code failure;
/// [`CoreError::TooManyAttempts`] while the address is locked; [`CoreError::Validation`] on
/// `password`.
pub fn reset_password(ctx: Ctx<'_>, code_id: Uuid, code: &str, new: &str) -> Result<(), CoreError> {
    check_password(new)?;
    let hash = hash_password(ctx, new);
    let tx = ctx.db.write()?;
    let (mut tx, used) =
        consume_code(tx, ctx, code_id, code, &|p| matches!(p, CodePurpose::ResetPassword(_)))?;
    let CodePurpose::ResetPassword(identity) = used.purpose else {
        return Err(CoreError::unauthorized(AuthFailure::BadLogin));
    };
    let Some(mut id) = tx.identity(identity)?.filter(|i| i.handles().any(|h| *h == used.target)) else {
        return Err(CoreError::unauthorized(AuthFailure::BadLogin));
    };
    id.password = Some(hash);
    tx.update_identity(&id)?;
    lockout::unlock(&mut *tx, used.target.as_str())?;
    tx.delete_sessions_of(id.id)?;
    notify_change(&mut *tx, ctx, SecurityChange::Password, &used.target, &id.login)?;
    tx.commit()?;
    Ok(())
}

/// Starts adding an email or phone to an identity: a code goes to it. The answer is the same
/// whether or not another identity has it already (that shows only at confirmation, to whoever
/// received the code).
///
/// # Errors
/// [`CoreError::Validation`] on `contact`; [`CoreError::NotFound`] for an unknown identity.
pub fn request_contact(ctx: Ctx<'_>, identity: IdentityId, contact: &str) -> Result<Uuid, CoreError> {
    let contact = parse_login("contact", contact)?;
    let mut tx = ctx.db.write()?;
    load(&*tx, identity)?;
    let id = issue_code(&mut *tx, ctx, CodePurpose::AddContact(identity), &contact)?;
    tx.commit()?;
    Ok(id)
}

/// Starts changing the login: a code goes to the new address or phone.
///
/// # Errors
/// As [`request_contact`], on `login`.
pub fn request_login_change(ctx: Ctx<'_>, identity: IdentityId, new_login: &str) -> Result<Uuid, CoreError> {
    let login = parse_login("login", new_login)?;
    let mut tx = ctx.db.write()?;
    load(&*tx, identity)?;
    let id = issue_code(&mut *tx, ctx, CodePurpose::ChangeLogin(identity), &login)?;
    tx.commit()?;
    Ok(id)
}

/// Confirms a contact or a login change with its code. With `push_to_accounts`, the address
/// also becomes the contact email (`EMAIL`) or mobile (`PERSONAL_MOBILE`) of every user record
/// of the identity.
///
/// # Errors
/// [`CoreError::Unauthorized`] for any code failure; [`CoreError::Conflict`] on `LOGIN` when
/// another identity has the address, or on `EMAIL` when another user of an account has it (then
/// nothing changes and the code stays usable).
pub fn confirm_code(
    ctx: Ctx<'_>,
    identity: IdentityId,
    code_id: Uuid,
    code: &str,
    push_to_accounts: bool,
) -> Result<Identity, CoreError> {
    let tx = ctx.db.write()?;
    let mine = |p: &CodePurpose| matches!(p, CodePurpose::AddContact(i) | CodePurpose::ChangeLogin(i) if *i == identity);
    let (mut tx, used) = consume_code(tx, ctx, code_id, code, &mine)?;
    let mut id = load(&*tx, identity)?;
    let address = used.target.clone();
    id.contacts.retain(|c| *c != address);
    let old_login = id.login.clone();
    match used.purpose {
        CodePurpose::ChangeLogin(_) => id.login = address.clone(),
        _ if id.login == address => {}
        _ => id.contacts.push(address.clone()),
    }
    tx.update_identity(&id).map_err(|e| match e {
        StoreError::UniqueViolation { .. } => {
            CoreError::conflict("LOGIN", "this address belongs to another network profile")
        }
        e => e.into(),
    })?;
    if id.login != old_login {
        notify_change(&mut *tx, ctx, SecurityChange::Login, &old_login, &id.login)?;
    }
    if push_to_accounts {
        let field = if address.is_phone() { UserField::PersonalMobile } else { UserField::Email };
        push(&mut *tx, ctx, id.id, &[(field, address.as_str())])?;
    }
    tx.commit()?;
    Ok(id)
}

/// Links a social login (already verified by the adapter that spoke to the provider).
///
/// # Errors
/// [`CoreError::Conflict`] on `SOCIAL` when it is linked to another identity.
pub fn link_social(
    ctx: Ctx<'_>,
    identity: IdentityId,
    provider: &str,
    subject: &str,
) -> Result<(), CoreError> {
    let link = SocialLink {
        provider: check_name("provider", &provider.to_lowercase(), 50)?,
        subject: check_name("subject", subject, 255)?,
    };
    let mut tx = ctx.db.write()?;
    let mut id = load(&*tx, identity)?;
    if id.socials.contains(&link) {
        tx.commit()?;
        return Ok(());
    }
    id.socials.push(link);
    tx.update_identity(&id).map_err(|e| match e {
        StoreError::UniqueViolation { .. } => {
            CoreError::conflict("SOCIAL", "this social login belongs to another network profile")
        }
        e => e.into(),
    })?;
    tx.commit()?;
    Ok(())
}

/// Unlinks a social login. An identity keeps at least one way in: a password or another link.
///
/// # Errors
/// [`CoreError::Conflict`] on `SOCIAL` when it is the last way to log in.
pub fn unlink_social(
    ctx: Ctx<'_>,
    identity: IdentityId,
    provider: &str,
    subject: &str,
) -> Result<(), CoreError> {
    let mut tx = ctx.db.write()?;
    let mut id = load(&*tx, identity)?;
    id.socials.retain(|s| !(s.provider == provider.to_lowercase() && s.subject == subject));
    if id.socials.is_empty() && id.password.is_none() {
        return Err(CoreError::conflict("SOCIAL", "set a password before unlinking your last social login"));
    }
    tx.update_identity(&id)?;
    tx.commit()?;
    Ok(())
}

/// Logs in through a linked social login (verified by the adapter). Two-step login applies as
/// with a password, and wrong second factors count toward the identity's lockout.
///
/// # Errors
/// [`CoreError::Unauthorized`] ([`AuthFailure::BadLogin`]) when no identity has it or the second
/// factor is wrong; [`CoreError::TooManyAttempts`] while locked.
pub fn log_in_social(
    ctx: Ctx<'_>,
    policy: &LockoutPolicy,
    provider: &str,
    subject: &str,
    second_factor_code: Option<&str>,
) -> Result<LoginOutcome, CoreError> {
    let identity = ctx
        .db
        .read()?
        .identity_by_social(&provider.to_lowercase(), subject)?
        .ok_or(CoreError::unauthorized(AuthFailure::BadLogin))?;
    let guard = Guard::login(ctx, identity.login.as_str(), policy);
    if !identity.has_second_factor() {
        return finish_login(ctx, &guard, identity.id, &Checked::default());
    }
    match second_factor_code {
        None => Ok(LoginOutcome::SecondFactorNeeded),
        Some(code) => second_step(ctx, &guard, &identity, code, Checked::default()),
    }
}

/// The second step of a login whose first step passed: the code counts as an attempt at the
/// login, and a right one grants it.
fn second_step(
    ctx: Ctx<'_>,
    guard: &Guard,
    identity: &Identity,
    code: &str,
    checked: Checked,
) -> Result<LoginOutcome, CoreError> {
    let now = ctx.clock.now();
    {
        let mut tx = ctx.db.write()?;
        guard.count(&mut *tx, now)?;
        tx.commit()?;
    }
    match second_factor(identity, Some(code), now, checked) {
        Verdict::Right(checked) => finish_login(ctx, guard, identity.id, &checked),
        _ => Err(CoreError::unauthorized(AuthFailure::BadLogin)),
    }
}

/// The second step of a password login, for the identity whose password hash was `password_hash`
/// when its first step passed (a sign-in ticket carries both): a TOTP or recovery code. The
/// step fails if the password has changed since.
///
/// # Errors
/// [`CoreError::TooManyAttempts`] while the login is delayed or locked;
/// [`CoreError::Unauthorized`] ([`AuthFailure::BadLogin`]) for a wrong code, a changed password
/// or an identity that is gone.
pub fn log_in_second_step(
    ctx: Ctx<'_>,
    policy: &LockoutPolicy,
    identity: IdentityId,
    password_hash: &str,
    code: &str,
) -> Result<LoginOutcome, CoreError> {
    let bad = || CoreError::unauthorized(AuthFailure::BadLogin);
    let identity = ctx.db.read()?.identity(identity)?.ok_or_else(bad)?;
    if identity.password.as_deref() != Some(password_hash) || !identity.has_second_factor() {
        return Err(bad());
    }
    let guard = Guard::login(ctx, identity.login.as_str(), policy);
    let checked = Checked { password: Some(password_hash.to_string()), ..Checked::default() };
    second_step(ctx, &guard, &identity, code, checked)
}

/// Deletes an identity, which is allowed only once it is dismissed from every account. Its user
/// records stay (dismissed); its logins become free.
///
/// # Errors
/// [`CoreError::Unauthorized`] for a wrong password; [`CoreError::Conflict`] on `ACTIVE` while
/// it is an active user somewhere.
pub fn delete_identity(ctx: Ctx<'_>, identity: IdentityId, password: &str) -> Result<(), CoreError> {
    let id = load(&*ctx.db.read()?, identity)?;
    require_password(ctx, &id, password)?;
    let mut tx = ctx.db.write()?;
    if !active_memberships(&*tx, identity)?.is_empty() {
        return Err(CoreError::conflict(
            "ACTIVE",
            "the profile is still an active user of an account; be dismissed from every account first",
        ));
    }
    // Its photo goes with it: nothing would name the image any more.
    images::delete_named(&mut *tx, &id.photo)?;
    tx.delete_identity(identity)?;
    tx.delete_sessions_of(identity)?;
    tx.commit()?;
    Ok(())
}

/// Gives a user record a new network profile with `login` and a password (generated when
/// `password` is `None`, and then returned, to be shown once). For the server's operator setting
/// up an account (`cardfile init`), not for invitations.
///
/// # Errors
/// [`CoreError::Forbidden`] for anyone but the operator; [`CoreError::NotFound`] for an unknown
/// user; [`CoreError::Conflict`] on `USER` when the record already has a profile, or on `LOGIN`
/// when another profile has the login; [`CoreError::Validation`] on `login` or `password`.
pub fn set_up_login(
    ctx: Ctx<'_>,
    actor: &Actor,
    user: UserId,
    login: &str,
    password: Option<&str>,
) -> Result<(IdentityId, Option<String>), CoreError> {
    if actor.user.is_some() {
        return Err(CoreError::forbidden("only the server's operator sets up logins directly"));
    }
    let login = parse_login("login", login)?;
    let generated = password.is_none().then(|| secret::new_token(ctx.ids)[..20].to_string());
    let password = password.or(generated.as_deref()).unwrap_or_default();
    check_password(password)?;
    let hash = hash_password(ctx, password);
    let mut tx = ctx.db.write()?;
    let record = tx.user(actor.account, user)?.ok_or_else(|| CoreError::not_found("user", user))?;
    if tx.identity_of_user(actor.account, user)?.is_some() {
        return Err(CoreError::conflict("USER", "the user already has a network profile"));
    }
    let mut identity = Identity::new(IdentityId(ctx.ids.uuid()), login, ctx.clock.now());
    identity.password = Some(hash);
    identity.name = record.text(UserField::Name).to_string();
    identity.last_name = record.text(UserField::LastName).to_string();
    tx.insert_identity(&identity).map_err(|e| match e {
        StoreError::UniqueViolation { .. } => {
            CoreError::conflict("LOGIN", "another network profile has this login")
        }
        e => e.into(),
    })?;
    tx.link_user(identity.id, Membership { account: actor.account, user })?;
    tx.commit()?;
    Ok((identity.id, generated))
}

/// The login of a user's identity, for the user themself and administrators (who can read it but
/// never change it). `None` while the user has no identity (an invitation not yet accepted).
///
/// # Errors
/// [`CoreError::Forbidden`] for anyone else; [`CoreError::NotFound`] for an unknown user.
pub fn user_login(ctx: Ctx<'_>, actor: &Actor, user: UserId) -> Result<Option<Login>, CoreError> {
    if !actor.is_admin() && !actor.is(user) {
        return Err(CoreError::forbidden("only administrators see other users' logins"));
    }
    let tx = ctx.db.read()?;
    tx.user(actor.account, user)?.ok_or_else(|| CoreError::not_found("user", user))?;
    match tx.identity_of_user(actor.account, user)? {
        Some(i) => Ok(tx.identity(i)?.map(|i| i.login)),
        None => Ok(None),
    }
}
