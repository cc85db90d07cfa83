//! User queries (spec §2.5/§2.6): a filter of conditions with Bitrix24's key prefixes, the
//! `FIND` quick search, sorting by any sortable field, and pages of 50 (offset or `>ID` cursor).
//! The matching rules here are the reference semantics every store must reproduce.

use std::cmp::Ordering;

use chrono::{DateTime, NaiveTime, Utc};

use crate::error::CoreError;
use crate::field::{FieldKind, UserField};
use crate::model::user::{User, UserType};
use crate::validate;
use crate::value::Value;

mod search;
pub use search::*;

/// Rows per page, fixed by the protocol.
pub const PAGE_SIZE: usize = 50;

/// The most values an IN list of a filter may hold.
pub const FILTER_LIST_MAX: usize = 1000;

/// The longest value a filter may compare with, in characters.
pub const FILTER_VALUE_MAX: usize = 1000;

/// The most words a `FIND` may hold.
pub const FIND_MAX_WORDS: usize = 8;

/// The most conditions a filter may hold (each key of `FILTER` is one). A filter's cost grows
/// with its conditions; integrations use a handful.
pub const FILTER_CONDITIONS_MAX: usize = 50;

/// The most values the lists of one filter may hold together.
pub const FILTER_VALUES_MAX: usize = 5000;

/// A comparison operator, written as a prefix of the filter key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// `=` or no prefix: equal (an array value means IN).
    Eq,
    /// `!` or `!=`: not equal (an array value means NOT IN).
    Ne,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `%`: contains the substring (case-insensitive for ASCII letters).
    Contains,
    /// `!%`: does not contain the substring.
    NotContains,
    /// `=%` or `%=`: LIKE with explicit `%` and `_` wildcards.
    Like,
    /// `!=%` or `!%=`: NOT LIKE with explicit wildcards.
    NotLike,
    /// `@`: one of a list.
    In,
    /// `!@`: none of a list.
    NotIn,
}

/// Prefixes, longest first so that parsing is greedy.
const PREFIXES: [(&str, Op); 15] = [
    ("!=%", Op::NotLike),
    ("!%=", Op::NotLike),
    ("!@", Op::NotIn),
    ("!%", Op::NotContains),
    ("!=", Op::Ne),
    (">=", Op::Ge),
    ("<=", Op::Le),
    ("=%", Op::Like),
    ("%=", Op::Like),
    ("!", Op::Ne),
    (">", Op::Gt),
    ("<", Op::Lt),
    ("%", Op::Contains),
    ("@", Op::In),
    ("=", Op::Eq),
];

impl Op {
    /// Every operator.
    pub const ALL: [Op; 12] = [
        Op::Eq,
        Op::Ne,
        Op::Gt,
        Op::Ge,
        Op::Lt,
        Op::Le,
        Op::Contains,
        Op::NotContains,
        Op::Like,
        Op::NotLike,
        Op::In,
        Op::NotIn,
    ];

    /// The canonical prefix that [`FilterKey::parse`] reads back as this operator.
    pub fn prefix(self) -> &'static str {
        match self {
            Op::Eq => "",
            Op::Ne => "!",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Contains => "%",
            Op::NotContains => "!%",
            Op::Like => "=%",
            Op::NotLike => "!=%",
            Op::In => "@",
            Op::NotIn => "!@",
        }
    }

    /// Whether the operator matches rows where the condition's positive form does not
    /// (so an empty value matches it).
    pub fn is_negative(self) -> bool {
        matches!(self, Op::Ne | Op::NotContains | Op::NotLike | Op::NotIn)
    }
}

/// What a filter key addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterTarget {
    /// A standard field.
    Field(UserField),
    /// `FIND` / `NAME_SEARCH`: the quick search.
    Find,
    /// `UF_DEPARTMENT_NAME`: users of the departments whose names the value's words prefix.
    DepartmentName,
}

/// A parsed filter key: operator and target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FilterKey {
    /// The operator.
    pub op: Op,
    /// The target.
    pub target: FilterTarget,
}

