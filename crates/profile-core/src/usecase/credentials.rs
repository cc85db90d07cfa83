//! REST credentials: creating, listing and revoking incoming webhooks and application tokens, and
//! authenticating a request by its token (decisions.md "Credentials").
//!
//! Authentication reads the credential and its owner in one snapshot on every call, so a
//! revocation, an expiry or a dismissal takes effect at once.

use chrono::{DateTime, Utc};

use crate::access::{Actor, ScopeSet};
use crate::error::{AuthFailure, CoreError, StoreError};
use crate::ids::UserId;
use crate::model::credential::{Credential, CredentialId, CredentialKind};
use crate::secret::{self, SecretHash};
use crate::usecase::{check_name, Ctx};

/// The longest credential name.
pub const CREDENTIAL_NAME_MAX: usize = 100;

/// Input of [`create_credential`].
#[derive(Debug, Clone)]
pub struct NewCredential {
    /// Webhook or application token.
    pub kind: CredentialKind,
    /// A name for people (the application's name, for tokens).
    pub name: String,
    /// The user it acts as; `None` means the actor. Application tokens act as an administrator.
    pub owner: Option<UserId>,
    /// What it may do; at least one scope.
    pub scopes: ScopeSet,
    /// When it stops working, if ever.
    pub expires_at: Option<DateTime<Utc>>,
}

/// A new credential and its token: the only time the token is shown.
#[derive(Debug, Clone)]
pub struct IssuedCredential {
    /// The stored credential.
    pub credential: Credential,
    /// The token, 32 characters of `[a-z0-9]`.
    pub token: String,
}

/// A request's credential, checked, and the actor it makes.
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// Who acts, with the credential's scopes and the owner's current role.
    pub actor: Actor,
    /// The credential.
    pub credential: Credential,
}

/// Creates a webhook or an application token. Anyone may make webhooks for themselves;
/// administrators make them for any active user, and alone make application tokens. A credential
/// never grants a scope its creator's own credential lacks.
///
/// # Errors
/// [`CoreError::Validation`] on `name`, `scopes`, `expires_at` or `owner`;
/// [`CoreError::Forbidden`] when the actor may not, or asks for a scope it lacks.
pub fn create_credential(
    ctx: Ctx<'_>,
    actor: &Actor,
    new: NewCredential,
) -> Result<IssuedCredential, CoreError> {
    let name = check_name("name", &new.name, CREDENTIAL_NAME_MAX)?;
    if new.scopes == ScopeSet::default() {
        return Err(CoreError::invalid("scopes", "at least one scope is required"));
    }
    if let Some(extra) = new.scopes.iter().find(|s| !actor.scopes.has(*s)) {
        return Err(CoreError::forbidden(format!(
            "a credential cannot grant the {} scope its creator does not hold",
            extra.code()
        )));
    }
    let now = ctx.clock.now();
    // Stores keep whole seconds: round down here, so every store expires it at the same moment.
    let expires_at = new.expires_at.and_then(|t| DateTime::from_timestamp(t.timestamp(), 0));
    if expires_at.is_some_and(|t| t <= now) {
        return Err(CoreError::invalid("expires_at", "must be in the future"));
    }
    let owner =
        new.owner.or(actor.user).ok_or_else(|| CoreError::invalid("owner", "name the user it acts as"))?;
    if new.kind == CredentialKind::AppToken && !actor.is_admin() {
        return Err(CoreError::forbidden("only administrators create application tokens"));
    }
    if !actor.is(owner) && !actor.is_admin() {
        return Err(CoreError::forbidden("only administrators create credentials for other users"));
    }
    let mut tx = ctx.db.write()?;
    let user = tx
        .user(actor.account, owner)?
        .filter(|u| u.active)
        .ok_or_else(|| CoreError::invalid("owner", format!("user {owner} is not an active user")))?;
    if new.kind == CredentialKind::AppToken && !user.role.is_admin() {
        return Err(CoreError::invalid("owner", "an application token acts as an administrator"));
    }
    let token = secret::new_token(ctx.ids);
    let credential = Credential {
        id: CredentialId(ctx.ids.uuid()),
        account: actor.account,
        kind: new.kind,
        name,
        owner,
        scopes: new.scopes,
        hash: SecretHash::of(&token),
        created_at: now,
        expires_at,
        revoked_at: None,
    };
    tx.insert_credential(&credential).map_err(|e| match e {
        // 165 random bits: a collision means the random source is broken.
        StoreError::UniqueViolation { .. } => StoreError::Backend("token collision".into()),
        e => e,
    })?;
    tx.commit()?;
    Ok(IssuedCredential { credential, token })
}

