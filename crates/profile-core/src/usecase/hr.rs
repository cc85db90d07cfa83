//! HR personal details and the HR permission (decisions.md "Visibility").
//!
//! - Administrators define the account's HR fields, and grant or revoke the HR permission to
//!   intranet users.
//! - A user's record is readable by the user, administrators and intranet holders of the
//!   permission; administrators and holders change it. Other colleagues get
//!   [`CoreError::Forbidden`]; external users asking about anyone else get
//!   [`CoreError::NotFound`], as for a user they cannot see.
//! - Every call needs the full `user` scope: the records are beyond `user_basic`.

use crate::access::{Actor, Scope};
use crate::error::CoreError;
use crate::ids::UserId;
use crate::model::hr::{HrField, HrRecord, HrValues};
use crate::model::user::User;
use crate::ports::Tx;
use crate::usecase::{check_name, Ctx};

/// The most HR fields an account may define.
pub const HR_FIELDS_MAX: usize = 100;
/// The longest HR field key.
pub const HR_KEY_MAX: usize = 50;
/// The longest HR field label.
pub const HR_LABEL_MAX: usize = 255;
/// The longest HR value.
pub const HR_VALUE_MAX: usize = 4000;

/// The account's HR fields, in order (every intranet user may know which fields exist).
///
/// # Errors
/// [`CoreError::InsufficientScope`]; [`CoreError::Forbidden`] for external users.
pub fn hr_fields(ctx: Ctx<'_>, actor: &Actor) -> Result<Vec<HrField>, CoreError> {
    actor.require(Scope::User)?;
    if actor.role.is_external() {
        return Err(CoreError::forbidden("external users have no HR details"));
    }
    Ok(ctx.db.read()?.hr_fields(actor.account)?)
}

/// Replaces the account's HR fields (administrators only). Keys are unique, `A-Z`, `0-9` and `_`
/// starting with a letter (lower case is raised); the values of a key left out are deleted.
///
/// # Errors
/// [`CoreError::InsufficientScope`], [`CoreError::Forbidden`], [`CoreError::Validation`] on
/// `field N: KEY` or `field N: LABEL`.
pub fn define_hr_fields(
    ctx: Ctx<'_>,
    actor: &Actor,
    fields: Vec<HrField>,
) -> Result<Vec<HrField>, CoreError> {
    actor.require(Scope::User)?;
    actor.require_admin()?;
    if fields.len() > HR_FIELDS_MAX {
        return Err(CoreError::invalid("fields", format!("at most {HR_FIELDS_MAX} HR fields")));
    }
    let mut clean: Vec<HrField> = Vec::with_capacity(fields.len());
    for (i, f) in fields.into_iter().enumerate() {
        let key = f.key.trim().to_ascii_uppercase();
        let at = |what: &str| format!("field {}: {what}", i + 1);
        let well_formed = key.len() <= HR_KEY_MAX
            && key.starts_with(|c: char| c.is_ascii_uppercase())
            && key.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        if !well_formed {
            return Err(CoreError::invalid(
                at("KEY"),
                format!("1 to {HR_KEY_MAX} of A-Z, 0-9 and _, starting with a letter"),
            ));
        }
        if clean.iter().any(|c| c.key == key) {
            return Err(CoreError::invalid(at("KEY"), format!("{key} is defined twice")));
        }
        let label = check_name(&at("LABEL"), &f.label, HR_LABEL_MAX)?;
        clean.push(HrField { key, label });
    }
    let mut tx = ctx.db.write()?;
    tx.set_hr_fields(actor.account, &clean)?;
    tx.commit()?;
    Ok(clean)
}

/// Grants the HR permission to an intranet user (administrators only). Granting twice is no
/// change.
///
/// # Errors
/// [`CoreError::InsufficientScope`], [`CoreError::Forbidden`], [`CoreError::NotFound`],
/// [`CoreError::Validation`] on `role` for an external user, [`CoreError::Conflict`] on `ACTIVE`
/// for a dismissed one.
pub fn grant_hr_permission(ctx: Ctx<'_>, actor: &Actor, user: UserId) -> Result<(), CoreError> {
    set_permission(ctx, actor, user, true)
}

/// Revokes the HR permission (administrators only). Revoking what was not granted is no change.
///
/// # Errors
/// [`CoreError::InsufficientScope`], [`CoreError::Forbidden`], [`CoreError::NotFound`].
pub fn revoke_hr_permission(ctx: Ctx<'_>, actor: &Actor, user: UserId) -> Result<(), CoreError> {
    set_permission(ctx, actor, user, false)
}