impl FilterKey {
    /// Parses a key such as `>=DATE_REGISTER`, `!@ID` or `FIND`. Returns `None` for keys that
    /// name no filterable field (callers decide whether that is an error).
    pub fn parse(key: &str) -> Option<FilterKey> {
        let key = key.trim();
        let (op, rest) = PREFIXES
            .iter()
            .find_map(|(p, op)| key.strip_prefix(p).map(|rest| (*op, rest)))
            .unwrap_or((Op::Eq, key));
        if rest.eq_ignore_ascii_case("FIND") || rest.eq_ignore_ascii_case("NAME_SEARCH") {
            return (op == Op::Eq).then_some(FilterKey { op, target: FilterTarget::Find });
        }
        if rest.eq_ignore_ascii_case("UF_DEPARTMENT_NAME") {
            return (op == Op::Eq).then_some(FilterKey { op, target: FilterTarget::DepartmentName });
        }
        let field = UserField::from_code(rest).filter(|f| f.is_filterable())?;
        Some(FilterKey { op, target: FilterTarget::Field(field) })
    }
}

impl std::fmt::Display for FilterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.target {
            FilterTarget::Find => f.write_str("FIND"),
            FilterTarget::DepartmentName => f.write_str("UF_DEPARTMENT_NAME"),
            FilterTarget::Field(field) => write!(f, "{}{}", self.op.prefix(), field.code()),
        }
    }
}

/// One condition on a standard field. Build it with [`Condition::parse`], which checks that the
/// operator fits the field and normalises the value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Condition {
    field: UserField,
    op: Op,
    value: Value,
}

impl Condition {
    /// The field.
    pub fn field(&self) -> UserField {
        self.field
    }

    /// The operator.
    pub fn op(&self) -> Op {
        self.op
    }

