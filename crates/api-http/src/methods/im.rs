//! `im.*` methods (spec §4.2, scope `im`): the caller's own presence status.

use axum::http::StatusCode;
use profile_core::model::user::PresenceStatus;
use profile_core::usecase::users;
use serde_json::Value;

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
