//! Workgroups: creating, listing, membership. An extranet user joining turns a group external;
//! an extranet user cannot leave their last group.

use crate::access::{Actor, Scope};
use crate::error::CoreError;
use crate::ids::{AccountId, Sequence, UserId, WorkgroupId};
use crate::model::user::User;
use crate::model::workgroup::Workgroup;
use crate::ports::Tx;
use crate::usecase::{check_name, Ctx};

/// The longest workgroup name.
pub const WORKGROUP_NAME_MAX: usize = 255;

/// Creates a workgroup. Intranet users may; external users may not.
///
/// # Errors
/// [`CoreError::InsufficientScope`], [`CoreError::Forbidden`], [`CoreError::Validation`] on `NAME`.
pub fn create_workgroup(ctx: Ctx<'_>, actor: &Actor, name: &str) -> Result<Workgroup, CoreError> {
    actor.require(Scope::User)?;
    if actor.role.is_external() {
        return Err(CoreError::forbidden("external users cannot create workgroups"));
    }
    let name = check_name("NAME", name, WORKGROUP_NAME_MAX)?;
    let mut tx = ctx.db.write()?;
    let group = Workgroup {
        account: actor.account,
        id: WorkgroupId(tx.next_id(actor.account, Sequence::Workgroup)?),
        name,
        external: false,
        created_at: ctx.clock.now(),
    };
    tx.insert_workgroup(&group)?;
    tx.commit()?;
    Ok(group)
}

/// Every workgroup of the account. External users see only their own.
///
/// # Errors
/// [`CoreError::InsufficientScope`].
pub fn list_workgroups(ctx: Ctx<'_>, actor: &Actor) -> Result<Vec<Workgroup>, CoreError> {
    actor.user_read_tier()?;
    let tx = ctx.db.read()?;
    let all = tx.workgroups(actor.account)?;
    match actor.user {
        Some(me) if actor.role.is_external() => {
            let mine = tx.user_workgroups(actor.account, me)?;
            Ok(all.into_iter().filter(|g| mine.contains(&g.id)).collect())
        }
        _ => Ok(all),
    }
}

/// The members of a workgroup, by ID. External users may list only their own groups.
///
/// # Errors
/// [`CoreError::InsufficientScope`], [`CoreError::NotFound`].
pub fn workgroup_members(ctx: Ctx<'_>, actor: &Actor, group: WorkgroupId) -> Result<Vec<UserId>, CoreError> {
    actor.user_read_tier()?;
    let tx = ctx.db.read()?;
    tx.workgroup(actor.account, group)?.ok_or_else(|| CoreError::not_found("workgroup", group))?;
    let members = tx.workgroup_members(actor.account, group)?;
    if actor.role.is_external() && !actor.user.is_some_and(|me| members.contains(&me)) {
        return Err(CoreError::not_found("workgroup", group));
    }
    // Members the reader may not see stay out of the list too.
    Ok(tx.visible_users(actor.account, &members, actor.audience(false))?)
}

/// Adds a user to a workgroup (administrators only). An external member makes the group external.
///
/// # Errors
/// [`CoreError::InsufficientScope`], [`CoreError::Forbidden`], [`CoreError::NotFound`].
pub fn add_workgroup_member(
    ctx: Ctx<'_>,
    actor: &Actor,
    group: WorkgroupId,
    user: UserId,
) -> Result<Workgroup, CoreError> {
    actor.require(Scope::User)?;
    actor.require_admin()?;
    let mut tx = ctx.db.write()?;
    let member = tx.user(actor.account, user)?.ok_or_else(|| CoreError::not_found("user", user))?;
    let group = add_member_unchecked(&mut *tx, &member, group)?;
    tx.commit()?;
    Ok(group)
}

/// Removes a user from a workgroup (administrators only). An external user's last group stays.
///
/// # Errors
/// [`CoreError::InsufficientScope`], [`CoreError::Forbidden`], [`CoreError::NotFound`],
/// [`CoreError::Conflict`] on `SONET_GROUP_ID`.
pub fn remove_workgroup_member(
    ctx: Ctx<'_>,
    actor: &Actor,
    group: WorkgroupId,
    user: UserId,
) -> Result<(), CoreError> {
    actor.require(Scope::User)?;
    actor.require_admin()?;
    let mut tx = ctx.db.write()?;
    tx.workgroup(actor.account, group)?.ok_or_else(|| CoreError::not_found("workgroup", group))?;
    let member = tx.user(actor.account, user)?.ok_or_else(|| CoreError::not_found("user", user))?;
    let groups = tx.user_workgroups(actor.account, user)?;
    if member.role.is_external() && groups == [group] {
        return Err(CoreError::conflict(
            "SONET_GROUP_ID",
            "an external user must stay in at least one workgroup",
        ));
    }
    tx.remove_workgroup_member(actor.account, group, user)?;
    tx.commit()?;
    Ok(())
}

/// Adds `member` to `group` inside an open unit of work, marking the group external when needed.
pub(crate) fn add_member_unchecked(
    tx: &mut dyn Tx,
    member: &User,
    group: WorkgroupId,
) -> Result<Workgroup, CoreError> {
    let mut g =
        tx.workgroup(member.account, group)?.ok_or_else(|| CoreError::not_found("workgroup", group))?;
    tx.add_workgroup_member(member.account, group, member.id)?;
    if member.role.is_external() && !g.external {
        g.external = true;
        tx.update_workgroup(&g)?;
    }
    Ok(g)
}

/// Marks a group external inside an open unit of work.
pub(crate) fn mark_external(
    tx: &mut dyn Tx,
    account: AccountId,
    group: WorkgroupId,
) -> Result<(), CoreError> {
    if let Some(mut g) = tx.workgroup(account, group)? {
        if !g.external {
            g.external = true;
            tx.update_workgroup(&g)?;
        }
    }
    Ok(())
}
