//! HR fields, values and permission holders.

use profile_core::ids::{AccountId, UserId};
use profile_core::model::hr::{HrField, HrValues};
use profile_core::ports::{HrStore, StoreResult};

use crate::codec::get;
use crate::users::{bounds, id_of, uid};
use crate::PgTx;

impl HrStore for PgTx<'_> {
    fn hr_fields(&self, account: AccountId) -> StoreResult<Vec<HrField>> {
        let Some(no) = self.no(account)? else {
            return Ok(Vec::new());
        };
        self.query("SELECT key, label FROM hr_fields WHERE account_no = $1 ORDER BY position", &[&no])?
            .iter()
            .map(|r| Ok(HrField { key: get(r, 0)?, label: get(r, 1)? }))
            .collect()
    }

    fn set_hr_fields(&mut self, account: AccountId, fields: &[HrField]) -> StoreResult<()> {
        let no = self.no_for_write(account)?;
        // Several statements: a savepoint makes them one (see `in_savepoint`).
        self.in_savepoint(|tx| {
            tx.execute("DELETE FROM hr_fields WHERE account_no = $1", &[&no])?;
            for (i, f) in fields.iter().enumerate() {
                tx.execute(
                    "INSERT INTO hr_fields (account_no, position, key, label) VALUES ($1, $2, $3, $4)",
                    &[&no, &(i as i64), &f.key, &f.label],
                )?;
            }
            let (lo, hi) = bounds(no);
            tx.execute(
                "DELETE FROM hr_values WHERE uid BETWEEN $1 AND $2 \
                 AND key NOT IN (SELECT key FROM hr_fields WHERE account_no = $3)",
                &[&lo, &hi, &no],
            )?;
            Ok(())
        })
    }

    fn hr_values(&self, account: AccountId, user: UserId) -> StoreResult<HrValues> {
        let Some(no) = self.no(account)? else {
            return Ok(HrValues::new());
        };
        self.query("SELECT key, value FROM hr_values WHERE uid = $1", &[&uid(no, user)])?
            .iter()
            .map(|r| Ok((get(r, 0)?, get(r, 1)?)))
            .collect()
    }

    fn set_hr_values(&mut self, account: AccountId, user: UserId, values: &HrValues) -> StoreResult<()> {
        let no = self.no_for_write(account)?;
        self.in_savepoint(|tx| {
            tx.execute("DELETE FROM hr_values WHERE uid = $1", &[&uid(no, user)])?;
            for (k, v) in values {
                tx.execute(
                    "INSERT INTO hr_values (uid, key, value) VALUES ($1, $2, $3)",
                    &[&uid(no, user), k, v],
                )?;
            }
            Ok(())
        })
    }

    fn hr_holders(&self, account: AccountId) -> StoreResult<Vec<UserId>> {
        let Some(no) = self.no(account)? else {
            return Ok(Vec::new());
        };
        let (lo, hi) = bounds(no);
        self.query("SELECT uid FROM hr_holders WHERE uid BETWEEN $1 AND $2 ORDER BY uid", &[&lo, &hi])?
            .iter()
            .map(|r| get::<i64>(r, 0).map(id_of))
            .collect()
    }

    fn set_hr_holder(&mut self, account: AccountId, user: UserId, holds: bool) -> StoreResult<()> {
        let no = self.no_for_write(account)?;
        let sql = if holds {
            "INSERT INTO hr_holders (uid) VALUES ($1) ON CONFLICT DO NOTHING"
        } else {
            "DELETE FROM hr_holders WHERE uid = $1"
        };
        self.execute(sql, &[&uid(no, user)])?;
        Ok(())
    }
}
