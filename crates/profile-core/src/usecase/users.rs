//! Users: creating (singly and in bulk), reading through projection and visibility, querying,
//! updating, dismissing and reinstating, roles, and the supervisors and subordinates the
//! structure implies.

use std::collections::{BTreeSet, HashSet};
use std::ops::ControlFlow;

use crate::access::{self, Actor, Audience, PhotoLinks, Scope, ScopeSet, Select, Tier, UserView};
use crate::error::{AuthFailure, CoreError, StoreError};
use crate::field::UserField;
use crate::ids::{AccountId, DepartmentId, Sequence, UserId, WorkgroupId};
use crate::model::image::{ImageOwner, ImagePurpose, ImageSize};
use crate::model::user::{Role, User, UserPatch};
use crate::ports::Tx;
use crate::query::{Condition, Op, Page, UserFilter, UserQuery};
use crate::usecase::custom::{self, CustomSelect};
use crate::usecase::images::{self, PreparedPhoto};
pub(crate) use crate::usecase::presence::{card, require_im};
pub use crate::usecase::presence::{presence_card, record_activity, set_status, status, PresenceCard};
use crate::usecase::Ctx;
use crate::Value;

/// Input of [`create_user`].
#[derive(Debug, Clone)]
pub struct NewUser {
    /// The role.
    pub role: Role,
    /// The fields, including `UF_DEPARTMENT` for intranet users.
    pub fields: UserPatch,
    /// The workgroups to join; external users need at least one.
    pub workgroups: Vec<WorkgroupId>,
}

/// Resolves who is acting: `user` of `account` through a credential with `scopes`.
///
/// # Errors
/// [`CoreError::Unauthorized`] when the user does not exist or is dismissed.
pub fn actor_for(
    ctx: Ctx<'_>,
    account: AccountId,
    user: UserId,
    scopes: ScopeSet,
) -> Result<Actor, CoreError> {
    let tx = ctx.db.read()?;
    match tx.user(account, user)? {
        Some(u) if u.active => Ok(Actor { account, user: Some(user), role: u.role, scopes }),
        Some(_) | None => Err(CoreError::unauthorized(AuthFailure::Dismissed)),
    }
}

/// Creates a user record. Administrators may always; others when the account lets everyone
/// invite. Intranet users need at least one existing department; external users get none and
/// need at least one workgroup, which becomes external.
///
/// # Errors
/// [`CoreError::Forbidden`], [`CoreError::InsufficientScope`], [`CoreError::Validation`] naming
/// the field, [`CoreError::Conflict`] on `EMAIL` when another user has it.
pub fn create_user(ctx: Ctx<'_>, actor: &Actor, new: NewUser) -> Result<User, CoreError> {
    let mut tx = ctx.db.write()?;
    let user = add_user(&mut *tx, ctx, actor, new)?;
    tx.commit()?;
    Ok(user)
}

/// [`create_user`] inside a caller's unit of work.
pub(crate) fn add_user(
    tx: &mut dyn Tx,
    ctx: Ctx<'_>,
    actor: &Actor,
    new: NewUser,
) -> Result<User, CoreError> {
    add_user_reusing(tx, ctx, actor, new, None)
}

/// [`add_user`], or with `reuse`, the same checks writing over that record instead (an invited
/// record whose invitation was revoked or expired, and that no identity is linked to).
pub(crate) fn add_user_reusing(
    tx: &mut dyn Tx,
    ctx: Ctx<'_>,
    actor: &Actor,
    new: NewUser,
    reuse: Option<UserId>,
) -> Result<User, CoreError> {
    let groups = new.workgroups.clone();
    let user = prepare_new_user(tx, ctx, actor, new, reuse)?;
    if reuse.is_some() {
        tx.update_user(&user).map_err(email_conflict)?;
    } else {
        tx.insert_user(&user).map_err(email_conflict)?;
    }
    for g in groups {
        super::workgroups::add_member_unchecked(tx, &user, g)?;
    }
    Ok(user)
}

