//! Reading a page of a user query: a lookup for one ID, a slice of the ordered matches kept in
//! the query cache for readers, and `LIMIT`/`OFFSET` where no cache applies (inside a write
//! transaction, or a result too large to keep).

use std::sync::{Arc, OnceLock};

use profile_core::access::Audience;
use profile_core::field::UserField;
use profile_core::ids::AccountId;
use profile_core::model::user::User;
use profile_core::ports::StoreResult;
use profile_core::query::{Page, UserQuery, PAGE_SIZE};
use profile_core::StoreError;

use crate::codec::get;
use crate::conn::{refs, Sql};
use crate::user_query::{numbered, online_since, only_equal_int, ordered, visibility, Ordered, Sqlb};
use crate::users::{from_row, id_of, select_columns};
use crate::PgTx;

/// One page of `q` as `audience` sees it.
pub(crate) fn run(
    tx: &PgTx<'_>,
    account: AccountId,
    no: i64,
    q: &UserQuery,
    audience: Audience,
) -> StoreResult<Page<User>> {
    if let Some(page) = id_page(tx, account, no, q, audience)? {
        return Ok(page);
    }
    let o = ordered(no, q, audience);
    let Some(cache) = tx.query_cache() else {
        return offset_page(tx, account, q, &o);
    };
    // What makes two queries the same query; the second they are judged at only for those
    // that depend on the clock.
    let clock = o.uses_clock.then(|| online_since(q.now));
    let key = cache.key(no, &(audience, &q.filter, &q.sort, clock));
    // The page of what the cache holds and the snapshot's version, in one round trip: the page
    // is used only if the versions agree.
    let version = match cache.latest_ids(key) {
        Some((cached, ids)) => {
            let (version, page) = version_and_page(tx, account, no, &ids, q)?;
            if version == cached {
                return Ok(page);
            }
            version
        }
        None => version(tx, no)?,
    };
    // A first page that must count every match anyway reads their IDs in that pass, and so
    // does a deeper page the cache no longer (or not yet) holds.
    if q.page.count_total || q.page.start > 0 {
        if let Some(ids) = all_ids(tx, &o, cache.max_ids())? {
            let ids: Arc<[u32]> = ids.into();
            cache.remember_ids(key, version, Arc::clone(&ids));
            return slice_page(tx, account, no, &ids, q);
        }
    }
    offset_page(tx, account, q, &o)
}

/// The version of the account's query data in this snapshot (see `store_common::query_cache`).
pub(crate) fn version(tx: &PgTx<'_>, no: i64) -> StoreResult<i64> {
    Ok(tx.query_opt(VERSION, &[&no])?.map(|r| get::<i64>(&r, 0)).transpose()?.unwrap_or_default())
}

const VERSION: &str = "SELECT version FROM query_versions WHERE account_no = $1";

/// The version of the account's query data and the page at `q.page.start` of `ids`, read
/// together.
fn version_and_page(
    tx: &PgTx<'_>,
    account: AccountId,
    no: i64,
    ids: &[u32],
    q: &UserQuery,
) -> StoreResult<(i64, Page<User>)> {
    let (from, to) = slice_bounds(ids.len(), q);
    let uids: Vec<i64> = ids[from..to].iter().map(|&id| (no << 32) | i64::from(id)).collect();
    let (version, rows) = tx.query_both((VERSION, &[&no]), (rows_sql(), &[&uids]))?;
    let version = version.first().map(|r| get::<i64>(r, 0)).transpose()?.unwrap_or_default();
    let total = q.page.count_total.then_some(ids.len() as u64);
    if rows.len() != uids.len() {
        // Not at this version: the caller reads again.
        return Ok((version, Page { items: Vec::new(), total }));
    }
    let items = rows.iter().map(|r| from_row(account, r)).collect::<StoreResult<_>>()?;
    Ok((version, Page { items, total }))
}

/// Where the page at `q.page.start` of `n` ordered matches begins and ends.
fn slice_bounds(n: usize, q: &UserQuery) -> (usize, usize) {
    let from = usize::try_from(q.page.start).unwrap_or(usize::MAX).min(n);
    (from, (from + PAGE_SIZE).min(n))
}

/// Every match's user ID in order, or `None` when there are more than `limit`.
fn all_ids(tx: &PgTx<'_>, o: &Ordered, limit: usize) -> StoreResult<Option<Vec<u32>>> {
    let mut params = o.params();
    params.push(Sql::Int(i64::try_from(limit).unwrap_or(i64::MAX).saturating_add(1)));
    let rows = tx.query_planned(&o.select("LIMIT ?"), &refs(&params))?;
    if rows.len() > limit {
        return Ok(None);
    }
    rows.iter().map(|r| get::<i64>(r, 0).map(|u| id_of(u).0)).collect::<StoreResult<Vec<_>>>().map(Some)
}