fn set_permission(ctx: Ctx<'_>, actor: &Actor, user: UserId, holds: bool) -> Result<(), CoreError> {
    actor.require(Scope::User)?;
    actor.require_admin()?;
    let mut tx = ctx.db.write()?;
    let target = tx.user(actor.account, user)?.ok_or_else(|| CoreError::not_found("user", user))?;
    if holds {
        if target.role.is_external() {
            return Err(CoreError::invalid("role", "external users cannot hold the HR permission"));
        }
        if !target.active {
            return Err(CoreError::conflict(
                "ACTIVE",
                "a dismissed user cannot be granted the HR permission",
            ));
        }
    }
    tx.set_hr_holder(actor.account, user, holds)?;
    tx.commit()?;
    Ok(())
}

/// The users holding the HR permission, by ID (administrators only).
///
/// # Errors
/// [`CoreError::InsufficientScope`], [`CoreError::Forbidden`].
pub fn hr_holders(ctx: Ctx<'_>, actor: &Actor) -> Result<Vec<UserId>, CoreError> {
    actor.require(Scope::User)?;
    actor.require_admin()?;
    Ok(ctx.db.read()?.hr_holders(actor.account)?)
}

/// A user's HR record: its values for the defined fields, in their order.
///
/// # Errors
/// [`CoreError::InsufficientScope`], [`CoreError::NotFound`], [`CoreError::Forbidden`] (see the
/// module).
pub fn hr_record(ctx: Ctx<'_>, actor: &Actor, user: UserId) -> Result<HrRecord, CoreError> {
    actor.require(Scope::User)?;
    let tx = ctx.db.read()?;
    let target = tx.user(actor.account, user)?.ok_or_else(|| CoreError::not_found("user", user))?;
    if !actor.is(user) && !is_hr_officer(&*tx, actor)? {
        return Err(refusal(actor, &target));
    }
    record(&*tx, actor, user)
}

/// Sets or clears (an empty value) some of a user's HR values (administrators and holders of
/// the permission). Every key must be defined; nothing changes if one is not.
///
/// # Errors
/// [`CoreError::InsufficientScope`], [`CoreError::NotFound`], [`CoreError::Forbidden`],
/// [`CoreError::Validation`] naming the key.
pub fn update_hr_record(
    ctx: Ctx<'_>,
    actor: &Actor,
    user: UserId,
    changes: &[(String, String)],
) -> Result<HrRecord, CoreError> {
    actor.require(Scope::User)?;
    let mut tx = ctx.db.write()?;
    let target = tx.user(actor.account, user)?.ok_or_else(|| CoreError::not_found("user", user))?;
    if !is_hr_officer(&*tx, actor)? {
        if actor.is(user) {
            return Err(CoreError::forbidden("HR details are changed by administrators and HR"));
        }
        return Err(refusal(actor, &target));
    }
    let defined = tx.hr_fields(actor.account)?;
    let mut values = tx.hr_values(actor.account, user)?;
    for (key, value) in changes {
        let key = key.trim().to_ascii_uppercase();
        if !defined.iter().any(|f| f.key == key) {
            return Err(CoreError::invalid(key, "not an HR field of this account"));
        }
        let value = value.trim();
        if value.chars().count() > HR_VALUE_MAX {
            return Err(CoreError::invalid(key, format!("longer than {HR_VALUE_MAX} characters")));
        }
        if value.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
            return Err(CoreError::invalid(key, "contains control characters"));
        }
        if value.is_empty() {
            values.remove(&key);
        } else {
            values.insert(key, value.to_string());
        }
    }
    tx.set_hr_values(actor.account, user, &values)?;
    let rec = record(&*tx, actor, user)?;
    tx.commit()?;
    Ok(rec)
}

/// Administrators, and intranet users holding the HR permission.
pub(crate) fn is_hr_officer(tx: &dyn Tx, actor: &Actor) -> Result<bool, CoreError> {
    if actor.is_admin() {
        return Ok(true);
    }
    if actor.role.is_external() {
        return Ok(false);
    }
    Ok(match actor.user {
        Some(me) => tx.hr_holders(actor.account)?.contains(&me),
        None => false,
    })
}

/// What someone without access is told: external users learn nothing about the user.
fn refusal(actor: &Actor, target: &User) -> CoreError {
    if actor.role.is_external() {
        CoreError::not_found("user", target.id)
    } else {
        CoreError::forbidden("HR details are visible to the user, administrators and HR")
    }
}

fn record(tx: &dyn Tx, actor: &Actor, user: UserId) -> Result<HrRecord, CoreError> {
    let mut stored: HrValues = tx.hr_values(actor.account, user)?;
    let values = tx
        .hr_fields(actor.account)?
        .into_iter()
        .filter_map(|f| stored.remove(&f.key).map(|v| (f.key, v)))
        .collect();
    Ok(HrRecord { account: actor.account, user, values })
}
