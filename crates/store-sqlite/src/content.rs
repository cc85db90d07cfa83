//! The card's content: absences, "about me", badges, appreciations, layouts, the interest
//! tags' counts (kept with the search prefixes' counts) and users by presence status.

use chrono::NaiveDate;
use profile_core::ids::{AccountId, UserId};
use profile_core::model::absence::{Absence, AbsenceKind, AbsenceQuery};
use profile_core::model::appreciation::{Appreciation, Badge};
use profile_core::model::user::PresenceStatus;
use profile_core::ports::{CardContentStore, StoreResult};
use profile_core::query::{interest_tag, interest_word};
use profile_core::StoreError;
use rusqlite::{params, params_from_iter, OptionalExtension, Row};

use crate::codec;
use crate::error::backend;
use crate::users::{bounds, id_of, uid};
use crate::SqliteTx;

const ABSENCE_COLUMNS: &str = "id, uid, kind, date_from, date_to, note, recorded_by";

fn day(r: &Row<'_>, i: usize) -> rusqlite::Result<NaiveDate> {
    let text: rusqlite::types::ValueRef<'_> = r.get_ref(i)?;
    text.as_str().ok().and_then(store_common::keys::parse_day).ok_or_else(|| codec::bad(i, "not a date"))
}

fn absence(account: AccountId, r: &Row<'_>) -> rusqlite::Result<Absence> {
    let kind: String = r.get(2)?;
    Ok(Absence {
        account,
        id: r.get(0)?,
        user: id_of(r.get(1)?),
        kind: AbsenceKind::from_code(&kind).ok_or_else(|| codec::bad(2, "unknown absence kind"))?,
        from: day(r, 3)?,
        to: day(r, 4)?,
        note: r.get(5)?,
        recorded_by: UserId(r.get(6)?),
    })
}

fn text_day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn appreciation(account: AccountId, r: &Row<'_>) -> rusqlite::Result<Appreciation> {
    Ok(Appreciation {
        account,
        id: r.get(0)?,
        recipient: id_of(r.get(1)?),
        giver: id_of(r.get(2)?),
        badge: r.get(3)?,
        message: r.get(4)?,
        at: codec::time(r, 5)?,
    })
}

