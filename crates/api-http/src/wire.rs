//! Users and departments as JSON, with the value shapes clients depend on (spec §6.8): `ID` a
//! string, `ACTIVE` a JSON boolean, `IS_ONLINE` `"Y"`/`"N"`, `UF_DEPARTMENT` an int array, dates
//! ISO-8601 with an offset or `""`, never `null`; departments with `ID`, `PARENT` and `UF_HEAD`
//! as strings and `SORT` a number, `PARENT`/`UF_HEAD` left out when empty.

use chrono::{NaiveTime, SecondsFormat};
use profile_core::access::UserView;
use profile_core::field::{FieldKind, UserField};
use profile_core::model::department::Department;
use profile_core::Value as CoreValue;
use serde_json::{Map, Value};

use crate::reply::RawJson;

fn value(field: UserField, v: &CoreValue) -> Value {
    match (field.kind(), v) {
        (FieldKind::Id, CoreValue::Int(i)) => Value::String(i.to_string()),
        (FieldKind::Active, v) => Value::Bool(v.truthy()),
        (FieldKind::Online, v) => Value::String(if v.truthy() { "Y" } else { "N" }.into()),
        (FieldKind::Departments, CoreValue::IntList(ids)) => ids.iter().map(|&i| Value::from(i)).collect(),
        (FieldKind::Departments, _) => Value::Array(Vec::new()),
        // TIME_ZONE_OFFSET: clients type it as a number or null, never "".
        (FieldKind::Derived, CoreValue::Null) => Value::Null,
        (_, CoreValue::Null) => Value::String(String::new()),
        (_, CoreValue::Bool(b)) => Value::Bool(*b),
        (_, CoreValue::Int(i)) => Value::String(i.to_string()),
        (_, CoreValue::Text(s)) => Value::String(s.clone()),
        (_, CoreValue::Date(d)) => {
            Value::String(d.and_time(NaiveTime::MIN).and_utc().to_rfc3339_opts(SecondsFormat::Secs, false))
        }
        (_, CoreValue::DateTime(t)) => Value::String(t.to_rfc3339_opts(SecondsFormat::Secs, false)),
        (_, CoreValue::IntList(v)) => v.iter().map(|&i| Value::from(i)).collect(),
        (_, CoreValue::TextList(v)) => v.iter().map(|s| Value::String(s.clone())).collect(),
    }
}

/// Users as `user.get` returns them, written straight to JSON: no map of 64 keys per user is
/// built (that was most of the cost of a page of 50 full users).
pub fn users_raw(views: &[UserView]) -> RawJson {
    // A full user is ~1.5 KB of JSON; the rest is room for the envelope around the list.
    let mut out = Vec::with_capacity(views.len() * 1_600 + ENVELOPE_ROOM);
    out.push(b'[');
    for (i, view) in views.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_user(&mut out, view);
    }
    out.push(b']');
    raw(out)
}

/// One user, written straight to JSON.
pub fn user_raw(view: &UserView) -> RawJson {
    let mut out = Vec::with_capacity(1_600 + ENVELOPE_ROOM);
    write_user(&mut out, view);
    raw(out)
}

/// Spare capacity for what `reply::success_body` writes around a result (`{"result":`, `total`,
/// `next`, `time`), so the result's buffer becomes the body without growing.
const ENVELOPE_ROOM: usize = 512;

fn raw(out: Vec<u8>) -> RawJson {
    // Every byte came from `write_user`: ASCII punctuation and serde_json's output, so UTF-8.
    RawJson::trusted(out)
}

/// One user as a JSON object, each value as [`value`] shapes it, written without building it.
fn write_user(out: &mut Vec<u8>, view: &UserView) {
    use std::io::Write as _;
    out.push(b'{');
    for (i, (field, v)) in view.fields.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        // Field codes are ASCII capitals, digits and underscores: no escaping needed.
        out.push(b'"');
        out.extend_from_slice(field.code().as_bytes());
        out.extend_from_slice(b"\":");
        // The common shapes directly (a string is escaped in place, not cloned first); the rest
        // through `value`. Writing to a Vec cannot fail.
        let _ = match (field.kind(), v) {
            (FieldKind::Id | FieldKind::Derived | FieldKind::Departments, _) => {
                serde_json::to_writer(&mut *out, &value(*field, v))
            }
            (FieldKind::Active, v) => serde_json::to_writer(&mut *out, &v.truthy()),
            (FieldKind::Online, v) => serde_json::to_writer(&mut *out, if v.truthy() { "Y" } else { "N" }),
            (_, CoreValue::Null) => {
                out.extend_from_slice(b"\"\"");
                Ok(())
            }
            (_, CoreValue::Text(s)) => serde_json::to_writer(&mut *out, s.as_str()),
            (_, CoreValue::DateTime(t)) => {
                write!(out, "\"{}\"", t.to_rfc3339_opts(SecondsFormat::Secs, false))
                    .map_err(serde_json::Error::io)
            }
            _ => serde_json::to_writer(&mut *out, &value(*field, v)),
        };
    }
    for (name, v) in &view.custom {
        out.push(b',');
        // Custom names are `UF_USR_` and capitals, digits and underscores.
        let _ = serde_json::to_writer(&mut *out, name.as_str());
        out.push(b':');
        let _ = serde_json::to_writer(&mut *out, &custom_value(v));
    }
    out.push(b'}');
}

