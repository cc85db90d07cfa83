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
use unicode_normalization::UnicodeNormalization;

/// Rows per page, fixed by the protocol.
pub const PAGE_SIZE: usize = 50;

/// The most values an IN list of a filter may hold.
pub const FILTER_LIST_MAX: usize = 1000;

/// The longest value a filter may compare with, in characters.
pub const FILTER_VALUE_MAX: usize = 1000;

/// The most words a `FIND` may hold.
pub const FIND_MAX_WORDS: usize = 8;

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
    /// `UF_DEPARTMENT_NAME`: the words of a department name; `find_users` turns them into an
    /// `UF_DEPARTMENT` condition on the departments whose names they prefix (stores never see
    /// them).
    pub department_name: Vec<String>,
    /// Whether `UF_DEPARTMENT` conditions also take the members of every sub-department;
    /// `find_users` widens them (stores never see it set).
    pub subdepartments: bool,
}

/// One term of a quick search, as [`UserFilter::with_find`] reads typed text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FindTerm {
    /// A word (letters and digits, folded): it prefixes one of the user's words — names,
    /// position, department names and, with contacts, the words of the email's local part.
    Word(String),
    /// Text with an `@`: with contacts, it prefixes the user's email address, folded (so a
    /// whole address finds its owner). Without contacts it matches nobody.
    Email(String),
    /// Text that reads as a phone number (digits with spaces, `-`, `.`, parentheses and a
    /// leading `+`), four digits or more: with contacts, `digits` prefix the digits of one of
    /// the user's phones, or of what follows its country code (see [`phone_words`]); or else
    /// all of `words` match as [`FindTerm::Word`]s do.
    Phone {
        /// The digits typed.
        digits: String,
        /// The same text as words.
        words: Vec<String>,
    },
}

impl UserFilter {
    /// Adds a condition.
    pub fn and(mut self, condition: Condition) -> UserFilter {
        self.conditions.push(condition);
        self
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

    /// Reference semantics of the quick search: `words` are the user's searchable words, as
    /// [`user_search_words`] gives them (marked by kind).
    pub fn find_matches(&self, words: &[String]) -> bool {
        self.find.iter().all(|term| term_matches(term, words, self.find_contacts))
    }
}

fn term_matches(term: &FindTerm, words: &[String], contacts: bool) -> bool {
    let word = |q: &str| {
        words.iter().any(|w| match w.chars().next() {
            Some(EMAIL_WORD_MARK) => contacts && w[EMAIL_WORD_MARK.len_utf8()..].starts_with(q),
            Some(PHONE_MARK | ADDRESS_MARK) => false,
            _ => w.starts_with(q),
        })
    };
    let marked = |mark: char, q: &str| {
        contacts && words.iter().any(|w| w.strip_prefix(mark).is_some_and(|w| w.starts_with(q)))
    };
    match term {
        FindTerm::Word(q) => word(q),
        FindTerm::Email(q) => marked(ADDRESS_MARK, q),
        FindTerm::Phone { digits, words: qs } => marked(PHONE_MARK, digits) || qs.iter().all(|q| word(q)),
    }
}

/// Reads typed text as quick-search terms: the whole text as a phone number when it reads as
/// one, else each space-separated part as an email (it has an `@`), a phone number, or words.
pub fn find_terms(text: &str) -> Vec<FindTerm> {
    if let Some(digits) = phone_digits(text) {
        return vec![FindTerm::Phone { digits, words: search_words(text) }];
    }
    let mut terms = Vec::new();
    for part in text.split_whitespace() {
        if part.contains('@') {
            let address = address_key(
                part.trim_matches(|c: char| matches!(c, '<' | '>' | ',' | ';' | '"' | '\'' | '(' | ')')),
            );
            if !address.is_empty() {
                terms.push(FindTerm::Email(address));
            }
        } else if let Some(digits) = phone_digits(part) {
            terms.push(FindTerm::Phone { digits, words: search_words(part) });
        } else {
            terms.extend(search_words(part).into_iter().map(FindTerm::Word));
        }
    }
    terms
}

/// The digits of text that reads as a phone number (digits, spaces, `-`, `.`, parentheses, a
/// leading `+`) with at least [`PHONE_DIGITS_MIN`] digits.
fn phone_digits(text: &str) -> Option<String> {
    let text = text.trim();
    let body = text.strip_prefix('+').unwrap_or(text);
    if !body.chars().all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '(' | ')')) {
        return None;
    }
    let digits: String = body.chars().filter(char::is_ascii_digit).collect();
    (digits.len() >= PHONE_DIGITS_MIN).then_some(digits)
}

