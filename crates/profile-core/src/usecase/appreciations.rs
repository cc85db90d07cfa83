//! Appreciations (see [`crate::model::appreciation`]): given by one colleague to another with
//! a badge and a message. Counts per badge are seen by everyone who sees the recipient; the
//! messages only by the recipient, and by each giver their own.

use crate::access::{Actor, Scope};
use crate::error::{CoreError, StoreError};
use crate::ids::{Sequence, UserId};
use crate::model::appreciation::{builtin_badges, check_message, Appreciation, Badge, BADGES_ADDED_MAX};
use crate::ports::Tx;
use crate::query::{Page, PageRequest, PAGE_SIZE};
use crate::usecase::{users, Ctx};

/// The most appreciations one listing reads.
pub const APPRECIATIONS_LISTED_MAX: usize = 10_000;

/// Every badge of the account: the built-in ones, then those administrators added.
///
/// # Errors
/// [`CoreError::InsufficientScope`].
pub fn badges(ctx: Ctx<'_>, actor: &Actor) -> Result<Vec<Badge>, CoreError> {
    actor.user_read_tier()?;
    all_badges(&*ctx.db.read()?, actor)
}

fn all_badges(tx: &dyn Tx, actor: &Actor) -> Result<Vec<Badge>, CoreError> {
    let mut out = builtin_badges();
    out.extend(tx.added_badges(actor.account)?);
    Ok(out)
}

/// Adds a badge kind (administrators).
///
/// # Errors
/// [`CoreError::Forbidden`]; [`CoreError::Validation`] on `CODE` or `LABEL`, or on `CODE` past
/// [`BADGES_ADDED_MAX`]; [`CoreError::Conflict`] on `CODE` when the account has it.
pub fn add_badge(ctx: Ctx<'_>, actor: &Actor, code: &str, label: &str) -> Result<Badge, CoreError> {
    actor.require(Scope::User)?;
    actor.require_admin()?;
    let badge = Badge::new(code, label)?;
    let mut tx = ctx.db.write()?;
    if builtin_badges().iter().any(|b| b.code == badge.code) {
        return Err(CoreError::conflict("CODE", "a built-in badge has this code"));
    }
    if tx.added_badges(actor.account)?.len() >= BADGES_ADDED_MAX {
        return Err(CoreError::invalid("CODE", format!("an account adds at most {BADGES_ADDED_MAX} badges")));
    }
    tx.insert_badge(actor.account, &badge).map_err(|e| match e {
        StoreError::UniqueViolation { .. } => {
            CoreError::conflict("CODE", "the account has a badge with this code")
        }
        e => e.into(),
    })?;
    tx.commit()?;
    Ok(badge)
}

/// Gives `recipient` an appreciation: a colleague the giver sees, not themself.
///
/// # Errors
/// [`CoreError::InsufficientScope`]; [`CoreError::Forbidden`] for the operator (appreciations
/// come from people); [`CoreError::NotFound`] for a recipient the giver does not see;
/// [`CoreError::Validation`] on `USER_ID` (oneself, or someone deactivated), `BADGE` or
/// `MESSAGE`.
pub fn give(
    ctx: Ctx<'_>,
    actor: &Actor,
    recipient: UserId,
    badge: &str,
    message: &str,
) -> Result<Appreciation, CoreError> {
    actor.require(Scope::User)?;
    let giver = actor.user.ok_or_else(|| CoreError::forbidden("appreciations are given by people"))?;
    if giver == recipient {
        return Err(CoreError::invalid("USER_ID", "one cannot appreciate oneself"));
    }
    let message = check_message(message)?;
    let mut tx = ctx.db.write()?;
    let target = tx.user(actor.account, recipient)?.ok_or_else(|| CoreError::not_found("user", recipient))?;
    if !users::visible(&*tx, actor.audience(false), &target)? {
        return Err(CoreError::not_found("user", recipient));
    }
    if !target.active {
        return Err(CoreError::invalid("USER_ID", "the user is deactivated"));
    }
    let code = badge.trim().to_ascii_lowercase();
    if !all_badges(&*tx, actor)?.iter().any(|b| b.code == code) {
        return Err(CoreError::invalid("BADGE", format!("no badge is called {code:?}")));
    }
    let a = Appreciation {
        account: actor.account,
        id: tx.next_id(actor.account, Sequence::Appreciation)?,
        recipient,
        giver,
        badge: code,
        message,
        // Kept to the second, as the stores keep it.
        at: chrono::DateTime::from_timestamp(ctx.clock.now().timestamp(), 0).unwrap_or_default(),
    };
    tx.insert_appreciation(&a)?;
    tx.commit()?;
    Ok(a)
}

/// How many appreciations of each badge `user` holds, by badge code (badges they hold none of
/// left out).
///
/// # Errors
/// [`CoreError::InsufficientScope`]; [`CoreError::NotFound`] for a user the actor does not see.
pub fn counts(ctx: Ctx<'_>, actor: &Actor, user: UserId) -> Result<Vec<(String, u64)>, CoreError> {
    actor.user_read_tier()?;
    let tx = ctx.db.read()?;
    seen(&*tx, actor, user)?;
    Ok(tx.appreciation_counts(actor.account, user)?)
}

/// One page of the appreciations `user` received that the actor may read, newest first: all
/// of them for the recipient, the actor's own for anyone else.
///
/// # Errors
/// As [`counts`].
pub fn list(
    ctx: Ctx<'_>,
    actor: &Actor,
    user: UserId,
    page: PageRequest,
) -> Result<Page<Appreciation>, CoreError> {
    actor.user_read_tier()?;
    let tx = ctx.db.read()?;
    seen(&*tx, actor, user)?;
    let giver = if actor.is(user) {
        None
    } else {
        match actor.user {
            Some(me) => Some(me),
            None => return Ok(Page { items: Vec::new(), total: page.count_total.then_some(0) }),
        }
    };
    let all = tx.appreciations(actor.account, user, giver, APPRECIATIONS_LISTED_MAX)?;
    let total = all.len() as u64;
    let start = usize::try_from(page.start).unwrap_or(usize::MAX);
    let items = all.into_iter().skip(start).take(PAGE_SIZE).collect();
    Ok(Page { items, total: page.count_total.then_some(total) })
}

fn seen(tx: &dyn Tx, actor: &Actor, user: UserId) -> Result<(), CoreError> {
    let target = tx.user(actor.account, user)?.ok_or_else(|| CoreError::not_found("user", user))?;
    if !users::visible(tx, actor.audience(false), &target)? {
        return Err(CoreError::not_found("user", user));
    }
    Ok(())
}
