//! Translating a [`UserQuery`] into SQL with the reference semantics of `profile_core::query`:
//! empty text (stored as NULL) is the empty string, negative operators match empty values, text
//! compares byte by byte (`COLLATE "C"`), `%` and `LIKE` fold ASCII letters only, empty values
//! sort first, IDs are key ranges, and quick search is a tsquery on `users.words`.
//!
//! Clauses are written with `?` and numbered (`$1`, `$2`, …) once the statement is whole.

use profile_core::access::Audience;
use profile_core::field::{FieldKind, UserField};
use profile_core::ids::UserId;
use profile_core::model::user::Role;
use profile_core::ports::StoreResult;
use profile_core::query::{date_key, Condition, Op, UserQuery};
use profile_core::Value;

use crate::codec::get;
use crate::conn::{refs, Sql};
use store_common::query::{date_column, like_matches_empty, open_and_external_roles, roles_of, CO_MEMBERS};
pub(crate) use store_common::query::{marks, online_since, only_equal_int};

use crate::search;
use crate::users::{bounds, column, id_of, role_code, uid};
use crate::PgTx;

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
            "true".into()
        } else {
            self.clauses.join(" AND ")
        }
    }
}

/// `sql` with each `?` numbered in order (`$1`, `$2`, …). No statement built here holds a `?`
/// in a literal.
pub(crate) fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push('$');
            out.push_str(&n.to_string());
        } else {
            out.push(c);
        }
    }
    out
}

fn text(s: &str) -> Sql {
    Sql::Text(s.to_string())
}

fn text_condition(b: &mut Sqlb, col: &str, op: Op, value: &Value) {
    let c = format!("u.{col}");
    let contains = format!("strpos(ascii_lower({c}), ascii_lower(?)) > 0");
    let like = format!("ascii_lower({c}) LIKE ascii_lower(?) ESCAPE ''");
    match (op, value) {
        (Op::In | Op::NotIn, Value::TextList(list)) => {
            let has_empty = list.iter().any(String::is_empty);
            let vals: Vec<Sql> = list.iter().filter(|s| !s.is_empty()).map(|s| text(s)).collect();
            let inside =
                if vals.is_empty() { "false".to_string() } else { format!("{c} IN ({})", marks(vals.len())) };
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
                Op::Lt if empty => b.push("false", []),
                Op::Lt => b.push(format!("({c} IS NULL OR {c} < ?)"), [text(v)]),
                Op::Le if empty => b.push(format!("{c} IS NULL"), []),
                Op::Le => b.push(format!("({c} IS NULL OR {c} <= ?)"), [text(v)]),
                Op::Contains if empty => {}
                Op::Contains => b.push(contains, [text(v)]),
                Op::NotContains if empty => b.push("false", []),
                Op::NotContains => b.push(format!("({c} IS NULL OR NOT {contains})"), [text(v)]),
                Op::Like if like_matches_empty(v) => b.push(format!("({c} IS NULL OR {like})"), [text(v)]),
                Op::Like => b.push(like, [text(v)]),
                Op::NotLike if like_matches_empty(v) => {
                    b.push(format!("({c} IS NOT NULL AND NOT {like})"), [text(v)]);
                }
                Op::NotLike => b.push(format!("({c} IS NULL OR NOT {like})"), [text(v)]),
                Op::In | Op::NotIn => b.push("false", []),
            }
        }
        _ => b.push("false", []),
    }
}

/// A comparison on an integer column (NULL never matches a positive operator).
fn int_condition(b: &mut Sqlb, expr: &str, op: Op, value: Option<i64>, list: Option<Vec<i64>>) {
    match (op, value, list) {
        (Op::In, _, Some(l)) => {
            let n = l.len();
            b.push(
                if n == 0 { "false".into() } else { format!("{expr} IN ({})", marks(n)) },
                l.into_iter().map(Sql::Int),
            );
        }
        (Op::NotIn, _, Some(l)) => {
            let n = l.len();
            let clause = if n == 0 {
                String::from("true")
            } else {
                format!("({expr} IS NULL OR {expr} NOT IN ({}))", marks(n))
            };
            b.push(clause, l.into_iter().map(Sql::Int));
        }
        (op, Some(v), _) => {
            let sym = match op {
                Op::Eq => "=",
                Op::Ne => "<>",
                Op::Gt => ">",
                Op::Ge => ">=",
                Op::Lt => "<",
                Op::Le => "<=",
                _ => return b.push("false", []),
            };
            if op == Op::Ne {
                b.push(format!("({expr} IS NULL OR {expr} <> ?)"), [Sql::Int(v)]);
            } else {
                b.push(format!("{expr} {sym} ?"), [Sql::Int(v)]);
            }
        }
        _ => b.push("false", []),
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
                _ => b.push("false", []),
            }
        }
        FieldKind::Departments => {
            let ids: Vec<i64> = match value {
                Value::IntList(l) => l.clone(),
                Value::Int(i) => vec![*i],
                _ => Vec::new(),
            };
            let not = if op.is_negative() { "NOT " } else { "" };
            let inside = if ids.is_empty() { "NULL".to_string() } else { marks(ids.len()) };
            let mut params = vec![Sql::Int(no)];
            params.extend(ids.iter().map(|&i| Sql::Int(i)));
            b.push(
                format!(
                    "u.uid {not}IN (SELECT uid FROM department_members WHERE account_no = ? AND department IN ({inside}))"
                ),
                params,
            );
        }
        FieldKind::Active => {
            let want = matches!(value, Value::Bool(true)) != op.is_negative();
            b.push("u.active = ?", [Sql::Int(i64::from(want))]);
        }
        FieldKind::Online => {
            let want = matches!(value, Value::Bool(true)) != op.is_negative();
            if want {
                b.push("u.last_activity >= ?", [Sql::Int(online_since)]);
            } else {
                b.push("(u.last_activity IS NULL OR u.last_activity < ?)", [Sql::Int(online_since)]);
            }
        }
        FieldKind::UserType => {
            let types: Vec<&str> = match value {
                Value::TextList(l) => l.iter().map(String::as_str).collect(),
                Value::Text(s) => vec![s.as_str()],
                _ => Vec::new(),
            };
            let in_list = if op.is_negative() { Op::NotIn } else { Op::In };
            int_condition(b, "u.role", in_list, None, Some(roles_of(&types)));
        }
        FieldKind::Date | FieldKind::DateTime => {
            let col = date_column(c.field());
            match value {
                Value::IntList(keys) => int_condition(b, col, op, None, Some(keys.clone())),
                v => int_condition(b, col, op, date_key(v), None),
            }
        }
        k if k.is_text() => text_condition(b, &column(c.field()), op, value),
        _ => b.push("false", []),
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
                [Sql::Int(v), Sql::Int(v)],
            );
        }
        Audience::Extranet { viewer } => {
            let v = uid(no, viewer);
            b.push(
                format!(
                    "{t}.uid IN ({CO_MEMBERS} UNION SELECT ?::bigint) AND ({t}.uid = ? OR {t}.role <> {})",
                    role_code(Role::Integrator)
                ),
                [Sql::Int(v), Sql::Int(v), Sql::Int(v)],
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
        CustomColumn::Txt => ("txt", " COLLATE \"C\""),
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
        FieldKind::Online => "COALESCE(u.last_activity >= ?, false)".into(),
        FieldKind::UserType => {
            format!("(u.role IN ({}, {}))", role_code(Role::Extranet), role_code(Role::CollabGuest))
        }
        FieldKind::Date | FieldKind::DateTime => date_column(field).into(),
        _ => format!("u.{}", column(field)),
    }
}