    /// The normalised value: `Int`/`IntList` for IDs and departments, `Bool` for `ACTIVE` and
    /// `IS_ONLINE`, `Text`/`TextList` for text and `USER_TYPE`, `Date`/`DateTime` for dates
    /// (a list of dates is an `IntList` of their [`date_key`]s).
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// Builds a condition from a key's operator and a raw value. A list value turns `=` into IN
    /// and `!` into NOT IN.
    ///
    /// # Errors
    /// [`CoreError::Validation`] naming the key when the operator does not apply to the field or
    /// the value has the wrong type.
    pub fn parse(field: UserField, op: Op, raw: &Value) -> Result<Condition, CoreError> {
        let key = format!("{}{}", op.prefix(), field.code());
        let bad = |reason: &str| CoreError::invalid(key.clone(), reason);
        let is_list = matches!(raw, Value::IntList(_) | Value::TextList(_));
        let op = match (op, is_list) {
            (Op::Eq, true) => Op::In,
            (Op::Ne, true) => Op::NotIn,
            (Op::In | Op::NotIn, _) => op,
            (_, true) => return Err(bad("a list is allowed only with =, !, @ and !@")),
            _ => op,
        };
        let kind = field.kind();
        let ordered = matches!(op, Op::Gt | Op::Ge | Op::Lt | Op::Le);
        let equality = matches!(op, Op::Eq | Op::Ne | Op::In | Op::NotIn);
        let allowed = match kind {
            FieldKind::Id | FieldKind::Date | FieldKind::DateTime => equality || ordered,
            FieldKind::Active | FieldKind::Online => matches!(op, Op::Eq | Op::Ne),
            FieldKind::Departments | FieldKind::UserType => equality,
            k if k.is_text() => true,
            _ => false,
        };
        if !allowed {
            return Err(bad("this operator does not apply to the field"));
        }
        let list_of = |raw: &Value| -> Vec<String> {
            match raw {
                Value::TextList(v) => v.clone(),
                Value::IntList(v) => v.iter().map(i64::to_string).collect(),
                Value::Text(s) => vec![s.clone()],
                Value::Int(i) => vec![i.to_string()],
                Value::Bool(b) => vec![if *b { "Y".into() } else { "N".into() }],
                _ => Vec::new(),
            }
        };
        let items = list_of(raw);
        if items.len() > FILTER_LIST_MAX {
            return Err(bad(&format!("at most {FILTER_LIST_MAX} values")));
        }
        if items.iter().any(|s| s.chars().count() > FILTER_VALUE_MAX) {
            return Err(bad(&format!("a value is longer than {FILTER_VALUE_MAX} characters")));
        }
        if matches!(raw, Value::Null | Value::Date(_) | Value::DateTime(_))
            && !matches!(kind, FieldKind::Date | FieldKind::DateTime)
        {
            return Err(bad("expected a value"));
        }
        let value = match kind {
            FieldKind::Id | FieldKind::Departments => {
                let ints = items
                    .iter()
                    .map(|s| s.trim().parse::<i64>())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|_| bad("expected an integer"))?;
                if matches!(op, Op::In | Op::NotIn) {
                    Value::IntList(ints)
                } else {
                    Value::Int(*ints.first().ok_or_else(|| bad("expected an integer"))?)
                }
            }
            FieldKind::Active | FieldKind::Online => {
                let s = items.first().ok_or_else(|| bad("expected a boolean"))?;
                if !validate::is_boolean_word(s) {
                    return Err(bad("expected a boolean"));
                }
                Value::Bool(Value::Text(s.clone()).truthy())
            }
            FieldKind::UserType => {
                let types = items
                    .iter()
                    .map(|s| UserType::from_code(s).map(|t| t.code().to_string()))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| bad("expected employee, extranet or email"))?;
                if op == Op::Eq || op == Op::Ne {
                    Value::Text(types.into_iter().next().unwrap_or_default())
                } else {
                    Value::TextList(types)
                }
            }
            FieldKind::Date | FieldKind::DateTime => {
                let parse = |s: &str| -> Option<Value> {
                    if kind == FieldKind::Date {
                        validate::date(s).map(Value::Date)
                    } else {
                        parse_datetime(s).map(Value::DateTime)
                    }
                };
                let parsed = match raw {
                    Value::Date(d) if kind == FieldKind::Date => vec![Value::Date(*d)],
                    Value::DateTime(t) if kind == FieldKind::DateTime => vec![Value::DateTime(*t)],
                    _ => items
                        .iter()
                        .map(|s| parse(s))
                        .collect::<Option<Vec<_>>>()
                        .ok_or_else(|| bad("not a date"))?,
                };
                if matches!(op, Op::In | Op::NotIn) {
                    // A list of dates is kept as their keys (days, or seconds), as stores keep them.
                    Value::IntList(parsed.iter().filter_map(date_key).collect())
                } else {
                    parsed.into_iter().next().ok_or_else(|| bad("not a date"))?
                }
            }
            _ => {
                if matches!(op, Op::In | Op::NotIn) {
                    Value::TextList(items)
                } else {
                    Value::Text(items.into_iter().next().ok_or_else(|| bad("expected a string"))?)
                }
            }
        };
        Ok(Condition { field, op, value })
    }

    /// `ID` in (or, with a negative `op`, not in) `ids`: what `find_users` resolves conditions
    /// on custom fields into, which may name more users than a filter may list.
    pub(crate) fn ids(op: Op, ids: Vec<i64>) -> Condition {
        let op = if op.is_negative() { Op::NotIn } else { Op::In };
        Condition { field: UserField::Id, op, value: Value::IntList(ids) }
    }

    /// `UF_DEPARTMENT` in (or, with a negative `op`, not in) `ids`: what `find_users` resolves
    /// department names and sub-departments into, which may name more departments than a
    /// filter may list.
    pub(crate) fn departments(op: Op, ids: Vec<i64>) -> Condition {
        let op = if op.is_negative() { Op::NotIn } else { Op::In };
        Condition { field: UserField::UfDepartment, op, value: Value::IntList(ids) }
    }

    /// Whether `user` satisfies the condition at `now` (the reference semantics).
    pub fn matches(&self, user: &User, now: DateTime<Utc>) -> bool {
        let actual = user.value(self.field, now);
        let hit = match self.field.kind() {
            FieldKind::Departments => {
                let wanted: Vec<i64> = match &self.value {
                    Value::IntList(v) => v.clone(),
                    Value::Int(i) => vec![*i],
                    _ => Vec::new(),
                };
                let any = user.departments.iter().any(|d| wanted.contains(&i64::from(d.0)));
                return if self.op.is_negative() { !any } else { any };
            }
            FieldKind::Date | FieldKind::DateTime => {
                if actual == Value::Null {
                    return self.op.is_negative();
                }
                let a = date_key(&actual);
                match &self.value {
                    Value::IntList(list) => a.is_some_and(|a| list.contains(&a)),
                    v => compare_op(self.op, a.cmp(&date_key(v))),
                }
            }
            FieldKind::Id => {
                let a = i64::from(user.id.0);
                match &self.value {
                    Value::IntList(list) => list.contains(&a),
                    Value::Int(b) => compare_op(self.op, a.cmp(b)),
                    _ => false,
                }
            }
            FieldKind::Active | FieldKind::Online => {
                let b = matches!(self.value, Value::Bool(true));
                actual == Value::Bool(b)
            }
            _ => {
                let a = match &actual {
                    Value::Text(s) => s.as_str(),
                    _ => "",
                };
                match (&self.value, self.op) {
                    (Value::TextList(list), _) => list.iter().any(|s| s == a),
                    (Value::Text(b), Op::Contains | Op::NotContains) => {
                        a.to_ascii_lowercase().contains(&b.to_ascii_lowercase())
                    }
                    (Value::Text(b), Op::Like | Op::NotLike) => like(a, b),
                    (Value::Text(b), op) => compare_op(op, a.cmp(b.as_str())),
                    _ => false,
                }
            }
        };
        if self.op.is_negative() {
            !hit
        } else {
            hit
        }
    }
}

