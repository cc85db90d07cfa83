//! The card's form layout (see [`crate::model::layout`]): the account's default, set by
//! administrators, and each person's own, which applies to the cards they view.

use crate::access::{Actor, Scope};
use crate::error::CoreError;
use crate::model::layout::{check_layout, Layout, DEFAULT_LAYOUT, SECTIONS};
use crate::ports::Tx;
use crate::usecase::Ctx;

/// The layout the actor sees cards in: their own when they set one, else the account's
/// default (Cardfile's when the account set none, with the account's custom fields).
///
/// # Errors
/// [`CoreError::InsufficientScope`].
pub fn layout(ctx: Ctx<'_>, actor: &Actor) -> Result<Layout, CoreError> {
    actor.user_read_tier()?;
    let tx = ctx.db.read()?;
    if let Some(me) = actor.user {
        if let Some(fields) = tx.layout(actor.account, Some(me))? {
            return Ok(Layout { fields, own: true });
        }
    }
    default_layout(&*tx, actor)
}

/// The account's default; Cardfile's when it set none: [`DEFAULT_LAYOUT`]'s fields, the
/// account's custom fields, then the sections.
fn default_layout(tx: &dyn Tx, actor: &Actor) -> Result<Layout, CoreError> {
    if let Some(fields) = tx.layout(actor.account, None)? {
        return Ok(Layout { fields, own: false });
    }
    let (sections, fields): (Vec<&str>, Vec<&str>) =
        DEFAULT_LAYOUT.iter().partition(|f| SECTIONS.contains(f));
    let mut out: Vec<String> = fields.into_iter().map(str::to_string).collect();
    out.extend(tx.custom_fields(actor.account)?.into_iter().map(|f| f.name));
    out.extend(sections.into_iter().map(str::to_string));
    Ok(Layout { fields: out, own: false })
}

/// The user fields a layout may place besides [`DEFAULT_LAYOUT`]'s: the rest of what a card
/// lists.
pub const MORE_FIELDS: [&str; 6] =
    ["SECOND_NAME", "PERSONAL_PHONE", "PERSONAL_CITY", "PERSONAL_WWW", "WORK_COMPANY", "WORK_DEPARTMENT"];

/// Every entry the actor may place in a layout, in Cardfile's default order: the default's
/// fields, [`MORE_FIELDS`], the custom fields the actor may read, then the sections.
///
/// # Errors
/// [`CoreError::InsufficientScope`].
pub fn choices(ctx: Ctx<'_>, actor: &Actor) -> Result<Vec<String>, CoreError> {
    actor.user_read_tier()?;
    let (sections, fields): (Vec<&str>, Vec<&str>) =
        DEFAULT_LAYOUT.iter().partition(|f| SECTIONS.contains(f));
    let mut out: Vec<String> = fields.into_iter().chain(MORE_FIELDS).map(str::to_string).collect();
    if crate::usecase::custom::reads_values(actor) {
        out.extend(ctx.db.read()?.custom_fields(actor.account)?.into_iter().map(|f| f.name));
    }
    out.extend(sections.into_iter().map(str::to_string));
    Ok(out)
}

/// Sets the actor's own layout ("my form layout"), or with `default` the account's
/// (administrators); returns the layout the actor now sees.
///
/// # Errors
/// [`CoreError::InsufficientScope`]; [`CoreError::Forbidden`] for a default set by others than
/// administrators, or an own layout without a user; [`CoreError::Validation`] on `FIELDS`.
pub fn set_layout(
    ctx: Ctx<'_>,
    actor: &Actor,
    fields: &[String],
    default: bool,
) -> Result<Layout, CoreError> {
    actor.require(Scope::User)?;
    let owner = if default {
        actor.require_admin()?;
        None
    } else {
        Some(actor.user.ok_or_else(|| CoreError::forbidden("an own layout belongs to a person"))?)
    };
    let mut tx = ctx.db.write()?;
    let custom: Vec<String> = tx.custom_fields(actor.account)?.into_iter().map(|f| f.name).collect();
    let fields = check_layout(fields, &custom)?;
    tx.set_layout(actor.account, owner, Some(&fields))?;
    tx.commit()?;
    layout(ctx, actor)
}

/// Goes back to the account's default layout (the actor's own is removed); returns it.
///
/// # Errors
/// [`CoreError::InsufficientScope`].
pub fn reset_layout(ctx: Ctx<'_>, actor: &Actor) -> Result<Layout, CoreError> {
    actor.require(Scope::User)?;
    if let Some(me) = actor.user {
        let mut tx = ctx.db.write()?;
        tx.set_layout(actor.account, Some(me), None)?;
        tx.commit()?;
    }
    layout(ctx, actor)
}
