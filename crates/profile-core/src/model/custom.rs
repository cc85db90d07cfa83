//! Custom user fields (`UF_USR_*`, spec §4.1): what an account's administrators define to
//! describe their people beyond the standard fields, and the typed values users hold.
//!
//! A field's type and `MULTIPLE` are fixed when it is created. Its presentation settings and
//! labels are kept as the JSON objects the adapter normalised (the core never reads them); its
//! values are typed here and validated by [`CustomField::parse`].

use chrono::{DateTime, NaiveDate, Utc};

use crate::error::CoreError;
use crate::ids::{AccountId, UserId};
use crate::value::Value;

/// The most custom fields an account may define (Bitrix24's hard cap).
pub const CUSTOM_FIELDS_MAX: usize = 1016;

/// The longest text a string or url value may hold, in characters.
pub const CUSTOM_TEXT_MAX: usize = 2000;

/// The most values a `MULTIPLE` field may hold for one user.
pub const CUSTOM_VALUES_MAX: usize = 100;

/// The prefix every custom field's name has.
pub const PREFIX: &str = "UF_USR_";

/// A custom field's type (`USER_TYPE_ID`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CustomKind {
    /// Text.
    String,
    /// A whole number.
    Integer,
    /// A number with a fraction.
    Double,
    /// Yes or no.
    Boolean,
    /// A calendar day.
    Date,
    /// A moment.
    DateTime,
    /// One of the field's options, by option ID.
    Enumeration,
    /// An `http` or `https` address.
    Url,
    /// A user of the same account ("user binding"), by user ID.
    Employee,
}

impl CustomKind {
    /// Every type Cardfile takes.
    pub const ALL: [CustomKind; 9] = [
        CustomKind::String,
        CustomKind::Integer,
        CustomKind::Double,
        CustomKind::Boolean,
        CustomKind::Date,
        CustomKind::DateTime,
        CustomKind::Enumeration,
        CustomKind::Url,
        CustomKind::Employee,
    ];

    /// The `USER_TYPE_ID`.
    pub fn code(self) -> &'static str {
        match self {
            CustomKind::String => "string",
            CustomKind::Integer => "integer",
            CustomKind::Double => "double",
            CustomKind::Boolean => "boolean",
            CustomKind::Date => "date",
            CustomKind::DateTime => "datetime",
            CustomKind::Enumeration => "enumeration",
            CustomKind::Url => "url",
            CustomKind::Employee => "employee",
        }
    }

    /// Parses [`CustomKind::code`] (any case).
    pub fn from_code(code: &str) -> Option<CustomKind> {
        CustomKind::ALL.into_iter().find(|k| k.code().eq_ignore_ascii_case(code))
    }
}

/// An option of an enumeration field (`uf_enum_element`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnumOption {
    /// Its ID, unique in the account's fields.
    pub id: u32,
    /// What it says.
    pub value: String,
    /// Whether it is the default.
    pub default: bool,
    /// Its place in the list.
    pub sort: i64,
    /// An external ID.
    pub xml_id: String,
}

/// A custom field's definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomField {
    /// The account.
    pub account: AccountId,
    /// Its ID, never reused in the account.
    pub id: u32,
    /// `UF_USR_…`, upper case.
    pub name: String,
    /// Its type, fixed at creation.
    pub kind: CustomKind,
    /// Whether a user holds a list of values; fixed at creation.
    pub multiple: bool,
    /// Whether every user must hold a value.
    pub mandatory: bool,
    /// `SHOW_FILTER`: `N`, `I`, `E` or `S`.
    pub show_filter: String,
    /// `SHOW_IN_LIST`.
    pub show_in_list: bool,
    /// `EDIT_IN_LIST`.
    pub edit_in_list: bool,
    /// `IS_SEARCHABLE`: its text takes part in quick search.
    pub searchable: bool,
    /// `SORT`.
    pub sort: i64,
    /// `XML_ID` (empty when unset).
    pub xml_id: String,
    /// `SETTINGS`, a JSON object as the adapter normalised it.
    pub settings: String,
    /// The labels (`EDIT_FORM_LABEL` …), a JSON object of per-language objects.
    pub labels: String,
    /// An enumeration's options, in their order.
    pub options: Vec<EnumOption>,
}

/// One stored value of a custom field.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CustomScalar {
    /// Integer, boolean (0/1), enumeration (option ID) and employee (user ID) values.
    Int(i64),
    /// Double values.
    Real(f64),
}

/// One stored value of a custom field, text-valued types included.
#[derive(Debug, Clone, PartialEq)]
pub enum CustomValue {
    /// A number (see [`CustomScalar`]).
    Number(CustomScalar),
    /// String and url values; dates as `YYYY-MM-DD`, moments as RFC 3339 in UTC.
    Text(String),
}

