//! Departments. Renaming one re-indexes its members for quick search.

use std::sync::Arc;

use profile_core::ids::{AccountId, DepartmentId, UserId};
use profile_core::model::department::{Department, DepartmentQuery};
use profile_core::ports::{DepartmentStore, StoreResult, UserStore};
use profile_core::query::{Page, PAGE_SIZE};
use rusqlite::{params, OptionalExtension};

use crate::error::backend;
use crate::{search, users, SqliteTx};

fn from_row(account: AccountId, r: &rusqlite::Row<'_>) -> rusqlite::Result<Department> {
    Ok(Department {
        account,
        id: DepartmentId(r.get(0)?),
        name: r.get(1)?,
        sort: r.get(2)?,
        parent: r.get::<_, Option<u32>>(3)?.map(DepartmentId),
        head: r.get::<_, Option<u32>>(4)?.map(UserId),
    })
}

impl DepartmentStore for SqliteTx<'_> {
    fn department(&self, account: AccountId, id: DepartmentId) -> StoreResult<Option<Department>> {
        let Some(no) = self.no(account)? else {
            return Ok(None);
        };
        if let Some(known) = self.bulk().borrow().department(no, id) {
            return Ok(known);
        }
        let found = self
            .conn()
            .prepare_cached(
                "SELECT id, name, sort, parent, head FROM departments WHERE account_no = ?1 AND id = ?2",
            )
            .and_then(|mut s| s.query_row(params![no, id.0], |r| from_row(account, r)).optional())
            .map_err(backend)?;
        self.bulk().borrow_mut().remember_department(no, id, &found);
        Ok(found)
    }

    fn departments(&self, account: AccountId) -> StoreResult<Vec<Department>> {
        let Some(no) = self.no(account)? else {
            return Ok(Vec::new());
        };
        self.conn()
            .prepare_cached(
                "SELECT id, name, sort, parent, head FROM departments WHERE account_no = ?1 ORDER BY id",
            )
            .and_then(|mut s| s.query_map([no], |r| from_row(account, r))?.collect())
            .map_err(backend)
    }

    /// Readers keep the listing's order in the query cache (see `query_cache`), so each page
    /// reads its own departments only.
    fn query_departments(&self, account: AccountId, q: &DepartmentQuery) -> StoreResult<Page<Department>> {
        let Some(no) = self.no(account)? else {
            return Ok(Page { items: Vec::new(), total: q.page.count_total.then_some(0) });
        };
        let Some(cache) = self.query_cache() else {
            return Ok(q.page_of(q.apply(self.departments(account)?)));
        };
        let key = cache.key(no, &("department.get", q.key()));
        let version = crate::user_pages::version(self.conn(), no)?;
        let ids = match cache.ids(key, version) {
            Some(ids) => ids,
            None => {
                let ids: Arc<[u32]> = q.apply(self.departments(account)?).iter().map(|d| d.id.0).collect();
                cache.remember_ids(key, version, Arc::clone(&ids));
                ids
            }
        };
        let from = usize::try_from(q.page.start).unwrap_or(usize::MAX).min(ids.len());
        let items = ids[from..(from + PAGE_SIZE).min(ids.len())]
            .iter()
            .map(|&id| {
                self.department(account, DepartmentId(id))?.ok_or_else(|| {
                    profile_core::StoreError::Backend(format!("department {id} vanished at its version"))
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Page { items, total: q.page.count_total.then_some(ids.len() as u64) })
    }

    fn child_departments(&self, account: AccountId, parent: DepartmentId) -> StoreResult<Vec<Department>> {
        let Some(no) = self.no(account)? else { return Ok(Vec::new()) };
        self.conn()
            .prepare_cached("SELECT id, name, sort, parent, head FROM departments WHERE account_no = ?1 AND parent = ?2 ORDER BY id")
            .and_then(|mut s| s.query_map(params![no, parent.0], |r| from_row(account, r))?.collect())
            .map_err(backend)
    }

    fn departments_headed_by(&self, account: AccountId, head: UserId) -> StoreResult<Vec<Department>> {
        let Some(no) = self.no(account)? else { return Ok(Vec::new()) };
        self.conn()
            .prepare_cached("SELECT id, name, sort, parent, head FROM departments WHERE account_no = ?1 AND head = ?2 ORDER BY id")
            .and_then(|mut s| s.query_map(params![no, head.0], |r| from_row(account, r))?.collect())
            .map_err(backend)
    }

    fn insert_department(&mut self, d: &Department) -> StoreResult<()> {
        let no = self.no_for_write(d.account)?;
        self.changed(no);
        self.conn()
            .prepare_cached("INSERT INTO departments (account_no, id, name, sort, parent, head) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
            .and_then(|mut s| s.execute(params![no, d.id.0, d.name, d.sort, d.parent.map(|p| p.0), d.head.map(|h| h.0)]))
            .map_err(backend)?;
        self.bulk().borrow_mut().forget_departments();
        Ok(())
    }

    fn update_department(&mut self, d: &Department) -> StoreResult<()> {
        let no = self.no_for_write(d.account)?;
        self.changed(no);
        let renamed = self.department(d.account, d.id)?.is_some_and(|old| old.name != d.name);
        // Members' search words contain the department's name: take them out under the old name…
        let members = if renamed { users::members(self.conn(), no, d.id)? } else { Vec::new() };
        let mut old = Vec::with_capacity(members.len());
        for &uid in &members {
            if let Some(u) = self.user(d.account, uid)? {
                let words = search::words_of(self, no, &u)?;
                old.push((u, words));
            }
        }
        self.conn()
            .prepare_cached("UPDATE departments SET name = ?3, sort = ?4, parent = ?5, head = ?6 WHERE account_no = ?1 AND id = ?2")
            .and_then(|mut s| s.execute(params![no, d.id.0, d.name, d.sort, d.parent.map(|p| p.0), d.head.map(|h| h.0)]))
            .map_err(backend)?;
        self.bulk().borrow_mut().forget_departments();
        // …and back in under the new one (the user rows themselves do not change).
        for (u, words) in old {
            let class = search::class(u.role);
            search::replace(self, no, u.id, (class, &words), (class, &search::words_of(self, no, &u)?))?;
        }
        Ok(())
    }

    fn delete_department(&mut self, account: AccountId, id: DepartmentId) -> StoreResult<()> {
        let no = self.no_for_write(account)?;
        self.changed(no);
        self.conn()
            .prepare_cached("DELETE FROM departments WHERE account_no = ?1 AND id = ?2")
            .and_then(|mut s| s.execute(params![no, id.0]))
            .map_err(backend)?;
        self.bulk().borrow_mut().forget_departments();
        Ok(())
    }
}