fn compare_op(op: Op, ord: Ordering) -> bool {
    match op {
        Op::Eq | Op::Ne => ord == Ordering::Equal, // Ne is negated by the caller
        Op::Gt => ord == Ordering::Greater,
        Op::Ge => ord != Ordering::Less,
        Op::Lt => ord == Ordering::Less,
        Op::Le => ord != Ordering::Greater,
        _ => false,
    }
}

/// SQL LIKE: `%` any run, `_` one character, ASCII letters case-insensitive.
fn like(text: &str, pattern: &str) -> bool {
    let t: Vec<char> = text.chars().map(|c| c.to_ascii_lowercase()).collect();
    let p: Vec<char> = pattern.chars().map(|c| c.to_ascii_lowercase()).collect();
    // Classic wildcard matching with backtracking on the last `%`.
    let (mut ti, mut pi) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '_' || (p[pi] != '%' && p[pi] == t[ti])) {
            ti += 1;
            pi += 1;
        } else if pi < p.len() && p[pi] == '%' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '%')
}

/// Parses a date-time filter value: ISO-8601 with an offset, `YYYY-MM-DD hh:mm:ss` (UTC), or a
/// plain date (midnight UTC).
pub fn parse_datetime(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").ok().map(|t| t.and_utc()))
        .or_else(|| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S").ok().map(|t| t.and_utc()))
        .or_else(|| validate::date(s).map(|d| d.and_time(NaiveTime::MIN).and_utc()))
}

/// The integer a date (days since 0001-01-01) or date-time (Unix seconds) is stored and compared
/// as; it orders like the value.
pub fn date_key(v: &Value) -> Option<i64> {
    match v {
        Value::Date(d) => Some(i64::from(chrono::Datelike::num_days_from_ce(d))),
        Value::DateTime(t) => Some(t.timestamp()),
        _ => None,
    }
}

/// A filter: all conditions must hold, and so must the quick search if present.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct UserFilter {
    /// The conditions (AND).
    pub conditions: Vec<Condition>,
    /// The quick-search terms; every one must match (see [`FindTerm`]).
    pub find: Vec<FindTerm>,
    /// Whether the quick search also looks at contact details (the email and the phones).
    /// They are above the `user_brief` tier: readers below `user_basic` must not be able to
    /// probe them, so `find_users` turns this off for them.
    pub find_contacts: bool,
    /// The custom string fields whose words the quick search's words also prefix: the
    /// account's searchable ones (`IS_SEARCHABLE`) when the reader may read custom values;
    /// `find_users` sets them.
    pub find_custom: Vec<u32>,
    /// `UF_DEPARTMENT_NAME`: the words of a department name; `find_users` turns them into an
    /// `UF_DEPARTMENT` condition on the departments whose names they prefix (stores never see
    /// them).
    pub department_name: Vec<String>,
    /// Whether `UF_DEPARTMENT` conditions also take the members of every sub-department;
    /// `find_users` widens them (stores never see it set).
    pub subdepartments: bool,
    /// Conditions on custom fields (`UF_USR_*`); `find_users` resolves each into an `ID`
    /// condition on the users whose values match (stores never see them).
    pub custom: Vec<CustomCondition>,
    /// `CARDFILE_ABSENT_ON`: only the users with an absence covering this day; `find_users`
    /// resolves it into an `ID` condition (stores never see it).
    pub absent_on: Option<chrono::NaiveDate>,
    /// `CARDFILE_STATUS`: only the users whose set presence status is one of these;
    /// `find_users` resolves it into an `ID` condition (stores never see it).
    pub statuses: Vec<crate::model::user::PresenceStatus>,
}

