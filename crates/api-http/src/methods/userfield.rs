//! `user.userfield.*` (spec §4.1): custom fields' definitions. Their errors are the listed
//! exception to decisions.md's error table: HTTP 400 with an empty `error` code and Bitrix24's
//! own descriptions.

use axum::http::StatusCode;
use profile_core::model::custom::{CustomField, CustomKind};
use profile_core::usecase::custom::{self, FieldSpec, OptionSpec};
use profile_core::CoreError;
use serde_json::{json, Map, Value};

use super::Call;
use crate::params::{self, Params};
use crate::reply::{ApiError, Reply};

const LABELS: [&str; 5] =
    ["EDIT_FORM_LABEL", "LIST_COLUMN_LABEL", "LIST_FILTER_LABEL", "ERROR_MESSAGE", "HELP_MESSAGE"];

fn empty(description: &str) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "", description)
}

/// §4.1's errors for what the use cases refuse.
fn refusal(e: CoreError) -> ApiError {
    match e {
        CoreError::Forbidden { .. } | CoreError::NotFound { .. } => empty("Access denied."),
        CoreError::Validation { field, reason }
            if field == "USER_TYPE_ID" && reason.contains("null or empty") =>
        {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "ERROR_ARGUMENT",
                "Argument 'USER_TYPE_ID' is null or empty",
            )
        }
        CoreError::Conflict { field, reason } if field == "fields" => {
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL_SERVER_ERROR", reason)
        }
        e => ApiError::from(e),
    }
}

fn id_of(p: &Params) -> Result<u32, ApiError> {
    params::get_ci(p, "id")
        .and_then(params::as_int)
        .and_then(|i| u32::try_from(i).ok())
        .filter(|i| *i > 0)
        .ok_or_else(|| empty("ID is not defined or invalid"))
}

fn flag(m: &Map<String, Value>, key: &str) -> Result<Option<bool>, ApiError> {
    match params::get_ci(m, key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => params::as_bool(v).map(Some).ok_or_else(|| ApiError::argument(key, "expected Y or N")),
    }
}

fn text(m: &Map<String, Value>, key: &str) -> Option<String> {
    params::get_ci(m, key).and_then(params::as_text)
}

/// The per-type `SETTINGS` defaults of §4.1, with what the client sent over them.
fn settings(kind: CustomKind, base: Option<&str>, given: Option<&Value>) -> Result<Option<String>, ApiError> {
    let Some(given) = given else { return Ok(None) };
    let Value::Object(given) = given else {
        return Err(ApiError::argument("SETTINGS", "expected an object"));
    };
    let mut out: Map<String, Value> = match base {
        Some(b) => serde_json::from_str(b).unwrap_or_default(),
        None => defaults(kind),
    };
    for (k, v) in given {
        out.insert(k.to_ascii_uppercase(), v.clone());
    }
    Ok(Some(Value::Object(out).to_string()))
}

fn defaults(kind: CustomKind) -> Map<String, Value> {
    let v = match kind {
        CustomKind::String => json!({"DEFAULT_VALUE": "", "ROWS": 1}),
        CustomKind::Double => json!({"PRECISION": 2}),
        CustomKind::Boolean => json!({"DEFAULT_VALUE": 0, "DISPLAY": "CHECKBOX"}),
        CustomKind::Enumeration => json!({"DISPLAY": "LIST", "LIST_HEIGHT": 1}),
        _ => json!({}),
    };
    v.as_object().cloned().unwrap_or_default()
}

/// The labels: each a string (every language) or `{"en": …}`; `LABEL` fills those not given.
fn labels(base: Option<&str>, m: &Map<String, Value>) -> Result<Option<String>, ApiError> {
    let fallback = params::get_ci(m, "LABEL");
    if fallback.is_none() && LABELS.iter().all(|k| params::get_ci(m, k).is_none()) {
        return Ok(None);
    }
    let mut out: Map<String, Value> = base.and_then(|b| serde_json::from_str(b).ok()).unwrap_or_default();
    for key in LABELS {
        let Some(v) = params::get_ci(m, key).or(fallback) else { continue };
        let per_language = match v {
            Value::String(s) => json!({ "en": s }),
            Value::Object(o) if o.values().all(Value::is_string) => Value::Object(o.clone()),
            _ => return Err(ApiError::argument(key, "expected a string or an object of languages")),
        };
        out.insert(key.to_string(), per_language);
    }
    Ok(Some(Value::Object(out).to_string()))
}

