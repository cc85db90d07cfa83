//! `im.*` methods (spec §4.2, scope `im`): presence status, and users as the messenger shows
//! them.

use axum::http::StatusCode;
use chrono::SecondsFormat;
use profile_core::field::UserField;
use profile_core::ids::{DepartmentId, UserId};
use profile_core::model::user::PresenceStatus;
use profile_core::usecase::messenger::{self, COLLEAGUES_PAGE_MAX};
use profile_core::usecase::users::{self, PresenceCard};
use profile_core::{CoreError, Value as CoreValue};
use serde_json::{json, Value};

use super::Call;
use crate::params;
use crate::reply::{ApiError, Reply};

/// `im.user.status.set {STATUS}`: `online`, `dnd`, `away` or `break`; `true`.
pub fn status_set(call: &Call<'_>) -> Result<Reply, ApiError> {
    let status = params::get_ci(call.params, "STATUS")
        .and_then(params::as_text)
        .and_then(|s| PresenceStatus::from_code(&s))
        .ok_or_else(|| ApiError::new(StatusCode::BAD_REQUEST, "STATUS_ERROR", "Status is not available"))?;
    users::set_status(call.ctx, call.actor, status)?;
    Ok(Reply::of(Value::Bool(true)))
}

/// `im.user.status.get`: the caller's status, or `false` when never set.
pub fn status_get(call: &Call<'_>) -> Result<Reply, ApiError> {
    Ok(Reply::of(match users::status(call.ctx, call.actor)? {
        Some(s) => Value::String(s.code().into()),
        None => Value::Bool(false),
    }))
}

/// The palette `color` is picked from (Bitrix24's avatar colours), by user ID.
const COLORS: [&str; 8] =
    ["#df532d", "#4ba984", "#4ba5c3", "#3e99ce", "#8474c8", "#1eb4aa", "#f76187", "#58cc47"];

/// `im.user.get {ID?}`: a user (the caller without `ID`) in the messenger's lower-case shape
/// (spec §4.2). `ID_EMPTY` for an `ID` that is no user ID, `USER_NOT_EXISTS` for one the caller
/// may not see.
pub fn user_get(call: &Call<'_>) -> Result<Reply, ApiError> {
    let id = match params::get_ci(call.params, "ID") {
        None => None,
        Some(v) => Some(
            params::as_int(v).and_then(|i| u32::try_from(i).ok()).filter(|i| *i > 0).map(UserId).ok_or_else(
                || ApiError::new(StatusCode::BAD_REQUEST, "ID_EMPTY", "User ID can't be empty"),
            )?,
        ),
    };
    let card = match users::presence_card(call.ctx, call.actor, id) {
        Err(CoreError::NotFound { .. }) => {
            return Err(ApiError::new(StatusCode::BAD_REQUEST, "USER_NOT_EXISTS", "User not exists"))
        }
        other => other?,
    };
    Ok(Reply::of(shape(&card)))
}