/// A user's values of one field (one for a single field; in order for a multiple one).
#[derive(Debug, Clone, PartialEq)]
pub struct CustomValues {
    /// The user.
    pub user: UserId,
    /// The field.
    pub field: u32,
    /// The values.
    pub values: Vec<CustomValue>,
}

/// What a filter asks of a user's values of one field: that one of them …
#[derive(Debug, Clone, PartialEq)]
pub enum CustomTest {
    /// … exists at all.
    Any,
    /// … equals one of these.
    AnyOf(Vec<CustomValue>),
    /// … compares so with this value: numbers by value, text (and dates, as `YYYY-MM-DD` or
    /// RFC 3339 in UTC) by its bytes.
    Compare(std::cmp::Ordering, bool, CustomValue),
    /// … contains this text, ASCII letters in any case.
    Contains(String),
}

impl CustomTest {
    /// Whether `values` (one user's values of the field) pass: the reference semantics.
    pub fn passes(&self, values: &[CustomValue]) -> bool {
        values.iter().any(|v| match self {
            CustomTest::Any => true,
            CustomTest::AnyOf(wanted) => wanted.iter().any(|w| same(w, v)),
            CustomTest::Compare(ord, or_equal, bound) => {
                compare(v, bound).is_some_and(|o| o == *ord || (*or_equal && o.is_eq()))
            }
            CustomTest::Contains(part) => match v {
                CustomValue::Text(t) => t.to_ascii_lowercase().contains(&part.to_ascii_lowercase()),
                CustomValue::Number(_) => false,
            },
        })
    }
}

fn same(a: &CustomValue, b: &CustomValue) -> bool {
    compare(a, b).is_some_and(std::cmp::Ordering::is_eq)
}

fn compare(a: &CustomValue, b: &CustomValue) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (CustomValue::Number(CustomScalar::Int(x)), CustomValue::Number(CustomScalar::Int(y))) => {
            Some(x.cmp(y))
        }
        (CustomValue::Number(CustomScalar::Real(x)), CustomValue::Number(CustomScalar::Real(y))) => {
            x.partial_cmp(y)
        }
        (CustomValue::Text(x), CustomValue::Text(y)) => Some(x.as_bytes().cmp(y.as_bytes())),
        _ => None,
    }
}

impl CustomField {
    /// The name a `FIELD_NAME` stands for: upper case, with `UF_USR_` in front (`DEALS` and
    /// `UF_DEALS` both become `UF_USR_DEALS`).
    ///
    /// # Errors
    /// [`CoreError::Validation`] on `FIELD_NAME` unless the rest is 1–50 of `A–Z`, `0–9`, `_`.
    pub fn name_for(field_name: &str) -> Result<String, CoreError> {
        let upper = field_name.trim().to_ascii_uppercase();
        let rest = upper.strip_prefix(PREFIX).or_else(|| upper.strip_prefix("UF_")).unwrap_or(&upper);
        let ok = !rest.is_empty()
            && rest.len() <= 50
            && rest.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
        if !ok {
            return Err(CoreError::invalid("FIELD_NAME", "use 1 to 50 letters, digits or underscores"));
        }
        Ok(format!("{PREFIX}{rest}"))
    }

    /// Validates a value written to the field (`user.add`, `user.update`): text, numbers,
    /// booleans, dates and option or user IDs as the type takes them; a list for a multiple
    /// field; `""`, `null` or `[]` for none. `exists` says whether a user ID is one of the
    /// account's users.
    ///
    /// # Errors
    /// [`CoreError::Validation`] naming the field.
    pub fn parse(&self, raw: &Value, exists: &dyn Fn(UserId) -> bool) -> Result<Vec<CustomValue>, CoreError> {
        let bad = |why: &str| CoreError::invalid(&self.name, why);
        let items: Vec<Value> = match raw {
            Value::Null => Vec::new(),
            Value::Text(s) if s.trim().is_empty() => Vec::new(),
            Value::IntList(l) => l.iter().map(|&i| Value::Int(i)).collect(),
            Value::TextList(l) => {
                l.iter().filter(|t| !t.trim().is_empty()).map(|t| Value::Text(t.clone())).collect()
            }
            v => vec![v.clone()],
        };
        if !self.multiple && items.len() > 1 {
            return Err(bad("takes one value (the field is not multiple)"));
        }
        if items.len() > CUSTOM_VALUES_MAX {
            return Err(bad(&format!("more than {CUSTOM_VALUES_MAX} values")));
        }
        let values = items.iter().map(|v| self.parse_one(v, exists)).collect::<Result<Vec<_>, _>>()?;
        if self.mandatory && values.is_empty() {
            return Err(bad("is required"));
        }
        Ok(values)
    }