fn options(m: &Map<String, Value>) -> Result<Option<Vec<OptionSpec>>, ApiError> {
    let items: Vec<&Value> = match params::get_ci(m, "LIST") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Array(a)) => a.iter().collect(),
        Some(Value::Object(o)) => o.values().collect(),
        Some(_) => return Err(ApiError::argument("LIST", "expected a list of options")),
    };
    items
        .into_iter()
        .map(|v| {
            let Value::Object(o) = v else {
                return Err(ApiError::argument("LIST", "expected options as objects"));
            };
            Ok(OptionSpec {
                id: params::get_ci(o, "ID").and_then(params::as_int).and_then(|i| u32::try_from(i).ok()),
                value: text(o, "VALUE").unwrap_or_default(),
                default: flag(o, "DEF")?.unwrap_or(false),
                sort: params::get_ci(o, "SORT").and_then(params::as_int).unwrap_or(100),
                xml_id: text(o, "XML_ID").unwrap_or_default(),
                delete: flag(o, "DEL")?.unwrap_or(false),
            })
        })
        .collect::<Result<_, _>>()
        .map(Some)
}

fn spec(p: &Params, existing: Option<&CustomField>) -> Result<FieldSpec, ApiError> {
    let m = match params::get_ci(p, "fields") {
        Some(Value::Object(m)) => m.clone(),
        None if existing.is_some() => Map::new(),
        _ => return Err(ApiError::argument("fields", "expected an object of the field's properties")),
    };
    let kind_text = text(&m, "USER_TYPE_ID").filter(|t| !t.trim().is_empty());
    let kind = match &kind_text {
        None => None,
        Some(t) => Some(CustomKind::from_code(t.trim()).ok_or_else(|| {
            ApiError::argument(
                "USER_TYPE_ID",
                format!("{t} is not a type Cardfile takes (file fields come later)"),
            )
        })?),
    };
    let settings_kind = existing.map(|f| f.kind).or(kind).unwrap_or(CustomKind::String);
    Ok(FieldSpec {
        field_name: text(&m, "FIELD_NAME"),
        kind,
        multiple: flag(&m, "MULTIPLE")?,
        mandatory: flag(&m, "MANDATORY")?,
        show_filter: text(&m, "SHOW_FILTER"),
        show_in_list: flag(&m, "SHOW_IN_LIST")?,
        edit_in_list: flag(&m, "EDIT_IN_LIST")?,
        searchable: flag(&m, "IS_SEARCHABLE")?,
        sort: match params::get_ci(&m, "SORT") {
            None => None,
            Some(v) => {
                Some(params::as_int(v).ok_or_else(|| ApiError::argument("SORT", "expected a number"))?)
            }
        },
        xml_id: text(&m, "XML_ID"),
        settings: settings(
            settings_kind,
            existing
                .map(|f| f.settings.as_str())
                .or(Some(&Value::Object(defaults(settings_kind)).to_string())),
            params::get_ci(&m, "SETTINGS"),
        )?
        .or_else(|| existing.is_none().then(|| Value::Object(defaults(settings_kind)).to_string())),
        labels: labels(existing.map(|f| f.labels.as_str()), &m)?,
        options: options(&m)?,
    })
}

fn yn(b: bool) -> &'static str {
    if b {
        "Y"
    } else {
        "N"
    }
}

/// A field as `user.userfield.list` shows it: numbers as strings, flags as `Y`/`N`.
fn shape(f: &CustomField) -> Value {
    let mut out = json!({
        "ID": f.id.to_string(),
        "ENTITY_ID": "USER",
        "FIELD_NAME": f.name,
        "USER_TYPE_ID": f.kind.code(),
        "XML_ID": if f.xml_id.is_empty() { Value::Null } else { Value::String(f.xml_id.clone()) },
        "SORT": f.sort.to_string(),
        "MULTIPLE": yn(f.multiple),
        "MANDATORY": yn(f.mandatory),
        "SHOW_FILTER": f.show_filter,
        "SHOW_IN_LIST": yn(f.show_in_list),
        "EDIT_IN_LIST": yn(f.edit_in_list),
        "IS_SEARCHABLE": yn(f.searchable),
        "SETTINGS": serde_json::from_str::<Value>(&f.settings).unwrap_or_else(|_| json!({})),
    });
    if let (Value::Object(o), Ok(Value::Object(labels))) =
        (&mut out, serde_json::from_str::<Value>(&f.labels))
    {
        o.extend(labels);
    }
    if f.kind == CustomKind::Enumeration {
        out["LIST"] = f
            .options
            .iter()
            .map(|o| {
                json!({"ID": o.id.to_string(), "SORT": o.sort.to_string(), "VALUE": o.value, "DEF": yn(o.default), "XML_ID": o.xml_id})
            })
            .collect();
    }
    out
}