/// Creates many users in one unit of work, through the store's bulk path: all of them or, on
/// the first invalid one, none. The same rules as [`create_user`], checked once per batch where
/// they can be (access, departments) and by the store's unique index for emails. Bulk loads take
/// intranet users without workgroups; add those with [`create_user`].
///
/// # Errors
/// As [`create_user`]; a field error names the row as `row N: FIELD` (0-based).
pub fn create_users_bulk(ctx: Ctx<'_>, actor: &Actor, rows: Vec<NewUser>) -> Result<Vec<UserId>, CoreError> {
    let mut tx = ctx.db.write()?;
    let account = tx.account(actor.account)?.ok_or_else(|| CoreError::not_found("account", actor.account))?;
    access::check_invite(actor, &account)?;
    let now = ctx.clock.now();
    let count =
        u32::try_from(rows.len()).map_err(|_| CoreError::invalid("rows", "too many rows in one load"))?;
    let first = tx.next_ids(actor.account, Sequence::User, count)?;
    let mut known_departments = BTreeSet::new();
    let mut emails = HashSet::with_capacity(rows.len());
    let mut users = Vec::with_capacity(rows.len());
    for (i, new) in rows.into_iter().enumerate() {
        let at = |field: &str| field.to_string();
        let row = |e: CoreError| e.in_row(i);
        if !new.workgroups.is_empty() || new.role.is_external() {
            return Err(row(CoreError::invalid(at("role"), "bulk loads take intranet users only")));
        }
        if new.role.is_admin() && !actor.is_admin() {
            return Err(row(CoreError::forbidden("only administrators create administrators")));
        }
        let mut user = User::new(actor.account, UserId(first + i as u32), new.role, now);
        user.fill(new.fields);
        user.active = true;
        check_contact(&user, &at).map_err(row)?;
        if user.departments.is_empty() {
            return Err(row(CoreError::invalid(
                at("UF_DEPARTMENT"),
                "an intranet user needs at least one department",
            )));
        }
        for &d in &user.departments {
            if !known_departments.contains(&d) {
                if tx.department(actor.account, d)?.is_none() {
                    return Err(row(CoreError::invalid(
                        at("UF_DEPARTMENT"),
                        format!("department {d} does not exist"),
                    )));
                }
                known_departments.insert(d);
            }
        }
        let email = user.text(UserField::Email);
        if !email.is_empty() && !emails.insert(email.to_string()) {
            return Err(row(CoreError::conflict(at("EMAIL"), "appears twice in the load")));
        }
        users.push(user);
    }
    match tx.insert_users(&users) {
        Ok(()) => {}
        Err(StoreError::UniqueViolation { .. }) => {
            drop(tx);
            return Err(taken_email_row(ctx, actor, &users));
        }
        Err(e) => return Err(e.into()),
    }
    tx.commit()?;
    Ok(users.into_iter().map(|u| u.id).collect())
}

/// After the store refused a load for a taken email: which row it was, from committed state.
fn taken_email_row(ctx: Ctx<'_>, actor: &Actor, users: &[User]) -> CoreError {
    let found = ctx.db.read().map_err(CoreError::from).and_then(|tx| {
        for (i, u) in users.iter().enumerate() {
            let email = u.text(UserField::Email);
            if !email.is_empty() && tx.user_by_email(actor.account, email)?.is_some() {
                return Ok(Some(i));
            }
        }
        Ok(None)
    });
    match found {
        Ok(Some(i)) => CoreError::conflict("EMAIL", "a user with this email already exists").in_row(i),
        Ok(None) => CoreError::conflict("EMAIL", "a user with this email already exists"),
        Err(e) => e,
    }
}

fn check_contact(user: &User, at: &dyn Fn(&str) -> String) -> Result<(), CoreError> {
    if user.text(UserField::Email).is_empty() && user.text(UserField::PersonalMobile).is_empty() {
        return Err(CoreError::invalid(at("EMAIL"), "an email address (or a mobile phone) is required"));
    }
    Ok(())
}

fn prepare_new_user(
    tx: &mut dyn Tx,
    ctx: Ctx<'_>,
    actor: &Actor,
    new: NewUser,
    reuse: Option<UserId>,
) -> Result<User, CoreError> {
    let at = |field: &str| field.to_string();
    let account = tx.account(actor.account)?.ok_or_else(|| CoreError::not_found("account", actor.account))?;
    access::check_invite(actor, &account)?;
    // Inviters who are not administrators bring people only into their own workgroups.
    if !actor.is_admin() {
        for &g in &new.workgroups {
            let members = tx.workgroup_members(actor.account, g)?;
            if !actor.user.is_some_and(|me| members.contains(&me)) {
                return Err(CoreError::forbidden(format!("you are not a member of workgroup {g}")));
            }
        }
    }
    if new.role.is_admin() && !actor.is_admin() {
        return Err(CoreError::forbidden("only administrators create administrators"));
    }
    let mut user = User::new(actor.account, UserId(0), new.role, ctx.clock.now());
    user.apply(&new.fields);
    user.active = true;
    check_contact(&user, &at)?;
    check_departments(tx, &user, &new.workgroups, &at)?;
    if let Some(email) = user.text.get(&UserField::Email) {
        if tx.user_by_email(actor.account, email)?.is_some_and(|holder| Some(holder) != reuse) {
            return Err(CoreError::conflict(at("EMAIL"), "a user with this email already exists"));
        }
    }
    user.id = match reuse {
        Some(id) => id,
        None => UserId(tx.next_id(actor.account, Sequence::User)?),
    };
    for &g in &new.workgroups {
        if tx.workgroup(actor.account, g)?.is_none() {
            return Err(CoreError::invalid(at("SONET_GROUP_ID"), format!("workgroup {g} does not exist")));
        }
    }
    Ok(user)
}

