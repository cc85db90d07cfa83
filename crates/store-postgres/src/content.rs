//! The card's content: absences, "about me", badges, appreciations, layouts, the interest
//! tags' counts (from the users' `uf_interests`) and users by presence status.

use chrono::NaiveDate;
use profile_core::ids::{AccountId, UserId};
use profile_core::model::absence::{Absence, AbsenceKind, AbsenceQuery};
use profile_core::model::appreciation::{Appreciation, Badge};
use profile_core::model::user::PresenceStatus;
use profile_core::ports::{CardContentStore, StoreResult};
use profile_core::StoreError;
use tokio_postgres::Row;

use crate::codec::{get, id32, time};
use crate::error::bad;
use crate::users::{bounds, id_of, uid};
use crate::PgTx;

const ABSENCE_COLUMNS: &str = "id, uid, kind, date_from, date_to, note, recorded_by";

fn day(r: &Row, i: usize) -> StoreResult<NaiveDate> {
    let text: &str = get(r, i)?;
    store_common::keys::parse_day(text).ok_or_else(|| bad("not a date"))
}

fn text_day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn absence(account: AccountId, r: &Row) -> StoreResult<Absence> {
    let kind: String = get(r, 2)?;
    Ok(Absence {
        account,
        id: id32(r, 0)?,
        user: id_of(get(r, 1)?),
        kind: AbsenceKind::from_code(&kind).ok_or_else(|| bad("unknown absence kind"))?,
        from: day(r, 3)?,
        to: day(r, 4)?,
        note: get(r, 5)?,
        recorded_by: UserId(id32(r, 6)?),
    })
}

fn appreciation(account: AccountId, r: &Row) -> StoreResult<Appreciation> {
    Ok(Appreciation {
        account,
        id: id32(r, 0)?,
        recipient: id_of(get(r, 1)?),
        giver: id_of(get(r, 2)?),
        badge: get(r, 3)?,
        message: get(r, 4)?,
        at: time(r, 5)?,
    })
}

fn count(r: &Row, i: usize) -> StoreResult<u64> {
    u64::try_from(get::<i64>(r, i)?).map_err(|_| bad("a negative count"))
}

