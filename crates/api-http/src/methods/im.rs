//! `im.*` methods (spec §4.2, scope `im`): presence status, and users as the messenger shows
//! them.

use axum::http::StatusCode;
use chrono::SecondsFormat;
use profile_core::field::UserField;
use profile_core::ids::UserId;
use profile_core::model::user::PresenceStatus;
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
        "avatar": "",
        "avatar_hr": "",
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
        "absent": false,
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