/// A condition on a custom field as the client wrote it: the field's name, the operator and
/// the raw value (typed by the field's type when `find_users` resolves it).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CustomCondition {
    /// `UF_USR_…`, upper case.
    pub name: String,
    /// The operator.
    pub op: Op,
    /// The value as given.
    pub value: Value,
}

/// Splits a filter key into its operator prefix and the rest (`>=SORT` → `Ge`, `SORT`).
pub fn split_prefix(key: &str) -> (Op, &str) {
    let key = key.trim();
    PREFIXES.iter().find_map(|(p, op)| key.strip_prefix(p).map(|rest| (*op, rest))).unwrap_or((Op::Eq, key))
}

impl UserFilter {
    /// Adds a condition.
    pub fn and(mut self, condition: Condition) -> UserFilter {
        self.conditions.push(condition);
        self
    }

    /// Checks the filter against its budgets: at most [`FILTER_CONDITIONS_MAX`] conditions
    /// holding at most [`FILTER_VALUES_MAX`] values together (each list is also held to
    /// [`FILTER_LIST_MAX`] by [`Condition::parse`]).
    ///
    /// # Errors
    /// [`CoreError::Validation`] on `FILTER`, naming the limit.
    pub fn check_budget(&self) -> Result<(), CoreError> {
        if self.conditions.len() + self.custom.len() > FILTER_CONDITIONS_MAX {
            return Err(CoreError::invalid("FILTER", format!("at most {FILTER_CONDITIONS_MAX} conditions")));
        }
        let values: usize = self
            .conditions
            .iter()
            .map(|c| match c.value() {
                Value::IntList(l) => l.len(),
                Value::TextList(l) => l.len(),
                _ => 1,
            })
            .sum::<usize>()
            + self
                .custom
                .iter()
                .map(|c| match &c.value {
                    Value::IntList(l) => l.len(),
                    Value::TextList(l) => l.len(),
                    _ => 1,
                })
                .sum::<usize>();
        if values > FILTER_VALUES_MAX {
            return Err(CoreError::invalid(
                "FILTER",
                format!("at most {FILTER_VALUES_MAX} values in all of its lists together"),
            ));
        }
        Ok(())
    }

    /// Sets the quick search from free text (see [`FindTerm`]).
    ///
    /// # Errors
    /// [`CoreError::Validation`] on `FIND` when it holds more than [`FIND_MAX_WORDS`] terms.
    pub fn with_find(mut self, text: &str) -> Result<UserFilter, CoreError> {
        if text.chars().count() > FILTER_VALUE_MAX {
            return Err(CoreError::invalid("FIND", format!("longer than {FILTER_VALUE_MAX} characters")));
        }
        self.find = find_terms(text);
        self.find_contacts = true;
        let words: usize = self
            .find
            .iter()
            .map(|t| match t {
                FindTerm::Phone { words, .. } => words.len().max(1),
                _ => 1,
            })
            .sum();
        if words > FIND_MAX_WORDS {
            return Err(CoreError::invalid("FIND", format!("at most {FIND_MAX_WORDS} words")));
        }
        Ok(self)
    }