/// A custom field's value: numbers and IDs as JSON numbers, text and dates as strings (dates
/// ISO-8601), a multiple field's values as an array; `""` when a single field has none.
pub fn custom_value(v: &CoreValue) -> Value {
    match v {
        CoreValue::Null => Value::String(String::new()),
        CoreValue::Int(i) => Value::from(*i),
        CoreValue::Bool(b) => Value::from(i64::from(*b)),
        CoreValue::Text(t) => Value::String(t.clone()),
        CoreValue::Date(d) => Value::String(d.format("%Y-%m-%d").to_string()),
        CoreValue::DateTime(t) => Value::String(t.to_rfc3339_opts(SecondsFormat::Secs, false)),
        CoreValue::IntList(l) => l.iter().map(|&i| Value::from(i)).collect(),
        CoreValue::TextList(l) => l.iter().map(|t| Value::String(t.clone())).collect(),
    }
}

/// A background as `cardfile.user.background.*` answer it (docs/rest-vendor.md).
pub fn background(b: Option<profile_core::usecase::images::BackgroundView>) -> Value {
    use profile_core::usecase::images::BackgroundView;
    match b {
        None => serde_json::json!({ "TYPE": "none" }),
        Some(BackgroundView::Builtin(b)) => {
            serde_json::json!({ "TYPE": "builtin", "NAME": b.name, "COLORS": b.colours })
        }
        Some(BackgroundView::Image { url }) => serde_json::json!({ "TYPE": "image", "URL": url }),
    }
}

/// A department as `department.get` returns it.
pub fn department(d: &Department) -> Value {
    let mut out = Map::new();
    out.insert("ID".into(), Value::String(d.id.to_string()));
    out.insert("NAME".into(), Value::String(d.name.clone()));
    out.insert("SORT".into(), Value::from(d.sort));
    if let Some(p) = d.parent {
        out.insert("PARENT".into(), Value::String(p.to_string()));
    }
    if let Some(h) = d.head {
        out.insert("UF_HEAD".into(), Value::String(h.to_string()));
    }
    Value::Object(out)
}

/// A user's place in the structure as `cardfile.user.structure` returns it: `ROLE`, the IDs of
/// `SUPERVISORS` and `SUBORDINATES`, and for each department the `PATH` from the root.
pub fn structure(s: &profile_core::usecase::users::Structure) -> Value {
    let ids = |l: &[profile_core::ids::UserId]| {
        l.iter().map(|u| Value::String(u.0.to_string())).collect::<Vec<_>>()
    };
    let departments: Vec<Value> = s
        .paths
        .iter()
        .filter_map(|path| {
            let last = path.last()?;
            let steps: Vec<Value> = path
                .iter()
                .map(|d| serde_json::json!({ "ID": d.id.0.to_string(), "NAME": d.name }))
                .collect();
            Some(serde_json::json!({ "ID": last.id.0.to_string(), "NAME": last.name, "PATH": steps }))
        })
        .collect();
    serde_json::json!({
        "ID": s.id.0.to_string(),
        "ROLE": s.role.code(),
        "SUPERVISORS": ids(&s.supervisors),
        "SUBORDINATES": ids(&s.subordinates),
        "DEPARTMENTS": departments,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, TimeZone, Utc};
    use profile_core::ids::UserId;

    /// The direct writer gives exactly what building each value with [`value`] gives, for every
    /// field and every shape a value can take, escaping included.
    #[test]
    fn written_users_equal_the_value_shapes() {
        let samples = [
            CoreValue::Null,
            CoreValue::Text("plain".into()),
            CoreValue::Text("quote \" backslash \\ tab \t newline \n bell \u{7} ü 😀".into()),
            CoreValue::Text(String::new()),
            CoreValue::Bool(true),
            CoreValue::Bool(false),
            CoreValue::Int(42),
            CoreValue::Date(NaiveDate::from_ymd_opt(1990, 2, 28).unwrap_or_default()),
            CoreValue::DateTime(Utc.with_ymd_and_hms(2026, 11, 23, 4, 5, 6).single().unwrap_or_default()),
            CoreValue::IntList(vec![1, 7]),
            CoreValue::TextList(vec!["a".into(), "\"b\"".into()]),
        ];
        for sample in &samples {
            let view = UserView {
                id: UserId(1),
                fields: UserField::ALL.iter().map(|&f| (f, sample.clone())).collect(),
                custom: Vec::new(),
            };
            let written: Value =
                serde_json::from_slice(users_raw(std::slice::from_ref(&view)).as_bytes()).unwrap_or_default();
            let built: Map<String, Value> =
                view.fields.iter().map(|(f, v)| (f.code().to_string(), value(*f, v))).collect();
            assert_eq!(written, Value::Array(vec![Value::Object(built)]), "{sample:?}");
        }
    }
}
