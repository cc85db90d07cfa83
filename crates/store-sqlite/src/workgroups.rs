//! Workgroups and their members.

use chrono::DateTime;
use profile_core::ids::{AccountId, UserId, WorkgroupId};
use profile_core::model::workgroup::Workgroup;
use profile_core::ports::{StoreResult, WorkgroupStore};
use rusqlite::{params, OptionalExtension};

use crate::error::backend;
use crate::users::{id_of, uid};
use crate::SqliteTx;

fn from_row(account: AccountId, r: &rusqlite::Row<'_>) -> rusqlite::Result<Workgroup> {
    Ok(Workgroup {
        account,
        id: WorkgroupId(r.get(0)?),
        name: r.get(1)?,
        external: r.get(2)?,
        created_at: DateTime::from_timestamp(r.get(3)?, 0).unwrap_or_default(),
    })
}

impl WorkgroupStore for SqliteTx<'_> {
    fn workgroup(&self, account: AccountId, id: WorkgroupId) -> StoreResult<Option<Workgroup>> {
        let Some(no) = self.no(account)? else {
            return Ok(None);
        };
        self.conn()
            .prepare_cached(
                "SELECT id, name, external, created_at FROM workgroups WHERE account_no = ?1 AND id = ?2",
            )
            .and_then(|mut s| s.query_row(params![no, id.0], |r| from_row(account, r)).optional())
            .map_err(backend)
    }

    fn workgroups(&self, account: AccountId) -> StoreResult<Vec<Workgroup>> {
        let Some(no) = self.no(account)? else {
            return Ok(Vec::new());
        };
        self.conn()
            .prepare_cached(
                "SELECT id, name, external, created_at FROM workgroups WHERE account_no = ?1 ORDER BY id",
            )
            .and_then(|mut s| s.query_map([no], |r| from_row(account, r))?.collect())
            .map_err(backend)
    }

    fn workgroup_members(&self, account: AccountId, group: WorkgroupId) -> StoreResult<Vec<UserId>> {
        let Some(no) = self.no(account)? else {
            return Ok(Vec::new());
        };
        self.conn()
            .prepare_cached(
                "SELECT uid FROM workgroup_members WHERE account_no = ?1 AND workgroup = ?2 ORDER BY uid",
            )
            .and_then(|mut s| s.query_map(params![no, group.0], |r| r.get::<_, i64>(0).map(id_of))?.collect())
            .map_err(backend)
    }

    fn user_workgroups(&self, account: AccountId, user: UserId) -> StoreResult<Vec<WorkgroupId>> {
        let Some(no) = self.no(account)? else {
            return Ok(Vec::new());
        };
        self.conn()
            .prepare_cached("SELECT workgroup FROM workgroup_members WHERE uid = ?1 ORDER BY workgroup")
            .and_then(|mut s| s.query_map([uid(no, user)], |r| r.get(0).map(WorkgroupId))?.collect())
            .map_err(backend)
    }

    fn share_workgroup(&self, account: AccountId, a: UserId, b: UserId) -> StoreResult<bool> {
        let Some(no) = self.no(account)? else {
            return Ok(false);
        };
        self.conn()
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM workgroup_members m1 JOIN workgroup_members m2 \
                 ON m2.account_no = m1.account_no AND m2.workgroup = m1.workgroup AND m2.uid = ?2 \
                 WHERE m1.uid = ?1)",
            )
            .and_then(|mut s| s.query_row(params![uid(no, a), uid(no, b)], |r| r.get(0)))
            .map_err(backend)
    }

    fn insert_workgroup(&mut self, g: &Workgroup) -> StoreResult<()> {
        let no = self.no_for_write(g.account)?;
        self.conn()
            .prepare_cached("INSERT INTO workgroups (account_no, id, name, external, created_at) VALUES (?1, ?2, ?3, ?4, ?5)")
            .and_then(|mut s| s.execute(params![no, g.id.0, g.name, g.external, g.created_at.timestamp()]))
            .map_err(backend)?;
        Ok(())
    }

    fn update_workgroup(&mut self, g: &Workgroup) -> StoreResult<()> {
        let no = self.no_for_write(g.account)?;
        self.conn()
            .prepare_cached(
                "UPDATE workgroups SET name = ?3, external = ?4 WHERE account_no = ?1 AND id = ?2",
            )
            .and_then(|mut s| s.execute(params![no, g.id.0, g.name, g.external]))
            .map_err(backend)?;
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
        self.conn()
            .prepare_cached(
                "INSERT OR IGNORE INTO workgroup_members (account_no, workgroup, uid) VALUES (?1, ?2, ?3)",
            )
            .and_then(|mut s| s.execute(params![no, group.0, uid(no, user)]))
            .map_err(backend)?;
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
        self.conn()
            .prepare_cached(
                "DELETE FROM workgroup_members WHERE account_no = ?1 AND workgroup = ?2 AND uid = ?3",
            )
            .and_then(|mut s| s.execute(params![no, group.0, uid(no, user)]))
            .map_err(backend)?;
        Ok(())
    }
}