/// Intranet users need existing departments; external ones none and at least one workgroup.
fn check_departments(
    tx: &dyn Tx,
    user: &User,
    workgroups: &[WorkgroupId],
    at: &dyn Fn(&str) -> String,
) -> Result<(), CoreError> {
    if user.role.is_external() {
        if !user.departments.is_empty() {
            return Err(CoreError::invalid(at("UF_DEPARTMENT"), "external users belong to no department"));
        }
        if workgroups.is_empty() {
            return Err(CoreError::invalid(
                at("SONET_GROUP_ID"),
                "an external user must join at least one workgroup",
            ));
        }
        return Ok(());
    }
    if user.departments.is_empty() {
        return Err(CoreError::invalid(
            at("UF_DEPARTMENT"),
            "an intranet user needs at least one department",
        ));
    }
    for &d in &user.departments {
        if tx.department(user.account, d)?.is_none() {
            return Err(CoreError::invalid(at("UF_DEPARTMENT"), format!("department {d} does not exist")));
        }
    }
    Ok(())
}

fn email_conflict(e: StoreError) -> CoreError {
    match e {
        StoreError::UniqueViolation { .. } => {
            CoreError::conflict("EMAIL", "a user with this email already exists")
        }
        e => e.into(),
    }
}

/// Whether `audience` may see `user` (looking up shared workgroups only when it matters).
pub(crate) fn visible(tx: &dyn Tx, audience: Audience, user: &User) -> Result<bool, CoreError> {
    let shares = match audience {
        Audience::Everyone => false,
        // Intranet viewers see every intranet user; groups matter only for external ones.
        Audience::Intranet { viewer } if !user.role.is_external() || user.id == viewer => false,
        Audience::Extranet { viewer } if user.id == viewer => false,
        Audience::Intranet { viewer } | Audience::Extranet { viewer } => {
            tx.share_workgroup(user.account, viewer, user.id)?
        }
    };
    Ok(audience.can_see(user, shares))
}

/// Reads one user, projected to the reader's scope and selection.
///
/// # Errors
/// [`CoreError::InsufficientScope`] without a user scope; [`CoreError::NotFound`] when the user
/// does not exist or the reader may not see them (the two are indistinguishable on purpose).
pub fn get_user(
    ctx: Ctx<'_>,
    actor: &Actor,
    id: UserId,
    select: &Select,
    admin_mode: bool,
) -> Result<UserView, CoreError> {
    get_user_with(ctx, actor, id, select, &ReadOptions { admin_mode, ..ReadOptions::default() })
}

/// [`get_user`], shaped by `options`.
///
/// # Errors
/// As [`get_user`].
pub fn get_user_with(
    ctx: Ctx<'_>,
    actor: &Actor,
    id: UserId,
    select: &Select,
    options: &ReadOptions,
) -> Result<UserView, CoreError> {
    let tier = actor.user_read_tier()?;
    let tx = ctx.db.read()?;
    let user = tx.user(actor.account, id)?.ok_or_else(|| CoreError::not_found("user", id))?;
    if !visible(&*tx, actor.audience(options.admin_mode), &user)? {
        return Err(CoreError::not_found("user", id));
    }
    let photos = PhotoLinks::new(ctx.base_url, options.photos.unwrap_or(ImageSize::Large));
    let mut view = access::project(user, tier, select, ctx.clock.now(), &photos);
    view.custom = custom::read_values(&*tx, actor, &[id], &options.custom)?.remove(&id).unwrap_or_default();
    Ok(view)
}

