//! Absences (see [`crate::model::absence`]): recorded by the person, their supervisors or
//! administrators; seen by everyone who sees the person — the kind and the note only by the
//! person, their supervisors, administrators and holders of the HR permission.

use std::collections::BTreeSet;

use chrono::{Duration, NaiveDate};

use crate::access::Actor;
use crate::error::CoreError;
use crate::ids::{DepartmentId, Sequence, UserId};
use crate::model::absence::{
    away_until, Absence, AbsenceKind, AbsenceQuery, ABSENCES_LISTED_MAX, ABSENCE_DAYS_MAX,
    ABSENCE_PERIOD_MAX_DAYS,
};
use crate::model::department::Tree;
use crate::ports::Tx;
use crate::query::{Page, PageRequest, PAGE_SIZE};
use crate::usecase::{users, Ctx};

/// An absence as a reader sees it: the kind and the note only where the rule allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AbsenceView {
    /// The absence's ID.
    pub id: u32,
    /// Who is away.
    pub user: UserId,
    /// The first day.
    pub from: NaiveDate,
    /// The last day (inclusive).
    pub to: NaiveDate,
    /// The kind, for the person, their supervisors, administrators and HR.
    pub kind: Option<AbsenceKind>,
    /// The note, for the same readers.
    pub note: Option<String>,
}

/// What an absence is to be: every field for a new one; those given for a change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AbsenceSpec {
    /// The kind.
    pub kind: Option<AbsenceKind>,
    /// The first day.
    pub from: Option<NaiveDate>,
    /// The last day.
    pub to: Option<NaiveDate>,
    /// The note.
    pub note: Option<String>,
}

/// Which absences a listing shows: one person's, or a department's and its sub-departments'
/// people's, or everyone's the reader sees; over `from..=to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AbsenceFilter {
    /// One person.
    pub user: Option<UserId>,
    /// A department (with its sub-departments).
    pub department: Option<DepartmentId>,
    /// The first day of the period.
    pub from: NaiveDate,
    /// The last day (inclusive).
    pub to: NaiveDate,
}

/// Records an absence of `user` (the person, a supervisor of theirs, or an administrator).
///
/// # Errors
/// [`CoreError::InsufficientScope`] without `user`; [`CoreError::NotFound`] for a user the
/// actor does not see; [`CoreError::Forbidden`] for others' absences; [`CoreError::Validation`]
/// on `KIND`, `DATE_FROM`, `DATE_TO` or `NOTE`.
pub fn add_absence(
    ctx: Ctx<'_>,
    actor: &Actor,
    user: UserId,
    spec: AbsenceSpec,
) -> Result<Absence, CoreError> {
    actor.require(crate::access::Scope::User)?;
    let kind = spec.kind.ok_or_else(|| CoreError::invalid("KIND", "is required"))?;
    let from = spec.from.ok_or_else(|| CoreError::invalid("DATE_FROM", "is required"))?;
    let to = spec.to.ok_or_else(|| CoreError::invalid("DATE_TO", "is required"))?;
    let mut tx = ctx.db.write()?;
    may_record(&*tx, actor, user)?;
    let mut absence = Absence {
        account: actor.account,
        id: 0,
        user,
        kind,
        from,
        to,
        note: spec.note.unwrap_or_default().trim().to_string(),
        recorded_by: actor.user.unwrap_or(UserId(0)),
    };
    absence.check()?;
    absence.id = tx.next_id(actor.account, Sequence::Absence)?;
    tx.insert_absence(&absence)?;
    tx.commit()?;
    Ok(absence)
}

/// Changes an absence (who may record it may change it).
///
/// # Errors
/// As [`add_absence`]; [`CoreError::NotFound`] for an unknown absence.
pub fn update_absence(ctx: Ctx<'_>, actor: &Actor, id: u32, spec: AbsenceSpec) -> Result<Absence, CoreError> {
    actor.require(crate::access::Scope::User)?;
    let mut tx = ctx.db.write()?;
    let mut absence = tx.absence(actor.account, id)?.ok_or_else(|| CoreError::not_found("absence", id))?;
    may_record(&*tx, actor, absence.user).map_err(|e| hide_unseen(e, id))?;
    absence.kind = spec.kind.unwrap_or(absence.kind);
    absence.from = spec.from.unwrap_or(absence.from);
    absence.to = spec.to.unwrap_or(absence.to);
    if let Some(note) = spec.note {
        absence.note = note.trim().to_string();
    }
    absence.check()?;
    tx.update_absence(&absence)?;
    tx.commit()?;
    Ok(absence)
}

