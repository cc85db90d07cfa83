//! Reading a page of a user query: a lookup for one ID, a seek past the previous page for
//! queries in ID order, a slice of the ordered matches for the rest (see `query_cache`), and
//! `LIMIT`/`OFFSET` where no cache applies (inside a write transaction, or a result too large
//! to keep).

use std::sync::Arc;

use profile_core::access::Audience;
use profile_core::field::UserField;
use profile_core::ids::AccountId;
use profile_core::model::user::{Role, User};
use profile_core::ports::StoreResult;
use profile_core::query::{Page, UserQuery, COUNTED_PREFIX_MAX, PAGE_SIZE};
use rusqlite::types::Value as Sql;
use rusqlite::{params_from_iter, Connection, OptionalExtension};

use crate::error::backend;
use crate::search;
use crate::user_query::{marks, online_since, only_equal_int, ordered, text, visibility, Ordered, Sqlb};
use crate::users::{from_row, role_code, select_columns};
use store_common::query_cache::QueryCache;

/// Prefix-count changes a unit of work has not written yet: `(class, tier, prefix)` → delta.
pub(crate) type Pending<'a> = &'a dyn Fn(i64, i64, &str) -> i64;

/// One page of `q` as `audience` sees it. `cache` is the process's query cache for readers of
/// committed state (`None` inside a write transaction).
pub(crate) fn run(
    conn: &Connection,
    cache: Option<&QueryCache>,
    account: AccountId,
    no: i64,
    q: &UserQuery,
    audience: Audience,
    pending: Pending<'_>,
) -> StoreResult<Page<User>> {
    if let Some(page) = id_page(conn, account, no, q, audience)? {
        return Ok(page);
    }
    let o = ordered(no, q, audience);
    let Some(cache) = cache else {
        return offset_page(conn, account, no, q, audience, &o, pending);
    };
    // What makes two queries the same query; the second they are judged at only for those
    // that depend on the clock.
    let clock = o.uses_clock.then(|| online_since(q.now));
    let key = cache.key(no, &(audience, &q.filter, &q.sort, clock));
    let version = version(conn, no)?;
    let start = q.page.start;
    if o.seek_bound.is_some() {
        let after = if start > 0 { cache.cursor(key, version, start) } else { None };
        let items = match after {
            Some(after) => rows_at(conn, account, &o, 0, Some(after))?,
            None => rows_at(conn, account, &o, start, None)?,
        };
        let total = match (q.page.count_total, cache.total(key, version)) {
            (false, _) => None,
            (true, Some(n)) => Some(n),
            (true, None) => Some(count(conn, no, q, audience, &o, &items, pending)?),
        };
        let next = items.last().map(|u| (start + items.len() as u64, crate::users::uid(no, u.id)));
        cache.remember_cursor(key, version, next, total);
        return Ok(Page { items, total });
    }
    if let Some(ids) = cache.ids(key, version) {
        return slice_page(conn, account, no, &ids, q);
    }
    // A first page that must count every match anyway reads their IDs in that pass, and so
    // does a deeper page the cache no longer (or not yet) holds.
    if q.page.count_total || start > 0 {
        if let Some(ids) = all_ids(conn, &o, cache.max_ids())? {
            let ids: Arc<[u32]> = ids.into();
            cache.remember_ids(key, version, Arc::clone(&ids));
            return slice_page(conn, account, no, &ids, q);
        }
    }
    offset_page(conn, account, no, q, audience, &o, pending)
}

/// The version of the account's query data in this snapshot (see `query_cache`).
pub(crate) fn version(conn: &Connection, no: i64) -> StoreResult<i64> {
    conn.prepare_cached("SELECT version FROM query_versions WHERE account_no = ?1")
        .and_then(|mut s| s.query_row([no], |r| r.get(0)).optional())
        .map(Option::unwrap_or_default)
        .map_err(backend)
}

