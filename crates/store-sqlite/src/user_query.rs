//! Translating a [`UserQuery`] into SQL with the reference semantics of `profile_core::query`:
//! empty text (stored as NULL) is the empty string, negative operators match empty values, IDs
//! are rowid ranges, quick search drives the query from the FTS index in ID order.

use profile_core::access::Audience;
use profile_core::field::{FieldKind, UserField};
use profile_core::ids::{AccountId, UserId};
use profile_core::model::user::{Role, User, UserType, ONLINE_WINDOW};
use profile_core::ports::StoreResult;
use profile_core::query::{date_key, Condition, Op, Page, UserQuery, COUNTED_PREFIX_MAX, PAGE_SIZE};
use profile_core::Value;
use rusqlite::types::Value as Sql;
use rusqlite::{params_from_iter, Connection, OptionalExtension};

use std::cell::RefCell;

use crate::error::backend;
use crate::page_cache::PageCache;
use crate::search;
use crate::users::{bounds, column, from_row, role_code, select_columns, uid};

/// Users who share a workgroup with the viewer (the viewer's uid is the one parameter).
const CO_MEMBERS: &str = "SELECT m2.uid FROM workgroup_members m1 JOIN workgroup_members m2 \
     ON m2.account_no = m1.account_no AND m2.workgroup = m1.workgroup WHERE m1.uid = ?";

#[derive(Default)]
struct Sqlb {
    clauses: Vec<String>,
    params: Vec<Sql>,
}

impl Sqlb {
    fn push(&mut self, clause: impl Into<String>, params: impl IntoIterator<Item = Sql>) {
        self.clauses.push(clause.into());
        self.params.extend(params);
    }

    fn where_sql(&self) -> String {
        if self.clauses.is_empty() {
            "1".into()
        } else {
            self.clauses.join(" AND ")
        }
    }
}

fn text(s: &str) -> Sql {
    Sql::Text(s.to_string())
}

