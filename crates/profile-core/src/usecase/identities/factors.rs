//! The factors an identity signs in with besides its password: application passwords (for
//! clients that cannot do two-step authentication) and TOTP with recovery codes.

use super::*;

/// Creates an application password; the password is returned once.
///
/// # Errors
/// [`CoreError::Validation`] on `name`.
pub fn create_app_password(
    ctx: Ctx<'_>,
    identity: IdentityId,
    name: &str,
) -> Result<(AppPassword, String), CoreError> {
    let name = check_name("name", name, 100)?;
    let password = secret::new_token(ctx.ids);
    let app = AppPassword {
        id: ctx.ids.uuid(),
        name,
        hash: SecretHash::of(&password),
        created_at: ctx.clock.now(),
    };
    let mut tx = ctx.db.write()?;
    let mut id = load(&*tx, identity)?;
    id.app_passwords.push(app.clone());
    tx.update_identity(&id)?;
    tx.commit()?;
    Ok((app, password))
}

/// Revokes an application password at once.
///
/// # Errors
/// [`CoreError::NotFound`] when the identity has none with this ID.
pub fn revoke_app_password(ctx: Ctx<'_>, identity: IdentityId, app: Uuid) -> Result<(), CoreError> {
    let mut tx = ctx.db.write()?;
    let mut id = load(&*tx, identity)?;
    let before = id.app_passwords.len();
    id.app_passwords.retain(|p| p.id != app);
    if id.app_passwords.len() == before {
        return Err(CoreError::not_found("app password", app));
    }
    tx.update_identity(&id)?;
    tx.commit()?;
    Ok(())
}

/// What an authenticator app needs to be set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotpSetup {
    /// The secret in base32.
    pub secret: String,
    /// The `otpauth://` URI for a QR code.
    pub uri: String,
}

/// Starts two-step set-up: a new secret, not yet in force (replacing an unfinished set-up).
///
/// # Errors
/// [`CoreError::Conflict`] on `totp` when it is already on.
pub fn begin_totp(ctx: Ctx<'_>, identity: IdentityId, issuer: &str) -> Result<TotpSetup, CoreError> {
    let mut tx = ctx.db.write()?;
    let mut id = load(&*tx, identity)?;
    if id.has_second_factor() {
        return Err(CoreError::conflict("totp", "two-step login is already on"));
    }
    let mut secret = vec![0u8; totp::SECRET_LEN];
    ctx.ids.fill(&mut secret);
    let setup = TotpSetup {
        secret: totp::base32(&secret),
        uri: totp::provisioning_uri(&secret, issuer, id.login.as_str()),
    };
    id.totp = Some(Totp { secret, enabled: false, last_step: None, recovery: Vec::new() });
    tx.update_identity(&id)?;
    tx.commit()?;
    Ok(setup)
}

/// Switches two-step login on once the owner enters a code from their app; returns the recovery
/// codes, shown once.
///
/// # Errors
/// [`CoreError::Conflict`] on `totp` without a set-up; [`CoreError::Unauthorized`] for a wrong code.
pub fn enable_totp(ctx: Ctx<'_>, identity: IdentityId, code: &str) -> Result<Vec<String>, CoreError> {
    let mut tx = ctx.db.write()?;
    let mut id = load(&*tx, identity)?;
    let Some(t) = id.totp.as_mut().filter(|t| !t.enabled) else {
        return Err(CoreError::conflict("totp", "start the set-up first"));
    };
    let step = totp::verify(&t.secret, code, ctx.clock.now(), t.last_step)
        .ok_or(CoreError::unauthorized(AuthFailure::BadLogin))?;
    let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| recovery_code(ctx)).collect();
    t.enabled = true;
    t.last_step = Some(step);
    t.recovery = codes.iter().map(|c| SecretHash::of(&normalise_recovery(c))).collect();
    tx.update_identity(&id)?;
    tx.commit()?;
    Ok(codes)
}

/// Switches two-step login off; the password is required.
///
/// # Errors
/// [`CoreError::Unauthorized`] for a wrong password.
pub fn disable_totp(ctx: Ctx<'_>, identity: IdentityId, password: &str) -> Result<(), CoreError> {
    require_password(ctx, &load(&*ctx.db.read()?, identity)?, password)?;
    let mut tx = ctx.db.write()?;
    let mut id = load(&*tx, identity)?;
    id.totp = None;
    tx.update_identity(&id)?;
    tx.commit()?;
    Ok(())
}

/// `xxxx-xxxx-xxxx`: 12 token characters, about 62 bits.
fn recovery_code(ctx: Ctx<'_>) -> String {
    let t = secret::new_token(ctx.ids);
    format!("{}-{}-{}", &t[0..4], &t[4..8], &t[8..12])
}

pub(super) fn normalise_recovery(code: &str) -> String {
    code.chars().filter(char::is_ascii_alphanumeric).collect::<String>().to_lowercase()
}
