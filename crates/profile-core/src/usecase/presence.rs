//! Presence: activity (`IS_ONLINE`, `LAST_ACTIVITY_DATE`), the status a user sets, and a user
//! as the messenger shows them (`im.user.get`). Re-exported by [`crate::usecase::users`].

use crate::access::{self, Actor, PhotoLinks, Scope, Select, Tier, UserView};
use crate::error::CoreError;
use crate::field::UserField;
use crate::ids::{AccountId, UserId};
use crate::model::image::ImageSize;
use crate::model::user::{PresenceStatus, User};
use crate::ports::Tx;
use crate::usecase::users::visible;
use crate::usecase::Ctx;

/// Records that these users (of their accounts) were active now (page views, sign-ins, calls
/// by application tokens acting as them), in one unit of work: `LAST_ACTIVITY_DATE` moves
/// forward, and `IS_ONLINE` follows. Not a change of the users. Callers coalesce it off the
/// request path, at most once per [`crate::model::user::ACTIVITY_INTERVAL`] and user; it is
/// not an acknowledged write.
///
/// # Errors
/// [`CoreError::Storage`].
pub fn record_activity(ctx: Ctx<'_>, users: &[(AccountId, UserId)]) -> Result<(), CoreError> {
    let mut tx = ctx.db.write()?;
    let now = ctx.clock.now();
    for (account, user) in users {
        tx.record_activity(*account, *user, now)?;
    }
    tx.commit()?;
    Ok(())
}

/// Sets the caller's own presence status (`im.user.status.set`). Not a change of the user.
///
/// # Errors
/// [`CoreError::InsufficientScope`] without `im`; [`CoreError::Forbidden`] for a credential
/// that acts as no user.
pub fn set_status(ctx: Ctx<'_>, actor: &Actor, status: PresenceStatus) -> Result<(), CoreError> {
    let user = own_presence(actor)?;
    let mut tx = ctx.db.write()?;
    tx.set_user_status(actor.account, user, status)?;
    tx.commit()?;
    Ok(())
}

/// The caller's own presence status (`im.user.status.get`); `None` if never set.
///
/// # Errors
/// As [`set_status`].
pub fn status(ctx: Ctx<'_>, actor: &Actor) -> Result<Option<PresenceStatus>, CoreError> {
    let user = own_presence(actor)?;
    let tx = ctx.db.read()?;
    Ok(tx.user_status(actor.account, user)?)
}

/// The presence status a user the reader may see set, if any: what [`presence_card`] says of
/// it, without the rest of the card.
///
/// # Errors
/// As [`presence_card`].
pub fn status_of(ctx: Ctx<'_>, actor: &Actor, id: UserId) -> Result<Option<PresenceStatus>, CoreError> {
    require_im(actor)?;
    let tx = ctx.db.read()?;
    let user = tx.user(actor.account, id)?.ok_or_else(|| CoreError::not_found("user", id))?;
    if !visible(&*tx, actor.audience(false), &user)? {
        return Err(CoreError::not_found("user", id));
    }
    Ok(tx.user_status(actor.account, id)?)
}

/// What the messenger shows of a user (`im.user.get`).
#[derive(Debug, Clone, PartialEq)]
pub struct PresenceCard {
    /// The user, projected to the reader's user tier (`user_brief` when the credential has no
    /// user scope: `im` alone shows no contact details).
    pub user: UserView,
    /// The presence status the user set, if any.
    pub status: Option<PresenceStatus>,
    /// The photo's 150 px copy (`avatar`), empty when there is none.
    pub avatar: String,
    /// The photo's 1000 px copy (`avatar_hr`), likewise.
    pub avatar_hr: String,
    /// The last day of the absence the user is on today, if any (`absent`).
    pub absent_until: Option<chrono::NaiveDate>,
}

