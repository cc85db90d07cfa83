//! The company structure: adding, reading, listing in tree order, renaming, moving (never into
//! a cycle), appointing heads, deleting (only when empty).

use crate::access::{Actor, Scope};
use crate::error::CoreError;
use crate::ids::{DepartmentId, Sequence, UserId};
use crate::model::department::{Department, DEFAULT_SORT, DEPARTMENT_NAME_MAX};
pub use crate::model::department::{DepartmentColumn, DepartmentQuery};
use crate::ports::Tx;
use crate::query::Page;
use crate::usecase::{check_name, Ctx};

/// Input of [`add_department`].
#[derive(Debug, Clone)]
pub struct NewDepartment {
    /// The name.
    pub name: String,
    /// The parent; required, since the account's one root exists from the start.
    pub parent: Option<DepartmentId>,
    /// `SORT` (default 500).
    pub sort: Option<i32>,
    /// The head, an intranet user of the account.
    pub head: Option<UserId>,
}

/// Changes for [`update_department`]; `None` leaves a value as it is.
#[derive(Debug, Clone, Default)]
pub struct DepartmentPatch {
    /// A new name.
    pub name: Option<String>,
    /// A new `SORT`.
    pub sort: Option<i32>,
    /// A new parent (moving the department with its subtree).
    pub parent: Option<DepartmentId>,
    /// A new head: `Some(None)` removes the head.
    pub head: Option<Option<UserId>>,
}

fn require_write(actor: &Actor) -> Result<(), CoreError> {
    actor.require(Scope::Department)?;
    if actor.is_admin() {
        Ok(())
    } else {
        Err(CoreError::forbidden("only administrators edit the company structure"))
    }
}

fn check_head(tx: &dyn Tx, actor: &Actor, head: Option<UserId>) -> Result<(), CoreError> {
    let Some(head) = head else { return Ok(()) };
    match tx.user(actor.account, head)? {
        None => Err(CoreError::invalid("UF_HEAD", format!("user {head} does not exist"))),
        Some(u) if u.role.is_external() => {
            Err(CoreError::invalid("UF_HEAD", "an external user cannot head a department"))
        }
        // Integrators are hidden from the directory; a head everyone sees must be visible.
        Some(u) if u.role == crate::model::user::Role::Integrator => {
            Err(CoreError::invalid("UF_HEAD", "an integrator cannot head a department"))
        }
        Some(u) if !u.active => Err(CoreError::invalid("UF_HEAD", "a dismissed user cannot become a head")),
        Some(_) => Ok(()),
    }
}

/// Whether `candidate` is `ancestor` or lies below it, walking up from `candidate`.
fn is_at_or_below(
    tx: &dyn Tx,
    actor: &Actor,
    candidate: DepartmentId,
    ancestor: DepartmentId,
) -> Result<bool, CoreError> {
    let mut next = Some(candidate);
    for _ in 0..10_000 {
        let Some(d) = next else { return Ok(false) };
        if d == ancestor {
            return Ok(true);
        }
        next = tx.department(actor.account, d)?.and_then(|d| d.parent);
    }
    Ok(true) // a cycle already: refuse rather than make it worse
}

fn load(tx: &dyn Tx, actor: &Actor, id: DepartmentId) -> Result<Department, CoreError> {
    tx.department(actor.account, id)?.ok_or_else(|| CoreError::not_found("department", id))
}

/// Adds a department under an existing parent.
///
/// # Errors
/// [`CoreError::InsufficientScope`], [`CoreError::Forbidden`], [`CoreError::Validation`] on
/// `NAME` or `UF_HEAD`, [`CoreError::Conflict`] on `PARENT` when it is missing or unknown (there
/// is exactly one root).
pub fn add_department(ctx: Ctx<'_>, actor: &Actor, new: NewDepartment) -> Result<Department, CoreError> {
    require_write(actor)?;
    let name = check_name("NAME", &new.name, DEPARTMENT_NAME_MAX)?;
    let mut tx = ctx.db.write()?;
    let parent = new.parent.ok_or_else(only_one_root)?;
    tx.department(actor.account, parent)?.ok_or_else(only_one_root)?;
    check_head(&*tx, actor, new.head)?;
    let department = Department {
        account: actor.account,
        id: DepartmentId(tx.next_id(actor.account, Sequence::Department)?),
        name,
        sort: new.sort.unwrap_or(DEFAULT_SORT),
        parent: Some(parent),
        head: new.head,
    };
    tx.insert_department(&department)?;
    tx.commit()?;
    Ok(department)
}

fn only_one_root() -> CoreError {
    CoreError::conflict(
        "PARENT",
        "only one top-level department is allowed: PARENT must name an existing department",
    )
}

/// Reads one department. Anyone with the `department` scope may read the structure.
///
/// # Errors
/// [`CoreError::InsufficientScope`], [`CoreError::NotFound`].
pub fn get_department(ctx: Ctx<'_>, actor: &Actor, id: DepartmentId) -> Result<Department, CoreError> {
    actor.require(Scope::Department)?;
    load(&*ctx.db.read()?, actor, id)
}

/// The company structure as its page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StructureOverview {
    /// Every department, by ID.
    pub departments: Vec<Department>,
    /// How many people each holds directly, by department (none: left out).
    pub members: Vec<(DepartmentId, u64)>,
    /// The names of the heads the reader sees, by user.
    pub heads: Vec<(UserId, String)>,
}