/// Reads the acting user (`user.current`).
///
/// # Errors
/// As [`get_user`]; the operator has no user of its own ([`CoreError::NotFound`]).
pub fn current_user(ctx: Ctx<'_>, actor: &Actor, select: &Select) -> Result<UserView, CoreError> {
    current_user_with(ctx, actor, select, &ReadOptions::default())
}

/// [`current_user`], shaped by `options`.
///
/// # Errors
/// As [`current_user`].
pub fn current_user_with(
    ctx: Ctx<'_>,
    actor: &Actor,
    select: &Select,
    options: &ReadOptions,
) -> Result<UserView, CoreError> {
    let me = actor.user.ok_or_else(|| CoreError::not_found("user", "current"))?;
    get_user_with(ctx, actor, me, select, &ReadOptions { admin_mode: false, ..options.clone() })
}

/// A user's role, for administrators (exports, the CLI).
///
/// # Errors
/// [`CoreError::Forbidden`] for non-administrators; [`CoreError::NotFound`] for an unknown user.
pub fn user_role(ctx: Ctx<'_>, actor: &Actor, id: UserId) -> Result<Role, CoreError> {
    actor.require_admin()?;
    let tx = ctx.db.read()?;
    Ok(tx.user(actor.account, id)?.ok_or_else(|| CoreError::not_found("user", id))?.role)
}

/// Every user of the actor's account with every field, by ID, handed to `visit` one at a time
/// from one consistent read (administrators only: exports). `visit` stops the scan by returning
/// [`ControlFlow::Break`].
///
/// # Errors
/// [`CoreError::Forbidden`] for non-administrators; store errors.
pub fn for_each_user(
    ctx: Ctx<'_>,
    actor: &Actor,
    visit: &mut dyn FnMut(&User) -> ControlFlow<()>,
) -> Result<(), CoreError> {
    /// Users read per store call: large enough to amortise the call, small enough to keep
    /// memory flat.
    const CHUNK: u32 = 1000;
    actor.require_admin()?;
    let tx = ctx.db.read()?;
    let mut after = UserId(0);
    loop {
        let chunk = tx.users_after(actor.account, after, CHUNK)?;
        for user in &chunk {
            if visit(user).is_break() {
                return Ok(());
            }
        }
        match chunk.last() {
            Some(last) if chunk.len() == CHUNK as usize => after = last.id,
            _ => return Ok(()),
        }
    }
}

/// The caller's own short profile (`profile`): names, gender, time zone, photo and whether they
/// administer the account. It needs no user scope: every credential may know whose it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnProfile {
    /// The user.
    pub id: UserId,
    /// Whether they administer the account.
    pub admin: bool,
    /// `NAME`.
    pub name: String,
    /// `LAST_NAME`.
    pub last_name: String,
    /// `PERSONAL_GENDER` (`M`, `F` or empty).
    pub gender: String,
    /// `TIME_ZONE` (empty when unset).
    pub time_zone: String,
    /// `PERSONAL_PHOTO`: the URL of the 1000 px copy (empty when unset).
    pub photo: String,
}

/// Reads [`OwnProfile`]; `None` for the operator and for a dismissed user.
///
/// # Errors
/// [`CoreError::Storage`].
pub fn own_profile(ctx: Ctx<'_>, actor: &Actor) -> Result<Option<OwnProfile>, CoreError> {
    let Some(me) = actor.user else { return Ok(None) };
    let Some(user) = ctx.db.read()?.user(actor.account, me)?.filter(|u| u.active) else {
        return Ok(None);
    };
    let text = |f: UserField| user.text(f).to_string();
    Ok(Some(OwnProfile {
        id: user.id,
        admin: user.role.is_admin(),
        name: text(UserField::Name),
        last_name: text(UserField::LastName),
        gender: text(UserField::PersonalGender),
        time_zone: text(UserField::TimeZone),
        photo: PhotoLinks::new(ctx.base_url, ImageSize::Large).resolve(text(UserField::PersonalPhoto)),
    }))
}

/// Runs a user query (`user.get`, `user.search`): only users the reader may see, each projected.
/// Filtering or sorting by a field above the reader's tier is refused.
///
/// # Errors
/// [`CoreError::InsufficientScope`]; [`CoreError::Validation`] naming the filter or sort field
/// that lies above the reader's tier, or the filter's budget it exceeds
/// ([`UserFilter::check_budget`]).
pub fn find_users(
    ctx: Ctx<'_>,
    actor: &Actor,
    query: &UserQuery,
    select: &Select,
    admin_mode: bool,
) -> Result<Page<UserView>, CoreError> {
    find_users_with(ctx, actor, query, select, &ReadOptions { admin_mode, ..ReadOptions::default() })
}