/// The page at `q.page.start` of the ordered IDs.
fn slice_page(
    tx: &PgTx<'_>,
    account: AccountId,
    no: i64,
    ids: &[u32],
    q: &UserQuery,
) -> StoreResult<Page<User>> {
    let (from, to) = slice_bounds(ids.len(), q);
    let uids: Vec<i64> = ids[from..to].iter().map(|&id| (no << 32) | i64::from(id)).collect();
    let total = q.page.count_total.then_some(ids.len() as u64);
    Ok(Page { items: read_rows(tx, account, &uids)?, total })
}

/// A page by `LIMIT`/`OFFSET`, counted in the same pass (`count(*) OVER ()`) or apart when the
/// page is empty.
fn offset_page(tx: &PgTx<'_>, account: AccountId, q: &UserQuery, o: &Ordered) -> StoreResult<Page<User>> {
    let window = if q.page.count_total { ", count(*) OVER ()" } else { "" };
    let sql = numbered(&format!(
        "SELECT {}{window} FROM {} WHERE {} ORDER BY {} LIMIT {PAGE_SIZE} OFFSET ?",
        o.uid,
        o.from,
        o.filter.where_sql(),
        o.order
    ));
    let mut params = o.params();
    params.push(Sql::Int(i64::try_from(q.page.start).unwrap_or(i64::MAX)));
    let rows = tx.query_planned(&sql, &refs(&params))?;
    let uids = rows.iter().map(|r| get::<i64>(r, 0)).collect::<StoreResult<Vec<_>>>()?;
    let total = match (q.page.count_total, rows.first()) {
        (false, _) => None,
        (true, Some(r)) => Some(get::<i64>(r, 1)?.unsigned_abs()),
        (true, None) => {
            let rows = tx.query_planned(&o.count(), &refs(&o.filter.params))?;
            let r = rows.first().ok_or_else(|| StoreError::Backend("count(*) returned no row".into()))?;
            Some(get::<i64>(r, 0)?.unsigned_abs())
        }
    };
    Ok(Page { items: read_rows(tx, account, &uids)?, total })
}

/// The full rows of `uids`, in that order: one statement for the page.
fn read_rows(tx: &PgTx<'_>, account: AccountId, uids: &[i64]) -> StoreResult<Vec<User>> {
    if uids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = tx.query(rows_sql(), &[&uids])?;
    if rows.len() != uids.len() {
        return Err(StoreError::Backend("a user of the page vanished at its version".into()));
    }
    rows.iter().map(|r| from_row(account, r)).collect()
}

/// The full rows of the users `$1` (keys), in that order.
fn rows_sql() -> &'static str {
    static SQL: OnceLock<String> = OnceLock::new();
    SQL.get_or_init(|| {
        format!(
            "SELECT {} FROM unnest($1::bigint[]) WITH ORDINALITY AS p(uid, n) JOIN users u ON u.uid = p.uid ORDER BY p.n",
            select_columns()
        )
    })
}

/// A query for one ID (`ID` equal to one value, nothing else, as `user.get` by ID sends): one
/// key lookup under the audience's condition instead of a page and its cache.
fn id_page(
    tx: &PgTx<'_>,
    account: AccountId,
    no: i64,
    q: &UserQuery,
    audience: Audience,
) -> StoreResult<Option<Page<User>>> {
    let Some(id) = only_equal_int(q, UserField::Id) else { return Ok(None) };
    // IDs outside an account's range take the general path, which bounds the key range.
    if !(1..=0xFFFF_FFFF).contains(&id) {
        return Ok(None);
    }
    let mut b = Sqlb::default();
    b.push("u.uid = ?", [Sql::Int((no << 32) | id)]);
    visibility(&mut b, no, audience, "u");
    let sql = numbered(&format!("SELECT {} FROM users u WHERE {}", select_columns(), b.where_sql()));
    let found = tx.query_opt(&sql, &refs(&b.params))?.map(|r| from_row(account, &r)).transpose()?;
    let total = q.page.count_total.then_some(u64::from(found.is_some()));
    let items = if q.page.start == 0 { found.into_iter().collect() } else { Vec::new() };
    Ok(Some(Page { items, total }))
}
