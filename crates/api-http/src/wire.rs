//! Users and departments as JSON, with the value shapes clients depend on (spec §6.8): `ID` a
//! string, `ACTIVE` a JSON boolean, `IS_ONLINE` `"Y"`/`"N"`, `UF_DEPARTMENT` an int array, dates
//! ISO-8601 with an offset or `""`, never `null`; departments with `ID`, `PARENT` and `UF_HEAD`
//! as strings and `SORT` a number, `PARENT`/`UF_HEAD` left out when empty.

use chrono::{NaiveTime, SecondsFormat};
use profile_core::access::UserView;
use profile_core::field::{FieldKind, UserField};
use profile_core::model::department::Department;
use profile_core::Value as CoreValue;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

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
pub fn users_raw<'a>(views: impl IntoIterator<Item = &'a UserView>) -> Box<RawValue> {
    let mut out = Vec::with_capacity(16 * 1024);
    out.push(b'[');
    for (i, view) in views.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_user(&mut out, view);
    }
    out.push(b']');
    raw(out)
}

/// One user, written straight to JSON.
pub fn user_raw(view: &UserView) -> Box<RawValue> {
    let mut out = Vec::with_capacity(2048);
    write_user(&mut out, view);
    raw(out)
}

fn raw(out: Vec<u8>) -> Box<RawValue> {
    // The bytes are JSON this module wrote; were they not, the reply would carry null.
    String::from_utf8(out)
        .ok()
        .and_then(|s| RawValue::from_string(s).ok())
        .unwrap_or_else(|| RawValue::from_string("null".into()).unwrap_or_default())
}

fn write_user(out: &mut Vec<u8>, view: &UserView) {
    out.push(b'{');
    for (i, (field, v)) in view.fields.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        // Field codes are ASCII capitals, digits and underscores: no escaping needed.
        out.push(b'"');
        out.extend_from_slice(field.code().as_bytes());
        out.extend_from_slice(b"\":");
        if serde_json::to_writer(&mut *out, &value(*field, v)).is_err() {
            out.extend_from_slice(b"null");
        }
    }
    out.push(b'}');
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