/// Every match's user ID in order, or `None` once there are more than `limit`.
fn all_ids(conn: &Connection, o: &Ordered, limit: usize) -> StoreResult<Option<Vec<u32>>> {
    let mut s = conn.prepare_cached(&format!("SELECT {}", o.select())).map_err(backend)?;
    let mut rows = s.query(params_from_iter(o.params())).map_err(backend)?;
    let mut ids = Vec::new();
    while let Some(row) = rows.next().map_err(backend)? {
        if ids.len() == limit {
            return Ok(None);
        }
        ids.push(crate::users::id_of(row.get(0).map_err(backend)?).0);
    }
    Ok(Some(ids))
}

/// The page at `q.page.start` of the ordered IDs.
fn slice_page(
    conn: &Connection,
    account: AccountId,
    no: i64,
    ids: &[u32],
    q: &UserQuery,
) -> StoreResult<Page<User>> {
    let from = usize::try_from(q.page.start).unwrap_or(usize::MAX).min(ids.len());
    let to = (from + PAGE_SIZE).min(ids.len());
    let uids: Vec<i64> = ids[from..to].iter().map(|&id| (no << 32) | i64::from(id)).collect();
    let total = q.page.count_total.then_some(ids.len() as u64);
    Ok(Page { items: read_rows(conn, account, &uids)?, total })
}

/// A page by `LIMIT`/`OFFSET`, counted apart or in the same pass.
fn offset_page(
    conn: &Connection,
    account: AccountId,
    no: i64,
    q: &UserQuery,
    audience: Audience,
    o: &Ordered,
    pending: Pending<'_>,
) -> StoreResult<Page<User>> {
    // A sorted query visits every match anyway: it counts them in the same pass
    // (`count(*) OVER ()`). One read in rowid order stops after the page, so it counts apart.
    let sorted = o.seek_bound.is_none() && !o.fts_joined;
    if sorted && q.page.count_total {
        let (uids, counted) = page_rowids(conn, o, o.params(), q.page.start, true)?;
        let items = read_rows(conn, account, &uids)?;
        let total = match counted {
            Some(n) => n as u64,
            None => count(conn, no, q, audience, o, &items, pending)?,
        };
        return Ok(Page { items, total: Some(total) });
    }
    let items = rows_at(conn, account, o, q.page.start, None)?;
    let total =
        if q.page.count_total { Some(count(conn, no, q, audience, o, &items, pending)?) } else { None };
    Ok(Page { items, total })
}

/// The page of full rows at `offset`, or (for seekable queries) right after the row `after`.
fn rows_at(
    conn: &Connection,
    account: AccountId,
    o: &Ordered,
    offset: u64,
    after: Option<i64>,
) -> StoreResult<Vec<User>> {
    let mut params = o.params();
    if let (Some(after), Some(at)) = (after, o.seek_bound) {
        params[at] = Sql::Integer(after.saturating_add(1));
    }
    if o.fts_joined {
        // The search's index joins each match to its row anyway: the page's full rows are
        // read in that one pass instead of being sought again.
        let sql = format!(
            "SELECT {} FROM {} WHERE {} ORDER BY {} LIMIT {PAGE_SIZE} OFFSET ?",
            select_columns(),
            o.from,
            o.filter.where_sql(),
            o.order
        );
        params.push(Sql::Integer(i64::try_from(offset).unwrap_or(i64::MAX)));
        return conn
            .prepare_cached(&sql)
            .and_then(|mut s| s.query_map(params_from_iter(params), |r| from_row(account, r))?.collect())
            .map_err(backend);
    }
    let (uids, _) = page_rowids(conn, o, params, offset, false)?;
    read_rows(conn, account, &uids)
}

/// How many users match: from the prefix counts for a one-word search (see [`counted_total`]),
/// or by counting.
fn count(
    conn: &Connection,
    no: i64,
    q: &UserQuery,
    audience: Audience,
    o: &Ordered,
    items: &[User],
    pending: Pending<'_>,
) -> StoreResult<u64> {
    if let Some(n) = counted_total(conn, no, q, audience, items, pending)? {
        return Ok(n);
    }
    let n: i64 = conn
        .prepare_cached(&o.count())
        .and_then(|mut s| s.query_row(params_from_iter(o.filter.params.iter()), |r| r.get(0)))
        .map_err(backend)?;
    Ok(n as u64)
}