/// The company structure as its page shows it: every department, how many people each holds
/// directly, and the names of their heads, from one read. For intranet users (external ones see only their
/// workgroups).
///
/// # Errors
/// [`CoreError::InsufficientScope`], [`CoreError::Forbidden`] for external users.
pub fn structure_overview(ctx: Ctx<'_>, actor: &Actor) -> Result<StructureOverview, CoreError> {
    actor.require(Scope::Department)?;
    if actor.role.is_external() {
        return Err(CoreError::forbidden("the company structure is shown to intranet users"));
    }
    let tx = ctx.db.read()?;
    let departments = tx.departments(actor.account)?;
    let mut heads: Vec<UserId> = departments.iter().filter_map(|d| d.head).collect();
    heads.sort_unstable();
    heads.dedup();
    let mut named = Vec::new();
    for id in tx.visible_users(actor.account, &heads, actor.audience(false))? {
        if let Some(u) = tx.user(actor.account, id)? {
            named.push((id, u.display_name()));
        }
    }
    Ok(StructureOverview { departments, members: tx.department_member_counts(actor.account)?, heads: named })
}

/// Every department in tree order with its depth (0 for a top-level one): the directory's
/// department picker. For intranet users, as [`structure_overview`].
///
/// # Errors
/// As [`structure_overview`].
pub fn picker(ctx: Ctx<'_>, actor: &Actor) -> Result<Vec<(Department, usize)>, CoreError> {
    actor.require(Scope::Department)?;
    if actor.role.is_external() {
        return Err(CoreError::forbidden("the company structure is shown to intranet users"));
    }
    let tree = crate::model::department::Tree::new(ctx.db.read()?.departments(actor.account)?);
    Ok(tree
        .preorder()
        .into_iter()
        .map(|d| (d.clone(), tree.path_to_root(d.id).count().saturating_sub(1)))
        .collect())
}

/// Lists departments (`department.get`): filtered, in tree order by default, 50 a page.
///
/// # Errors
/// [`CoreError::InsufficientScope`].
pub fn list_departments(
    ctx: Ctx<'_>,
    actor: &Actor,
    q: &DepartmentQuery,
) -> Result<Page<Department>, CoreError> {
    actor.require(Scope::Department)?;
    Ok(ctx.db.read()?.query_departments(actor.account, q)?)
}

/// Changes a department: name, sort, head, or parent (moving its whole subtree). A move that
/// would put a department under itself or its own subtree is refused, and the root stays the
/// root.
///
/// # Errors
/// [`CoreError::InsufficientScope`], [`CoreError::Forbidden`], [`CoreError::NotFound`],
/// [`CoreError::Validation`] on `NAME`/`UF_HEAD`, [`CoreError::Conflict`] on `PARENT`.
pub fn update_department(
    ctx: Ctx<'_>,
    actor: &Actor,
    id: DepartmentId,
    patch: DepartmentPatch,
) -> Result<Department, CoreError> {
    require_write(actor)?;
    let name = patch.name.as_deref().map(|n| check_name("NAME", n, DEPARTMENT_NAME_MAX)).transpose()?;
    let mut tx = ctx.db.write()?;
    let mut dep = load(&*tx, actor, id)?;
    if let Some(parent) = patch.parent {
        if dep.parent.is_none() {
            if parent != dep.id {
                return Err(CoreError::conflict("PARENT", "the root department cannot be moved"));
            }
        } else {
            if tx.department(actor.account, parent)?.is_none() {
                return Err(CoreError::invalid("PARENT", format!("department {parent} does not exist")));
            }
            if is_at_or_below(&*tx, actor, parent, id)? {
                return Err(CoreError::conflict(
                    "PARENT",
                    "a department cannot move under itself or its own subtree",
                ));
            }
            dep.parent = Some(parent);
        }
    }
    if let Some(head) = patch.head {
        check_head(&*tx, actor, head)?;
        dep.head = head;
    }
    if let Some(name) = name {
        dep.name = name;
    }
    if let Some(sort) = patch.sort {
        dep.sort = sort;
    }
    tx.update_department(&dep)?;
    tx.commit()?;
    Ok(dep)
}

/// Deletes a department. The root, and departments that still have sub-departments or members,
/// are refused: move or reassign them first.
///
/// # Errors
/// [`CoreError::InsufficientScope`], [`CoreError::Forbidden`], [`CoreError::NotFound`],
/// [`CoreError::Conflict`] on `ID`.
pub fn delete_department(ctx: Ctx<'_>, actor: &Actor, id: DepartmentId) -> Result<(), CoreError> {
    require_write(actor)?;
    let mut tx = ctx.db.write()?;
    let dep = load(&*tx, actor, id)?;
    if dep.parent.is_none() {
        return Err(CoreError::conflict("ID", "the root department cannot be deleted"));
    }
    let children = tx.child_departments(actor.account, id)?.len();
    if children > 0 {
        return Err(CoreError::conflict(
            "ID",
            format!("the department has {children} sub-departments; move or delete them first"),
        ));
    }
    let members = tx.department_members(actor.account, id)?.len();
    if members > 0 {
        return Err(CoreError::conflict(
            "ID",
            format!("the department has {members} members; move them first"),
        ));
    }
    tx.delete_department(actor.account, id)?;
    tx.commit()?;
    Ok(())
}