impl CardContentStore for SqliteTx<'_> {
    fn absence(&self, account: AccountId, id: u32) -> StoreResult<Option<Absence>> {
        let Some(no) = self.no(account)? else { return Ok(None) };
        self.conn()
            .prepare_cached(&format!(
                "SELECT {ABSENCE_COLUMNS} FROM absences WHERE account_no = ?1 AND id = ?2"
            ))
            .and_then(|mut s| s.query_row(params![no, id], |r| absence(account, r)).optional())
            .map_err(backend)
    }

    fn absences(&self, account: AccountId, query: &AbsenceQuery, limit: usize) -> StoreResult<Vec<Absence>> {
        let Some(no) = self.no(account)? else { return Ok(Vec::new()) };
        let (from, to) = (text_day(query.from), text_day(query.to));
        let conn = self.conn();
        let found = match &query.users {
            // One person (a card's "away until"): their index alone, no list to build.
            Some(users) if users.len() == 1 => conn
                .prepare_cached(&format!(
                    "SELECT {ABSENCE_COLUMNS} FROM absences WHERE uid = ?1 \
                         AND date_to >= ?2 AND date_from <= ?3 ORDER BY date_from, id LIMIT ?4"
                ))
                .and_then(|mut s| {
                    s.query_map(params![uid(no, users[0]), from, to, limit as i64], |r| absence(account, r))?
                        .collect()
                })
                .map_err(backend)?,
            Some(users) => {
                // One statement for every person: their keys as a JSON array, each looked up in
                // absences_by_user, instead of a statement a person.
                let keys = format!(
                    "[{}]",
                    users.iter().map(|u| uid(no, *u).to_string()).collect::<Vec<_>>().join(",")
                );
                conn.prepare_cached(&format!(
                    "SELECT {ABSENCE_COLUMNS} FROM absences WHERE uid IN (SELECT value FROM json_each(?1)) \
                         AND date_to >= ?2 AND date_from <= ?3 ORDER BY date_from, id LIMIT ?4"
                ))
                .and_then(|mut s| {
                    s.query_map(params![keys, from, to, limit as i64], |r| absence(account, r))?.collect()
                })
                .map_err(backend)?
            }
            None => conn
                .prepare_cached(&format!(
                    "SELECT {ABSENCE_COLUMNS} FROM absences WHERE account_no = ?1 AND date_to >= ?2 \
                         AND date_from <= ?3 ORDER BY date_from, id LIMIT ?4"
                ))
                .and_then(|mut s| {
                    s.query_map(params![no, from, to, limit as i64], |r| absence(account, r))?.collect()
                })
                .map_err(backend)?,
        };
        Ok(found)
    }

    fn absent_users(&self, account: AccountId, day: NaiveDate, limit: usize) -> StoreResult<Vec<UserId>> {
        let Some(no) = self.no(account)? else { return Ok(Vec::new()) };
        let d = text_day(day);
        self.conn()
            .prepare_cached(
                "SELECT DISTINCT uid FROM absences WHERE account_no = ?1 AND date_to >= ?2 AND date_from <= ?2 \
                 ORDER BY uid LIMIT ?3",
            )
            .and_then(|mut s| s.query_map(params![no, d, limit as i64], |r| Ok(id_of(r.get(0)?)))?.collect())
            .map_err(backend)
    }

    fn insert_absence(&mut self, a: &Absence) -> StoreResult<()> {
        let no = self.no_for_write(a.account)?;
        self.conn()
            .prepare_cached(&format!(
                "INSERT INTO absences (account_no, {ABSENCE_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
            ))
            .and_then(|mut s| {
                s.execute(params![
                    no,
                    a.id,
                    uid(no, a.user),
                    a.kind.code(),
                    text_day(a.from),
                    text_day(a.to),
                    a.note,
                    a.recorded_by.0
                ])
            })
            .map_err(backend)?;
        Ok(())
    }

    fn update_absence(&mut self, a: &Absence) -> StoreResult<()> {
        let no = self.no_for_write(a.account)?;
        self.conn()
            .prepare_cached(
                "UPDATE absences SET kind = ?3, date_from = ?4, date_to = ?5, note = ?6 WHERE account_no = ?1 AND id = ?2",
            )
            .and_then(|mut s| {
                s.execute(params![no, a.id, a.kind.code(), text_day(a.from), text_day(a.to), a.note])
            })
            .map_err(backend)?;
        Ok(())
    }

    fn delete_absence(&mut self, account: AccountId, id: u32) -> StoreResult<()> {
        let no = self.no_for_write(account)?;
        self.conn()
            .prepare_cached("DELETE FROM absences WHERE account_no = ?1 AND id = ?2")
            .and_then(|mut s| s.execute(params![no, id]))
            .map_err(backend)?;
        Ok(())
    }

    fn about(&self, account: AccountId, user: UserId) -> StoreResult<Option<String>> {
        let Some(no) = self.no(account)? else { return Ok(None) };
        self.conn()
            .prepare_cached("SELECT text FROM user_about WHERE uid = ?1")
            .and_then(|mut s| s.query_row([uid(no, user)], |r| r.get(0)).optional())
            .map_err(backend)
    }

    fn set_about(&mut self, account: AccountId, user: UserId, text: &str) -> StoreResult<()> {
        let key = uid(self.no_for_write(account)?, user);
        let conn = self.conn();
        let done = if text.is_empty() {
            conn.prepare_cached("DELETE FROM user_about WHERE uid = ?1").and_then(|mut s| s.execute([key]))
        } else {
            conn.prepare_cached(
                "INSERT INTO user_about (uid, text) VALUES (?1, ?2) ON CONFLICT (uid) DO UPDATE SET text = excluded.text",
            )
            .and_then(|mut s| s.execute(params![key, text]))
        };
        done.map_err(backend)?;
        Ok(())
    }

    fn interest_tags(
        &self,
        account: AccountId,
        prefix: &str,
        limit: usize,
    ) -> StoreResult<Vec<(String, u64)>> {
        let Some(no) = self.no(account)? else { return Ok(Vec::new()) };
        // Holders are counted under the tag's whole search word (class 0: administrators and
        // employees; tier 0 counts every word).
        let low = interest_word(prefix);
        let high = format!("{low}\u{10FFFF}");
        let rows: Vec<(String, i64)> = self
            .conn()
            .prepare_cached(
                "SELECT prefix, n FROM search_prefix_counts WHERE account_no = ?1 AND class = 0 AND tier = 0 \
                 AND prefix >= ?2 AND prefix < ?3 AND n > 0 ORDER BY n DESC, prefix LIMIT ?4",
            )
            .and_then(|mut s| {
                s.query_map(params![no, low, high, limit as i64], |r| Ok((r.get(0)?, r.get(1)?)))?.collect()
            })
            .map_err(backend)?;
        Ok(rows.into_iter().filter_map(|(word, n)| Some((interest_tag(&word)?, n as u64))).collect())
    }

    fn added_badges(&self, account: AccountId) -> StoreResult<Vec<Badge>> {
        let Some(no) = self.no(account)? else { return Ok(Vec::new()) };
        self.conn()
            .prepare_cached("SELECT code, label FROM badges WHERE account_no = ?1 ORDER BY code")
            .and_then(|mut s| {
                s.query_map([no], |r| Ok(Badge { code: r.get(0)?, label: r.get(1)?, builtin: false }))?
                    .collect()
            })
            .map_err(backend)
    }

    fn insert_badge(&mut self, account: AccountId, badge: &Badge) -> StoreResult<()> {
        let no = self.no_for_write(account)?;
        self.in_savepoint(|tx| {
            tx.conn()
                .prepare_cached("INSERT INTO badges (account_no, code, label) VALUES (?1, ?2, ?3)")
                .and_then(|mut s| s.execute(params![no, badge.code, badge.label]))
                .map_err(|e| match e {
                    rusqlite::Error::SqliteFailure(err, _)
                        if err.code == rusqlite::ErrorCode::ConstraintViolation =>
                    {
                        StoreError::UniqueViolation { what: "CODE".into() }
                    }
                    e => backend(e),
                })
                .map(drop)
        })
    }

    fn insert_appreciation(&mut self, a: &Appreciation) -> StoreResult<()> {
        let no = self.no_for_write(a.account)?;
        self.conn()
            .prepare_cached(
                "INSERT INTO appreciations (account_no, id, recipient, giver, badge, message, at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    no,
                    a.id,
                    uid(no, a.recipient),
                    uid(no, a.giver),
                    a.badge,
                    a.message,
                    a.at.timestamp()
                ])
            })
            .map_err(backend)?;
        Ok(())
    }

    fn appreciation_counts(&self, account: AccountId, user: UserId) -> StoreResult<Vec<(String, u64)>> {
        let Some(no) = self.no(account)? else { return Ok(Vec::new()) };
        self.conn()
            .prepare_cached(
                "SELECT badge, count(*) FROM appreciations WHERE recipient = ?1 GROUP BY badge ORDER BY badge",
            )
            .and_then(|mut s| {
                s.query_map([uid(no, user)], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))?.collect()
            })
            .map_err(backend)
    }

    fn appreciations(
        &self,
        account: AccountId,
        recipient: UserId,
        giver: Option<UserId>,
        limit: usize,
    ) -> StoreResult<Vec<Appreciation>> {
        let Some(no) = self.no(account)? else { return Ok(Vec::new()) };
        let mut args: Vec<i64> = vec![uid(no, recipient)];
        let mut sql = String::from(
            "SELECT id, recipient, giver, badge, message, at FROM appreciations WHERE recipient = ?1",
        );
        if let Some(g) = giver {
            sql.push_str(" AND giver = ?2");
            args.push(uid(no, g));
        }
        sql.push_str(&format!(" ORDER BY at DESC, id DESC LIMIT {limit}"));
        self.conn()
            .prepare_cached(&sql)
            .and_then(|mut s| s.query_map(params_from_iter(args), |r| appreciation(account, r))?.collect())
            .map_err(backend)
    }

    fn layout(&self, account: AccountId, owner: Option<UserId>) -> StoreResult<Option<Vec<String>>> {
        let Some(no) = self.no(account)? else { return Ok(None) };
        let fields: Option<String> = self
            .conn()
            .prepare_cached("SELECT fields FROM layouts WHERE account_no = ?1 AND owner = ?2")
            .and_then(|mut s| s.query_row(params![no, owner.map_or(0, |u| u.0)], |r| r.get(0)).optional())
            .map_err(backend)?;
        Ok(fields.map(|f| f.split(',').filter(|x| !x.is_empty()).map(str::to_string).collect()))
    }

    fn set_layout(
        &mut self,
        account: AccountId,
        owner: Option<UserId>,
        fields: Option<&[String]>,
    ) -> StoreResult<()> {
        let no = self.no_for_write(account)?;
        let owner = owner.map_or(0, |u| u.0);
        let conn = self.conn();
        let done = match fields {
            Some(f) => conn
                .prepare_cached(
                    "INSERT INTO layouts (account_no, owner, fields) VALUES (?1, ?2, ?3) \
                     ON CONFLICT (account_no, owner) DO UPDATE SET fields = excluded.fields",
                )
                .and_then(|mut s| s.execute(params![no, owner, f.join(",")])),
            None => conn
                .prepare_cached("DELETE FROM layouts WHERE account_no = ?1 AND owner = ?2")
                .and_then(|mut s| s.execute(params![no, owner])),
        };
        done.map_err(backend)?;
        Ok(())
    }

    fn users_with_status(
        &self,
        account: AccountId,
        statuses: &[PresenceStatus],
        limit: usize,
    ) -> StoreResult<Vec<UserId>> {
        let Some(no) = self.no(account)? else { return Ok(Vec::new()) };
        if statuses.is_empty() {
            return Ok(Vec::new());
        }
        let (lo, hi) = bounds(no);
        let codes: Vec<&str> = statuses.iter().map(|s| s.code()).collect();
        let marks = vec!["?"; codes.len()].join(", ");
        let sql = format!(
            "SELECT uid FROM user_status WHERE uid BETWEEN ?1 AND ?2 AND status IN ({marks}) ORDER BY uid LIMIT {limit}"
        );
        let mut args: Vec<rusqlite::types::Value> = vec![lo.into(), hi.into()];
        args.extend(codes.iter().map(|c| rusqlite::types::Value::from((*c).to_string())));
        self.conn()
            .prepare_cached(&sql)
            .and_then(|mut s| s.query_map(params_from_iter(args), |r| Ok(id_of(r.get(0)?)))?.collect())
            .map_err(backend)
    }
}