/// How a read shapes what it returns beyond the fields it selects.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadOptions {
    /// `ADMIN_MODE`: an administrator sees every user.
    pub admin_mode: bool,
    /// Which copy `PERSONAL_PHOTO` links to (`IMAGE_RESIZE`).
    pub photos: Option<ImageSize>,
    /// Which custom fields (`UF_USR_*`) come back.
    pub custom: CustomSelect,
}

/// [`find_users`], shaped by `options`.
///
/// # Errors
/// As [`find_users`].
pub fn find_users_with(
    ctx: Ctx<'_>,
    actor: &Actor,
    query: &UserQuery,
    select: &Select,
    options: &ReadOptions,
) -> Result<Page<UserView>, CoreError> {
    let tier = actor.user_read_tier()?;
    query.filter.check_budget()?;
    check_query_tier(query, tier)?;
    let tx = ctx.db.read()?;
    let mut q = std::borrow::Cow::Borrowed(query);
    if query.filter.find_contacts && tier < Tier::Basic {
        // Emails and phones are contact details: a brief-tier reader's search must not probe them.
        q.to_mut().filter.find_contacts = false;
    }
    if !query.filter.custom.is_empty() {
        custom::resolve_conditions(&*tx, actor, &mut q.to_mut().filter)?;
    }
    if query.filter.has_typed_find() && custom::reads_values(actor) {
        let fields = custom::searchable_fields(&*tx, actor)?;
        if fields != query.filter.find_custom {
            q.to_mut().filter.find_custom = fields;
        }
    }
    if query.filter.absent_on.is_some() || !query.filter.statuses.is_empty() {
        crate::usecase::presence::resolve_filters(&*tx, actor, &mut q.to_mut().filter)?;
    }
    if !query.filter.department_name.is_empty() || query.filter.subdepartments {
        resolve_departments(&*tx, actor, &mut q.to_mut().filter)?;
    }
    let page = tx.query_users(actor.account, &q, actor.audience(options.admin_mode))?;
    let photos = PhotoLinks::new(ctx.base_url, options.photos.unwrap_or(ImageSize::Large));
    let projection = access::Projection::new(tier, select, query.now, photos);
    let ids: Vec<UserId> = page.items.iter().map(|u| u.id).collect();
    let mut custom = custom::read_values(&*tx, actor, &ids, &options.custom)?;
    Ok(page.map(|u| {
        let mut view = projection.apply(u);
        view.custom = custom.remove(&view.id).unwrap_or_default();
        view
    }))
}

/// Turns `UF_DEPARTMENT_NAME` into a condition on the departments it names, and widens
/// `UF_DEPARTMENT` conditions to sub-departments when asked: what stores are given is plain
/// conditions.
fn resolve_departments(tx: &dyn Tx, actor: &Actor, filter: &mut UserFilter) -> Result<(), CoreError> {
    let all = tx.departments(actor.account)?;
    if !filter.department_name.is_empty() {
        let named: Vec<i64> = all
            .iter()
            .filter(|d| crate::query::name_matches(&filter.department_name, &d.name))
            .map(|d| i64::from(d.id.0))
            .collect();
        filter.conditions.push(Condition::departments(Op::In, named));
        filter.department_name.clear();
    }
    if std::mem::take(&mut filter.subdepartments) {
        let tree = crate::model::department::Tree::new(all);
        for c in &mut filter.conditions {
            if c.field() == UserField::UfDepartment {
                let ids = match c.value() {
                    Value::IntList(l) => l.clone(),
                    Value::Int(i) => vec![*i],
                    _ => Vec::new(),
                };
                let mut wide: Vec<i64> = Vec::with_capacity(ids.len());
                for id in ids {
                    let Ok(id) = u32::try_from(id) else { continue };
                    wide.extend(tree.subtree(DepartmentId(id)).into_iter().map(|d| i64::from(d.0)));
                }
                wide.sort_unstable();
                wide.dedup();
                let op = if c.op().is_negative() { Op::NotIn } else { Op::In };
                *c = Condition::departments(op, wide);
            }
        }
    }
    Ok(())
}

fn check_query_tier(query: &UserQuery, tier: Tier) -> Result<(), CoreError> {
    let fields = query.filter.conditions.iter().map(|c| c.field()).chain(query.sort.iter().map(|s| s.field));
    for f in fields {
        if f.tier() > tier {
            return Err(CoreError::invalid(f.code(), "the credential's scope does not cover this field"));
        }
    }
    Ok(())
}

