//! The company structure: one root department per account, a tree below it, each department
//! with an optional head. Supervisors are derived from it (decisions.md "Supervisors").

use std::collections::{BTreeMap, BTreeSet};

use crate::ids::{AccountId, DepartmentId, UserId};
use crate::query::{Page, PageRequest, PAGE_SIZE};

/// The longest department name accepted.
pub const DEPARTMENT_NAME_MAX: usize = 255;

/// The `SORT` a department gets when none is given.
pub const DEFAULT_SORT: i32 = 500;

/// A department.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Department {
    /// The account.
    pub account: AccountId,
    /// The ID within the account; the root is 1.
    pub id: DepartmentId,
    /// The name (1 to 255 characters).
    pub name: String,
    /// Position among its siblings (ascending).
    pub sort: i32,
    /// The parent; `None` only for the root.
    pub parent: Option<DepartmentId>,
    /// The head (`UF_HEAD`), if any.
    pub head: Option<UserId>,
}

/// An in-memory view of an account's whole structure, for the rules that need the tree.
#[derive(Debug, Clone, Default)]
pub struct Tree {
    by_id: BTreeMap<DepartmentId, Department>,
    children: BTreeMap<DepartmentId, Vec<DepartmentId>>,
}

impl Tree {
    /// Builds the view from every department of one account.
    pub fn new(departments: impl IntoIterator<Item = Department>) -> Tree {
        let by_id: BTreeMap<_, _> = departments.into_iter().map(|d| (d.id, d)).collect();
        let mut children: BTreeMap<DepartmentId, Vec<DepartmentId>> = BTreeMap::new();
        for d in by_id.values() {
            if let Some(p) = d.parent {
                children.entry(p).or_default().push(d.id);
            }
        }
        for list in children.values_mut() {
            list.sort_by(|a, b| {
                let (da, db) = (&by_id[a], &by_id[b]);
                (da.sort, &da.name, da.id).cmp(&(db.sort, &db.name, db.id))
            });
        }
        Tree { by_id, children }
    }

    /// A department by ID.
    pub fn get(&self, id: DepartmentId) -> Option<&Department> {
        self.by_id.get(&id)
    }

    /// The direct children, in sibling order (`SORT`, then name).
    pub fn children(&self, id: DepartmentId) -> &[DepartmentId] {
        self.children.get(&id).map_or(&[], Vec::as_slice)
    }

    /// Every department in tree order: pre-order from the roots, siblings by `SORT` then name.
    /// This is `department.get`'s default order.
    pub fn preorder(&self) -> Vec<&Department> {
        let mut out = Vec::with_capacity(self.by_id.len());
        let mut roots: Vec<_> = self.by_id.values().filter(|d| d.parent.is_none()).collect();
        roots.sort_by_key(|d| (d.sort, d.id));
        let mut stack: Vec<DepartmentId> = roots.iter().rev().map(|d| d.id).collect();
        let mut seen = BTreeSet::new();
        while let Some(id) = stack.pop() {
            if !seen.insert(id) {
                continue;
            }
            if let Some(d) = self.by_id.get(&id) {
                out.push(d);
            }
            stack.extend(self.children(id).iter().rev());
        }
        out
    }

    /// `id` and every department below it (`id` alone when it is unknown).
    pub fn subtree(&self, id: DepartmentId) -> Vec<DepartmentId> {
        let mut out = vec![id];
        let mut at = 0;
        // Bounded by the tree: each department is visited once (a cycle cannot repeat one).
        while at < out.len() && out.len() <= self.by_id.len() {
            let children = self.children(out[at]);
            out.extend(children.iter().filter(|c| **c != id));
            at += 1;
        }
        out
    }

    /// Whether `candidate` is `id` itself or lies below it.
    pub fn is_in_subtree(&self, candidate: DepartmentId, id: DepartmentId) -> bool {
        self.path_to_root(candidate).any(|d| d.id == id)
    }

    /// The department and its ancestors, nearest first.
    pub fn path_to_root(&self, from: DepartmentId) -> impl Iterator<Item = &Department> + '_ {
        let mut next = Some(from);
        let mut steps = 0usize;
        std::iter::from_fn(move || {
            let d = self.by_id.get(&next?)?;
            steps += 1;
            // A corrupt store could hold a cycle; never loop forever over it.
            next = if steps > self.by_id.len() { None } else { d.parent };
            Some(d)
        })
    }

    /// The supervisors of a user who belongs to `departments`: for each department, the head of
    /// the nearest department on the path to the root whose head is not the user.
    pub fn supervisors(&self, user: UserId, departments: &[DepartmentId]) -> Vec<UserId> {
        let mut out: Vec<UserId> = departments
            .iter()
            .filter_map(|&d| self.path_to_root(d).find_map(|dep| dep.head.filter(|&h| h != user)))
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn dep(id: u32, parent: Option<u32>, head: Option<u32>) -> Department {
        Department {
            account: AccountId(Uuid::nil()),
            id: DepartmentId(id),
            name: format!("d{id}"),
            sort: DEFAULT_SORT,
            parent: parent.map(DepartmentId),
            head: head.map(UserId),
        }
    }

    #[test]
    fn supervisor_is_nearest_other_head() {
        // 1 (head 1) > 2 (no head) > 3 (head 3)
        let t = Tree::new([dep(1, None, Some(1)), dep(2, Some(1), None), dep(3, Some(2), Some(3))]);
        let d = |i| DepartmentId(i);
        assert_eq!(t.supervisors(UserId(9), &[d(3)]), vec![UserId(3)]);
        assert_eq!(t.supervisors(UserId(3), &[d(3)]), vec![UserId(1)]);
        assert_eq!(t.supervisors(UserId(9), &[d(2)]), vec![UserId(1)]);
        assert_eq!(t.supervisors(UserId(1), &[d(1)]), Vec::<UserId>::new());
        assert_eq!(t.supervisors(UserId(9), &[d(2), d(3)]), vec![UserId(1), UserId(3)]);
    }

    #[test]
    fn preorder_sorts_siblings() {
        let mut a = dep(2, Some(1), None);
        a.sort = 900;
        let b = dep(3, Some(1), None);
        let t = Tree::new([dep(1, None, None), a, b, dep(4, Some(2), None)]);
        let ids: Vec<u32> = t.preorder().iter().map(|d| d.id.0).collect();
        assert_eq!(ids, vec![1, 3, 2, 4]);
        assert!(t.is_in_subtree(DepartmentId(4), DepartmentId(2)));
        assert!(!t.is_in_subtree(DepartmentId(3), DepartmentId(2)));
    }
}