    fn parse_one(&self, v: &Value, exists: &dyn Fn(UserId) -> bool) -> Result<CustomValue, CoreError> {
        let bad = |why: &str| CoreError::invalid(&self.name, why);
        let text = match v {
            Value::Text(s) => s.trim().to_string(),
            Value::Int(i) => i.to_string(),
            Value::Bool(b) => if *b { "1" } else { "0" }.to_string(),
            _ => return Err(bad("expected a value")),
        };
        let int = || text.parse::<i64>().map_err(|_| bad("expected a whole number"));
        Ok(match self.kind {
            CustomKind::String | CustomKind::Url => {
                if text.chars().count() > CUSTOM_TEXT_MAX {
                    return Err(bad(&format!("longer than {CUSTOM_TEXT_MAX} characters")));
                }
                if text.chars().any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t') {
                    return Err(bad("contains control characters"));
                }
                if self.kind == CustomKind::Url && !is_web_address(&text) {
                    return Err(bad("expected an http or https address"));
                }
                CustomValue::Text(text)
            }
            CustomKind::Integer => CustomValue::Number(CustomScalar::Int(int()?)),
            CustomKind::Double => {
                let d = text
                    .replace(',', ".")
                    .parse::<f64>()
                    .ok()
                    .filter(|d| d.is_finite())
                    .ok_or_else(|| bad("expected a number"))?;
                CustomValue::Number(CustomScalar::Real(d))
            }
            CustomKind::Boolean => {
                let b = match text.to_ascii_lowercase().as_str() {
                    "1" | "y" | "true" => 1,
                    "0" | "n" | "false" => 0,
                    _ => return Err(bad("expected Y/N, 1/0 or true/false")),
                };
                CustomValue::Number(CustomScalar::Int(b))
            }
            CustomKind::Date => {
                let day = text.get(..10).and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
                let day = day.or_else(|| NaiveDate::parse_from_str(&text, "%d.%m.%Y").ok());
                CustomValue::Text(
                    day.ok_or_else(|| bad("expected a date (YYYY-MM-DD)"))?.format("%Y-%m-%d").to_string(),
                )
            }
            CustomKind::DateTime => {
                let t =
                    DateTime::parse_from_rfc3339(&text).map_err(|_| bad("expected a moment (RFC 3339)"))?;
                CustomValue::Text(t.with_timezone(&Utc).format("%Y-%m-%dT%H:%M:%SZ").to_string())
            }
            CustomKind::Enumeration => {
                let id = int()?;
                if !self.options.iter().any(|o| i64::from(o.id) == id) {
                    return Err(bad("not one of the field's options"));
                }
                CustomValue::Number(CustomScalar::Int(id))
            }
            CustomKind::Employee => {
                let id = u32::try_from(int()?).map_err(|_| bad("expected a user ID"))?;
                if !exists(UserId(id)) {
                    return Err(bad("no user of the account has this ID"));
                }
                CustomValue::Number(CustomScalar::Int(i64::from(id)))
            }
        })
    }

    /// The values as readers get them: a list for a multiple field, else the one value (or
    /// `Null`), numbers and IDs as numbers, dates as [`Value::Date`]/[`Value::DateTime`].
    pub fn read(&self, values: &[CustomValue]) -> Value {
        // An enumeration's value whose option was deleted is no value any more.
        let live: Vec<&CustomValue> = values
            .iter()
            .filter(|v| {
                self.kind != CustomKind::Enumeration
                    || matches!(v, CustomValue::Number(CustomScalar::Int(id)) if self.options.iter().any(|o| i64::from(o.id) == *id))
            })
            .collect();
        let values = live;
        let one = |v: &CustomValue| -> Value {
            match (self.kind, v) {
                (CustomKind::Date, CustomValue::Text(t)) => {
                    NaiveDate::parse_from_str(t, "%Y-%m-%d").map_or(Value::Null, Value::Date)
                }
                (CustomKind::DateTime, CustomValue::Text(t)) => DateTime::parse_from_rfc3339(t)
                    .map_or(Value::Null, |d| Value::DateTime(d.with_timezone(&Utc))),
                (_, CustomValue::Text(t)) => Value::Text(t.clone()),
                (_, CustomValue::Number(CustomScalar::Int(i))) => Value::Int(*i),
                (_, CustomValue::Number(CustomScalar::Real(r))) => Value::Text(format_real(*r)),
            }
        };
        if self.multiple {
            let all: Vec<Value> = values.iter().map(|v| one(v)).collect();
            if all.iter().all(|v| matches!(v, Value::Int(_))) {
                Value::IntList(
                    all.iter().filter_map(|v| if let Value::Int(i) = v { Some(*i) } else { None }).collect(),
                )
            } else {
                Value::TextList(all.iter().map(text_of).collect())
            }
        } else {
            values.first().map_or(Value::Null, |v| one(v))
        }
    }
}