/// `user.userfield.add {fields}`: the new field's ID.
pub fn add(call: &Call<'_>) -> Result<Reply, ApiError> {
    let spec = spec(call.params, None)?;
    if spec.field_name.as_deref().is_none_or(|n| n.trim().is_empty()) {
        return Err(empty("The 'FIELD_NAME' field is not found."));
    }
    let field = custom::add_field(call.ctx, call.actor, spec).map_err(refusal)?;
    Ok(Reply::of(json!(field.id)))
}

/// `user.userfield.update {id, fields}`.
pub fn update(call: &Call<'_>) -> Result<Reply, ApiError> {
    let id = id_of(call.params)?;
    let fields = custom::list_fields(call.ctx, call.actor).map_err(refusal)?;
    let existing = fields.iter().find(|f| f.id == id).ok_or_else(|| empty("Access denied."))?;
    let spec = spec(call.params, Some(existing))?;
    custom::update_field(call.ctx, call.actor, id, spec).map_err(refusal)?;
    Ok(Reply::of(Value::Bool(true)))
}

/// `user.userfield.delete {id}`.
pub fn delete(call: &Call<'_>) -> Result<Reply, ApiError> {
    let id = id_of(call.params)?;
    custom::delete_field(call.ctx, call.actor, id).map_err(refusal)?;
    Ok(Reply::of(Value::Bool(true)))
}

/// `user.userfield.list {order, filter}`: every field, filtered (`=`, `!`, `>`, `>=`, `<`,
/// `<=`, `%` on the listed keys) and ordered (`{"ID": "desc"}`; by ID by default).
pub fn list(call: &Call<'_>) -> Result<Reply, ApiError> {
    let mut rows: Vec<Value> =
        custom::list_fields(call.ctx, call.actor).map_err(refusal)?.iter().map(shape).collect();
    if let Some(filter) = params::get_ci(call.params, "filter") {
        let Value::Object(filter) = filter else {
            return Err(ApiError::argument("filter", "expected an object of conditions"));
        };
        for (key, want) in filter {
            rows.retain(|r| matches(r, key, want));
        }
    }
    if let Some(Value::Object(order)) = params::get_ci(call.params, "order") {
        if let Some((key, dir)) = order.iter().next() {
            let key = key.to_ascii_uppercase();
            let desc = params::as_text(dir).is_some_and(|d| d.eq_ignore_ascii_case("desc"));
            rows.sort_by(|a, b| {
                let o = compare(&a[&key], &b[&key]);
                if desc {
                    o.reverse()
                } else {
                    o
                }
            });
        }
    }
    let total = rows.len() as u64;
    Ok(Reply { total: Some(total), ..Reply::of(Value::Array(rows)) })
}

fn compare(a: &Value, b: &Value) -> std::cmp::Ordering {
    let n = |v: &Value| v.as_str().and_then(|s| s.parse::<i64>().ok());
    match (n(a), n(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        _ => a.as_str().unwrap_or("").cmp(b.as_str().unwrap_or("")),
    }
}

fn matches(row: &Value, key: &str, want: &Value) -> bool {
    let (op, name) = ["!=", ">=", "<=", "!", ">", "<", "%", "="]
        .iter()
        .find_map(|op| key.strip_prefix(op).map(|rest| (*op, rest)))
        .unwrap_or(("=", key));
    let have = row[name.to_ascii_uppercase().as_str()].clone();
    let want = params::as_text(want).unwrap_or_default();
    let ord = compare(&have, &Value::String(want.clone()));
    let text = have.as_str().unwrap_or("").to_string();
    match op {
        "!" | "!=" => !text.eq_ignore_ascii_case(&want),
        ">" => ord.is_gt(),
        ">=" => ord.is_ge(),
        "<" => ord.is_lt(),
        "<=" => ord.is_le(),
        "%" => text.to_lowercase().contains(&want.to_lowercase()),
        _ => text.eq_ignore_ascii_case(&want),
    }
}
