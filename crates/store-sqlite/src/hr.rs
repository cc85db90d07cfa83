//! HR fields, values and permission holders.

use profile_core::ids::{AccountId, UserId};
use profile_core::model::hr::{HrField, HrValues};
use profile_core::ports::{HrStore, StoreResult};
use rusqlite::params;

use crate::error::backend;
use crate::users::{bounds, id_of, uid};
use crate::SqliteTx;

impl HrStore for SqliteTx<'_> {
    fn hr_fields(&self, account: AccountId) -> StoreResult<Vec<HrField>> {
        let Some(no) = self.no(account)? else {
            return Ok(Vec::new());
        };
        self.conn()
            .prepare_cached("SELECT key, label FROM hr_fields WHERE account_no = ?1 ORDER BY position")
            .and_then(|mut s| {
                s.query_map([no], |r| Ok(HrField { key: r.get(0)?, label: r.get(1)? }))?.collect()
            })
            .map_err(backend)
    }

    fn set_hr_fields(&mut self, account: AccountId, fields: &[HrField]) -> StoreResult<()> {
        let no = self.no_for_write(account)?;
        // Several statements: a savepoint makes them one (see `in_savepoint`).
        self.in_savepoint(|tx| {
            let conn = tx.conn();
            let run = || -> rusqlite::Result<()> {
                conn.prepare_cached("DELETE FROM hr_fields WHERE account_no = ?1")?.execute([no])?;
                let mut insert = conn.prepare_cached(
                    "INSERT INTO hr_fields (account_no, position, key, label) VALUES (?1, ?2, ?3, ?4)",
                )?;
                for (i, f) in fields.iter().enumerate() {
                    insert.execute(params![no, i as i64, f.key, f.label])?;
                }
                let (lo, hi) = bounds(no);
                conn.prepare_cached(
                    "DELETE FROM hr_values WHERE uid BETWEEN ?1 AND ?2 \
                 AND key NOT IN (SELECT key FROM hr_fields WHERE account_no = ?3)",
                )?
                .execute(params![lo, hi, no])?;
                Ok(())
            };
            run().map_err(backend)
        })
    }

    fn hr_values(&self, account: AccountId, user: UserId) -> StoreResult<HrValues> {
        let Some(no) = self.no(account)? else {
            return Ok(HrValues::new());
        };
        self.conn()
            .prepare_cached("SELECT key, value FROM hr_values WHERE uid = ?1")
            .and_then(|mut s| s.query_map([uid(no, user)], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
            .map_err(backend)
    }

    fn set_hr_values(&mut self, account: AccountId, user: UserId, values: &HrValues) -> StoreResult<()> {
        let no = self.no_for_write(account)?;
        self.in_savepoint(|tx| {
            let conn = tx.conn();
            let run = || -> rusqlite::Result<()> {
                conn.prepare_cached("DELETE FROM hr_values WHERE uid = ?1")?.execute([uid(no, user)])?;
                let mut insert =
                    conn.prepare_cached("INSERT INTO hr_values (uid, key, value) VALUES (?1, ?2, ?3)")?;
                for (k, v) in values {
                    insert.execute(params![uid(no, user), k, v])?;
                }
                Ok(())
            };
            run().map_err(backend)
        })
    }

    fn hr_holders(&self, account: AccountId) -> StoreResult<Vec<UserId>> {
        let Some(no) = self.no(account)? else {
            return Ok(Vec::new());
        };
        let (lo, hi) = bounds(no);
        self.conn()
            .prepare_cached("SELECT uid FROM hr_holders WHERE uid BETWEEN ?1 AND ?2 ORDER BY uid")
            .and_then(|mut s| s.query_map([lo, hi], |r| r.get::<_, i64>(0).map(id_of))?.collect())
            .map_err(backend)
    }

    fn set_hr_holder(&mut self, account: AccountId, user: UserId, holds: bool) -> StoreResult<()> {
        let no = self.no_for_write(account)?;
        let sql = if holds {
            "INSERT OR IGNORE INTO hr_holders (uid) VALUES (?1)"
        } else {
            "DELETE FROM hr_holders WHERE uid = ?1"
        };
        self.conn().prepare_cached(sql).and_then(|mut s| s.execute([uid(no, user)])).map_err(backend)?;
        Ok(())
    }
}
