//! Field values, and how raw input becomes a valid value of a field.

use chrono::{DateTime, NaiveDate, Utc};

use crate::error::CoreError;
use crate::field::{FieldKind, UserField};
use crate::validate;

/// A value of a user field, as read or as given for a write or a filter.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Value {
    /// Absent or empty.
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A string.
    Text(String),
    /// A calendar date.
    Date(NaiveDate),
    /// A point in time.
    DateTime(DateTime<Utc>),
    /// A list of integers (`UF_DEPARTMENT`, IN filters on IDs).
    IntList(Vec<i64>),
    /// A list of strings (IN filters on text fields).
    TextList(Vec<String>),
}

impl Value {
    /// Shorthand for [`Value::Text`].
    pub fn text(s: impl Into<String>) -> Value {
        Value::Text(s.into())
    }

    /// Reads a value leniently as a boolean, the way PHP does (spec §6.5): `N`, `0`, `""`,
    /// `false` and null are false; so is `False` (Python clients send it). Everything else is true.
    pub fn truthy(&self) -> bool {
        match self {
            Value::Null => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Text(s) => {
                let s = s.trim();
                !(s.is_empty()
                    || s == "0"
                    || s.eq_ignore_ascii_case("n")
                    || s.eq_ignore_ascii_case("false")
                    || s.eq_ignore_ascii_case("none"))
            }
            Value::IntList(v) => !v.is_empty(),
            Value::TextList(v) => !v.is_empty(),
            Value::Date(_) | Value::DateTime(_) => true,
        }
    }

    /// Reads the value as an integer, accepting numeric strings.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Text(s) => s.trim().parse().ok(),
            Value::Bool(b) => Some(i64::from(*b)),
            _ => None,
        }
    }
}