fn text_of(v: &Value) -> String {
    match v {
        Value::Text(t) => t.clone(),
        Value::Int(i) => i.to_string(),
        Value::Date(d) => d.format("%Y-%m-%d").to_string(),
        Value::DateTime(t) => t.to_rfc3339(),
        _ => String::new(),
    }
}

/// A double as text: no exponent, no trailing zeros (`2.5`, `3`).
fn format_real(r: f64) -> String {
    let s = format!("{r}");
    s.strip_suffix(".0").map_or(s.clone(), str::to_string)
}

fn is_web_address(text: &str) -> bool {
    let rest = text.strip_prefix("https://").or_else(|| text.strip_prefix("http://"));
    rest.is_some_and(|r| !r.is_empty() && !r.starts_with('/') && !r.chars().any(char::is_whitespace))
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn field(kind: CustomKind, multiple: bool) -> CustomField {
        CustomField {
            account: AccountId(Uuid::nil()),
            id: 1,
            name: "UF_USR_X".into(),
            kind,
            multiple,
            mandatory: false,
            show_filter: "N".into(),
            show_in_list: true,
            edit_in_list: true,
            searchable: false,
            sort: 100,
            xml_id: String::new(),
            settings: "{}".into(),
            labels: "{}".into(),
            options: vec![EnumOption {
                id: 7,
                value: "Red".into(),
                default: false,
                sort: 10,
                xml_id: String::new(),
            }],
        }
    }

    #[test]
    fn names_get_the_prefix() {
        for (given, want) in
            [("deals", "UF_USR_DEALS"), ("UF_DEALS", "UF_USR_DEALS"), ("UF_USR_X", "UF_USR_X")]
        {
            assert_eq!(CustomField::name_for(given).unwrap(), want);
        }
        for bad in ["", "UF_USR_", "a-b", "ü", &"X".repeat(51)] {
            assert!(CustomField::name_for(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn values_are_typed_and_checked() {
        let any = |_| true;
        let none = |_| false;
        let ok = |f: &CustomField, v: Value| f.parse(&v, &any).unwrap();
        assert_eq!(
            ok(&field(CustomKind::Integer, false), Value::text(" 42 ")),
            vec![CustomValue::Number(CustomScalar::Int(42))]
        );
        assert_eq!(
            ok(&field(CustomKind::Double, false), Value::text("2,5")),
            vec![CustomValue::Number(CustomScalar::Real(2.5))]
        );
        assert_eq!(
            ok(&field(CustomKind::Boolean, false), Value::text("Y")),
            vec![CustomValue::Number(CustomScalar::Int(1))]
        );
        assert_eq!(
            ok(&field(CustomKind::Date, false), Value::text("05.01.2024")),
            vec![CustomValue::Text("2024-01-05".into())]
        );
        assert_eq!(
            ok(&field(CustomKind::DateTime, false), Value::text("2024-01-05T10:00:00+02:00")),
            vec![CustomValue::Text("2024-01-05T08:00:00Z".into())]
        );
        assert_eq!(ok(&field(CustomKind::Enumeration, true), Value::IntList(vec![7])).len(), 1);
        assert!(ok(&field(CustomKind::String, false), Value::text("")).is_empty());
        for (f, v) in [
            (field(CustomKind::Integer, false), Value::text("4.5")),
            (field(CustomKind::Integer, false), Value::IntList(vec![1, 2])),
            (field(CustomKind::Url, false), Value::text("javascript:alert(1)")),
            (field(CustomKind::Enumeration, false), Value::Int(8)),
            (field(CustomKind::Boolean, false), Value::text("maybe")),
            (field(CustomKind::Date, false), Value::text("2024-13-01")),
            (field(CustomKind::String, false), Value::text("a\u{0}b")),
        ] {
            assert!(f.parse(&v, &any).is_err(), "{f:?} {v:?}");
        }
        assert!(field(CustomKind::Employee, false).parse(&Value::Int(3), &none).is_err());
        let mut required = field(CustomKind::String, false);
        required.mandatory = true;
        assert!(required.parse(&Value::Null, &any).is_err());
        assert_eq!(
            field(CustomKind::Double, false).read(&[CustomValue::Number(CustomScalar::Real(3.0))]),
            Value::text("3")
        );
        assert_eq!(field(CustomKind::Employee, true).read(&[]), Value::IntList(vec![]));
    }
}
