//! Web sessions: signing in through `/login`, finding the session of a request, "last seen",
//! signing out, and an identity's list of sessions. Every session of an identity ends when its
//! password changes or is reset, and when it is deleted (`usecase::identities`).

use chrono::Duration;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

use crate::error::{AuthFailure, CoreError};
use crate::ids::{AccountId, UserId};
use crate::model::identity::{Identity, IdentityId, LockoutPolicy, Login, Membership};
use crate::model::session::{Session, SessionId, SessionPolicy};
use crate::secret::{self, SecretHash};
use crate::usecase::identities::{self, LoginAttempt, LoginOutcome};
use crate::usecase::Ctx;

/// The longest `device` kept.
const DEVICE_MAX: usize = 200;

/// A session's cookie value and record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Started {
    /// The token for the cookie (shown once; only its hash is stored).
    pub token: String,
    /// The session.
    pub session: Session,
    /// The accounts where the identity is an active user.
    pub memberships: Vec<Membership>,
}

/// What a sign-in came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignIn {
    /// Signed in: a new session.
    Started(Started),
    /// The password was right; two-step login needs a code too. The ticket stands for the
    /// first step in [`second_step`], so the password is asked only once.
    SecondFactorNeeded {
        /// Signed by the server, valid for [`TICKET_LIFETIME`] and while the password stays.
        ticket: String,
    },
}

/// How long the second step of a sign-in may wait for its code.
pub const TICKET_LIFETIME: Duration = Duration::minutes(10);

/// The setting that keeps the key sign-in tickets are signed with (shared by every process).
const TICKET_KEY: &str = "sign_in_ticket_key";

/// Signs in with a login (or confirmed contact), password and, with two-step login, a code,
/// and starts a new session (a new ID every time: no session is ever carried over). Application
/// passwords are refused here: they would skip the second factor. Without a code where one is
/// needed, the answer is a ticket for [`second_step`].
///
/// # Errors
/// As [`identities::log_in`]: [`CoreError::TooManyAttempts`] while the login is locked,
/// [`CoreError::Unauthorized`] for any failure alike.
pub fn sign_in(
    ctx: Ctx<'_>,
    lockout: &LockoutPolicy,
    attempt: LoginAttempt<'_>,
    device: &str,
) -> Result<SignIn, CoreError> {
    let attempt = LoginAttempt { app_passwords: false, ..attempt };
    match identities::log_in(ctx, lockout, attempt)? {
        LoginOutcome::SecondFactorNeeded => {
            let login =
                Login::parse(attempt.login).map_err(|_| CoreError::unauthorized(AuthFailure::BadLogin))?;
            let identity = ctx
                .db
                .read()?
                .identity_by_handle(&login)?
                .ok_or(CoreError::unauthorized(AuthFailure::BadLogin))?;
            Ok(SignIn::SecondFactorNeeded { ticket: ticket(ctx, &identity)? })
        }
        LoginOutcome::LoggedIn { identity, memberships } => started(ctx, identity, memberships, device),
    }
}

/// The second step of a sign-in: the ticket of [`sign_in`] and a TOTP or recovery code.
///
/// # Errors
/// [`CoreError::Unauthorized`] with [`AuthFailure::Expired`] for a ticket that is forged, too
/// old, or whose password has changed since (sign in again); with [`AuthFailure::BadLogin`] for
/// a wrong code; [`CoreError::TooManyAttempts`] while the login is locked.
pub fn second_step(
    ctx: Ctx<'_>,
    lockout: &LockoutPolicy,
    ticket: &str,
    code: &str,
    device: &str,
) -> Result<SignIn, CoreError> {
    let (identity, password_hash) = open_ticket(ctx, ticket)?;
    match identities::log_in_second_step(ctx, lockout, identity, &password_hash, code)? {
        LoginOutcome::LoggedIn { identity, memberships } => started(ctx, identity, memberships, device),
        LoginOutcome::SecondFactorNeeded => Err(CoreError::unauthorized(AuthFailure::BadLogin)),
    }
}