/// Turns raw input for `field` into a valid value: trims text, checks format and length,
/// parses dates and booleans leniently. Empty input clears a text or date field.
///
/// # Errors
/// [`CoreError::Validation`] naming the field when the value is of the wrong type, too long or
/// malformed, or when the field is read-only.
pub fn parse_input(field: UserField, raw: &Value) -> Result<Value, CoreError> {
    let bad = |reason: &str| CoreError::invalid(field.code(), reason);
    if !field.is_writable() {
        return Err(bad("the field is read-only"));
    }
    match field.kind() {
        kind if kind.is_text() => {
            let text = match raw {
                Value::Null => String::new(),
                Value::Text(s) => s.trim().to_string(),
                Value::Int(i) => i.to_string(),
                // Interests may come as a list of tags.
                Value::TextList(tags) if field == UserField::UfInterests => tags.join(" "),
                _ => return Err(bad("expected a string")),
            };
            if text.chars().count() > field.max_len() {
                return Err(bad(&format!("longer than {} characters", field.max_len())));
            }
            if text.chars().any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t') {
                return Err(bad("contains control characters"));
            }
            if !text.is_empty() {
                let check = match kind {
                    FieldKind::Email => validate::email(&text),
                    FieldKind::Phone => validate::phone(&text),
                    FieldKind::Extension => validate::extension(&text),
                    FieldKind::Gender => validate::gender(&text),
                    FieldKind::TimeZone => validate::time_zone(&text),
                    // A stored image is linked only by the upload that made it: a reference
                    // written as text would point a card at another's image.
                    FieldKind::File if text.parse::<crate::model::image::ImageRef>().is_ok() => {
                        Err("a stored image cannot be linked by its reference; upload the file")
                    }
                    _ => Ok(()),
                };
                check.map_err(bad)?;
            }
            let text = match field {
                UserField::Email => text.to_lowercase(),
                UserField::UfInterests => {
                    crate::model::interest::interests_text(&crate::model::interest::parse_interests(&text)?)
                }
                _ => text,
            };
            Ok(if text.is_empty() { Value::Null } else { Value::Text(text) })
        }
        FieldKind::Active => match raw {
            Value::Bool(_) | Value::Int(0 | 1) => Ok(Value::Bool(raw.truthy())),
            Value::Text(s) if validate::is_boolean_word(s) => Ok(Value::Bool(raw.truthy())),
            _ => Err(bad("expected Y/N or a boolean")),
        },
        FieldKind::Date => match raw {
            Value::Null => Ok(Value::Null),
            Value::Date(d) => Ok(Value::Date(*d)),
            Value::DateTime(t) => Ok(Value::Date(t.date_naive())),
            Value::Text(s) if s.trim().is_empty() => Ok(Value::Null),
            Value::Text(s) => validate::date(s).map(Value::Date).ok_or_else(|| bad("not a date")),
            _ => Err(bad("expected a date")),
        },
        FieldKind::Departments => {
            let ids = match raw {
                Value::Null => Vec::new(),
                Value::Text(s) if s.trim().is_empty() => Vec::new(),
                Value::IntList(v) => v.clone(),
                Value::TextList(v) => v
                    .iter()
                    .map(|s| s.trim().parse::<i64>())
                    .collect::<Result<_, _>>()
                    .map_err(|_| bad("expected department IDs"))?,
                other => vec![other.as_int().ok_or_else(|| bad("expected department IDs"))?],
            };
            if ids.iter().any(|&i| i <= 0 || i > i64::from(u32::MAX)) {
                return Err(bad("department IDs are positive integers"));
            }
            let mut ids = ids;
            ids.sort_unstable();
            ids.dedup();
            Ok(Value::IntList(ids))
        }
        _ => Err(bad("the field is read-only")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(field: UserField, raw: &str, expected: Result<Value, ()>) {
        let got = parse_input(field, &Value::text(raw)).map_err(|_| ());
        assert_eq!(got, expected, "{field:?} <- {raw:?}");
    }

    #[test]
    fn text_fields() {
        check(UserField::Name, "  Ann ", Ok(Value::text("Ann")));
        check(UserField::Name, "", Ok(Value::Null));
        check(UserField::Name, &"x".repeat(25), Ok(Value::text("x".repeat(25))));
        check(UserField::Name, &"x".repeat(26), Err(()));
        check(UserField::LastName, &"é".repeat(50), Ok(Value::text("é".repeat(50))));
        check(UserField::LastName, &"é".repeat(51), Err(()));
        check(UserField::WorkNotes, &"n".repeat(256), Err(()));
        check(UserField::Name, "a\u{0}b", Err(()));
    }

    #[test]
    fn formatted_fields() {
        check(UserField::Email, "Ann@Example.COM", Ok(Value::text("ann@example.com")));
        check(UserField::Email, "not-an-email", Err(()));
        check(UserField::WorkPhone, "+49 (30) 123-45-67", Ok(Value::text("+49 (30) 123-45-67")));
        check(UserField::WorkPhone, "call me", Err(()));
        check(UserField::UfPhoneInner, "1234", Ok(Value::text("1234")));
        check(UserField::UfPhoneInner, "12a", Err(()));
        check(UserField::PersonalGender, "F", Ok(Value::text("F")));
        check(UserField::PersonalGender, "X", Err(()));
        check(UserField::TimeZone, "Europe/Berlin", Ok(Value::text("Europe/Berlin")));
        check(UserField::TimeZone, "Berlin time", Err(()));
    }

    #[test]
    fn dates_booleans_departments() {
        let d = NaiveDate::from_ymd_opt(1990, 5, 17).map(Value::Date).ok_or(());
        check(UserField::PersonalBirthday, "1990-05-17", d.clone());
        check(UserField::PersonalBirthday, "1990-05-17T00:00:00+03:00", d.clone());
        check(UserField::PersonalBirthday, "17.05.1990", d);
        check(UserField::PersonalBirthday, "yesterday", Err(()));
        check(UserField::Active, "N", Ok(Value::Bool(false)));
        check(UserField::Active, "True", Ok(Value::Bool(true)));
        check(UserField::Active, "maybe", Err(()));
        check(UserField::UfDepartment, "3", Ok(Value::IntList(vec![3])));
        check(UserField::UfDepartment, "-3", Err(()));
        check(UserField::Id, "3", Err(()));
        check(UserField::DateRegister, "2020-01-01", Err(()));
    }
}