/// The fewest digits a search takes as a phone number.
pub const PHONE_DIGITS_MIN: usize = 4;

/// An email address as one search word: folded, with every character that is not a letter or
/// digit written as a private-use character, so that the address stays one word.
fn address_key(address: &str) -> String {
    fold(address)
        .chars()
        .map(|c| {
            if c.is_alphanumeric() {
                c
            } else {
                // Private use: typed text never holds these, and each stands for one character.
                char::from_u32(0xE100 + (u32::from(c) & 0xFF)).unwrap_or(ADDRESS_MARK)
            }
        })
        .collect()
}

/// Splits text into search words: letters and digits (everything else separates), lower-cased
/// and folded (`José` → `jose`, `Straße` → `strasse`, `Ørsted` → `orsted`).
pub fn search_words(text: &str) -> Vec<String> {
    // Composed first, so that a letter typed as a base and a combining mark (`u` + `¨`) is one
    // letter, as it is stored; words that fold to nothing (a lone mark) are no words.
    let composed: String = if text.is_ascii() { text.to_string() } else { text.nfc().collect() };
    composed.split(|c: char| !c.is_alphanumeric()).map(fold).filter(|w| !w.is_empty()).collect()
}

/// The longest prefix a store keeps a match count for; longer quick-search words are counted
/// from the index itself (they match few users).
pub const COUNTED_PREFIX_MAX: usize = 4;

/// The first character of every word taken from an email's local part, in
/// [`user_search_words`]. A private-use character: typed text never contains it (search words
/// are letters and digits), so only a search that asks for contacts finds them.
pub const EMAIL_WORD_MARK: char = '\u{E000}';

/// The first character of a phone's digits (and of what follows its possible country codes),
/// in [`user_search_words`].
pub const PHONE_MARK: char = '\u{E001}';

/// The first character of the whole email address as one word, in [`user_search_words`].
pub const ADDRESS_MARK: char = '\u{E002}';

/// The distinct prefixes of 1 to [`COUNTED_PREFIX_MAX`] characters that a one-word quick
/// search can match in `words`: those of ordinary words, and (apart, unmarked) those that only
/// email words have. Both sorted. Phone and address words are never counted: a word cannot
/// match them.
pub fn search_prefixes(words: &[String]) -> (Vec<&str>, Vec<&str>) {
    let mut plain = Vec::with_capacity(words.len() * COUNTED_PREFIX_MAX);
    let mut email = Vec::new();
    for w in words {
        let (into, w) = match w.chars().next() {
            Some(EMAIL_WORD_MARK) => (&mut email, &w[EMAIL_WORD_MARK.len_utf8()..]),
            Some(PHONE_MARK | ADDRESS_MARK) => continue,
            _ => (&mut plain, w.as_str()),
        };
        for (i, c) in w.char_indices().take(COUNTED_PREFIX_MAX) {
            into.push(&w[..i + c.len_utf8()]);
        }
    }
    plain.sort_unstable();
    plain.dedup();
    email.sort_unstable();
    email.dedup();
    email.retain(|p| plain.binary_search(p).is_err());
    (plain, email)
}

/// The phone fields a quick search looks at.
pub const SEARCHED_PHONES: [UserField; 3] =
    [UserField::WorkPhone, UserField::PersonalMobile, UserField::PersonalPhone];

/// The words a user is found by: names, position, the names of their departments; the words
/// of the email's local part (a shared domain would make every user match `co` or `ex`),
/// marked with [`EMAIL_WORD_MARK`]; the whole address, marked with [`ADDRESS_MARK`]; and each
/// phone's [`phone_words`], marked with [`PHONE_MARK`].
pub fn user_search_words<'a>(
    user: &User,
    department_names: impl IntoIterator<Item = &'a str>,
) -> Vec<String> {
    let email = user.text(UserField::Email);
    let local = email.split('@').next().unwrap_or_default();
    let mut words: Vec<String> = [
        user.text(UserField::Name),
        user.text(UserField::LastName),
        user.text(UserField::SecondName),
        user.text(UserField::WorkPosition),
    ]
    .iter()
    .flat_map(|t| search_words(t))
    .collect();
    words.extend(search_words(local).into_iter().map(|w| format!("{EMAIL_WORD_MARK}{w}")));
    if !email.is_empty() {
        words.push(format!("{ADDRESS_MARK}{}", address_key(email)));
    }
    for field in SEARCHED_PHONES {
        for digits in phone_words(user.text(field)) {
            words.push(format!("{PHONE_MARK}{digits}"));
        }
    }
    for name in department_names {
        words.extend(search_words(name));
    }
    words.sort();
    words.dedup();
    words
}