fn started(
    ctx: Ctx<'_>,
    identity: IdentityId,
    memberships: Vec<Membership>,
    device: &str,
) -> Result<SignIn, CoreError> {
    let (token, session) = start(ctx, identity, device)?;
    Ok(SignIn::Started(Started { token, session, memberships }))
}

/// `{identity}.{expires}.{mac}`: the MAC covers both and the password hash of the first step.
fn ticket(ctx: Ctx<'_>, identity: &Identity) -> Result<String, CoreError> {
    let expires = (ctx.clock.now() + TICKET_LIFETIME).timestamp();
    let signed = format!("{}.{expires}", identity.id.0.simple());
    let mac = ticket_mac(&ticket_key(ctx)?, &signed, identity.password.as_deref().unwrap_or(""))
        .ok_or(CoreError::unauthorized(AuthFailure::BadLogin))?;
    Ok(format!("{signed}.{}", SecretHash(mac).to_hex()))
}

fn open_ticket(ctx: Ctx<'_>, ticket: &str) -> Result<(IdentityId, String), CoreError> {
    let stale = || CoreError::unauthorized(AuthFailure::Expired);
    let (signed, mac) = ticket.rsplit_once('.').ok_or_else(stale)?;
    let (id, expires) = signed.split_once('.').ok_or_else(stale)?;
    let id = Uuid::try_parse(id).map_err(|_| stale())?;
    let expires = expires.parse::<i64>().map_err(|_| stale())?;
    let now = ctx.clock.now().timestamp();
    if expires <= now || expires > now + TICKET_LIFETIME.num_seconds() {
        return Err(stale());
    }
    let mac = SecretHash::from_hex(mac).ok_or_else(stale)?;
    let identity = ctx.db.read()?.identity(IdentityId(id))?.ok_or_else(stale)?;
    let hash = identity.password.unwrap_or_default();
    let key = ctx.db.read()?.setting(TICKET_KEY)?.ok_or_else(stale)?;
    let expected = ticket_mac(key.as_bytes(), signed, &hash).ok_or_else(stale)?;
    if !secret::same_bytes(&expected, &mac.0) {
        return Err(stale());
    }
    Ok((identity.id, hash))
}

/// The MAC of a ticket (`None` never happens: HMAC takes keys of any length).
fn ticket_mac(key: &[u8], signed: &str, password_hash: &str) -> Option<[u8; 32]> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).ok()?;
    mac.update(signed.as_bytes());
    mac.update(b"\0");
    mac.update(password_hash.as_bytes());
    Some(mac.finalize().into_bytes().into())
}

/// The server's ticket key, made on first use (under the write lock, so every process on the
/// database signs with the same one).
fn ticket_key(ctx: Ctx<'_>) -> Result<Vec<u8>, CoreError> {
    if let Some(key) = ctx.db.read()?.setting(TICKET_KEY)? {
        return Ok(key.into_bytes());
    }
    let mut tx = ctx.db.write()?;
    let key = match tx.setting(TICKET_KEY)? {
        Some(key) => key,
        None => {
            let key = secret::new_token(ctx.ids);
            tx.set_setting(TICKET_KEY, &key)?;
            key
        }
    };
    tx.commit()?;
    Ok(key.into_bytes())
}

/// Starts a session for an identity that has just proved itself (a sign-in, accepting an
/// invitation, confirming a registration). The session opens every account the identity is a
/// member of, so each of its active users gets `LAST_LOGIN` and activity now, in the same unit.
///
/// # Errors
/// [`CoreError::Storage`].
pub fn start(ctx: Ctx<'_>, identity: IdentityId, device: &str) -> Result<(String, Session), CoreError> {
    let token = secret::new_token(ctx.ids);
    let now = ctx.clock.now();
    let session = Session {
        id: SessionId(ctx.ids.uuid()),
        identity,
        hash: SecretHash::of(&token),
        device: device.chars().filter(|c| !c.is_control()).take(DEVICE_MAX).collect(),
        created_at: now,
        last_seen: now,
    };
    let mut tx = ctx.db.write()?;
    tx.insert_session(&session)?;
    for m in tx.memberships(identity)? {
        if tx.user(m.account, m.user)?.is_some_and(|u| u.active) {
            tx.record_sign_in(m.account, m.user, now)?;
        }
    }
    tx.commit()?;
    Ok((token, session))
}

