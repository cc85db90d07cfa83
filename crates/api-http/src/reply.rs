//! The wire envelope (spec §1.3) and the one error table of decisions.md.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, Utc};
use profile_core::{AuthFailure, CoreError, StoreError};
use serde_json::{json, Value};

/// JSON this crate wrote itself (`wire`: ASCII punctuation and serde_json's output, so UTF-8),
/// carried to the envelope as it is: checking it again would mean parsing, or at least
/// validating, ~75 KB for every page of 50 users.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawJson(Vec<u8>);

impl RawJson {
    /// Wraps JSON written by `wire`; only this crate makes one.
    pub(crate) fn trusted(json: Vec<u8>) -> RawJson {
        RawJson(json)
    }

    /// The JSON text's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// A method's successful answer.
#[derive(Debug, Clone)]
pub struct Reply {
    /// `result`.
    pub result: Value,
    /// `result` already written as JSON (large lists of users), used instead of `result`.
    pub raw: Option<RawJson>,
    /// `total`, for list methods.
    pub total: Option<u64>,
    /// `next`, only while rows remain.
    pub next: Option<u64>,
}

impl Reply {
    /// A reply with only a result.
    pub fn of(result: Value) -> Reply {
        Reply { result, raw: None, total: None, next: None }
    }

    /// A reply whose result is already JSON.
    pub fn raw(raw: RawJson, total: Option<u64>, next: Option<u64>) -> Reply {
        Reply { result: Value::Null, raw: Some(raw), total, next }
    }

    /// The result as a value (for `batch`, which refers to earlier results).
    pub fn value(&self) -> Value {
        match &self.raw {
            Some(raw) => serde_json::from_slice(raw.as_bytes()).unwrap_or(Value::Null),
            None => self.result.clone(),
        }
    }
}

/// An error reply: HTTP status, `error` code and `error_description`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The `error` code.
    pub code: &'static str,
    /// The `error_description`.
    pub description: String,
}

impl ApiError {
    /// Builds an error.
    pub fn new(status: StatusCode, code: &'static str, description: impl Into<String>) -> ApiError {
        ApiError { status, code, description: description.into() }
    }

    /// 400 `ERROR_ARGUMENT` naming the parameter.
    pub fn argument(key: &str, reason: impl std::fmt::Display) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "ERROR_ARGUMENT", format!("{key}: {reason}"))
    }

    /// 404 `ERROR_METHOD_NOT_FOUND`.
    pub fn method_not_found(method: &str) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "ERROR_METHOD_NOT_FOUND", format!("Method not found: {method}"))
    }

    /// 403 `insufficient_scope`.
    pub fn insufficient_scope(needed: &str) -> ApiError {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            format!("The request requires higher privileges than provided by the credential ({needed})"),
        )
    }

    /// 500 `INTERNAL_SERVER_ERROR`: the text is generic; the cause goes to the log.
    pub fn internal(cause: impl std::fmt::Display) -> ApiError {
        eprintln!("cardfile: internal error: {cause}");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL_SERVER_ERROR", "Internal server error")
    }

    /// The `{error, error_description}` body.
    pub fn body(&self) -> Value {
        json!({ "error": self.code, "error_description": self.description })
    }

    /// The authentication failure of a webhook URL.
    pub fn webhook_auth(failure: AuthFailure) -> ApiError {
        match failure {
            AuthFailure::Dismissed => ApiError::dismissed(),
            _ => {
                ApiError::new(StatusCode::UNAUTHORIZED, "INVALID_CREDENTIALS", "Invalid request credentials")
            }
        }
    }

    /// The authentication failure of an application token.
    pub fn token_auth(failure: AuthFailure) -> ApiError {
        match failure {
            AuthFailure::Dismissed => ApiError::dismissed(),
            AuthFailure::Expired => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "expired_token",
                "The access token provided has expired",
            ),
            _ => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                "The access token provided is invalid",
            ),
        }
    }

    fn dismissed() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "authorization_error",
            "The user of this credential is not active",
        )
    }
}