/// Updates a user. Administrators change anyone (including `ACTIVE`: dismissing and
/// reinstating); users change their own profile except `ACTIVE` and `UF_DEPARTMENT`.
/// The last active administrator cannot be dismissed.
///
/// # Errors
/// [`CoreError::InsufficientScope`], [`CoreError::Forbidden`], [`CoreError::NotFound`],
/// [`CoreError::Validation`] naming the field, [`CoreError::Conflict`] on `EMAIL` or `ACTIVE`.
pub fn update_user(ctx: Ctx<'_>, actor: &Actor, id: UserId, patch: &UserPatch) -> Result<User, CoreError> {
    update_user_with_photo(ctx, actor, id, patch, None)
}

/// [`update_user`] that also sets or removes the photo (`PERSONAL_PHOTO` uploaded, decoded by
/// [`images::prepare_photo`] before this is called), in the same unit of work: the new image
/// is stored, the user links to it, and the image they had is deleted.
///
/// # Errors
/// As [`update_user`].
pub fn update_user_with_photo(
    ctx: Ctx<'_>,
    actor: &Actor,
    id: UserId,
    patch: &UserPatch,
    photo: Option<PreparedPhoto>,
) -> Result<User, CoreError> {
    update_user_with(ctx, actor, id, UserUpdate { fields: patch.clone(), photo, custom: Vec::new() })
}

/// Everything one `user.update` changes.
#[derive(Debug, Clone, Default)]
pub struct UserUpdate {
    /// The standard fields.
    pub fields: UserPatch,
    /// The photo, decoded (see [`images::prepare_photo_for`]).
    pub photo: Option<PreparedPhoto>,
    /// Custom fields' values, by name (`UF_USR_*`), as clients sent them.
    pub custom: Vec<(String, Value)>,
}

/// [`update_user_with_photo`], custom fields' values too (validated by their types; see
/// [`custom`]), in one unit of work.
///
/// # Errors
/// As [`update_user`]; [`CoreError::Validation`] naming a custom field.
pub fn update_user_with(
    ctx: Ctx<'_>,
    actor: &Actor,
    id: UserId,
    update: UserUpdate,
) -> Result<User, CoreError> {
    let UserUpdate { fields, photo, custom: custom_raw } = update;
    let patch = &fields;
    access::check_user_write(actor, id, patch)?;
    let mut tx = ctx.db.write()?;
    let mut user = tx.user(actor.account, id)?.ok_or_else(|| CoreError::not_found("user", id))?;
    let was_active = user.active;
    let old_photo = user.text(UserField::PersonalPhoto).to_string();
    let mut changed = user.apply(patch);
    if patch.touches(UserField::PersonalPhoto) && old_photo != user.text(UserField::PersonalPhoto) {
        images::delete_named(&mut *tx, &old_photo)?;
    }
    if let Some(photo) = photo {
        changed |= set_photo_in(&mut *tx, ctx, &mut user, photo)?;
    }
    for values in custom::parse_values(&*tx, actor, id, &custom_raw, false)? {
        tx.set_custom_values(actor.account, &values)?;
        changed = true;
    }
    if !changed {
        // Nothing to change, judged by what this unit read: answered once that is durable (in
        // a store that groups commits, it may be another writer's work in the same commit).
        tx.commit()?;
        return Ok(user);
    }
    if patch.touches(UserField::Email) || patch.touches(UserField::PersonalMobile) {
        check_contact(&user, &|f: &str| f.to_string())?;
    }
    if patch.touches(UserField::UfDepartment) {
        let groups = tx.user_workgroups(user.account, user.id)?;
        check_departments(&*tx, &user, &groups, &|f: &str| f.to_string())?;
    }
    if was_active
        && !user.active
        && user.role == Role::Administrator
        && tx.count_active_admins(user.account)? <= 1
    {
        return Err(CoreError::conflict("ACTIVE", "the last active administrator cannot be dismissed"));
    }
    if let (true, Some(email)) = (patch.touches(UserField::Email), user.text.get(&UserField::Email)) {
        if tx.user_by_email(user.account, email)?.is_some_and(|other| other != id) {
            return Err(CoreError::conflict("EMAIL", "a user with this email already exists"));
        }
    }
    user.updated_at = ctx.clock.now();
    tx.update_user(&user).map_err(email_conflict)?;
    tx.commit()?;
    Ok(user)
}