/// The live session of a cookie's token, in a read. Whether "last seen" is due to be written
/// is for the caller to do off the request path ([`touch`]).
///
/// # Errors
/// [`CoreError::Unauthorized`] for an unknown, ended or expired session.
pub fn resume(ctx: Ctx<'_>, policy: &SessionPolicy, token: &str) -> Result<Session, CoreError> {
    let session = ctx.db.read()?.session_by_token(&SecretHash::of(token))?;
    match session {
        Some(s) if policy.is_live(&s, ctx.clock.now()) => Ok(s),
        _ => Err(CoreError::unauthorized(AuthFailure::BadLogin)),
    }
}

/// Writes "last seen" when it is due ([`SessionPolicy::needs_touch`]); returns whether it did.
///
/// # Errors
/// [`CoreError::Storage`].
pub fn touch(ctx: Ctx<'_>, policy: &SessionPolicy, session: &Session) -> Result<bool, CoreError> {
    let now = ctx.clock.now();
    if !policy.needs_touch(session, now) {
        return Ok(false);
    }
    let mut tx = ctx.db.write()?;
    tx.touch_session(session.id, now)?;
    tx.commit()?;
    Ok(true)
}

/// Ends the session of a cookie's token (signing out); an unknown token is no error.
///
/// # Errors
/// [`CoreError::Storage`].
pub fn sign_out(ctx: Ctx<'_>, token: &str) -> Result<(), CoreError> {
    let mut tx = ctx.db.write()?;
    if let Some(s) = tx.session_by_token(&SecretHash::of(token))? {
        tx.delete_session(s.id)?;
    }
    tx.commit()?;
    Ok(())
}

/// The identity's live sessions, oldest first.
///
/// # Errors
/// [`CoreError::Storage`].
pub fn list_sessions(
    ctx: Ctx<'_>,
    policy: &SessionPolicy,
    identity: IdentityId,
) -> Result<Vec<Session>, CoreError> {
    let now = ctx.clock.now();
    Ok(ctx.db.read()?.sessions_of(identity)?.into_iter().filter(|s| policy.is_live(s, now)).collect())
}

/// Ends one of the identity's sessions.
///
/// # Errors
/// [`CoreError::NotFound`] for a session that is not the identity's.
pub fn end_session(ctx: Ctx<'_>, identity: IdentityId, id: SessionId) -> Result<(), CoreError> {
    let mut tx = ctx.db.write()?;
    if !tx.sessions_of(identity)?.iter().any(|s| s.id == id) {
        return Err(CoreError::not_found("session", id.0));
    }
    tx.delete_session(id)?;
    tx.commit()?;
    Ok(())
}

/// How long an ended session's record may outlive its expiry before the sweep deletes it.
pub const EXPIRED_SESSIONS_KEPT: Duration = Duration::hours(1);

/// An account where a signed-in identity is an active user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// The account.
    pub account: AccountId,
    /// Its name.
    pub name: String,
    /// Its slug (its pages are under `/a/{slug}/`, or at the root for the default account).
    pub slug: String,
    /// Whether it is the server's default account (the first one created).
    pub default: bool,
    /// The identity's user there.
    pub user: UserId,
}

/// What the home page shows a signed-in person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Home {
    /// Their name (first and last), or their login when they set none.
    pub name: String,
    /// The accounts where they are an active user, the default one first, then by name.
    pub accounts: Vec<Place>,
}

/// The home page of a signed-in identity.
///
/// # Errors
/// [`CoreError::NotFound`] for an identity that no longer exists.
pub fn home(ctx: Ctx<'_>, identity: IdentityId) -> Result<Home, CoreError> {
    let tx = ctx.db.read()?;
    let id = tx.identity(identity)?.ok_or_else(|| CoreError::not_found("identity", identity.0))?;
    let name = format!("{} {}", id.name.trim(), id.last_name.trim()).trim().to_string();
    let default = tx.accounts()?.first().map(|a| a.id);
    let mut accounts = Vec::new();
    for m in identities::active_memberships(&*tx, identity)? {
        if let Some(a) = tx.account(m.account)? {
            accounts.push(Place {
                account: a.id,
                name: a.name,
                slug: a.slug,
                default: Some(a.id) == default,
                user: m.user,
            });
        }
    }
    accounts.sort_by(|a, b| b.default.cmp(&a.default).then_with(|| a.name.cmp(&b.name)));
    Ok(Home { name: if name.is_empty() { id.login.as_str().to_string() } else { name }, accounts })
}