/// The total of a one-word quick search of up to four characters, or of one interest tag, with
/// no other condition, from the prefix counts: one lookup instead of a count over up to every
/// index entry. (The counts leave custom fields' words out: a search that looks at them is
/// counted.)
fn counted_total(
    conn: &Connection,
    no: i64,
    q: &UserQuery,
    audience: Audience,
    items: &[User],
    pending: Pending<'_>,
) -> StoreResult<Option<u64>> {
    use profile_core::query::FindTerm;
    let word = match q.filter.find.as_slice() {
        [FindTerm::Word(w)] if q.filter.find_custom.is_empty() && w.chars().count() <= COUNTED_PREFIX_MAX => {
            w.clone()
        }
        // A tag's holders are counted under the tag's whole word.
        [FindTerm::Interest(tags)] if tags.len() == 1 => profile_core::query::interest_word(&tags[0]),
        _ => return Ok(None),
    };
    let word = word.as_str();
    if !q.filter.conditions.is_empty() {
        return Ok(None);
    }
    if q.page.start == 0 && items.len() < PAGE_SIZE {
        return Ok(Some(items.len() as u64));
    }
    match audience {
        Audience::Everyone => {
            Ok(Some(search::counted(conn, no, &[0, 1], q.filter.find_contacts, word, pending)?))
        }
        Audience::Intranet { viewer } => {
            // Everyone of class 0, plus the restricted users this viewer may see that match.
            let open = search::counted(conn, no, &[0], q.filter.find_contacts, word, pending)?;
            let mut b = Sqlb::default();
            // No rowid range here (the planner would scan it instead of seeking the role
            // index), and a positive IN, so the (account_no, role) index seeks straight to the few users.
            let restricted = [Role::Integrator, Role::Extranet, Role::CollabGuest];
            b.push(
                format!("u.account_no = ? AND u.role IN ({})", marks(restricted.len())),
                std::iter::once(Sql::Integer(no)).chain(restricted.map(|r| Sql::Integer(role_code(r)))),
            );
            visibility(&mut b, no, Audience::Intranet { viewer }, "u");
            b.push(
                "EXISTS (SELECT 1 FROM user_fts WHERE user_fts MATCH ? AND rowid = u.uid)",
                [text(&search::match_expression(
                    &q.filter.find,
                    q.filter.find_contacts,
                    &q.filter.find_custom,
                ))],
            );
            let sql = format!("SELECT count(*) FROM users u WHERE {}", b.where_sql());
            let restricted: i64 = conn
                .prepare_cached(&sql)
                .and_then(|mut s| s.query_row(params_from_iter(b.params.iter()), |r| r.get(0)))
                .map_err(backend)?;
            Ok(Some(open + restricted as u64))
        }
        Audience::Extranet { .. } => Ok(None),
    }
}

/// The full rows of `uids`, in that order.
fn read_rows(conn: &Connection, account: AccountId, uids: &[i64]) -> StoreResult<Vec<User>> {
    let mut read = conn
        .prepare_cached(&format!("SELECT {} FROM users u WHERE u.uid = ?1", select_columns()))
        .map_err(backend)?;
    uids.iter()
        .map(|u| read.query_row([u], |r| from_row(account, r)))
        .collect::<Result<Vec<_>, _>>()
        .map_err(backend)
}