/// Stores `photo` as `user`'s (not yet written) and deletes the image they had; whether the
/// user changed.
pub(crate) fn set_photo_in(
    tx: &mut dyn Tx,
    ctx: Ctx<'_>,
    user: &mut User,
    photo: PreparedPhoto,
) -> Result<bool, CoreError> {
    let old = user.text(UserField::PersonalPhoto).to_string();
    let new = match photo {
        PreparedPhoto::Set(prepared) => {
            let owner = ImageOwner::User(user.account, user.id);
            images::insert(tx, ctx, owner, ImagePurpose::Photo, prepared)?.to_string()
        }
        PreparedPhoto::Remove if old.is_empty() => return Ok(false),
        PreparedPhoto::Remove => String::new(),
    };
    images::delete_named(tx, &old)?;
    if new.is_empty() {
        user.text.remove(&UserField::PersonalPhoto);
    } else {
        user.text.insert(UserField::PersonalPhoto, new);
    }
    Ok(true)
}

/// Input of [`change_role`].
#[derive(Debug, Clone)]
pub struct RoleChange {
    /// The new role.
    pub role: Role,
    /// The departments an external user gets on becoming an intranet user (required then).
    pub departments: Vec<DepartmentId>,
}

/// Changes a user's role (administrators only). Becoming external drops the user's departments
/// and needs a workgroup and no department to head; becoming internal needs departments. The
/// last active administrator keeps the role.
///
/// # Errors
/// [`CoreError::Forbidden`], [`CoreError::NotFound`], [`CoreError::Validation`],
/// [`CoreError::Conflict`] on `role`.
pub fn change_role(ctx: Ctx<'_>, actor: &Actor, id: UserId, change: RoleChange) -> Result<User, CoreError> {
    actor.require(Scope::User)?;
    actor.require_admin()?;
    let mut tx = ctx.db.write()?;
    let mut user = tx.user(actor.account, id)?.ok_or_else(|| CoreError::not_found("user", id))?;
    if user.role == change.role {
        tx.commit()?;
        return Ok(user);
    }
    if user.role == Role::Administrator && user.active && tx.count_active_admins(user.account)? <= 1 {
        return Err(CoreError::conflict("role", "the last active administrator keeps the role"));
    }
    let groups = tx.user_workgroups(user.account, id)?;
    if change.role.is_external() {
        if !tx.departments_headed_by(user.account, id)?.is_empty() {
            return Err(CoreError::conflict(
                "role",
                "the user heads a department; appoint another head first",
            ));
        }
        user.departments.clear();
    } else if user.role.is_external() {
        let mut deps = change.departments.clone();
        deps.sort_unstable();
        deps.dedup();
        user.departments = deps;
    }
    user.role = change.role;
    check_departments(&*tx, &user, &groups, &|f: &str| f.to_string())?;
    user.updated_at = ctx.clock.now();
    tx.update_user(&user)?;
    if user.role.is_external() {
        for g in groups {
            super::workgroups::mark_external(&mut *tx, user.account, g)?;
        }
    }
    tx.commit()?;
    Ok(user)
}

/// The supervisors of a user, derived from the structure (decisions.md "Supervisors"): for each
/// of their departments, the head of the nearest department on the way to the root whose head
/// is not the user. Only those the reader may see are returned (`admin_mode` as in [`get_user`]).
///
/// # Errors
/// [`CoreError::InsufficientScope`], [`CoreError::NotFound`].
pub fn supervisors_of(
    ctx: Ctx<'_>,
    actor: &Actor,
    id: UserId,
    admin_mode: bool,
) -> Result<Vec<UserId>, CoreError> {
    actor.user_read_tier()?;
    let tx = ctx.db.read()?;
    let user = seen_user(&*tx, actor, id, admin_mode)?;
    supervisors_in(&*tx, actor, &user, admin_mode)
}

/// The user `id`, when the reader may see them.
fn seen_user(tx: &dyn Tx, actor: &Actor, id: UserId, admin_mode: bool) -> Result<User, CoreError> {
    let user = tx.user(actor.account, id)?.ok_or_else(|| CoreError::not_found("user", id))?;
    if !visible(tx, actor.audience(admin_mode), &user)? {
        return Err(CoreError::not_found("user", id));
    }
    Ok(user)
}

