//! "About me" and interests on the card: the text a person writes about themself (see
//! [`crate::model::about`]), the tags colleagues find them by and how many hold each, and the
//! card's "away until".

use chrono::NaiveDate;

use crate::access::Actor;
use crate::error::CoreError;
use crate::ids::UserId;
use crate::model::about::{check_about, render_about};
use crate::model::user::UserPatch;
use crate::usecase::{absences, users, Ctx};

/// The most tags [`interest_tags`] returns.
pub const TAGS_LISTED_MAX: usize = 50;

/// The card's own content for one person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileContent {
    /// Whose.
    pub user: UserId,
    /// "About me" as written (BBCode); empty when none.
    pub about: String,
    /// The same rendered as safe HTML.
    pub about_html: String,
    /// The last day of the absence the person is on today, if any.
    pub away_until: Option<NaiveDate>,
}

/// The card's content of a user the actor sees.
///
/// # Errors
/// [`CoreError::InsufficientScope`]; [`CoreError::NotFound`] for a user the actor does not see.
pub fn profile_content(ctx: Ctx<'_>, actor: &Actor, user: UserId) -> Result<ProfileContent, CoreError> {
    actor.user_read_tier()?;
    let tx = ctx.db.read()?;
    let target = tx.user(actor.account, user)?.ok_or_else(|| CoreError::not_found("user", user))?;
    if !users::visible(&*tx, actor.audience(false), &target)? {
        return Err(CoreError::not_found("user", user));
    }
    let about = tx.about(actor.account, user)?.unwrap_or_default();
    let away_until = absences::away_until_in(&*tx, actor, user, ctx.clock.now().date_naive())?;
    Ok(ProfileContent { user, about_html: render_about(&about), about, away_until })
}

/// Sets "about me" (the person or an administrator; an empty text removes it).
///
/// # Errors
/// [`CoreError::InsufficientScope`], [`CoreError::Forbidden`]; [`CoreError::NotFound`] for an
/// unknown user; [`CoreError::Validation`] on `ABOUT`.
pub fn set_about(ctx: Ctx<'_>, actor: &Actor, user: UserId, text: &str) -> Result<ProfileContent, CoreError> {
    crate::access::check_user_write(actor, user, &UserPatch::default())?;
    let text = check_about(text)?;
    let mut tx = ctx.db.write()?;
    if tx.user(actor.account, user)?.is_none() {
        return Err(CoreError::not_found("user", user));
    }
    tx.set_about(actor.account, user, &text)?;
    tx.commit()?;
    profile_content(ctx, actor, user)
}

/// The interest tags starting with `prefix` (typed with or without `#`, folded as tags are),
/// with how many administrators and employees hold each, most held first: "find colleagues"
/// and the suggestions while typing a tag. For intranet readers.
///
/// # Errors
/// [`CoreError::InsufficientScope`]; [`CoreError::Forbidden`] for external users;
/// [`CoreError::Validation`] on `PREFIX`.
pub fn interest_tags(
    ctx: Ctx<'_>,
    actor: &Actor,
    prefix: &str,
    limit: usize,
) -> Result<Vec<(String, u64)>, CoreError> {
    actor.user_read_tier()?;
    if actor.role.is_external() {
        return Err(CoreError::forbidden("the account's interests are listed for intranet users"));
    }
    let prefix = prefix.trim().trim_start_matches('#');
    let prefix = if prefix.is_empty() {
        String::new()
    } else {
        crate::model::interest::normalise_tag("PREFIX", prefix)?
    };
    Ok(ctx.db.read()?.interest_tags(actor.account, &prefix, limit.clamp(1, TAGS_LISTED_MAX))?)
}