    /// Adds `UF_INTERESTS=#tag` (a list of tags: any of them) as a [`FindTerm::Interest`].
    ///
    /// # Errors
    /// [`CoreError::Validation`] on `UF_INTERESTS` for a malformed tag, none, or more than
    /// [`crate::model::interest::INTERESTS_MAX`].
    pub fn with_interests(mut self, raw: &Value) -> Result<UserFilter, CoreError> {
        let text = match raw {
            Value::Text(t) => t.clone(),
            Value::TextList(list) => list.join(" "),
            _ => return Err(CoreError::invalid("UF_INTERESTS", "expected #tags")),
        };
        let tags = crate::model::interest::parse_interests(&text)?;
        if tags.is_empty() {
            return Err(CoreError::invalid("UF_INTERESTS", "expected #tags"));
        }
        self.find.push(FindTerm::Interest(tags));
        Ok(self)
    }

    /// Whether the quick search has typed terms (not only [`FindTerm::Interest`]).
    pub fn has_typed_find(&self) -> bool {
        self.find.iter().any(|t| !matches!(t, FindTerm::Interest(_)))
    }

    /// Reference semantics of the quick search: `words` are the user's searchable words, as
    /// [`user_search_words`] gives them (marked by kind).
    pub fn find_matches(&self, words: &[String]) -> bool {
        self.find.iter().all(|term| term_matches(term, words, self.find_contacts, &self.find_custom))
    }
}

/// One sort key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SortKey {
    /// The field (`ID`, unused, for a custom field).
    pub field: UserField,
    /// Descending?
    pub descending: bool,
    /// A custom field to sort by instead (its first value; users without one first when
    /// ascending), as `crate::usecase::custom::sort_key` resolves a `UF_USR_*` name.
    pub custom: Option<CustomSortKey>,
}

/// Sorting by a custom field: which field, and the column its values are in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CustomSortKey {
    /// The field's ID.
    pub field: u32,
    /// Where its values are: numbers (integers, booleans, option and user IDs), doubles, or
    /// text (compared by bytes; dates are ISO text).
    pub column: CustomColumn,
}

/// The column a custom field's values are stored in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CustomColumn {
    /// Integers.
    Num,
    /// Doubles.
    Real,
    /// Text.
    Txt,
}

impl SortKey {
    /// Builds a sort key.
    ///
    /// # Errors
    /// [`CoreError::Validation`] on `sort` when the field cannot be sorted by.
    pub fn new(field: UserField, descending: bool) -> Result<SortKey, CoreError> {
        if field.is_sortable() {
            Ok(SortKey { field, descending, custom: None })
        } else {
            Err(CoreError::invalid("sort", format!("cannot sort by {}", field.code())))
        }
    }

    /// Reference ordering of two users by this key (empty values first when ascending). A
    /// custom key orders by values the user record does not hold: equal here (stores sort by
    /// them; the reference store with [`CustomSortKey`]'s values).
    pub fn compare(&self, a: &User, b: &User, now: DateTime<Utc>) -> Ordering {
        if self.custom.is_some() {
            return Ordering::Equal;
        }
        let key = |u: &User| -> (u8, String, i64) {
            match u.value(self.field, now) {
                Value::Null => (0, String::new(), 0),
                Value::Int(i) => (1, String::new(), i),
                Value::Bool(b) => (1, String::new(), i64::from(b)),
                Value::Text(s) => (1, s, 0),
                v => (1, String::new(), date_key(&v).unwrap_or(0)),
            }
        };
        let ord = key(a).cmp(&key(b));
        if self.descending {
            ord.reverse()
        } else {
            ord
        }
    }
}

/// Which page to return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// Rows to skip.
    pub start: u64,
    /// Whether to count all matches (`start=-1` skips the count).
    pub count_total: bool,
}

