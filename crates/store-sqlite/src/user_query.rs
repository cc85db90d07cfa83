//! Translating a [`UserQuery`] into SQL with the reference semantics of `profile_core::query`:
//! empty text (stored as NULL) is the empty string, negative operators match empty values, IDs
//! are rowid ranges, quick search drives the query from the FTS index in ID order.

use profile_core::access::Audience;
use profile_core::field::{FieldKind, UserField};
use profile_core::ids::UserId;
use profile_core::model::user::Role;
use profile_core::ports::StoreResult;
use profile_core::query::{date_key, Condition, Op, UserQuery};
use profile_core::Value;
use rusqlite::types::Value as Sql;
use rusqlite::{params_from_iter, Connection};

use crate::error::backend;
use store_common::query::{date_column, like_matches_empty, open_and_external_roles, roles_of, CO_MEMBERS};
pub(crate) use store_common::query::{marks, online_since, only_equal_int};

use crate::search;
use crate::users::{bounds, column, role_code, uid};

/// WHERE clauses (joined by AND) and their parameters.
#[derive(Default)]
pub(crate) struct Sqlb {
    pub(crate) clauses: Vec<String>,
    pub(crate) params: Vec<Sql>,
}

impl Sqlb {
    pub(crate) fn push(&mut self, clause: impl Into<String>, params: impl IntoIterator<Item = Sql>) {
        self.clauses.push(clause.into());
        self.params.extend(params);
    }

    pub(crate) fn where_sql(&self) -> String {
        if self.clauses.is_empty() {
            "1".into()
        } else {
            self.clauses.join(" AND ")
        }
    }
}

pub(crate) fn text(s: &str) -> Sql {
    Sql::Text(s.to_string())
}