/// The lower-case shape of `im.user.get`. What the reader may not see, or the user has not
/// set, is `false` or empty as Bitrix24 sends it.
fn shape(card: &PresenceCard) -> Value {
    let v = &card.user;
    let text = |f: UserField| match v.get(f) {
        Some(CoreValue::Text(s)) => s.clone(),
        _ => String::new(),
    };
    let (first, last) = (text(UserField::Name), text(UserField::LastName));
    let name = [first.as_str(), last.as_str()]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
    let kind = text(UserField::UserType);
    let birthday = match v.get(UserField::PersonalBirthday) {
        Some(CoreValue::Date(d)) => json!(d.format("%d-%m").to_string()),
        _ => json!(false),
    };
    let last_activity = match v.get(UserField::LastActivityDate) {
        Some(CoreValue::DateTime(t)) => json!(t.to_rfc3339_opts(SecondsFormat::Secs, false)),
        _ => json!(false),
    };
    let departments = match v.get(UserField::UfDepartment) {
        Some(CoreValue::IntList(l)) => json!(l),
        _ => json!([]),
    };
    let gender = match text(UserField::PersonalGender).as_str() {
        "F" => "F",
        _ => "M",
    };
    // The end of the absence's last day (UTC), as a moment.
    let absent = match card.absent_until.and_then(|d| d.and_hms_opt(23, 59, 59)) {
        Some(end) => json!(end.and_utc().to_rfc3339_opts(SecondsFormat::Secs, false)),
        None => json!(false),
    };
    let online = v.get(UserField::IsOnline).is_some_and(CoreValue::truthy);
    let status = card.status.map_or(if online { "online" } else { "offline" }, |s| s.code());
    json!({
        "id": v.id.0,
        "active": v.get(UserField::Active).is_none_or(CoreValue::truthy),
        "name": name,
        "first_name": first,
        "last_name": last,
        "work_position": text(UserField::WorkPosition),
        "color": COLORS[v.id.0 as usize % COLORS.len()],
        "avatar": card.avatar,
        "avatar_hr": card.avatar_hr,
        "gender": gender,
        "birthday": birthday,
        "extranet": kind == "extranet",
        "network": false,
        "bot": false,
        "connector": false,
        "external_auth_id": "default",
        "status": status,
        "idle": false,
        "last_activity_date": last_activity,
        "mobile_last_date": false,
        "desktop_last_date": false,
        "absent": absent,
        "departments": departments,
        "phones": {
            "work_phone": text(UserField::WorkPhone),
            "personal_mobile": text(UserField::PersonalMobile),
            "inner_phone": text(UserField::UfPhoneInner),
        },
        "website": text(UserField::PersonalWww),
        "email": text(UserField::Email),
        "bot_data": null,
        // The messenger's kinds: an employee is a "user".
        "type": match kind.as_str() {
            "extranet" => "extranet",
            _ => "user",
        },
    })
}

