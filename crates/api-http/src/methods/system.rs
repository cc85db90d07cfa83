//! The base methods (spec §1.8): they need no scope.

use chrono::SecondsFormat;
use profile_core::access::Scope;
use profile_core::model::credential::CredentialKind;
use profile_core::usecase::users;
use serde_json::{json, Map, Value};

use super::{optional_bool, Call, Need, BATCH, METHODS};
use crate::params;
use crate::reply::{ApiError, Reply};

/// `user.admin`: whether the caller administers the account.
pub fn user_admin(call: &Call<'_>) -> Result<Reply, ApiError> {
    Ok(Reply::of(Value::Bool(call.actor.is_admin())))
}

/// `user.access`: whether the caller holds one of the access codes (`AU` every user, `U<id>`
/// the user, `G1` administrators); always true for administrators.
pub fn user_access(call: &Call<'_>) -> Result<Reply, ApiError> {
    let codes: Vec<String> = match params::get_ci(call.params, "ACCESS") {
        None => Vec::new(),
        Some(Value::Array(a)) => a.iter().filter_map(params::as_text).collect(),
        Some(Value::Object(m)) => m.values().filter_map(params::as_text).collect(),
        Some(v) => params::as_text(v).into_iter().collect(),
    };
    if codes.is_empty() {
        return Err(ApiError::argument("ACCESS", "list the access codes to check"));
    }
    let me = call.actor.user.map(|u| format!("U{u}"));
    let holds = call.actor.is_admin()
        || codes.iter().map(|c| c.trim().to_ascii_uppercase()).any(|c| c == "AU" || Some(&c) == me.as_ref());
    Ok(Reply::of(Value::Bool(holds)))
}

/// `scope`: the credential's scopes, or with `full` every scope the server has.
pub fn scope(call: &Call<'_>) -> Result<Reply, ApiError> {
    let full = optional_bool(call.params, "full")?.unwrap_or(false);
    let scopes: Vec<Value> = Scope::ALL
        .iter()
        .filter(|s| full || call.actor.scopes.has(**s))
        .map(|s| Value::String(s.code().into()))
        .collect();
    Ok(Reply::of(Value::Array(scopes)))
}

/// `methods`: the methods the credential may call; with `full`, all; with `scope`, those of one
/// scope (empty: the base methods).
pub fn methods(call: &Call<'_>) -> Result<Reply, ApiError> {
    let full = optional_bool(call.params, "full")?.unwrap_or(false);
    let scope = params::get_ci(call.params, "scope").map(|v| params::as_text(v).unwrap_or_default());
    let mut names: Vec<Value> = Vec::new();
    if scope.as_deref().is_none_or(str::is_empty) {
        names.push(Value::String(BATCH.into()));
    }
    for m in METHODS {
        let listed = match scope.as_deref() {
            Some(s) => {
                m.need.code() == s || (s.starts_with("user") && m.need == Need::UserRead && !s.contains('.'))
            }
            None => full || m.need.met_by(call.actor),
        };
        if listed {
            names.push(Value::String(m.name.into()));
        }
    }
    Ok(Reply::of(Value::Array(names)))
}

/// `method.get`: whether a method exists and whether this credential may call it.
pub fn method_get(call: &Call<'_>) -> Result<Reply, ApiError> {
    let name = params::get_ci(call.params, "name").and_then(params::as_text).unwrap_or_default();
    let name = name.trim().to_ascii_lowercase();
    let (exists, available) = if name == BATCH {
        (true, true)
    } else {
        super::find(&name).map_or((false, false), |m| (true, m.need.met_by(call.actor)))
    };
    Ok(Reply::of(json!({ "isExisting": exists, "isAvailable": available })))
}

/// `server.time`.
pub fn server_time(call: &Call<'_>) -> Result<Reply, ApiError> {
    Ok(Reply::of(Value::String(call.ctx.clock.now().to_rfc3339_opts(SecondsFormat::Secs, false))))
}

/// `profile`: the caller's short profile; `{}` for an inactive user.
pub fn profile(call: &Call<'_>) -> Result<Reply, ApiError> {
    let Some(p) = users::own_profile(call.ctx, call.actor)? else {
        return Ok(Reply::of(Value::Object(Map::new())));
    };
    let mut out = Map::new();
    out.insert("ID".into(), Value::String(p.id.to_string()));
    out.insert("ADMIN".into(), Value::Bool(p.admin));
    out.insert("NAME".into(), Value::String(p.name));
    out.insert("LAST_NAME".into(), Value::String(p.last_name));
    out.insert("PERSONAL_GENDER".into(), Value::String(p.gender));
    out.insert("TIME_ZONE".into(), Value::String(p.time_zone));
    if !p.photo.is_empty() {
        out.insert("PERSONAL_PHOTO".into(), Value::String(p.photo));
    }
    Ok(Reply::of(Value::Object(out)))
}

/// `app.info`: the application token's application; webhooks have none.
pub fn app_info(call: &Call<'_>) -> Result<Reply, ApiError> {
    let c = call.credential;
    if c.kind != CredentialKind::AppToken {
        return Err(ApiError::new(
            axum::http::StatusCode::FORBIDDEN,
            "ACCESS_DENIED",
            "Access denied! Application context required",
        ));
    }
    let days = c.expires_at.map(|t| (t - call.ctx.clock.now()).num_days().max(0));
    Ok(Reply::of(json!({
        "ID": c.id.to_string(),
        "CODE": c.name,
        "VERSION": 1,
        "STATUS": "L",
        "INSTALLED": true,
        "PAYMENT_EXPIRED": "N",
        "DAYS": days,
        "LANGUAGE_ID": "en",
        "LICENSE": "selfhosted",
        "LICENSE_TYPE": "selfhosted",
        "LICENSE_FAMILY": "selfhosted",
        "SCOPES": c.scopes.iter().map(Scope::code).collect::<Vec<_>>(),
        "EXPIRES": c.expires_at.map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, false)),
    })))
}