/// The digit strings a phone is found by: all its digits, and, for a number written
/// internationally (`+` or `00` first), those after its country code (E.164 codes are 1–3
/// digits and no code begins another, so the first digits tell its length). Those shorter
/// than [`PHONE_DIGITS_MIN`] are left out: no search reaches them.
pub fn phone_words(phone: &str) -> Vec<String> {
    let phone = phone.trim();
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    let mut out = Vec::with_capacity(2);
    if digits.len() >= PHONE_DIGITS_MIN {
        out.push(digits.clone());
    }
    let international = if phone.starts_with('+') {
        Some(digits.as_str())
    } else {
        digits.strip_prefix("00").filter(|_| phone.starts_with("00"))
    };
    if let Some(number) = international {
        let national = &number[country_code_len(number).min(number.len())..];
        if national.len() >= PHONE_DIGITS_MIN && national != digits {
            out.push(national.to_string());
        }
    }
    out
}

/// The length of the E.164 country code `number` starts with: 1 for the North American plan
/// (1) and Russia/Kazakhstan (7), 2 for the two-digit codes, else 3.
fn country_code_len(number: &str) -> usize {
    const TWO: [&str; 40] = [
        "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46", "47", "48",
        "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63", "64", "65", "66", "81",
        "82", "84", "86", "90", "91", "92",
    ];
    const TWO_MORE: [&str; 4] = ["93", "94", "95", "98"];
    if number.starts_with(['1', '7']) {
        1
    } else if TWO.iter().chain(TWO_MORE.iter()).any(|c| number.starts_with(c)) {
        2
    } else {
        3
    }
}

/// Whether the words of `name` (a department's) are each prefixed by one of `query`'s words,
/// every query word used: the reference of `UF_DEPARTMENT_NAME`.
pub fn name_matches(query: &[String], name: &str) -> bool {
    let words = search_words(name);
    !query.is_empty() && query.iter().all(|q| words.iter().any(|w| w.starts_with(q.as_str())))
}

/// Lower-cases and folds a word: diacritics dropped (`ü` → `u`, `ё` → `е`, but `й` stays),
/// and the letters that do not decompose written out (`ß` → `ss`, `æ` → `ae`, `ø` → `o`,
/// `ł` → `l`, `đ`/`ð` → `d`, `þ` → `th`, `ı` → `i`).
fn fold(word: &str) -> String {
    use unicode_normalization::char::{decompose_canonical, is_combining_mark};
    // Most words are ASCII: the same result as below, without a walk through `char`s.
    if word.is_ascii() {
        return word.to_ascii_lowercase();
    }
    let mut out = String::with_capacity(word.len());
    for c in word.chars().flat_map(char::to_lowercase) {
        match c {
            'ß' => out.push_str("ss"),
            'æ' => out.push_str("ae"),
            'œ' => out.push_str("oe"),
            'ø' => out.push('o'),
            'ł' => out.push('l'),
            'đ' | 'ð' => out.push('d'),
            'þ' => out.push_str("th"),
            'ı' => out.push('i'),
            // Russian and Ukrainian keep й apart from и.
            'й' => out.push('й'),
            c if c.is_ascii() => out.push(c),
            c => decompose_canonical(c, |d| {
                if !is_combining_mark(d) {
                    out.push(d);
                }
            }),
        }
    }
    out
}

/// One sort key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SortKey {
    /// The field.
    pub field: UserField,
    /// Descending?
    pub descending: bool,
}

impl SortKey {
    /// Builds a sort key.
    ///
    /// # Errors
    /// [`CoreError::Validation`] on `sort` when the field cannot be sorted by.
    pub fn new(field: UserField, descending: bool) -> Result<SortKey, CoreError> {
        if field.is_sortable() {
            Ok(SortKey { field, descending })
        } else {
            Err(CoreError::invalid("sort", format!("cannot sort by {}", field.code())))
        }
    }