/// The credentials an actor may see: all of the account's for administrators, their own for
/// others.
///
/// # Errors
/// [`CoreError::Storage`].
pub fn list_credentials(ctx: Ctx<'_>, actor: &Actor) -> Result<Vec<Credential>, CoreError> {
    let tx = ctx.db.read()?;
    let mut all = tx.credentials(actor.account)?;
    if !actor.is_admin() {
        all.retain(|c| actor.is(c.owner));
    }
    Ok(all)
}

/// Revokes a credential at once. Revoking twice is harmless.
///
/// # Errors
/// [`CoreError::NotFound`] when it does not exist in the account or is someone else's and the
/// actor is not an administrator.
pub fn revoke_credential(ctx: Ctx<'_>, actor: &Actor, id: CredentialId) -> Result<Credential, CoreError> {
    let mut tx = ctx.db.write()?;
    let mut credential = tx
        .credential(actor.account, id)?
        .filter(|c| actor.is_admin() || actor.is(c.owner))
        .ok_or_else(|| CoreError::not_found("credential", id))?;
    if credential.revoked_at.is_none() {
        credential.revoked_at = Some(ctx.clock.now());
        tx.update_credential(&credential)?;
        tx.commit()?;
    }
    Ok(credential)
}

/// Authenticates `/rest/{user_id}/{token}/…`.
///
/// # Errors
/// [`CoreError::Unauthorized`]: [`AuthFailure::UnknownCredential`] (unknown, revoked, or not a
/// webhook), [`AuthFailure::WrongOwner`] (`user_id` is not the owner), [`AuthFailure::Expired`],
/// [`AuthFailure::Dismissed`] (the owner is terminated).
pub fn authenticate_webhook(ctx: Ctx<'_>, user_id: UserId, token: &str) -> Result<Authenticated, CoreError> {
    authenticate(ctx, CredentialKind::Webhook, token, Some(user_id))
}

/// Authenticates an application token (`auth`, `access_token`, `Authorization: Bearer`).
///
/// # Errors
/// As [`authenticate_webhook`], without [`AuthFailure::WrongOwner`].
pub fn authenticate_app_token(ctx: Ctx<'_>, token: &str) -> Result<Authenticated, CoreError> {
    authenticate(ctx, CredentialKind::AppToken, token, None)
}

fn authenticate(
    ctx: Ctx<'_>,
    kind: CredentialKind,
    token: &str,
    owner: Option<UserId>,
) -> Result<Authenticated, CoreError> {
    let unknown = || CoreError::unauthorized(AuthFailure::UnknownCredential);
    if !secret::is_token_shaped(token) {
        return Err(unknown());
    }
    let tx = ctx.db.read()?;
    let credential = tx
        .credential_by_token(&SecretHash::of(token))?
        .filter(|c| c.kind == kind && c.revoked_at.is_none())
        .ok_or_else(unknown)?;
    // Who the URL names is checked first: a wrong user ID says nothing about the owner's state.
    if owner.is_some_and(|o| o != credential.owner) {
        return Err(CoreError::unauthorized(AuthFailure::WrongOwner));
    }
    if credential.expires_at.is_some_and(|t| t <= ctx.clock.now()) {
        return Err(CoreError::unauthorized(AuthFailure::Expired));
    }
    let owner = tx
        .user(credential.account, credential.owner)?
        .filter(|u| u.active)
        .ok_or(CoreError::unauthorized(AuthFailure::Dismissed))?;
    let actor = Actor {
        account: credential.account,
        user: Some(owner.id),
        role: owner.role,
        scopes: credential.scopes,
    };
    Ok(Authenticated { actor, credential })
}