fn marks(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// `LIKE` pattern for a substring, with the wildcards in it escaped.
fn contains_pattern(s: &str) -> String {
    let mut p = String::from("%");
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// Whether SQL `LIKE` with `pattern` matches the empty string (only `%`s do).
fn like_matches_empty(pattern: &str) -> bool {
    pattern.chars().all(|c| c == '%')
}

fn text_condition(b: &mut Sqlb, col: &str, op: Op, value: &Value) {
    let c = format!("u.{col}");
    match (op, value) {
        (Op::In | Op::NotIn, Value::TextList(list)) => {
            let has_empty = list.iter().any(String::is_empty);
            let vals: Vec<Sql> = list.iter().filter(|s| !s.is_empty()).map(|s| text(s)).collect();
            let inside =
                if vals.is_empty() { "0".to_string() } else { format!("{c} IN ({})", marks(vals.len())) };
            let clause = match (op == Op::In, has_empty) {
                (true, false) => inside,
                (true, true) => format!("({c} IS NULL OR {inside})"),
                (false, false) => format!("({c} IS NULL OR NOT ({inside}))"),
                (false, true) => format!("({c} IS NOT NULL AND NOT ({inside}))"),
            };
            b.push(clause, vals);
        }
        (op, Value::Text(v)) => {
            let empty = v.is_empty();
            match op {
                Op::Eq if empty => b.push(format!("{c} IS NULL"), []),
                Op::Eq => b.push(format!("{c} = ?"), [text(v)]),
                Op::Ne if empty => b.push(format!("{c} IS NOT NULL"), []),
                Op::Ne => b.push(format!("({c} IS NULL OR {c} <> ?)"), [text(v)]),
                Op::Gt => b.push(format!("{c} > ?"), [text(v)]),
                Op::Ge if empty => {}
                Op::Ge => b.push(format!("{c} >= ?"), [text(v)]),
                Op::Lt if empty => b.push("0", []),
                Op::Lt => b.push(format!("({c} IS NULL OR {c} < ?)"), [text(v)]),
                Op::Le if empty => b.push(format!("{c} IS NULL"), []),
                Op::Le => b.push(format!("({c} IS NULL OR {c} <= ?)"), [text(v)]),
                Op::Contains if empty => {}
                Op::Contains => b.push(format!("{c} LIKE ? ESCAPE '\\'"), [text(&contains_pattern(v))]),
                Op::NotContains if empty => b.push("0", []),
                Op::NotContains => {
                    b.push(
                        format!("({c} IS NULL OR {c} NOT LIKE ? ESCAPE '\\')"),
                        [text(&contains_pattern(v))],
                    );
                }
                Op::Like if like_matches_empty(v) => {
                    b.push(format!("({c} IS NULL OR {c} LIKE ?)"), [text(v)])
                }
                Op::Like => b.push(format!("{c} LIKE ?"), [text(v)]),
                Op::NotLike if like_matches_empty(v) => {
                    b.push(format!("({c} IS NOT NULL AND {c} NOT LIKE ?)"), [text(v)]);
                }
                Op::NotLike => b.push(format!("({c} IS NULL OR {c} NOT LIKE ?)"), [text(v)]),
                Op::In | Op::NotIn => b.push("0", []),
            }
        }
        _ => b.push("0", []),
    }
}

/// A comparison on an integer column (NULL never matches a positive operator).
fn int_condition(b: &mut Sqlb, expr: &str, op: Op, value: Option<i64>, list: Option<Vec<i64>>) {
    match (op, value, list) {
        (Op::In, _, Some(l)) => {
            let n = l.len();
            b.push(
                if n == 0 { "0".into() } else { format!("{expr} IN ({})", marks(n)) },
                l.into_iter().map(Sql::Integer),
            );
        }
        (Op::NotIn, _, Some(l)) => {
            let n = l.len();
            let clause = if n == 0 {
                String::from("1")
            } else {
                format!("({expr} IS NULL OR {expr} NOT IN ({}))", marks(n))
            };
            b.push(clause, l.into_iter().map(Sql::Integer));
        }
        (op, Some(v), _) => {
            let sym = match op {
                Op::Eq => "=",
                Op::Ne => "<>",
                Op::Gt => ">",
                Op::Ge => ">=",
                Op::Lt => "<",
                Op::Le => "<=",
                _ => return b.push("0", []),
            };
            if op == Op::Ne {
                b.push(format!("({expr} IS NULL OR {expr} <> ?)"), [Sql::Integer(v)]);
            } else {
                b.push(format!("{expr} {sym} ?"), [Sql::Integer(v)]);
            }
        }
        _ => b.push("0", []),
    }
}

fn date_column(field: UserField) -> &'static str {
    match field {
        UserField::PersonalBirthday => "u.birthday",
        UserField::UfEmploymentDate => "u.employment_date",
        UserField::DateRegister => "u.registered_at",
        UserField::TimestampX => "u.updated_at",
        UserField::LastLogin => "u.last_login",
        _ => "u.last_activity",
    }
}

fn roles_of(types: &[&str]) -> Vec<i64> {
    Role::ALL
        .into_iter()
        .filter(|r| types.iter().any(|t| UserType::from_code(t) == Some(r.user_type())))
        .map(role_code)
        .collect()
}

/// `online_since`: the first whole second of activity that still counts as online.
fn condition(b: &mut Sqlb, no: i64, c: &Condition, online_since: i64) {
    let (op, value) = (c.op(), c.value());
    match c.field().kind() {
        FieldKind::Id => {
            let base = no << 32;
            let to_uid = |v: i64| base.saturating_add(v);
            match value {
                Value::IntList(l) => {
                    int_condition(b, "u.uid", op, None, Some(l.iter().map(|&v| to_uid(v)).collect()))
                }
                Value::Int(v) => int_condition(b, "u.uid", op, Some(to_uid(*v)), None),
                _ => b.push("0", []),
            }
        }
        FieldKind::Departments => {
            let ids: Vec<i64> = match value {
                Value::IntList(l) => l.clone(),
                Value::Int(i) => vec![*i],
                _ => Vec::new(),
            };
            let not = if op.is_negative() { "NOT " } else { "" };
            let mut params = vec![Sql::Integer(no)];
            params.extend(ids.iter().map(|&i| Sql::Integer(i)));
            b.push(
                format!(
                    "u.uid {not}IN (SELECT uid FROM department_members WHERE account_no = ? AND department IN ({}))",
                    marks(ids.len())
                ),
                params,
            );
        }
        FieldKind::Active => {
            let want = matches!(value, Value::Bool(true)) != op.is_negative();
            b.push("u.active = ?", [Sql::Integer(i64::from(want))]);
        }
        FieldKind::Online => {
            let want = matches!(value, Value::Bool(true)) != op.is_negative();
            let since = online_since;
            if want {
                b.push("u.last_activity >= ?", [Sql::Integer(since)]);
            } else {
                b.push("(u.last_activity IS NULL OR u.last_activity < ?)", [Sql::Integer(since)]);
            }
        }
        FieldKind::UserType => {
            let types: Vec<&str> = match value {
                Value::TextList(l) => l.iter().map(String::as_str).collect(),
                Value::Text(s) => vec![s.as_str()],
                _ => Vec::new(),
            };
            let roles = roles_of(&types);
            let in_list = if op.is_negative() { Op::NotIn } else { Op::In };
            int_condition(b, "u.role", in_list, None, Some(roles));
        }
        FieldKind::Date | FieldKind::DateTime => {
            let col = date_column(c.field());
            match value {
                Value::IntList(keys) => int_condition(b, col, op, None, Some(keys.clone())),
                v => int_condition(b, col, op, date_key(v), None),
            }
        }
        k if k.is_text() => text_condition(b, &column(c.field()), op, value),
        _ => b.push("0", []),
    }
}

/// The audience's condition on rows of alias `t` (which has `uid` and `role` columns).
fn visibility(b: &mut Sqlb, no: i64, audience: Audience, t: &str) {
    let open = format!("{}, {}", role_code(Role::Administrator), role_code(Role::Employee));
    let external = format!("{}, {}", role_code(Role::Extranet), role_code(Role::CollabGuest));
    match audience {
        Audience::Everyone => {}
        Audience::Intranet { viewer } => {
            let v = uid(no, viewer);
            b.push(
                format!("({t}.role IN ({open}) OR {t}.uid = ? OR ({t}.role IN ({external}) AND {t}.uid IN ({CO_MEMBERS})))"),
                [Sql::Integer(v), Sql::Integer(v)],
            );
        }
        Audience::Extranet { viewer } => {
            let v = uid(no, viewer);
            b.push(
                format!(
                    "{t}.uid IN ({CO_MEMBERS} UNION SELECT ?) AND ({t}.uid = ? OR {t}.role <> {})",
                    role_code(Role::Integrator)
                ),
                [Sql::Integer(v), Sql::Integer(v), Sql::Integer(v)],
            );
        }
    }
}

fn sort_expr(field: UserField) -> String {
    match field.kind() {
        FieldKind::Id => "u.uid".into(),
        FieldKind::Active => "u.active".into(),
        FieldKind::Online => "COALESCE(u.last_activity >= ?, 0)".into(),
        FieldKind::UserType => {
            format!("(u.role IN ({}, {}))", role_code(Role::Extranet), role_code(Role::CollabGuest))
        }
        FieldKind::Date | FieldKind::DateTime => date_column(field).into(),
        _ => format!("u.{}", column(field)),
    }
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn run(
    conn: &Connection,
    cache: Option<&RefCell<PageCache>>,
    account: AccountId,
    no: i64,
    q: &UserQuery,
    audience: Audience,
    pending: &dyn Fn(i64, i64, &str) -> i64,
) -> StoreResult<Page<User>> {
    if let Some(page) = department_page(conn, account, no, q, audience)? {
        return Ok(page);
    }
    if let Some(page) = id_page(conn, account, no, q, audience)? {
        return Ok(page);
    }
    // ID-ordered queries that do not depend on the clock can continue where the previous page
    // ended, and reuse its total (see page_cache.rs).
    let cacheable =
        q.sort.is_empty() && !q.filter.conditions.iter().any(|c| c.field() == UserField::IsOnline);
    let cache = cache.filter(|_| cacheable);
    let key = if cache.is_some() { format!("{no}|{audience:?}|{:?}", q.filter) } else { String::new() };
    if let Some(cache) = cache {
        // Read first, so the snapshot is taken; data_version then tells which it is.
        let version: i64 = conn
            .prepare_cached("SELECT count(*) FROM meta")
            .and_then(|mut s| s.query_row([], |r| r.get::<_, i64>(0)))
            .and_then(|_| conn.prepare_cached("PRAGMA data_version")?.query_row([], |r| r.get(0)))
            .map_err(backend)?;
        cache.borrow_mut().sync(version);
    }
    let cursor = match (cache, q.page.start) {
        (Some(c), start) if start > 0 => c.borrow().cursor(&key, start),
        _ => None,
    };
    let (lo, hi) = bounds(no);
    // Online means active at or after now - window; stored activity is whole seconds, so the
    // first qualifying second is that instant rounded up.
    let threshold = q.now - ONLINE_WINDOW;
    let online_since = threshold.timestamp() + i64::from(threshold.timestamp_subsec_nanos() > 0);
    let find = &q.filter.find;
    let mut b = Sqlb::default();
    // Extranet viewers see few users: drive from those and probe the index, never the reverse.
    let fts_drives = !find.is_empty() && !matches!(audience, Audience::Extranet { .. });
    let from = if fts_drives {
        b.push(
            "user_fts MATCH ? AND user_fts.rowid BETWEEN ? AND ?",
            [text(&search::match_expression(find, q.filter.find_email)), Sql::Integer(lo), Sql::Integer(hi)],
        );
        // CROSS JOIN pins the loop order: the index yields matches in ID order.
        "user_fts CROSS JOIN users u ON u.uid = user_fts.rowid"
    } else {
        // Both bounds say the same; account_no lets (account_no, field) indexes seek and keep
        // their order, the rowid range keeps ID-ordered reads a range scan.
        b.push(
            "u.account_no = ? AND u.uid BETWEEN ? AND ?",
            [Sql::Integer(no), Sql::Integer(lo), Sql::Integer(hi)],
        );
        if !find.is_empty() {
            b.push(
                "EXISTS (SELECT 1 FROM user_fts WHERE user_fts MATCH ? AND rowid = u.uid)",
                [text(&search::match_expression(find, q.filter.find_email))],
            );
        }
        "users u"
    };
    for c in &q.filter.conditions {
        condition(&mut b, no, c, online_since);
    }
    visibility(&mut b, no, audience, "u");
    // The conditions so far are the query's; the cursor only says where this page starts.
    let counting = Sqlb { clauses: b.clauses.clone(), params: b.params.clone() };
    if let Some(after) = cursor {
        // Raise the range's lower bound (the second parameter of both first clauses): a
        // separate `uid > ?` would leave the planner seeking from the account's first user.
        b.params[1] = Sql::Integer(after + 1);
    }

    let mut order = Vec::new();
    let mut order_params = Vec::new();
    for k in &q.sort {
        let expr = sort_expr(k.field);
        if expr.contains('?') {
            order_params.push(Sql::Integer(online_since));
        }
        order.push(format!("{expr} {}", if k.descending { "DESC" } else { "ASC" }));
    }
    order.push(if fts_drives { "user_fts.rowid ASC".into() } else { "u.uid ASC".into() });

    // Two phases: order narrow rows (rowid and sort keys) down to the page, then read the page's
    // full rows. Sorting whole 60-column records for every match cost 4x more.
    // A query that must sort visits every match anyway: it counts them in the same pass
    // (`count(*) OVER ()`). One read in rowid order stops after the page, so it counts apart.
    let sorted = !q.sort.is_empty();
    let select = format!("u.uid FROM {from} WHERE {} ORDER BY {}", b.where_sql(), order.join(", "));
    let mut params = b.params.clone();
    params.extend(order_params);
    let offset = if cursor.is_some() { 0 } else { q.page.start };
    let (uids, items, counted_in_page) = if fts_drives && !sorted {
        // A quick search in ID order joins each match to its row anyway: the page's full rows
        // are read in that one pass instead of being sought again. (Only here: elsewhere the
        // narrow first phase can run on a covering index, which skipping deep offsets needs.)
        let items = page_rows(conn, account, &select, params, offset)?;
        (items.iter().map(|u| uid(no, u.id)).collect::<Vec<_>>(), items, None)
    } else {
        let (uids, counted) = page_rowids(conn, &select, params, offset, sorted && q.page.count_total)?;
        let items = read_rows(conn, account, &uids)?;
        (uids, items, counted)
    };

    let cached_total = cache.and_then(|c| c.borrow().total(&key));
    let total = if !q.page.count_total {
        None
    } else if let Some(n) = counted_in_page {
        Some(n as u64)
    } else if let Some(n) = cached_total {
        Some(n)
    } else if let Some(n) = counted_total(conn, no, q, audience, &items, pending)? {
        Some(n)
    } else {
        let sql = format!("SELECT count(*) FROM {from} WHERE {}", counting.where_sql());
        let n: i64 = conn
            .prepare_cached(&sql)
            .and_then(|mut s| s.query_row(params_from_iter(counting.params.iter()), |r| r.get(0)))
            .map_err(backend)?;
        Some(n as u64)
    };
    if let Some(cache) = cache {
        let next = uids.last().map(|&last| (q.page.start + uids.len() as u64, last));
        cache.borrow_mut().remember(&key, next, total);
    }
    Ok(Page { items, total })
}

/// The total of a one-word quick search of up to four characters with no other condition,
/// from the prefix counts: one lookup instead of a count over up to every index entry.
fn counted_total(
    conn: &Connection,
    no: i64,
    q: &UserQuery,
    audience: Audience,
    items: &[User],
    pending: &dyn Fn(i64, i64, &str) -> i64,
) -> StoreResult<Option<u64>> {
    let [word] = q.filter.find.as_slice() else {
        return Ok(None);
    };
    if !q.filter.conditions.is_empty() || word.chars().count() > COUNTED_PREFIX_MAX {
        return Ok(None);
    }
    if q.page.start == 0 && items.len() < PAGE_SIZE {
        return Ok(Some(items.len() as u64));
    }
    match audience {
        Audience::Everyone => {
            Ok(Some(search::counted(conn, no, &[0, 1], q.filter.find_email, word, pending)?))
        }
        Audience::Intranet { viewer } => {
            // Everyone of class 0, plus the restricted users this viewer may see that match.
            let open = search::counted(conn, no, &[0], q.filter.find_email, word, pending)?;
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
                [text(&search::match_expression(&q.filter.find, q.filter.find_email))],
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

/// Which of `ids` the audience may see, ascending.
pub(crate) fn visible(
    conn: &Connection,
    no: i64,
    ids: &[UserId],
    audience: Audience,
) -> StoreResult<Vec<UserId>> {
    let mut uids: Vec<i64> = ids.iter().map(|&id| uid(no, id)).collect();
    uids.sort_unstable();
    uids.dedup();
    let mut out = Vec::with_capacity(uids.len());
    for chunk in uids.chunks(500) {
        let mut b = Sqlb::default();
        b.push(format!("u.uid IN ({})", marks(chunk.len())), chunk.iter().map(|&u| Sql::Integer(u)));
        visibility(&mut b, no, audience, "u");
        let sql = format!("SELECT u.uid FROM users u WHERE {} ORDER BY u.uid", b.where_sql());
        let found: Vec<i64> = conn
            .prepare_cached(&sql)
            .and_then(|mut s| {
                s.query_map(params_from_iter(b.params.iter()), |r| r.get(0))?.collect::<Result<Vec<_>, _>>()
            })
            .map_err(backend)?;
        out.extend(found.into_iter().map(crate::users::id_of));
    }
    Ok(out)
}

/// Runs `SELECT <full user columns> FROM … LIMIT 50 OFFSET start`, where `select` is what
/// [`page_rowids`] takes (the rowid column first, then FROM, WHERE and ORDER BY).
fn page_rows(
    conn: &Connection,
    account: AccountId,
    select: &str,
    mut params: Vec<Sql>,
    offset: u64,
) -> StoreResult<Vec<User>> {
    let rest = select.split_once(' ').map_or("", |(_, rest)| rest);
    let sql = format!("SELECT {} {rest} LIMIT {PAGE_SIZE} OFFSET ?", select_columns());
    params.push(Sql::Integer(i64::try_from(offset).unwrap_or(i64::MAX)));
    conn.prepare_cached(&sql)
        .and_then(|mut s| s.query_map(params_from_iter(params), |r| from_row(account, r))?.collect())
        .map_err(backend)
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

/// The value of a filter that is one condition on `field` equal to one integer (`= n` or
/// `in [n]`), with no quick search; `None` for any other filter.
fn only_equal_int(q: &UserQuery, field: UserField) -> Option<i64> {
    let [c] = q.filter.conditions.as_slice() else { return None };
    if !q.filter.find.is_empty() || c.field() != field {
        return None;
    }
    match (c.op(), c.value()) {
        (Op::Eq, Value::Int(v)) => Some(*v),
        (Op::In, Value::IntList(l)) if l.len() == 1 => Some(l[0]),
        _ => None,
    }
}

/// A query for one ID (`ID` equal to one value, nothing else, as `user.get` by ID sends): one
/// rowid lookup under the audience's condition instead of the two-phase page and its cache.
/// Sorting cannot reorder one match. Other queries return `None` and take the general path.
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

/// One department's members, by last name or by ID, for everyone or an intranet viewer: the
/// directory's most common page, read and counted from `department_members` alone (memberships
/// carry the last name and the role). Other queries return `None` and take the general path.
fn department_page(
    conn: &Connection,
    account: AccountId,
    no: i64,
    q: &UserQuery,
    audience: Audience,
) -> StoreResult<Option<Page<User>>> {
    if matches!(audience, Audience::Extranet { .. }) {
        return Ok(None);
    }
    let Some(department) = only_equal_int(q, UserField::UfDepartment) else { return Ok(None) };
    let order = match q.sort.as_slice() {
        [] => "d.uid ASC",
        [k] if k.field == UserField::LastName && !k.descending => "d.last_name ASC, d.uid ASC",
        [k] if k.field == UserField::LastName => "d.last_name DESC, d.uid ASC",
        _ => return Ok(None),
    };
    let mut b = Sqlb::default();
    b.push("d.account_no = ? AND d.department = ?", [Sql::Integer(no), Sql::Integer(department)]);
    visibility(&mut b, no, audience, "d");
    let select = format!("d.uid FROM department_members d WHERE {} ORDER BY {order}", b.where_sql());
    let (uids, counted) = page_rowids(conn, &select, b.params.clone(), q.page.start, q.page.count_total)?;
    let total = match (q.page.count_total, counted) {
        (false, _) => None,
        (true, Some(n)) => Some(n as u64),
        (true, None) => {
            let sql = format!("SELECT count(*) FROM department_members d WHERE {}", b.where_sql());
            let n: i64 = conn
                .prepare_cached(&sql)
                .and_then(|mut s| s.query_row(params_from_iter(b.params.iter()), |r| r.get(0)))
                .map_err(backend)?;
            Some(n as u64)
        }
    };
    Ok(Some(Page { items: read_rows(conn, account, &uids)?, total }))
}

/// Runs `SELECT <select> LIMIT 50 OFFSET start` (`select` begins with the rowid column and holds
/// FROM, WHERE and ORDER BY) and returns the page's rowids. With `count`, the same pass also
/// counts every match (`count(*) OVER ()`); the count is `None` when the page is empty.
fn page_rowids(
    conn: &Connection,
    select: &str,
    mut params: Vec<Sql>,
    offset: u64,
    count: bool,
) -> StoreResult<(Vec<i64>, Option<i64>)> {
    let (first, rest) = select.split_once(' ').unwrap_or((select, ""));
    let window = if count { ", count(*) OVER ()" } else { "" };
    let sql = format!("SELECT {first}{window} {rest} LIMIT {PAGE_SIZE} OFFSET ?");
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