/// A query for one ID (`ID` equal to one value, nothing else, as `user.get` by ID sends): one
/// rowid lookup under the audience's condition instead of a page and its cache. Sorting
/// cannot reorder one match. Other queries return `None`.
fn id_page(
    conn: &Connection,
    account: AccountId,
    no: i64,
    q: &UserQuery,
    audience: Audience,
) -> StoreResult<Option<Page<User>>> {
    let Some(id) = only_equal_int(q, UserField::Id) else { return Ok(None) };
    // IDs outside an account's range take the general path, which bounds the rowid range.
    if !(1..=0xFFFF_FFFF).contains(&id) {
        return Ok(None);
    }
    let mut b = Sqlb::default();
    b.push("u.uid = ?", [Sql::Integer((no << 32) | id)]);
    visibility(&mut b, no, audience, "u");
    let sql = format!("SELECT {} FROM users u WHERE {}", select_columns(), b.where_sql());
    let found = conn
        .prepare_cached(&sql)
        .and_then(|mut s| s.query_row(params_from_iter(b.params.iter()), |r| from_row(account, r)).optional())
        .map_err(backend)?;
    let total = q.page.count_total.then_some(u64::from(found.is_some()));
    let items = if q.page.start == 0 { found.into_iter().collect() } else { Vec::new() };
    Ok(Some(Page { items, total }))
}

/// Runs `SELECT <uid> … LIMIT 50 OFFSET start` with `params` (those of `o`, or with a raised
/// seek bound) and returns the page's rowids. With `count`, the same pass also counts every
/// match (`count(*) OVER ()`); the count is `None` when the page is empty.
fn page_rowids(
    conn: &Connection,
    o: &Ordered,
    mut params: Vec<Sql>,
    offset: u64,
    count: bool,
) -> StoreResult<(Vec<i64>, Option<i64>)> {
    let window = if count { ", count(*) OVER ()" } else { "" };
    let sql = format!(
        "SELECT {}{window} FROM {} WHERE {} ORDER BY {} LIMIT {PAGE_SIZE} OFFSET ?",
        o.uid,
        o.from,
        o.filter.where_sql(),
        o.order
    );
    params.push(Sql::Integer(i64::try_from(offset).unwrap_or(i64::MAX)));
    let mut counted = None;
    let rowids = conn
        .prepare_cached(&sql)
        .and_then(|mut s| {
            s.query_map(params_from_iter(params), |r| {
                if count {
                    counted = Some(r.get::<_, i64>(1)?);
                }
                r.get(0)
            })?
            .collect::<Result<Vec<i64>, _>>()
        })
        .map_err(backend)?;
    Ok((rowids, counted))
}

#[cfg(test)]
mod tests {
    use profile_core::ids::UserId;
    use profile_core::model::identity::LockoutPolicy;
    use profile_core::ports::Database;
    use profile_core::testing::contract::{patch, Fixture};
    use profile_core::usecase::identities::{self, LoginAttempt};
    use profile_core::usecase::users;

    /// Writes that change no user, membership, department or workgroup member (a failed
    /// login, an HR permission) leave the account's query version, and so every cached page,
    /// alone; the others move it on, once per commit.
    #[test]
    fn only_writes_to_what_queries_read_move_the_version() {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::SqliteDb::open(dir.path().join("v.db")).unwrap();
        let f = Fixture::new(&db);
        let no = db.account_no(&db.writer(), f.account, false).unwrap().unwrap();
        let version = || super::version(&db.writer(), no).unwrap();
        let start = version();
        let attempt = LoginAttempt {
            login: "nobody@example.com",
            password: "wrong",
            second_factor: None,
            app_passwords: true,
        };
        assert!(identities::log_in(f.ctx(), &LockoutPolicy::default(), attempt).is_err());
        let mut tx = db.write().unwrap();
        tx.set_hr_holder(f.account, UserId(1), true).unwrap();
        tx.commit().unwrap();
        assert_eq!(version(), start, "nothing queries read changed");
        users::update_user(
            f.ctx(),
            &f.admin,
            UserId(1),
            &patch(&[(profile_core::field::UserField::Name, "Ida")]),
        )
        .unwrap();
        assert_eq!(version(), start + 1);
        f.dept("Team", 1);
        assert_eq!(version(), start + 2);
    }
}