/// `LIKE` pattern for a substring, with the wildcards in it escaped.
pub(crate) fn contains_pattern(s: &str) -> String {
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
pub(crate) fn visibility(b: &mut Sqlb, no: i64, audience: Audience, t: &str) {
    let (open, external) = open_and_external_roles();
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

/// A custom field's first value of the user (NULL without one), as `custom_values` holds it.
fn custom_sort_expr(c: profile_core::query::CustomSortKey) -> String {
    use profile_core::query::CustomColumn;
    let (column, collate) = match c.column {
        CustomColumn::Num => ("num", ""),
        CustomColumn::Real => ("real", ""),
        CustomColumn::Txt => ("txt", ""),
    };
    format!(
        "(SELECT {column} FROM custom_values WHERE uid = u.uid AND field = {} AND pos = 0){collate}",
        c.field
    )
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

/// A query's matches as SQL: `SELECT <uid> FROM <from> WHERE <where> ORDER BY <order>`, to be
/// read a page at a time (with `LIMIT`/`OFFSET` or a rowid seek) or all at once.
pub(crate) struct Ordered {
    /// The rowid column (`u.uid`, `d.uid`).
    pub(crate) uid: &'static str,
    pub(crate) from: &'static str,
    pub(crate) filter: Sqlb,
    pub(crate) order: String,
    pub(crate) order_params: Vec<Sql>,
    /// The index in `filter.params` of the rowid range's lower bound, when the matches come in
    /// ID order from a range a seek can start inside (raised past a page's last row).
    pub(crate) seek_bound: Option<usize>,
    /// Whether the quick-search index drives the query in ID order and the users are joined in
    /// the same pass (so a page's full rows can be read in it).
    pub(crate) fts_joined: bool,
    /// Whether a condition or the order depends on the clock (`IS_ONLINE`).
    pub(crate) uses_clock: bool,
}

impl Ordered {
    /// The query's matches, ordered.
    pub(crate) fn select(&self) -> String {
        format!("{} FROM {} WHERE {} ORDER BY {}", self.uid, self.from, self.filter.where_sql(), self.order)
    }

    /// The parameters of [`Ordered::select`].
    pub(crate) fn params(&self) -> Vec<Sql> {
        let mut p = self.filter.params.clone();
        p.extend(self.order_params.iter().cloned());
        p
    }

    /// `SELECT count(*)` of the matches.
    pub(crate) fn count(&self) -> String {
        format!("SELECT count(*) FROM {} WHERE {}", self.from, self.filter.where_sql())
    }
}

/// Translates a query. One department's members, by last name or by ID, for everyone or an
/// intranet viewer (the directory's most common page) are read from `department_members`
/// alone, whose covering index holds the last name and the role; everything else from `users`,
/// driven by the quick-search index when there is a search (except for external viewers, who
/// see few users: those are driven from and the index probed).
pub(crate) fn ordered(no: i64, q: &UserQuery, audience: Audience) -> Ordered {
    let since = online_since(q.now);
    // Keyed by the second it is judged at, what such a query found is kept a second at most.
    let uses_clock = q.filter.conditions.iter().any(|c| c.field().moves_by_itself())
        || q.sort.iter().any(|k| k.field.moves_by_itself());
    if let Some(o) = department_members(no, q, audience) {
        return o;
    }
    let (lo, hi) = bounds(no);
    let find = &q.filter.find;
    let mut b = Sqlb::default();
    let fts_drives = !find.is_empty() && !matches!(audience, Audience::Extranet { .. });
    let from = if fts_drives {
        b.push(
            "user_fts MATCH ? AND user_fts.rowid BETWEEN ? AND ?",
            [
                text(&search::match_expression(find, q.filter.find_contacts, &q.filter.find_custom)),
                Sql::Integer(lo),
                Sql::Integer(hi),
            ],
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
                [text(&search::match_expression(find, q.filter.find_contacts, &q.filter.find_custom))],
            );
        }
        "users u"
    };
    for c in &q.filter.conditions {
        condition(&mut b, no, c, since);
    }
    visibility(&mut b, no, audience, "u");
    let mut order = Vec::new();
    let mut order_params = Vec::new();
    for k in &q.sort {
        let expr = match k.custom {
            Some(c) => custom_sort_expr(c),
            None => sort_expr(k.field),
        };
        if expr.contains('?') {
            order_params.push(Sql::Integer(since));
        }
        order.push(format!("{expr} {}", if k.descending { "DESC" } else { "ASC" }));
    }
    order.push(if fts_drives { "user_fts.rowid ASC".into() } else { "u.uid ASC".into() });
    // A seek by rowid serves ID order where the rows are walked in it: a search's index, or
    // the account's range with no condition that another index might be chosen for.
    let seekable = q.sort.is_empty() && (fts_drives || q.filter.conditions.is_empty());
    Ordered {
        uid: "u.uid",
        from,
        filter: b,
        order: order.join(", "),
        order_params,
        // A separate `uid > ?` would leave the planner seeking from the account's first user:
        // the range's own lower bound (the second parameter of either first clause) is raised.
        seek_bound: seekable.then_some(1),
        fts_joined: fts_drives && q.sort.is_empty(),
        uses_clock,
    }
}

fn department_members(no: i64, q: &UserQuery, audience: Audience) -> Option<Ordered> {
    if matches!(audience, Audience::Extranet { .. }) {
        return None;
    }
    let department = only_equal_int(q, UserField::UfDepartment)?;
    let order = match q.sort.as_slice() {
        [] => "d.uid ASC",
        [k] if k.field == UserField::LastName && !k.descending => "d.last_name ASC, d.uid ASC",
        [k] if k.field == UserField::LastName => "d.last_name DESC, d.uid ASC",
        _ => return None,
    };
    let mut b = Sqlb::default();
    b.push("d.account_no = ? AND d.department = ?", [Sql::Integer(no), Sql::Integer(department)]);
    visibility(&mut b, no, audience, "d");
    Some(Ordered {
        uid: "d.uid",
        from: "department_members d",
        filter: b,
        order: order.into(),
        order_params: Vec::new(),
        seek_bound: None,
        fts_joined: false,
        uses_clock: false,
    })
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