impl Default for PageRequest {
    fn default() -> Self {
        PageRequest { start: 0, count_total: true }
    }
}

impl PageRequest {
    /// Reads Bitrix24's `start`: an offset, or `-1` for the first page without a count.
    ///
    /// # Errors
    /// [`CoreError::Validation`] on `start` for other negative values.
    pub fn from_start(start: i64) -> Result<PageRequest, CoreError> {
        match start {
            -1 => Ok(PageRequest { start: 0, count_total: false }),
            s if s >= 0 => Ok(PageRequest { start: s as u64, count_total: true }),
            _ => Err(CoreError::invalid("start", "must be -1 or a non-negative offset")),
        }
    }
}

/// A complete user query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserQuery {
    /// What to match.
    pub filter: UserFilter,
    /// The order; `ID` ascending is always appended as the tie-breaker.
    pub sort: Vec<SortKey>,
    /// Which page.
    pub page: PageRequest,
    /// The moment `IS_ONLINE` is judged at.
    pub now: DateTime<Utc>,
}

/// One page of results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The rows (at most [`PAGE_SIZE`]).
    pub items: Vec<T>,
    /// All matches, when counted.
    pub total: Option<u64>,
}

impl<T> Page<T> {
    /// The offset of the next page, present only while rows remain (spec §1.5).
    pub fn next(&self, start: u64) -> Option<u64> {
        let next = start + self.items.len() as u64;
        match self.total {
            Some(total) if next < total && !self.items.is_empty() => Some(next),
            _ => None,
        }
    }

    /// Maps the rows.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page { items: self.items.into_iter().map(f).collect(), total: self.total }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse() {
        let k = |s: &str| FilterKey::parse(s).map(|k| (k.op, k.target));
        let f = FilterTarget::Field;
        assert_eq!(k(">=ID"), Some((Op::Ge, f(UserField::Id))));
        assert_eq!(k("!@ID"), Some((Op::NotIn, f(UserField::Id))));
        assert_eq!(k("%last_name"), Some((Op::Contains, f(UserField::LastName))));
        assert_eq!(k("%=NAME"), Some((Op::Like, f(UserField::Name))));
        assert_eq!(k("!%=NAME"), Some((Op::NotLike, f(UserField::Name))));
        assert_eq!(k("=EMAIL"), Some((Op::Eq, f(UserField::Email))));
        assert_eq!(k("!=EMAIL"), Some((Op::Ne, f(UserField::Email))));
        assert_eq!(k("FIND"), Some((Op::Eq, FilterTarget::Find)));
        assert_eq!(k("TIME_ZONE_OFFSET"), None);
        assert_eq!(k("bx24_request_id"), None);
    }

    #[test]
    fn like_patterns() {
        assert!(like("Anderson", "and%"));
        assert!(like("Anderson", "%SON"));
        assert!(like("Anderson", "a_d%"));
        assert!(!like("Anderson", "b%"));
        assert!(like("", "%"));
    }

    #[test]
    fn operator_field_fit() {
        assert!(Condition::parse(UserField::Active, Op::Gt, &Value::text("Y")).is_err());
        assert!(Condition::parse(UserField::UfDepartment, Op::Contains, &Value::text("1")).is_err());
        assert!(Condition::parse(UserField::Id, Op::Gt, &Value::text("x")).is_err());
        assert!(Condition::parse(UserField::DateRegister, Op::Gt, &Value::text("soon")).is_err());
        let c = Condition::parse(UserField::Id, Op::Eq, &Value::IntList(vec![1, 2])).unwrap();
        assert_eq!(c.op(), Op::In);
        assert!(Condition::parse(UserField::UserType, Op::Eq, &Value::text("robot")).is_err());
    }

    #[test]
    fn next_only_while_rows_remain() {
        let p = Page { items: vec![1; 50], total: Some(120) };
        assert_eq!(p.next(0), Some(50));
        assert_eq!(p.next(70), None);
        let last = Page { items: vec![1; 20], total: Some(120) };
        assert_eq!(last.next(100), None);
        assert_eq!(Page { items: vec![1; 50], total: None }.next(0), None);
    }
}
