//! Departments. Renaming one writes its members' search words again.

use std::sync::Arc;

use profile_core::ids::{AccountId, DepartmentId, UserId};
use profile_core::model::department::{Department, DepartmentQuery};
use profile_core::ports::{DepartmentStore, StoreResult};
use profile_core::query::{Page, PAGE_SIZE};
use profile_core::StoreError;
use tokio_postgres::Row;

use crate::codec::{get, id32, opt_id32};
use crate::error::bad;
use crate::{search, users, PgTx};

const SELECT: &str = "SELECT id, name, sort, parent, head FROM departments";

fn from_row(account: AccountId, r: &Row) -> StoreResult<Department> {
    Ok(Department {
        account,
        id: DepartmentId(id32(r, 0)?),
        name: get(r, 1)?,
        sort: i32::try_from(get::<i64>(r, 2)?).map_err(|_| bad("sort out of range"))?,
        parent: opt_id32(r, 3)?.map(DepartmentId),
        head: opt_id32(r, 4)?.map(UserId),
    })
}

fn all(account: AccountId, rows: Vec<Row>) -> StoreResult<Vec<Department>> {
    rows.iter().map(|r| from_row(account, r)).collect()
}

impl PgTx<'_> {
    /// Runs `sql` with a department's row as `$1`–`$6` (account number, ID, name, sort,
    /// parent, head).
    fn write_department(&self, sql: &str, no: i64, d: &Department) -> StoreResult<u64> {
        self.execute(
            sql,
            &[
                &no,
                &i64::from(d.id.0),
                &d.name,
                &i64::from(d.sort),
                &d.parent.map(|p| i64::from(p.0)),
                &d.head.map(|h| i64::from(h.0)),
            ],
        )
    }
}

impl DepartmentStore for PgTx<'_> {
    fn department(&self, account: AccountId, id: DepartmentId) -> StoreResult<Option<Department>> {
        let Some(no) = self.no(account)? else {
            return Ok(None);
        };
        self.query_opt(
            "SELECT id, name, sort, parent, head FROM departments WHERE account_no = $1 AND id = $2",
            &[&no, &i64::from(id.0)],
        )?
        .map(|r| from_row(account, &r))
        .transpose()
    }

    fn departments(&self, account: AccountId) -> StoreResult<Vec<Department>> {
        let Some(no) = self.no(account)? else {
            return Ok(Vec::new());
        };
        all(account, self.query(&format!("{SELECT} WHERE account_no = $1 ORDER BY id"), &[&no])?)
    }

    /// Readers keep the listing's order in the query cache, so each page reads its own
    /// departments only.
    fn query_departments(&self, account: AccountId, q: &DepartmentQuery) -> StoreResult<Page<Department>> {
        let Some(no) = self.no(account)? else {
            return Ok(Page { items: Vec::new(), total: q.page.count_total.then_some(0) });
        };
        let Some(cache) = self.query_cache() else {
            return Ok(q.page_of(q.apply(self.departments(account)?)));
        };
        let key = cache.key(no, &("department.get", q.key()));
        let version = crate::user_pages::version(self, no)?;
        let ids = match cache.ids(key, version) {
            Some(ids) => ids,
            None => {
                let ids: Arc<[u32]> = q.apply(self.departments(account)?).iter().map(|d| d.id.0).collect();
                cache.remember_ids(key, version, Arc::clone(&ids));
                ids
            }
        };
        let from = usize::try_from(q.page.start).unwrap_or(usize::MAX).min(ids.len());
        let page: Vec<i64> =
            ids[from..(from + PAGE_SIZE).min(ids.len())].iter().map(|&i| i64::from(i)).collect();
        let found = all(
            account,
            self.query(&format!("{SELECT} WHERE account_no = $1 AND id = ANY($2)"), &[&no, &page])?,
        )?;
        let items =
            page.iter()
                .map(|&id| {
                    found.iter().find(|d| i64::from(d.id.0) == id).cloned().ok_or_else(|| {
                        StoreError::Backend(format!("department {id} vanished at its version"))
                    })
                })
                .collect::<StoreResult<Vec<_>>>()?;
        Ok(Page { items, total: q.page.count_total.then_some(ids.len() as u64) })
    }

    fn child_departments(&self, account: AccountId, parent: DepartmentId) -> StoreResult<Vec<Department>> {
        let Some(no) = self.no(account)? else { return Ok(Vec::new()) };
        all(
            account,
            self.query(
                &format!("{SELECT} WHERE account_no = $1 AND parent = $2 ORDER BY id"),
                &[&no, &i64::from(parent.0)],
            )?,
        )
    }

    fn departments_headed_by(&self, account: AccountId, head: UserId) -> StoreResult<Vec<Department>> {
        let Some(no) = self.no(account)? else { return Ok(Vec::new()) };
        all(
            account,
            self.query(
                &format!("{SELECT} WHERE account_no = $1 AND head = $2 ORDER BY id"),
                &[&no, &i64::from(head.0)],
            )?,
        )
    }

    fn insert_department(&mut self, d: &Department) -> StoreResult<()> {
        let no = self.no_for_write(d.account)?;
        self.changed(no);
        self.write_department(
            "INSERT INTO departments (account_no, id, name, sort, parent, head) VALUES ($1, $2, $3, $4, $5, $6)",
            no,
            d,
        )?;
        Ok(())
    }

    fn update_department(&mut self, d: &Department) -> StoreResult<()> {
        let no = self.no_for_write(d.account)?;
        self.changed(no);
        let renamed = self.department(d.account, d.id)?.is_some_and(|old| old.name != d.name);
        self.write_department(
            "UPDATE departments SET name = $3, sort = $4, parent = $5, head = $6 WHERE account_no = $1 AND id = $2",
            no,
            d,
        )?;
        // Members' search words contain the department's name.
        if renamed {
            search::rewrite(self, d.account, no, &users::members(self, no, d.id)?)?;
        }
        Ok(())
    }

    fn delete_department(&mut self, account: AccountId, id: DepartmentId) -> StoreResult<()> {
        let no = self.no_for_write(account)?;
        self.changed(no);
        self.execute("DELETE FROM departments WHERE account_no = $1 AND id = $2", &[&no, &i64::from(id.0)])?;
        Ok(())
    }
}
