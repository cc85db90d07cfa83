//! Workgroups and their members.

use chrono::DateTime;
use profile_core::ids::{AccountId, UserId, WorkgroupId};
use profile_core::model::workgroup::Workgroup;
use profile_core::ports::{StoreResult, WorkgroupStore};
use tokio_postgres::Row;

use crate::codec::{get, id32};
use crate::users::{id_of, uid};
use crate::PgTx;

fn from_row(account: AccountId, r: &Row) -> StoreResult<Workgroup> {
    Ok(Workgroup {
        account,
        id: WorkgroupId(id32(r, 0)?),
        name: get(r, 1)?,
        external: get::<i64>(r, 2)? != 0,
        created_at: DateTime::from_timestamp(get(r, 3)?, 0).unwrap_or_default(),
    })
}

impl WorkgroupStore for PgTx<'_> {
    fn workgroup(&self, account: AccountId, id: WorkgroupId) -> StoreResult<Option<Workgroup>> {
        let Some(no) = self.no(account)? else {
            return Ok(None);
        };
        self.query_opt(
            "SELECT id, name, external, created_at FROM workgroups WHERE account_no = $1 AND id = $2",
            &[&no, &i64::from(id.0)],
        )?
        .map(|r| from_row(account, &r))
        .transpose()
    }

    fn workgroups(&self, account: AccountId) -> StoreResult<Vec<Workgroup>> {
        let Some(no) = self.no(account)? else {
            return Ok(Vec::new());
        };
        self.query(
            "SELECT id, name, external, created_at FROM workgroups WHERE account_no = $1 ORDER BY id",
            &[&no],
        )?
        .iter()
        .map(|r| from_row(account, r))
        .collect()
    }

    fn workgroup_members(&self, account: AccountId, group: WorkgroupId) -> StoreResult<Vec<UserId>> {
        let Some(no) = self.no(account)? else {
            return Ok(Vec::new());
        };
        self.query(
            "SELECT uid FROM workgroup_members WHERE account_no = $1 AND workgroup = $2 ORDER BY uid",
            &[&no, &i64::from(group.0)],
        )?
        .iter()
        .map(|r| get::<i64>(r, 0).map(id_of))
        .collect()
    }

    fn user_workgroups(&self, account: AccountId, user: UserId) -> StoreResult<Vec<WorkgroupId>> {
        let Some(no) = self.no(account)? else {
            return Ok(Vec::new());
        };
        self.query(
            "SELECT workgroup FROM workgroup_members WHERE uid = $1 ORDER BY workgroup",
            &[&uid(no, user)],
        )?
        .iter()
        .map(|r| id32(r, 0).map(WorkgroupId))
        .collect()
    }

    fn share_workgroup(&self, account: AccountId, a: UserId, b: UserId) -> StoreResult<bool> {
        let Some(no) = self.no(account)? else {
            return Ok(false);
        };
        let r = self.query_one(
            "SELECT EXISTS (SELECT 1 FROM workgroup_members m1 JOIN workgroup_members m2 \
             ON m2.account_no = m1.account_no AND m2.workgroup = m1.workgroup AND m2.uid = $2 \
             WHERE m1.uid = $1)",
            &[&uid(no, a), &uid(no, b)],
        )?;
        get(&r, 0)
    }

    fn insert_workgroup(&mut self, g: &Workgroup) -> StoreResult<()> {
        let no = self.no_for_write(g.account)?;
        self.execute(
            "INSERT INTO workgroups (account_no, id, name, external, created_at) VALUES ($1, $2, $3, $4, $5)",
            &[&no, &i64::from(g.id.0), &g.name, &i64::from(g.external), &g.created_at.timestamp()],
        )?;
        Ok(())
    }

    fn update_workgroup(&mut self, g: &Workgroup) -> StoreResult<()> {
        let no = self.no_for_write(g.account)?;
        self.execute(
            "UPDATE workgroups SET name = $3, external = $4 WHERE account_no = $1 AND id = $2",
            &[&no, &i64::from(g.id.0), &g.name, &i64::from(g.external)],
        )?;
        Ok(())
    }

    fn add_workgroup_member(
        &mut self,
        account: AccountId,
        group: WorkgroupId,
        user: UserId,
    ) -> StoreResult<()> {
        let no = self.no_for_write(account)?;
        self.changed(no);
        self.execute(
            "INSERT INTO workgroup_members (account_no, workgroup, uid) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            &[&no, &i64::from(group.0), &uid(no, user)],
        )?;
        Ok(())
    }

    fn remove_workgroup_member(
        &mut self,
        account: AccountId,
        group: WorkgroupId,
        user: UserId,
    ) -> StoreResult<()> {
        let no = self.no_for_write(account)?;
        self.changed(no);
        self.execute(
            "DELETE FROM workgroup_members WHERE account_no = $1 AND workgroup = $2 AND uid = $3",
            &[&no, &i64::from(group.0), &uid(no, user)],
        )?;
        Ok(())
    }
}