/// A sortable department column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DepartmentColumn {
    /// `ID`.
    Id,
    /// `NAME`.
    Name,
    /// `SORT`.
    Sort,
    /// `PARENT`.
    Parent,
    /// `UF_HEAD`.
    Head,
}

impl DepartmentColumn {
    /// Parses a wire code (`ID`, `NAME`, `SORT`, `PARENT`, `UF_HEAD`), ignoring case.
    pub fn from_code(code: &str) -> Option<DepartmentColumn> {
        let code = code.trim().to_ascii_uppercase();
        Some(match code.as_str() {
            "ID" => DepartmentColumn::Id,
            "NAME" => DepartmentColumn::Name,
            "SORT" => DepartmentColumn::Sort,
            "PARENT" => DepartmentColumn::Parent,
            "UF_HEAD" => DepartmentColumn::Head,
            _ => return None,
        })
    }

    fn key(self, d: &Department) -> (i64, &str) {
        let opt = |v: Option<u32>| v.map_or(-1, i64::from);
        match self {
            DepartmentColumn::Id => (i64::from(d.id.0), ""),
            DepartmentColumn::Name => (0, d.name.as_str()),
            DepartmentColumn::Sort => (i64::from(d.sort), ""),
            DepartmentColumn::Parent => (opt(d.parent.map(|p| p.0)), ""),
            DepartmentColumn::Head => (opt(d.head.map(|h| h.0)), ""),
        }
    }
}

/// A `department.get` query: every condition is "the column is one of these values".
#[derive(Debug, Clone, Default)]
pub struct DepartmentQuery {
    /// `ID` in.
    pub ids: Option<Vec<DepartmentId>>,
    /// `NAME` (the exact full name) in.
    pub names: Option<Vec<String>>,
    /// `SORT` in.
    pub sorts: Option<Vec<i32>>,
    /// `PARENT` in.
    pub parents: Option<Vec<DepartmentId>>,
    /// `UF_HEAD` in.
    pub heads: Option<Vec<UserId>>,
    /// The order; `None` is tree order.
    pub sort: Option<(DepartmentColumn, bool)>,
    /// Which page.
    pub page: PageRequest,
}

impl DepartmentQuery {
    /// What the listing's order and content depend on (all but the page).
    pub fn key(&self) -> impl std::hash::Hash + '_ {
        (&self.ids, &self.names, &self.sorts, &self.parents, &self.heads, self.sort)
    }

    /// The reference semantics of `department.get`: the departments this query keeps, in tree
    /// order or by its sort column (then ID), all of them.
    pub fn apply(&self, departments: Vec<Department>) -> Vec<Department> {
        let tree = Tree::new(departments);
        let keep = |d: &&Department| {
            self.ids.as_ref().is_none_or(|v| v.contains(&d.id))
                && self.names.as_ref().is_none_or(|v| v.iter().any(|n| n == &d.name))
                && self.sorts.as_ref().is_none_or(|v| v.contains(&d.sort))
                && self.parents.as_ref().is_none_or(|v| d.parent.is_some_and(|p| v.contains(&p)))
                && self.heads.as_ref().is_none_or(|v| d.head.is_some_and(|h| v.contains(&h)))
        };
        let mut rows: Vec<&Department> = tree.preorder().into_iter().filter(keep).collect();
        if let Some((col, desc)) = self.sort {
            rows.sort_by(|a, b| {
                let o = col.key(a).cmp(&col.key(b)).then(a.id.cmp(&b.id));
                if desc {
                    o.reverse()
                } else {
                    o
                }
            });
        }
        rows.into_iter().cloned().collect()
    }

    /// This query's page of `rows` (what [`DepartmentQuery::apply`] kept).
    pub fn page_of(&self, rows: Vec<Department>) -> Page<Department> {
        let total = rows.len() as u64;
        let items = rows
            .into_iter()
            .skip(usize::try_from(self.page.start).unwrap_or(usize::MAX))
            .take(PAGE_SIZE)
            .collect();
        Page { items, total: self.page.count_total.then_some(total) }
    }
}