pub(crate) fn supervisors_in(
    tx: &dyn Tx,
    actor: &Actor,
    user: &User,
    admin_mode: bool,
) -> Result<Vec<UserId>, CoreError> {
    let mut found = Vec::new();
    for &start in &user.departments {
        let mut next = Some(start);
        // The depth is bounded by the number of departments; a corrupt cycle cannot hang us.
        for _ in 0..10_000 {
            let Some(d) = next.map(|d| tx.department(actor.account, d)).transpose()?.flatten() else { break };
            if let Some(h) = d.head.filter(|&h| h != user.id) {
                found.push(h);
                break;
            }
            next = d.parent;
        }
    }
    Ok(tx.visible_users(actor.account, &found, actor.audience(admin_mode))?)
}

/// The direct subordinates of a user: everyone whose supervisors include them. Walks down from
/// each department they head, through departments without a head (whose members report to
/// them) and departments headed by someone else (whose head, if a member, reports to them).
/// Only those the reader may see are returned (`admin_mode` as in [`get_user`]).
///
/// # Errors
/// [`CoreError::InsufficientScope`], [`CoreError::NotFound`].
pub fn subordinates_of(
    ctx: Ctx<'_>,
    actor: &Actor,
    id: UserId,
    admin_mode: bool,
) -> Result<Vec<UserId>, CoreError> {
    actor.user_read_tier()?;
    let tx = ctx.db.read()?;
    seen_user(&*tx, actor, id, admin_mode)?;
    subordinates_in(&*tx, actor, id, admin_mode)
}

pub(crate) fn subordinates_in(
    tx: &dyn Tx,
    actor: &Actor,
    id: UserId,
    admin_mode: bool,
) -> Result<Vec<UserId>, CoreError> {
    // (department, Some(k)): only member k qualifies there; (department, None): every member.
    let mut stack: Vec<(DepartmentId, Option<UserId>)> =
        tx.departments_headed_by(actor.account, id)?.into_iter().map(|d| (d.id, None)).collect();
    let mut seen = BTreeSet::new();
    let mut out = BTreeSet::new();
    while let Some((dep, only)) = stack.pop() {
        if !seen.insert((dep, only)) {
            continue;
        }
        let members = tx.department_members(actor.account, dep)?;
        match only {
            Some(k) => out.extend(members.into_iter().filter(|&m| m == k && m != id)),
            None => out.extend(members.into_iter().filter(|&m| m != id)),
        }
        for child in tx.child_departments(actor.account, dep)? {
            let next = match (child.head, only) {
                (Some(h), _) if h == id => continue, // its own walk starts there
                (None, only) => only,
                (Some(h), None) => Some(h),
                (Some(h), Some(k)) if h == k => Some(k),
                (Some(_), Some(_)) => continue,
            };
            stack.push((child.id, next));
        }
    }
    let out: Vec<UserId> = out.into_iter().collect();
    Ok(tx.visible_users(actor.account, &out, actor.audience(admin_mode))?)
}

/// Where a user stands (`cardfile.user.structure`, the card): their role, supervisors, direct
/// subordinates, and the path from the root to each of their departments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Structure {
    /// The user.
    pub id: UserId,
    /// Their role (the card's icon).
    pub role: Role,
    /// As [`supervisors_of`] finds them.
    pub supervisors: Vec<UserId>,
    /// As [`subordinates_of`] finds them.
    pub subordinates: Vec<UserId>,
    /// For each department of the user, the departments from the root down to it.
    pub paths: Vec<Vec<crate::model::department::Department>>,
}

/// A user's [`Structure`], from one consistent read.
///
/// # Errors
/// [`CoreError::InsufficientScope`] without a user scope; [`CoreError::NotFound`] when the user
/// does not exist or the reader may not see them.
pub fn structure(ctx: Ctx<'_>, actor: &Actor, id: UserId, admin_mode: bool) -> Result<Structure, CoreError> {
    actor.user_read_tier()?;
    let tx = ctx.db.read()?;
    let user = seen_user(&*tx, actor, id, admin_mode)?;
    let mut paths = Vec::with_capacity(user.departments.len());
    for &d in &user.departments {
        let mut path = Vec::new();
        let mut next = Some(d);
        // Bounded as in `supervisors_in`.
        for _ in 0..10_000 {
            let Some(dep) = next.map(|d| tx.department(actor.account, d)).transpose()?.flatten() else {
                break;
            };
            next = dep.parent;
            path.push(dep);
        }
        path.reverse();
        paths.push(path);
    }
    Ok(Structure {
        id,
        role: user.role,
        supervisors: supervisors_in(&*tx, actor, &user, admin_mode)?,
        subordinates: subordinates_in(&*tx, actor, id, admin_mode)?,
        paths,
    })
}