/// A query's matches as SQL: `SELECT <uid> FROM <from> WHERE <where> ORDER BY <order>`.
pub(crate) struct Ordered {
    /// The key column (`u.uid`, `d.uid`).
    pub(crate) uid: &'static str,
    pub(crate) from: &'static str,
    pub(crate) filter: Sqlb,
    pub(crate) order: String,
    pub(crate) order_params: Vec<Sql>,
    /// Whether a condition or the order depends on the clock (`IS_ONLINE`).
    pub(crate) uses_clock: bool,
}

impl Ordered {
    /// The query's matches, ordered, with `tail` (`LIMIT …`) after the order; numbered.
    pub(crate) fn select(&self, tail: &str) -> String {
        numbered(&format!(
            "SELECT {} FROM {} WHERE {} ORDER BY {} {tail}",
            self.uid,
            self.from,
            self.filter.where_sql(),
            self.order
        ))
    }

    /// The parameters of [`Ordered::select`] (before those of its tail).
    pub(crate) fn params(&self) -> Vec<Sql> {
        let mut p = self.filter.params.clone();
        p.extend(self.order_params.iter().cloned());
        p
    }

    /// `SELECT count(*)` of the matches, numbered; its parameters are `filter.params`.
    pub(crate) fn count(&self) -> String {
        numbered(&format!("SELECT count(*) FROM {} WHERE {}", self.from, self.filter.where_sql()))
    }
}

/// Translates a query. One department's members, by last name or by ID, for everyone or an
/// intranet viewer are read from `department_members` alone (its page index holds the last
/// name and the role); everything else from `users`.
pub(crate) fn ordered(no: i64, q: &UserQuery, audience: Audience) -> Ordered {
    let since = online_since(q.now);
    // Keyed by the second it is judged at, what such a query found is kept a second at most.
    let uses_clock = q.filter.conditions.iter().any(|c| c.field().moves_by_itself())
        || q.sort.iter().any(|k| k.field.moves_by_itself());
    if let Some(o) = department_members(no, q, audience) {
        return o;
    }
    let (lo, hi) = bounds(no);
    let mut b = Sqlb::default();
    b.push("u.account_no = ? AND u.uid BETWEEN ? AND ?", [Sql::Int(no), Sql::Int(lo), Sql::Int(hi)]);
    if !q.filter.find.is_empty() {
        b.push(
            "u.words @@ (?::text)::tsquery",
            [text(&search::tsquery(&q.filter.find, q.filter.find_contacts, &q.filter.find_custom))],
        );
    }
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
            order_params.push(Sql::Int(since));
        }
        order.push(format!("{expr} {}", if k.descending { "DESC NULLS LAST" } else { "ASC NULLS FIRST" }));
    }
    order.push("u.uid ASC".into());
    Ordered { uid: "u.uid", from: "users u", filter: b, order: order.join(", "), order_params, uses_clock }
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
    b.push("d.account_no = ? AND d.department = ?", [Sql::Int(no), Sql::Int(department)]);
    visibility(&mut b, no, audience, "d");
    Some(Ordered {
        uid: "d.uid",
        from: "department_members d",
        filter: b,
        order: order.into(),
        order_params: Vec::new(),
        uses_clock: false,
    })
}

/// Which of `ids` the audience may see, ascending.
pub(crate) fn visible(
    tx: &PgTx<'_>,
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
        b.push(format!("u.uid IN ({})", marks(chunk.len())), chunk.iter().map(|&u| Sql::Int(u)));
        visibility(&mut b, no, audience, "u");
        let sql = numbered(&format!("SELECT u.uid FROM users u WHERE {} ORDER BY u.uid", b.where_sql()));
        for r in tx.query(&sql, &refs(&b.params))? {
            out.push(id_of(get(&r, 0)?));
        }
    }
    Ok(out)
}
