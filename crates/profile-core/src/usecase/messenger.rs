//! The structure as the messenger shows it (spec §4.2, scope `im`): departments with their
//! names up to the root, their heads and their members, and users as presence cards. Every
//! user listed is one the reader may see.

use crate::access::Actor;
use crate::error::CoreError;
use crate::ids::{DepartmentId, UserId};
use crate::model::department::Department;
use crate::query::FILTER_LIST_MAX;
use crate::usecase::users::{card, require_im, PresenceCard};
use crate::usecase::Ctx;

/// A department with the names from the root down to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepartmentCard {
    /// The department.
    pub department: Department,
    /// The names from the root down to the department (its own last).
    pub path: Vec<String>,
    /// Its head, when the reader may see them.
    pub head: Option<UserId>,
}

fn check_ids(ids: &[DepartmentId]) -> Result<(), CoreError> {
    if ids.is_empty() {
        return Err(CoreError::invalid("ID", "list the departments"));
    }
    if ids.len() > FILTER_LIST_MAX {
        return Err(CoreError::invalid("ID", format!("at most {FILTER_LIST_MAX} values")));
    }
    Ok(())
}

/// The departments `ids` (unknown ones left out), in the order asked.
///
/// # Errors
/// [`CoreError::InsufficientScope`] without `im`; [`CoreError::Validation`] on `ID` when the
/// list is empty or over its budget.
pub fn departments(
    ctx: Ctx<'_>,
    actor: &Actor,
    ids: &[DepartmentId],
) -> Result<Vec<DepartmentCard>, CoreError> {
    require_im(actor)?;
    check_ids(ids)?;
    let tx = ctx.db.read()?;
    let mut out = Vec::with_capacity(ids.len());
    for &id in ids {
        let Some(department) = tx.department(actor.account, id)? else { continue };
        let mut path = vec![department.name.clone()];
        let mut next = department.parent;
        // Bounded by the number of departments; a corrupt cycle cannot hang us.
        for _ in 0..10_000 {
            let Some(p) = next.map(|p| tx.department(actor.account, p)).transpose()?.flatten() else { break };
            path.push(p.name.clone());
            next = p.parent;
        }
        path.reverse();
        let head = match department.head {
            Some(h) => tx.visible_users(actor.account, &[h], actor.audience(false))?.first().copied(),
            None => None,
        };
        out.push(DepartmentCard { department, path, head });
    }
    Ok(out)
}

/// The members of each department of `ids` (unknown ones left out), as the reader may see them.
///
/// # Errors
/// As [`departments`].
pub fn employees(
    ctx: Ctx<'_>,
    actor: &Actor,
    ids: &[DepartmentId],
) -> Result<Vec<(DepartmentId, Vec<UserId>)>, CoreError> {
    require_im(actor)?;
    check_ids(ids)?;
    let tx = ctx.db.read()?;
    let mut out = Vec::with_capacity(ids.len());
    for &id in ids {
        if tx.department(actor.account, id)?.is_none() {
            continue;
        }
        let members = tx.department_members(actor.account, id)?;
        out.push((id, tx.visible_users(actor.account, &members, actor.audience(false))?));
    }
    Ok(out)
}

/// Presence cards of `ids`, those the reader may see, in ascending order of ID.
///
/// # Errors
/// [`CoreError::InsufficientScope`] without `im`.
pub fn cards(ctx: Ctx<'_>, actor: &Actor, ids: &[UserId]) -> Result<Vec<PresenceCard>, CoreError> {
    require_im(actor)?;
    let tx = ctx.db.read()?;
    let mut out = Vec::new();
    for id in tx.visible_users(actor.account, ids, actor.audience(false))? {
        if let Some(user) = tx.user(actor.account, id)? {
            out.push(card(&*tx, ctx, actor, user)?);
        }
    }
    Ok(out)
}

/// The most colleagues one page of [`colleagues`] holds.
pub const COLLEAGUES_PAGE_MAX: usize = 50;

/// The caller's colleagues (`im.department.colleagues.list`): the members of their departments,
/// their supervisors and their direct subordinates, without themselves, by ID; `limit` of them
/// from `offset`, and how many there are.
///
/// # Errors
/// [`CoreError::InsufficientScope`] without `im`; [`CoreError::Forbidden`] for a credential
/// that acts as no user; [`CoreError::Validation`] on `LIMIT` past [`COLLEAGUES_PAGE_MAX`].
pub fn colleagues(
    ctx: Ctx<'_>,
    actor: &Actor,
    offset: usize,
    limit: usize,
) -> Result<(Vec<UserId>, usize), CoreError> {
    require_im(actor)?;
    if limit == 0 || limit > COLLEAGUES_PAGE_MAX {
        return Err(CoreError::invalid("LIMIT", format!("from 1 to {COLLEAGUES_PAGE_MAX}")));
    }
    let me = actor.user.ok_or_else(|| CoreError::forbidden("the credential acts as no user"))?;
    let tx = ctx.db.read()?;
    let Some(user) = tx.user(actor.account, me)? else { return Ok((Vec::new(), 0)) };
    let mut all = std::collections::BTreeSet::new();
    for &d in &user.departments {
        all.extend(tx.department_members(actor.account, d)?);
    }
    all.extend(crate::usecase::users::supervisors_in(&*tx, actor, &user, false)?);
    all.extend(crate::usecase::users::subordinates_in(&*tx, actor, me, false)?);
    all.remove(&me);
    let ids: Vec<UserId> = all.into_iter().collect();
    let seen = tx.visible_users(actor.account, &ids, actor.audience(false))?;
    let total = seen.len();
    Ok((seen.into_iter().skip(offset).take(limit).collect(), total))
}