/// `ID` of the `im.department.*` methods: a list, a JSON string of one, or one ID.
fn department_ids(call: &Call<'_>) -> Result<Vec<DepartmentId>, ApiError> {
    let empty = || ApiError::new(StatusCode::BAD_REQUEST, "ID_EMPTY", "Department ID can't be empty");
    let raw = params::get_ci(call.params, "ID").ok_or_else(empty)?;
    let parsed;
    let raw = match raw {
        Value::String(s) if s.trim_start().starts_with('[') => {
            parsed =
                serde_json::from_str::<Value>(s).map_err(|_| ApiError::argument("ID", "not a JSON list"))?;
            &parsed
        }
        v => v,
    };
    let items: Vec<&Value> = match raw {
        Value::Array(a) => a.iter().collect(),
        Value::Object(m) => m.values().collect(),
        v => vec![v],
    };
    let mut ids = items
        .into_iter()
        .filter(|v| params::as_text(v).is_none_or(|t| !t.trim().is_empty()))
        .map(|v| {
            params::as_int(v)
                .and_then(|i| u32::try_from(i).ok())
                .filter(|i| *i > 0)
                .map(DepartmentId)
                .ok_or_else(|| ApiError::argument("ID", "expected department IDs"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if ids.is_empty() {
        return Err(empty());
    }
    // Each department once, in the order first asked.
    let mut seen = std::collections::HashSet::new();
    ids.retain(|d| seen.insert(*d));
    Ok(ids)
}

fn user_data(call: &Call<'_>) -> Result<bool, ApiError> {
    match params::get_ci(call.params, "USER_DATA") {
        None => Ok(false),
        Some(v) => params::as_bool(v).ok_or_else(|| ApiError::argument("USER_DATA", "expected Y or N")),
    }
}

/// `im.department.get {ID, USER_DATA}`: `[{id, name, full_name, manager_user_id,
/// manager_user_data?}]`; `full_name` is the names from the department up to the root.
pub fn department_get(call: &Call<'_>) -> Result<Reply, ApiError> {
    let ids = department_ids(call)?;
    let with_users = user_data(call)?;
    let found = messenger::departments(call.ctx, call.actor, &ids)?;
    let heads: Vec<UserId> = found.iter().filter_map(|d| d.head).collect();
    let cards = if with_users { messenger::cards(call.ctx, call.actor, &heads)? } else { Vec::new() };
    let out: Vec<Value> = found
        .iter()
        .map(|d| {
            let full: Vec<&str> = d.path.iter().rev().map(String::as_str).collect();
            let mut o = json!({
                "id": d.department.id.0,
                "name": d.department.name,
                "full_name": full.join(" / "),
                "manager_user_id": d.head.map_or(0, |h| h.0),
            });
            if with_users {
                o["manager_user_data"] =
                    cards.iter().find(|c| Some(c.user.id) == d.head).map_or(Value::Bool(false), shape);
            }
            o
        })
        .collect();
    Ok(Reply::of(Value::Array(out)))
}

/// The most users one answer with `USER_DATA=Y` shapes (ask without it for more).
const USER_DATA_MAX: usize = 500;

/// `{department ID: [user IDs, or with USER_DATA their im.user.get shapes]}`.
fn people(call: &Call<'_>, lists: Vec<(DepartmentId, Vec<UserId>)>) -> Result<Reply, ApiError> {
    let mut out = serde_json::Map::new();
    if !user_data(call)? {
        for (d, users) in lists {
            out.insert(d.0.to_string(), json!(users.iter().map(|u| u.0).collect::<Vec<_>>()));
        }
        return Ok(Reply::of(Value::Object(out)));
    }
    let mut all: Vec<UserId> = lists.iter().flat_map(|(_, u)| u.iter().copied()).collect();
    all.sort_unstable();
    all.dedup();
    if all.len() > USER_DATA_MAX {
        return Err(ApiError::argument(
            "USER_DATA",
            format!("at most {USER_DATA_MAX} users with their data; ask without USER_DATA"),
        ));
    }
    // One read for every card.
    let cards = messenger::cards(call.ctx, call.actor, &all)?;
    for (d, users) in lists {
        let shapes: Vec<Value> =
            users.iter().filter_map(|u| cards.iter().find(|c| c.user.id == *u)).map(shape).collect();
        out.insert(d.0.to_string(), Value::Array(shapes));
    }
    Ok(Reply::of(Value::Object(out)))
}

/// `im.department.managers.get {ID, USER_DATA}`: each department's head.
pub fn department_managers(call: &Call<'_>) -> Result<Reply, ApiError> {
    let ids = department_ids(call)?;
    let found = messenger::departments(call.ctx, call.actor, &ids)?;
    people(call, found.iter().map(|d| (d.department.id, d.head.into_iter().collect())).collect())
}

/// `im.department.employees.get {ID, USER_DATA}`: each department's members.
pub fn department_employees(call: &Call<'_>) -> Result<Reply, ApiError> {
    let ids = department_ids(call)?;
    let lists = messenger::employees(call.ctx, call.actor, &ids)?;
    people(call, lists)
}

/// `im.department.colleagues.list {USER_DATA, OFFSET (0), LIMIT (10, at most 50)}`: the caller's
/// colleagues by ID (or with USER_DATA their im.user.get shapes), with `total` and `next`.
pub fn colleagues_list(call: &Call<'_>) -> Result<Reply, ApiError> {
    let number = |key: &str, default: usize| -> Result<usize, ApiError> {
        match params::get_ci(call.params, key) {
            None => Ok(default),
            Some(v) => params::as_int(v)
                .and_then(|i| usize::try_from(i).ok())
                .ok_or_else(|| ApiError::argument(key, "expected a number from 0")),
        }
    };
    // Bitrix24 takes at most 50 a page, and a larger LIMIT as 50.
    let (offset, limit) = (number("OFFSET", 0)?, number("LIMIT", 10)?.clamp(1, COLLEAGUES_PAGE_MAX));
    let (ids, total) = messenger::colleagues(call.ctx, call.actor, offset, limit)?;
    let result = if user_data(call)? {
        Value::Array(messenger::cards(call.ctx, call.actor, &ids)?.iter().map(shape).collect())
    } else {
        json!(ids.iter().map(|u| u.0).collect::<Vec<_>>())
    };
    let next = (offset + ids.len() < total).then_some((offset + ids.len()) as u64);
    Ok(Reply { result, raw: None, total: Some(total as u64), next })
}