/// A user as the messenger shows them (`im.user.get`): `id`, or the caller when `None`.
///
/// # Errors
/// [`CoreError::InsufficientScope`] without `im`; [`CoreError::NotFound`] when the user does
/// not exist or the reader may not see them.
pub fn presence_card(ctx: Ctx<'_>, actor: &Actor, id: Option<UserId>) -> Result<PresenceCard, CoreError> {
    require_im(actor)?;
    let id = id.or(actor.user).ok_or_else(|| CoreError::not_found("user", "current"))?;
    let tx = ctx.db.read()?;
    let user = tx.user(actor.account, id)?.ok_or_else(|| CoreError::not_found("user", id))?;
    if !visible(&*tx, actor.audience(false), &user)? {
        return Err(CoreError::not_found("user", id));
    }
    card(&*tx, ctx, actor, user)
}

/// A user the reader may see as a [`PresenceCard`]: projected to the reader's user tier
/// (`user_brief` without one), with their status.
pub(crate) fn card(tx: &dyn Tx, ctx: Ctx<'_>, actor: &Actor, user: User) -> Result<PresenceCard, CoreError> {
    let tier = actor.scopes.user_tier().unwrap_or(Tier::Brief);
    let status = tx.user_status(actor.account, user.id)?;
    let stored = user.text(UserField::PersonalPhoto).to_string();
    // No photo resolves to no URL.
    let link = |size| PhotoLinks::new(ctx.base_url, size).resolve(stored.clone());
    let (avatar, avatar_hr) = (link(ImageSize::Small), link(ImageSize::Large));
    let links = PhotoLinks::new(ctx.base_url, ImageSize::Large);
    let now = ctx.clock.now();
    let absent_until = crate::usecase::absences::away_until_in(tx, actor, user.id, now.date_naive())?;
    Ok(PresenceCard {
        user: access::project(user, tier, &Select::All, now, &links),
        status,
        avatar,
        avatar_hr,
        absent_until,
    })
}

/// The `im` scope, which presence and the messenger's methods need.
pub(crate) fn require_im(actor: &Actor) -> Result<(), CoreError> {
    if actor.scopes.has(Scope::Im) {
        Ok(())
    } else {
        Err(CoreError::InsufficientScope { needed: Scope::Im.code() })
    }
}

fn own_presence(actor: &Actor) -> Result<UserId, CoreError> {
    require_im(actor)?;
    actor.user.ok_or_else(|| CoreError::forbidden("the credential acts as no user"))
}

/// The most users `CARDFILE_ABSENT_ON` and `CARDFILE_STATUS` may each match (narrow the query
/// with another condition past it).
pub const PRESENCE_MATCHES_MAX: usize = 25_000;

/// Resolves `CARDFILE_ABSENT_ON` and `CARDFILE_STATUS` into `ID` conditions.
pub(crate) fn resolve_filters(
    tx: &dyn Tx,
    actor: &Actor,
    filter: &mut crate::query::UserFilter,
) -> Result<(), CoreError> {
    use crate::query::{Condition, Op};
    let too_many = |key: &str| {
        CoreError::invalid(key, format!("matches more than {PRESENCE_MATCHES_MAX} users; narrow the filter"))
    };
    if let Some(day) = filter.absent_on.take() {
        let ids = tx.absent_users(actor.account, day, PRESENCE_MATCHES_MAX + 1)?;
        if ids.len() > PRESENCE_MATCHES_MAX {
            return Err(too_many("CARDFILE_ABSENT_ON"));
        }
        filter.conditions.push(Condition::ids(Op::In, ids.into_iter().map(|u| i64::from(u.0)).collect()));
    }
    let statuses = std::mem::take(&mut filter.statuses);
    if !statuses.is_empty() {
        // Statuses are the messenger's: read with `im`, as `im.user.get` reads them.
        require_im(actor)?;
        let ids = tx.users_with_status(actor.account, &statuses, PRESENCE_MATCHES_MAX + 1)?;
        if ids.len() > PRESENCE_MATCHES_MAX {
            return Err(too_many("CARDFILE_STATUS"));
        }
        filter.conditions.push(Condition::ids(Op::In, ids.into_iter().map(|u| i64::from(u.0)).collect()));
    }
    Ok(())
}