impl From<CoreError> for ApiError {
    fn from(e: CoreError) -> ApiError {
        match e {
            CoreError::NotFound { entity, id } => {
                ApiError::new(StatusCode::BAD_REQUEST, "ERROR_NOT_FOUND", format!("{entity} {id} not found"))
            }
            CoreError::Forbidden { reason } => {
                ApiError::new(StatusCode::FORBIDDEN, "ACCESS_DENIED", format!("Access denied: {reason}"))
            }
            CoreError::InsufficientScope { needed } => ApiError::insufficient_scope(needed),
            CoreError::Validation { field, reason } => ApiError::argument(&field, reason),
            CoreError::Conflict { field, reason } => {
                ApiError::new(StatusCode::BAD_REQUEST, "ERROR_CORE", format!("{field}: {reason}"))
            }
            CoreError::Unauthorized { failure } => ApiError::token_auth(failure),
            CoreError::TooManyAttempts { retry_after_secs } => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "QUERY_LIMIT_EXCEEDED",
                format!("Too many requests; retry in {retry_after_secs} s"),
            ),
            CoreError::Storage(StoreError::UniqueViolation { what }) => {
                ApiError::new(StatusCode::BAD_REQUEST, "ERROR_CORE", format!("{what} already exists"))
            }
            CoreError::InRow { row, error } => {
                let mut e = ApiError::from(*error);
                e.description = format!("row {row}: {}", e.description);
                e
            }
            CoreError::Storage(StoreError::Overloaded(why)) => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "OVERLOAD_LIMIT", format!("Overloaded: {why}"))
            }
            CoreError::Storage(e) => ApiError::internal(e),
        }
    }
}

/// Seconds since the epoch as a float.
fn secs(t: DateTime<Utc>) -> f64 {
    t.timestamp_micros() as f64 / 1e6
}

/// The `time` object every reply carries (spec §1.3; b24pysdk needs all of the first six).
pub fn time_object(start: DateTime<Utc>, finish: DateTime<Utc>) -> Value {
    let duration = (finish - start).num_microseconds().unwrap_or(0) as f64 / 1e6;
    json!({
        "start": secs(start),
        "finish": secs(finish),
        "duration": duration,
        "processing": duration,
        "date_start": start.to_rfc3339_opts(SecondsFormat::Secs, false),
        "date_finish": finish.to_rfc3339_opts(SecondsFormat::Secs, false),
        "operating_reset_at": start.timestamp() + 600,
        "operating": 0,
    })
}

/// The success body: `result`, `total`, `next` (integers, `next` only when present), `time`,
/// written straight to bytes.
pub fn success_body(reply: Reply, time: &Value) -> Vec<u8> {
    const HEAD: &[u8] = b"{\"result\":";
    let mut out = match reply.raw {
        // The result becomes the body: one shift inside its own buffer (which `wire` sized with
        // room for the envelope) instead of a copy into a fresh ~75 KB allocation.
        Some(RawJson(mut raw)) => {
            raw.splice(0..0, HEAD.iter().copied());
            raw
        }
        None => {
            let mut out = Vec::with_capacity(256);
            out.extend_from_slice(HEAD);
            write_json(&mut out, &reply.result);
            out
        }
    };
    if let Some(total) = reply.total {
        out.extend_from_slice(format!(",\"total\":{total}").as_bytes());
    }
    if let Some(next) = reply.next {
        out.extend_from_slice(format!(",\"next\":{next}").as_bytes());
    }
    out.extend_from_slice(b",\"time\":");
    write_json(&mut out, time);
    out.push(b'}');
    out
}

fn write_json(out: &mut Vec<u8>, v: &Value) {
    if serde_json::to_writer(&mut *out, v).is_err() {
        out.extend_from_slice(b"null");
    }
}

/// A JSON response: `application/json; charset=utf-8`, never a redirect.
pub fn json_response(status: StatusCode, body: &Value) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"{\"error\":\"WRONG_ENCODING\"}".to_vec());
    bytes_response(status, bytes)
}

/// A JSON response from bytes already written.
pub fn bytes_response(status: StatusCode, bytes: Vec<u8>) -> Response {
    let mut response = (status, bytes).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
    response
}
