//! Web sessions: signing in through `/login`, finding the session of a request, "last seen",
//! signing out, and an identity's list of sessions. Every session of an identity ends when its
//! password changes or is reset, and when it is deleted (`usecase::identities`).

use chrono::Duration;

use crate::error::{AuthFailure, CoreError};
use crate::model::identity::{IdentityId, LockoutPolicy, Membership};
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
    /// The password was right; two-step login needs a code too.
    SecondFactorNeeded,
}

/// Signs in with a login (or confirmed contact), password and, with two-step login, a code,
/// and starts a new session (a new ID every time: no session is ever carried over). Application
/// passwords are refused here: they would skip the second factor.
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
        LoginOutcome::SecondFactorNeeded => Ok(SignIn::SecondFactorNeeded),
        LoginOutcome::LoggedIn { identity, memberships } => start(ctx, identity, device)
            .map(|(token, session)| SignIn::Started(Started { token, session, memberships })),
    }
}

/// Starts a session for an identity that has just proved itself another way (accepting an
/// invitation, confirming a registration).
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

/// What the home page shows a signed-in person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Home {
    /// Their name (first and last), or their login when they set none.
    pub name: String,
    /// The accounts where they are an active user: name and slug.
    pub accounts: Vec<(String, String)>,
}

/// The home page of a signed-in identity.
///
/// # Errors
/// [`CoreError::NotFound`] for an identity that no longer exists.
pub fn home(ctx: Ctx<'_>, identity: IdentityId) -> Result<Home, CoreError> {
    let tx = ctx.db.read()?;
    let id = tx.identity(identity)?.ok_or_else(|| CoreError::not_found("identity", identity.0))?;
    let name = format!("{} {}", id.name.trim(), id.last_name.trim()).trim().to_string();
    let mut accounts = Vec::new();
    for m in identities::active_memberships(&*tx, identity)? {
        if let Some(a) = tx.account(m.account)? {
            accounts.push((a.name, a.slug));
        }
    }
    Ok(Home { name: if name.is_empty() { id.login.as_str().to_string() } else { name }, accounts })
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