impl CardContentStore for PgTx<'_> {
    fn absence(&self, account: AccountId, id: u32) -> StoreResult<Option<Absence>> {
        let Some(no) = self.no(account)? else { return Ok(None) };
        self.query_opt(
            &format!("SELECT {ABSENCE_COLUMNS} FROM absences WHERE account_no = $1 AND id = $2"),
            &[&no, &i64::from(id)],
        )?
        .map(|r| absence(account, &r))
        .transpose()
    }

    fn absences(&self, account: AccountId, query: &AbsenceQuery, limit: usize) -> StoreResult<Vec<Absence>> {
        let Some(no) = self.no(account)? else { return Ok(Vec::new()) };
        let (from, to) = (text_day(query.from), text_day(query.to));
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = match &query.users {
            Some(users) => {
                let uids: Vec<i64> = users.iter().map(|u| uid(no, *u)).collect();
                self.query(
                    &format!(
                        "SELECT {ABSENCE_COLUMNS} FROM absences WHERE uid = ANY($1) AND date_to >= $2 \
                         AND date_from <= $3 ORDER BY date_from, id LIMIT $4"
                    ),
                    &[&uids, &from, &to, &limit],
                )?
            }
            None => self.query(
                &format!(
                    "SELECT {ABSENCE_COLUMNS} FROM absences WHERE account_no = $1 AND date_to >= $2 \
                     AND date_from <= $3 ORDER BY date_from, id LIMIT $4"
                ),
                &[&no, &from, &to, &limit],
            )?,
        };
        rows.iter().map(|r| absence(account, r)).collect()
    }

    fn absent_users(&self, account: AccountId, day: NaiveDate, limit: usize) -> StoreResult<Vec<UserId>> {
        let Some(no) = self.no(account)? else { return Ok(Vec::new()) };
        let d = text_day(day);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.query(
            "SELECT DISTINCT uid FROM absences WHERE account_no = $1 AND date_to >= $2 AND date_from <= $2 \
             ORDER BY uid LIMIT $3",
            &[&no, &d, &limit],
        )?
        .iter()
        .map(|r| Ok(id_of(get(r, 0)?)))
        .collect()
    }

    fn insert_absence(&mut self, a: &Absence) -> StoreResult<()> {
        let no = self.no_for_write(a.account)?;
        self.execute(
            &format!("INSERT INTO absences (account_no, {ABSENCE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"),
            &[
                &no,
                &i64::from(a.id),
                &uid(no, a.user),
                &a.kind.code(),
                &text_day(a.from),
                &text_day(a.to),
                &a.note,
                &i64::from(a.recorded_by.0),
            ],
        )?;
        Ok(())
    }

    fn update_absence(&mut self, a: &Absence) -> StoreResult<()> {
        let no = self.no_for_write(a.account)?;
        self.execute(
            "UPDATE absences SET kind = $3, date_from = $4, date_to = $5, note = $6 WHERE account_no = $1 AND id = $2",
            &[&no, &i64::from(a.id), &a.kind.code(), &text_day(a.from), &text_day(a.to), &a.note],
        )?;
        Ok(())
    }

    fn delete_absence(&mut self, account: AccountId, id: u32) -> StoreResult<()> {
        let no = self.no_for_write(account)?;
        self.execute("DELETE FROM absences WHERE account_no = $1 AND id = $2", &[&no, &i64::from(id)])?;
        Ok(())
    }

    fn about(&self, account: AccountId, user: UserId) -> StoreResult<Option<String>> {
        let Some(no) = self.no(account)? else { return Ok(None) };
        self.query_opt("SELECT text FROM user_about WHERE uid = $1", &[&uid(no, user)])?
            .map(|r| get(&r, 0))
            .transpose()
    }

    fn set_about(&mut self, account: AccountId, user: UserId, text: &str) -> StoreResult<()> {
        let key = uid(self.no_for_write(account)?, user);
        if text.is_empty() {
            self.execute("DELETE FROM user_about WHERE uid = $1", &[&key])?;
        } else {
            self.execute(
                "INSERT INTO user_about (uid, text) VALUES ($1, $2) ON CONFLICT (uid) DO UPDATE SET text = excluded.text",
                &[&key, &text],
            )?;
        }
        Ok(())
    }

    fn interest_tags(
        &self,
        account: AccountId,
        prefix: &str,
        limit: usize,
    ) -> StoreResult<Vec<(String, u64)>> {
        let Some(no) = self.no(account)? else { return Ok(Vec::new()) };
        let (lo, hi) = bounds(no);
        let start = format!("#{prefix}");
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        // Administrators (0) and employees (1): the users every intranet reader sees. Ties by
        // the tag's search word (profile_core::query::interest_word: `_` and `-` as U+E006 and
        // U+E007), as the reference orders them.
        self.query(
            "SELECT t, count(*) FROM users u, unnest(string_to_array(u.uf_interests, ' ')) AS t \
             WHERE u.uid BETWEEN $1 AND $2 AND u.role IN (0, 1) AND u.uf_interests IS NOT NULL \
             AND starts_with(t, $3) AND t <> '#' GROUP BY t \
             ORDER BY count(*) DESC, translate(t, '_-', chr(57350) || chr(57351)) COLLATE \"C\" LIMIT $4",
            &[&lo, &hi, &start, &limit],
        )?
        .iter()
        .map(|r| Ok((get::<String>(r, 0)?.trim_start_matches('#').to_string(), count(r, 1)?)))
        .collect()
    }

    fn added_badges(&self, account: AccountId) -> StoreResult<Vec<Badge>> {
        let Some(no) = self.no(account)? else { return Ok(Vec::new()) };
        self.query("SELECT code, label FROM badges WHERE account_no = $1 ORDER BY code", &[&no])?
            .iter()
            .map(|r| Ok(Badge { code: get(r, 0)?, label: get(r, 1)?, builtin: false }))
            .collect()
    }

    fn insert_badge(&mut self, account: AccountId, badge: &Badge) -> StoreResult<()> {
        let no = self.no_for_write(account)?;
        self.in_savepoint(|tx| {
            tx.execute(
                "INSERT INTO badges (account_no, code, label) VALUES ($1, $2, $3)",
                &[&no, &badge.code, &badge.label],
            )
        })
        .map_err(|e| match e {
            StoreError::UniqueViolation { .. } => StoreError::UniqueViolation { what: "CODE".into() },
            e => e,
        })?;
        Ok(())
    }

    fn insert_appreciation(&mut self, a: &Appreciation) -> StoreResult<()> {
        let no = self.no_for_write(a.account)?;
        self.execute(
            "INSERT INTO appreciations (account_no, id, recipient, giver, badge, message, at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &no,
                &i64::from(a.id),
                &uid(no, a.recipient),
                &uid(no, a.giver),
                &a.badge,
                &a.message,
                &a.at.timestamp(),
            ],
        )?;
        Ok(())
    }

    fn appreciation_counts(&self, account: AccountId, user: UserId) -> StoreResult<Vec<(String, u64)>> {
        let Some(no) = self.no(account)? else { return Ok(Vec::new()) };
        self.query(
            "SELECT badge, count(*) FROM appreciations WHERE recipient = $1 GROUP BY badge ORDER BY badge",
            &[&uid(no, user)],
        )?
        .iter()
        .map(|r| Ok((get(r, 0)?, count(r, 1)?)))
        .collect()
    }

    fn appreciations(
        &self,
        account: AccountId,
        recipient: UserId,
        giver: Option<UserId>,
        limit: usize,
    ) -> StoreResult<Vec<Appreciation>> {
        let Some(no) = self.no(account)? else { return Ok(Vec::new()) };
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let giver = giver.map(|g| uid(no, g));
        self.query(
            "SELECT id, recipient, giver, badge, message, at FROM appreciations \
             WHERE recipient = $1 AND ($2::bigint IS NULL OR giver = $2) ORDER BY at DESC, id DESC LIMIT $3",
            &[&uid(no, recipient), &giver, &limit],
        )?
        .iter()
        .map(|r| appreciation(account, r))
        .collect()
    }

    fn layout(&self, account: AccountId, owner: Option<UserId>) -> StoreResult<Option<Vec<String>>> {
        let Some(no) = self.no(account)? else { return Ok(None) };
        let owner = i64::from(owner.map_or(0, |u| u.0));
        let fields: Option<String> = self
            .query_opt("SELECT fields FROM layouts WHERE account_no = $1 AND owner = $2", &[&no, &owner])?
            .map(|r| get(&r, 0))
            .transpose()?;
        Ok(fields.map(|f| f.split(',').filter(|x| !x.is_empty()).map(str::to_string).collect()))
    }

    fn set_layout(
        &mut self,
        account: AccountId,
        owner: Option<UserId>,
        fields: Option<&[String]>,
    ) -> StoreResult<()> {
        let no = self.no_for_write(account)?;
        let owner = i64::from(owner.map_or(0, |u| u.0));
        match fields {
            Some(f) => self.execute(
                "INSERT INTO layouts (account_no, owner, fields) VALUES ($1, $2, $3) \
                 ON CONFLICT (account_no, owner) DO UPDATE SET fields = excluded.fields",
                &[&no, &owner, &f.join(",")],
            )?,
            None => {
                self.execute("DELETE FROM layouts WHERE account_no = $1 AND owner = $2", &[&no, &owner])?
            }
        };
        Ok(())
    }

    fn users_with_status(
        &self,
        account: AccountId,
        statuses: &[PresenceStatus],
        limit: usize,
    ) -> StoreResult<Vec<UserId>> {
        let Some(no) = self.no(account)? else { return Ok(Vec::new()) };
        let (lo, hi) = bounds(no);
        let codes: Vec<&str> = statuses.iter().map(|s| s.code()).collect();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.query(
            "SELECT uid FROM user_status WHERE uid BETWEEN $1 AND $2 AND status = ANY($3) ORDER BY uid LIMIT $4",
            &[&lo, &hi, &codes, &limit],
        )?
        .iter()
        .map(|r| Ok(id_of(get(r, 0)?)))
        .collect()
    }
}