    /// Reference ordering of two users by this key (empty values first when ascending).
    pub fn compare(&self, a: &User, b: &User, now: DateTime<Utc>) -> Ordering {
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
    fn search_words_fold_and_prefix() {
        assert_eq!(search_words("José Ñúñez-Straße"), vec!["jose", "nunez", "strasse"]);
        assert_eq!(search_words("Müller Ørsted Æbelø Łukasz"), vec!["muller", "orsted", "aebelo", "lukasz"]);
        assert_eq!(search_words("Фёдор Йосиф Ἀθῆναι Nguyễn"), vec!["федор", "йосиф", "αθηναι", "nguyen"]);
        assert_eq!(search_words("Mu\u{308}ller И\u{306}осиф"), vec!["muller", "йосиф"], "decomposed input");
        assert_eq!(search_words("\u{e31} jane"), vec!["jane"], "a lone mark is no word");
        assert!(UserFilter::default().with_find("1 2 3 4 5 6 7 8 9").is_err(), "a phone's words count");
        let words = vec![
            "anna".to_string(),
            "an".to_string(),
            format!("{EMAIL_WORD_MARK}ann"),
            format!("{EMAIL_WORD_MARK}bo"),
        ];
        let (plain, email) = search_prefixes(&words);
        assert_eq!(plain, vec!["a", "an", "ann", "anna"]);
        assert_eq!(email, vec!["b", "bo"]);
    }

    #[test]
    fn typed_text_reads_as_terms() {
        use FindTerm::{Email, Phone, Word};
        let w = |s: &str| Word(s.into());
        assert_eq!(find_terms("Jane Doe"), vec![w("jane"), w("doe")]);
        assert_eq!(
            find_terms("+1 (555) 012-3456"),
            vec![Phone {
                digits: "15550123456".into(),
                words: vec!["1".into(), "555".into(), "012".into(), "3456".into()]
            }]
        );
        assert_eq!(find_terms("555"), vec![w("555")], "too few digits for a phone");
        assert_eq!(find_terms("Jane.Doe@Example.com"), vec![Email(address_key("jane.doe@example.com"))]);
        assert_eq!(
            find_terms("jane 5550 <j@x.y>"),
            vec![
                w("jane"),
                Phone { digits: "5550".into(), words: vec!["5550".into()] },
                Email(address_key("j@x.y"))
            ]
        );
    }

    #[test]
    fn contacts_are_found_only_with_contacts() {
        let mut u = User::new(
            crate::ids::AccountId(uuid::Uuid::nil()),
            crate::ids::UserId(2),
            crate::model::user::Role::Employee,
            chrono::DateTime::default(),
        );
        u.text.insert(UserField::Name, "Jane".into());
        u.text.insert(UserField::Email, "Jane.Doe@Example.com".into());
        u.text.insert(UserField::WorkPhone, "+1 555-012-3456".into());
        let words = user_search_words(&u, ["Sales Europe"]);
        let finds = |text: &str, contacts: bool| {
            let mut f = UserFilter::default().with_find(text).unwrap();
            f.find_contacts = contacts;
            f.find_matches(&words)
        };
        for text in [
            "jane.doe@example.com",
            "JANE.DOE@EX",
            "5550123456",
            "+1 555 012",
            "15550123",
            "doe",
            "jane sales",
        ] {
            assert!(finds(text, true), "{text}");
        }
        for text in ["jane.doe@example.com", "5550123456", "doe"] {
            assert!(!finds(text, false), "{text} without contacts");
        }
        assert!(finds("jane eur", false));
        assert!(!finds("550123456", true), "only the country code is dropped");
        assert_eq!(phone_words("+1 555-012-3456"), vec!["15550123456", "5550123456"]);
        assert_eq!(phone_words("+44 7700 900123"), vec!["447700900123", "7700900123"]);
        assert_eq!(phone_words("+352 621 123 456"), vec!["352621123456", "621123456"]);
        assert_eq!(phone_words("0049 30 1234567"), vec!["0049301234567", "301234567"]);
        assert_eq!(phone_words("030 1234567"), vec!["0301234567"], "a national number has no country code");
        assert_eq!(phone_words("12"), Vec::<String>::new());
        assert!(!finds("example", true), "the domain is no word of its own");
        assert!(
            name_matches(&search_words("sal eu"), "Sales Europe")
                && !name_matches(&search_words("asia"), "Sales Europe")
        );
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