/// Deletes an absence (who may record it may delete it).
///
/// # Errors
/// As [`update_absence`].
pub fn delete_absence(ctx: Ctx<'_>, actor: &Actor, id: u32) -> Result<(), CoreError> {
    actor.require(crate::access::Scope::User)?;
    let mut tx = ctx.db.write()?;
    let absence = tx.absence(actor.account, id)?.ok_or_else(|| CoreError::not_found("absence", id))?;
    may_record(&*tx, actor, absence.user).map_err(|e| hide_unseen(e, id))?;
    tx.delete_absence(actor.account, id)?;
    tx.commit()?;
    Ok(())
}

/// An absence of a user the actor does not see is not there for them.
fn hide_unseen(e: CoreError, id: u32) -> CoreError {
    match e {
        CoreError::NotFound { .. } => CoreError::not_found("absence", id),
        e => e,
    }
}

/// The person, a supervisor of theirs, or an administrator; the person seen by the actor.
fn may_record(tx: &dyn Tx, actor: &Actor, user: UserId) -> Result<(), CoreError> {
    let target = tx.user(actor.account, user)?.ok_or_else(|| CoreError::not_found("user", user))?;
    if !users::visible(tx, actor.audience(false), &target)? {
        return Err(CoreError::not_found("user", user));
    }
    if actor.is_admin() || actor.is(user) {
        return Ok(());
    }
    let supervises = match actor.user {
        Some(me) if !actor.role.is_external() => {
            let tree = Tree::new(tx.departments(actor.account)?);
            tree.supervisors(target.id, &target.departments).contains(&me)
        }
        _ => false,
    };
    if supervises {
        Ok(())
    } else {
        Err(CoreError::forbidden("absences are recorded by the person, their supervisors and administrators"))
    }
}

/// One page of the absences the filter finds among the users the actor sees, by first day
/// (the absence chart when the filter names a department).
///
/// # Errors
/// [`CoreError::InsufficientScope`]; [`CoreError::NotFound`] for a user or department the
/// actor does not see; [`CoreError::Validation`] on `DATE_TO` for a period that ends before it
/// begins or spans more than [`ABSENCE_PERIOD_MAX_DAYS`], on `FILTER` when more than
/// [`ABSENCES_LISTED_MAX`] absences match.
pub fn list_absences(
    ctx: Ctx<'_>,
    actor: &Actor,
    filter: &AbsenceFilter,
    page: PageRequest,
) -> Result<Page<AbsenceView>, CoreError> {
    actor.user_read_tier()?;
    if filter.to < filter.from {
        return Err(CoreError::invalid("DATE_TO", "is before DATE_FROM"));
    }
    if (filter.to - filter.from).num_days() >= ABSENCE_PERIOD_MAX_DAYS {
        return Err(CoreError::invalid(
            "DATE_TO",
            format!("a period spans at most {ABSENCE_PERIOD_MAX_DAYS} days"),
        ));
    }
    let tx = ctx.db.read()?;
    let audience = actor.audience(false);
    let mut tree: Option<Tree> = None;
    let users: Option<Vec<UserId>> = match (filter.user, filter.department) {
        (Some(u), _) => {
            let target = tx.user(actor.account, u)?.ok_or_else(|| CoreError::not_found("user", u))?;
            if !users::visible(&*tx, audience, &target)? {
                return Err(CoreError::not_found("user", u));
            }
            Some(vec![u])
        }
        (None, Some(d)) => {
            let t = Tree::new(tx.departments(actor.account)?);
            if t.get(d).is_none() {
                return Err(CoreError::not_found("department", d));
            }
            let mut members = BTreeSet::new();
            for dep in t.subtree(d) {
                members.extend(tx.department_members(actor.account, dep)?);
            }
            tree = Some(t);
            let members: Vec<UserId> = members.into_iter().collect();
            Some(tx.visible_users(actor.account, &members, audience)?)
        }
        (None, None) => None,
    };
    let query = AbsenceQuery { users, from: filter.from, to: filter.to };
    let mut found = tx.absences(actor.account, &query, ABSENCES_LISTED_MAX + 1)?;
    if found.len() > ABSENCES_LISTED_MAX {
        return Err(CoreError::invalid(
            "FILTER",
            format!("more than {ABSENCES_LISTED_MAX} absences match; narrow the period or the people"),
        ));
    }
    if query.users.is_none() && !matches!(audience, crate::access::Audience::Everyone) {
        let ids: BTreeSet<UserId> = found.iter().map(|a| a.user).collect();
        let ids: Vec<UserId> = ids.into_iter().collect();
        let seen: BTreeSet<UserId> = tx.visible_users(actor.account, &ids, audience)?.into_iter().collect();
        found.retain(|a| seen.contains(&a.user));
    }
    let total = found.len() as u64;
    let start = usize::try_from(page.start).unwrap_or(usize::MAX).min(found.len());
    let items: Vec<Absence> = found.into_iter().skip(start).take(PAGE_SIZE).collect();
    let details = Details::new(&*tx, actor, tree)?;
    let mut views = Vec::with_capacity(items.len());
    for a in items {
        let shown = details.shown(&*tx, actor, a.user)?;
        views.push(AbsenceView {
            id: a.id,
            user: a.user,
            from: a.from,
            to: a.to,
            kind: shown.then_some(a.kind),
            note: shown.then_some(a.note),
        });
    }
    Ok(Page { items: views, total: page.count_total.then_some(total) })
}