/// The account a page addresses (`slug`, or the default account for `None`), where the
/// identity must be an active user.
///
/// # Errors
/// [`CoreError::NotFound`] on `account` for an unknown account and for one where the identity
/// is no active user alike (decisions.md: such a page answers 404).
pub fn place(ctx: Ctx<'_>, identity: IdentityId, slug: Option<&str>) -> Result<Place, CoreError> {
    let tx = ctx.db.read()?;
    let missing = || CoreError::not_found("account", slug.unwrap_or("(default)"));
    let default = tx.accounts()?.into_iter().next();
    let account = match slug {
        None => default.clone(),
        Some(slug) => tx.account_by_slug(slug)?,
    }
    .ok_or_else(missing)?;
    let membership =
        tx.memberships(identity)?.into_iter().find(|m| m.account == account.id).ok_or_else(missing)?;
    if !tx.user(account.id, membership.user)?.is_some_and(|u| u.active) {
        return Err(missing());
    }
    Ok(Place {
        default: default.is_some_and(|d| d.id == account.id),
        account: account.id,
        name: account.name,
        slug: account.slug,
        user: membership.user,
    })
}

/// What the security page shows a signed-in person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Security {
    /// Their login.
    pub login: String,
    /// Whether two-step sign-in is on.
    pub two_step: bool,
    /// Their application passwords: ID, name, created.
    pub app_passwords: Vec<(uuid::Uuid, String, chrono::DateTime<chrono::Utc>)>,
    /// Their live sessions, oldest first.
    pub sessions: Vec<Session>,
}

/// The security page of a signed-in identity.
///
/// # Errors
/// [`CoreError::NotFound`] for an identity that no longer exists.
pub fn security(ctx: Ctx<'_>, policy: &SessionPolicy, identity: IdentityId) -> Result<Security, CoreError> {
    let now = ctx.clock.now();
    let tx = ctx.db.read()?;
    let id = tx.identity(identity)?.ok_or_else(|| CoreError::not_found("identity", identity.0))?;
    Ok(Security {
        login: id.login.as_str().to_string(),
        two_step: id.has_second_factor(),
        app_passwords: id.app_passwords.iter().map(|p| (p.id, p.name.clone(), p.created_at)).collect(),
        sessions: tx.sessions_of(identity)?.into_iter().filter(|s| policy.is_live(s, now)).collect(),
    })
}

/// For the server's operator (the CLI): the identity whose login or confirmed contact is
/// `login`, and its live sessions.
///
/// # Errors
/// [`CoreError::Validation`] on `login`; [`CoreError::NotFound`] when no profile has it.
pub fn operator_sessions(
    ctx: Ctx<'_>,
    policy: &SessionPolicy,
    login: &str,
) -> Result<(IdentityId, Vec<Session>), CoreError> {
    let identity = identities::operator_identity(ctx, login)?;
    Ok((identity, list_sessions(ctx, policy, identity)?))
}

/// For the server's operator: ends one session of the profile of `login`, or all of them with
/// `None`; returns how many ended.
///
/// # Errors
/// As [`operator_sessions`]; [`CoreError::NotFound`] for a session that is not that profile's.
pub fn operator_end_sessions(ctx: Ctx<'_>, login: &str, id: Option<SessionId>) -> Result<u64, CoreError> {
    let identity = identities::operator_identity(ctx, login)?;
    if let Some(id) = id {
        end_session(ctx, identity, id)?;
        return Ok(1);
    }
    let mut tx = ctx.db.write()?;
    let n = tx.delete_sessions_of(identity)?;
    tx.commit()?;
    Ok(n)
}