/// Who sees an absence's kind and note: the person, administrators and HR always; a head of a
/// department, for the people they supervise.
struct Details {
    everyone: bool,
    tree: Option<Tree>,
}

impl Details {
    fn new(tx: &dyn Tx, actor: &Actor, tree: Option<Tree>) -> Result<Details, CoreError> {
        let everyone = actor.is_admin() || crate::usecase::hr::is_hr_officer(tx, actor)?;
        let heads = match actor.user {
            Some(me) if !everyone && !actor.role.is_external() => {
                !tx.departments_headed_by(actor.account, me)?.is_empty()
            }
            _ => false,
        };
        let tree = match (heads, tree) {
            (false, _) => None,
            (true, Some(t)) => Some(t),
            (true, None) => Some(Tree::new(tx.departments(actor.account)?)),
        };
        Ok(Details { everyone, tree })
    }

    fn shown(&self, tx: &dyn Tx, actor: &Actor, user: UserId) -> Result<bool, CoreError> {
        if self.everyone || actor.is(user) {
            return Ok(true);
        }
        let (Some(tree), Some(me)) = (&self.tree, actor.user) else { return Ok(false) };
        Ok(match tx.user(actor.account, user)? {
            Some(u) => tree.supervisors(u.id, &u.departments).contains(&me),
            None => false,
        })
    }
}

/// The last day of the absence `user` is on today (following absences that adjoin it), if
/// any: the card's "away until" and `im.user.get`'s `absent`.
///
/// # Errors
/// [`CoreError::Storage`].
pub(crate) fn away_until_in(
    tx: &dyn Tx,
    actor: &Actor,
    user: UserId,
    today: NaiveDate,
) -> Result<Option<NaiveDate>, CoreError> {
    let horizon = today + Duration::days(ABSENCE_DAYS_MAX * 2);
    let query = AbsenceQuery { users: Some(vec![user]), from: today, to: horizon };
    Ok(away_until(&tx.absences(actor.account, &query, 200)?, today))
}

/// The last day of the absence a user the actor sees is on today (following absences that
/// adjoin it), if any: the card's "away until".
///
/// # Errors
/// [`CoreError::InsufficientScope`]; [`CoreError::NotFound`] for a user the actor does not see.
pub fn away_until_of(ctx: Ctx<'_>, actor: &Actor, user: UserId) -> Result<Option<NaiveDate>, CoreError> {
    actor.user_read_tier()?;
    let tx = ctx.db.read()?;
    let target = tx.user(actor.account, user)?.ok_or_else(|| CoreError::not_found("user", user))?;
    if !users::visible(&*tx, actor.audience(false), &target)? {
        return Err(CoreError::not_found("user", user));
    }
    away_until_in(&*tx, actor, user, ctx.clock.now().date_naive())
}
