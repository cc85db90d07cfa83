//! The HTTP side: routes, request parsing, authentication, dispatch and the envelope (spec §1,
//! §6; decisions.md "Credentials", "Input", "Errors").

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::routing::any;
use axum::Router;
use chrono::{DateTime, Utc};
use profile_core::ids::UserId;
use profile_core::usecase::credentials::{self, Authenticated};
use profile_core::usecase::Ctx;
use profile_core::CoreError;
use serde_json::Value;

use crate::methods::{self, Call};
use crate::params::{self, Params};
use crate::reply::{self, ApiError, Reply};
use crate::{batch, AppState};

/// The REST router: `/rest/...`; anything else is an unknown method, in JSON.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/rest/{*path}", any(rest))
        .route("/photo/{id}/{file}", axum::routing::get(crate::photos::serve))
        .merge(crate::web::routes())
        .fallback(unknown_path)
        .layer(axum::middleware::from_fn_with_state(Arc::clone(&state), receive_body))
        // `receive_body` enforces each request's limit; axum's own 2 MB default for the `Bytes`
        // extractor would refuse a photo upload it let through.
        .layer(axum::extract::DefaultBodyLimit::disable())
        .with_state(state)
}

/// The most a request body may hold.
pub(crate) const BODY_LIMIT: usize = 2 << 20;

/// Receives the whole body before anything else sees it, within the body timeout: a client
/// that trickles its body one byte at a time gets `ERROR_ARGUMENT` instead of holding a
/// handler (and its connection) for as long as it likes.
async fn receive_body(
    State(state): State<Arc<AppState>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let limit = state.config.connections.body_timeout;
    // Only a body that may be larger than every request's limit (an upload method's, declared
    // larger or not declared) needs a slot; the others keep the usual limit.
    let declared =
        parts.headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    let upload = takes_upload(parts.uri.path()) && declared.is_none_or(|n| n > BODY_LIMIT);
    let most = if upload { state.config.upload_body_limit() } else { BODY_LIMIT };
    let started = tokio::time::Instant::now();
    // Such a body waits for one of the few upload slots (within the same timeout), and keeps it
    // until it is answered.
    let _slot = if upload {
        match tokio::time::timeout(limit, Arc::clone(&state.uploads).acquire_owned()).await {
            Ok(Ok(permit)) => Some(permit),
            _ => {
                let e = ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "OVERLOAD_LIMIT",
                    "Too many uploads at once; try again",
                );
                return reply::json_response(e.status, &e.body());
            }
        }
    } else {
        None
    };
    let left = limit.saturating_sub(started.elapsed());
    let received = tokio::time::timeout(left, axum::body::to_bytes(body, most)).await;
    let refuse = |why: String| {
        let e = ApiError::argument("body", why);
        let mut r = reply::json_response(e.status, &e.body());
        r.headers_mut().insert(header::CONNECTION, axum::http::HeaderValue::from_static("close"));
        r
    };
    match received {
        Ok(Ok(bytes)) => {
            next.run(axum::extract::Request::from_parts(parts, axum::body::Body::from(bytes))).await
        }
        Ok(Err(_)) => refuse(format!("the body is not received whole, or is over {most} bytes")),
        Err(_) => refuse(format!("the body was not received within {} s", limit.as_secs())),
    }
}

/// The methods that take an image (`PERSONAL_PHOTO`, a background), whose bodies may be as
/// large as [`crate::Config::upload_body_limit`]: a REST path whose last segment names one
/// (`/rest/user.update`, `/rest/1/{token}/user.update.json`), and the edit page's photo form.
fn takes_upload(path: &str) -> bool {
    if path.ends_with("/edit/photo") {
        return true;
    }
    let Some(rest) = path.strip_prefix("/rest/") else { return false };
    let last = rest.rsplit('/').next().unwrap_or("").to_ascii_lowercase();
    let method = last.strip_suffix(".json").unwrap_or(&last);
    crate::methods::UPLOADS.contains(&method)
}

async fn unknown_path(uri: Uri) -> Response {
    let e = ApiError::method_not_found(uri.path());
    reply::json_response(e.status, &e.body())
}

/// Whether the request came over TLS (set by the TLS acceptor as a request extension).
#[derive(Debug, Clone, Copy)]
pub struct Secure;

/// The address of the client a request came from (set by the accept loop as a request
/// extension).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub std::net::IpAddr);

impl ClientAddr {
    /// The address as per-address limits count it: an IPv4 address whole (also when it comes
    /// mapped into IPv6), an IPv6 address by its /64, which one subscriber usually holds whole.
    pub fn key(&self) -> String {
        use std::net::IpAddr;
        match self.0 {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => v4.to_string(),
                None => {
                    let s = v6.segments();
                    format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
                }
            },
        }
    }
}

async fn rest(
    State(state): State<Arc<AppState>>,
    path: Result<Path<String>, PathRejection>,
    uri: Uri,
    headers: HeaderMap,
    secure: Option<axum::Extension<Secure>>,
    client: Option<axum::Extension<ClientAddr>>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let started = DateTime::<Utc>::from(SystemTime::now());
    let clock = Instant::now();
    // Whatever axum refuses (a body over 2 MB, a path that is not UTF-8) still gets a JSON error.
    let (Path(path), body) = match (path, body) {
        (Ok(p), Ok(b)) => (p, b),
        (Err(e), _) => {
            let e = ApiError::argument("path", e.body_text());
            return reply::json_response(e.status, &e.body());
        }
        (_, Err(e)) => {
            let e = ApiError::argument("body", e.body_text());
            return reply::json_response(e.status, &e.body());
        }
    };
    if state.config.require_https && secure.is_none() {
        let e = ApiError::new(StatusCode::BAD_REQUEST, "INVALID_REQUEST", "Https required.");
        return reply::json_response(e.status, &e.body());
    }
    let query = uri.query().unwrap_or("").to_string();
    let client = client.map(|axum::Extension(c)| c.key());
    let outcome = respond(&state, Incoming { path, query, headers, body, client }).await;
    match outcome {
        Ok(r) => {
            let finished = started + chrono::Duration::from_std(clock.elapsed()).unwrap_or_default();
            reply::bytes_response(
                StatusCode::OK,
                reply::success_body(r, &reply::time_object(started, finished)),
            )
        }
        Err(e) => reply::json_response(e.status, &e.body()),
    }
}

/// Runs a request where it cannot hold up others. Short reads (tens of microseconds to a few
/// milliseconds, measured) run right on the async worker, which saves a thread hand-off per
/// request. Writes wait for the write lock and an fsync, and batches can be long: those go to
/// the blocking pool, and so does every call to a store whose calls block
/// (`Config::blocking_reads`). A read that may be long ([`methods::may_be_long`]), or a batch
/// holding one, is admitted (limited, authenticated, parsed) first, then waits for one of the
/// long-read slots without holding a thread, and runs on the blocking pool with the slot
/// moved into its task, so a client that hangs up cannot free the slot early: however many
/// arrive, they never take every core, nor every read connection, from the requests behind
/// them.
async fn respond(state: &Arc<AppState>, request: Incoming) -> Result<Reply, ApiError> {
    let reads = reads_only(&request.path);
    // Admitted, then run at once unless it may be long: one hand-off at most.
    let first = move |s: &AppState| -> Result<Step, ApiError> {
        let a = admit(s, &request)?;
        let long = if a.method == methods::BATCH {
            batch::may_be_long(&a.params)
        } else {
            methods::may_be_long(&a.method, &a.params, !s.config.blocking_reads)
                || (methods::user::counted_find(&a.method, &a.params) && finds_custom(s, &a)?)
        };
        if long {
            return Ok(Step::Long(a));
        }
        run(s, &a).map(Step::Done)
    };
    let step = if !reads || state.config.blocking_reads {
        off_the_workers(state, first).await?
    } else {
        first(state)?
    };
    match step {
        Step::Done(reply) => Ok(reply),
        Step::Long(a) => {
            let slot = Arc::clone(&state.long_reads)
                .acquire_owned()
                .await
                .map_err(|e| ApiError::internal(format!("slots: {e}")))?;
            off_the_workers(state, move |s| {
                let _slot = slot;
                run(s, &a)
            })
            .await
        }
    }
}

/// Whether the quick search of an otherwise short read looks at custom fields' words, so that
/// its total is counted rather than read from the index's prefix counts.
fn finds_custom(s: &AppState, a: &Admitted) -> Result<bool, ApiError> {
    profile_core::usecase::custom::quick_search_reads_custom(s.ctx(), &a.auth.actor).map_err(ApiError::from)
}

/// How far [`respond`]'s first step got.
enum Step {
    Done(Reply),
    Long(Admitted),
}

/// Runs `work` on the blocking pool.
async fn off_the_workers<T: Send + 'static>(
    state: &Arc<AppState>,
    work: impl FnOnce(&AppState) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let state = Arc::clone(state);
    tokio::task::spawn_blocking(move || work(&state))
        .await
        .unwrap_or_else(|e| Err(ApiError::internal(format!("handler task failed: {e}"))))
}

/// Whether the request names a method that only reads.
fn reads_only(path: &str) -> bool {
    match route(path) {
        Ok(Route::Webhook { method, .. } | Route::Token { method }) => {
            methods::find(&method).is_some_and(|m| !m.writes)
        }
        Err(_) => true,
    }
}

/// Where the credential is: in the path (a webhook) or in the parameters/headers (a token).
enum Route {
    Webhook { user: String, token: String, method: String },
    Token { method: String },
}

fn route(path: &str) -> Result<Route, ApiError> {
    let parts: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let method = |m: &str| {
        let lower = m.to_ascii_lowercase();
        lower.strip_suffix(".json").map(str::to_string).unwrap_or(lower)
    };
    match parts.as_slice() {
        [m] if !m.is_empty() => Ok(Route::Token { method: method(m) }),
        [user, token, m] if !m.is_empty() => {
            Ok(Route::Webhook { user: (*user).to_string(), token: (*token).to_string(), method: method(m) })
        }
        // The path may hold a webhook's token: only its last part is echoed.
        _ => Err(ApiError::method_not_found(parts.last().copied().unwrap_or(""))),
    }
}

/// The parameters: the query string merged with the body (the body wins); credentials removed.
fn parameters(query: &str, headers: &HeaderMap, body: &[u8]) -> Result<Params, ApiError> {
    with_body(parse_query(query)?, headers, body)
}

fn parse_query(query: &str) -> Result<Params, ApiError> {
    params::parse_query(query).map_err(|e| ApiError::argument("query", e))
}

/// The query string's parameters merged with the body's (the body wins).
fn with_body(from_query: Params, headers: &HeaderMap, body: &[u8]) -> Result<Params, ApiError> {
    let raw_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let content_type = raw_type.to_ascii_lowercase();
    let from_body = if body.iter().all(u8::is_ascii_whitespace) {
        Params::new()
    } else if content_type.starts_with("application/json") {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(m)) => m,
            Ok(_) => return Err(ApiError::argument("body", "a JSON body must be an object of parameters")),
            Err(e) => return Err(ApiError::argument("body", format!("not valid JSON ({e})"))),
        }
    } else if content_type.starts_with("multipart/form-data") {
        let pairs = crate::multipart::pairs(raw_type, body).map_err(|e| ApiError::argument("body", e))?;
        params::from_pairs(pairs.into_iter()).map_err(|e| ApiError::argument("body", e))?
    } else if content_type.starts_with("multipart/") {
        return Err(ApiError::argument("body", "of multipart bodies only multipart/form-data is taken"));
    } else {
        match std::str::from_utf8(body) {
            Ok(text) => params::parse_query(text.trim()).map_err(|e| ApiError::argument("body", e))?,
            Err(_) => return Err(ApiError::argument("body", "a form body must be UTF-8")),
        }
    };
    Ok(params::merge(from_query, from_body))
}

fn take_token(p: &mut Params, headers: &HeaderMap) -> Option<String> {
    let mut token = None;
    for key in ["auth", "access_token"] {
        if let Some(v) = p.shift_remove(key) {
            token = token.or_else(|| params::as_text(&v).filter(|t| !t.is_empty()));
        }
    }
    token.or_else(|| {
        let h = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
        let (scheme, value) = h.trim().split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| value.trim().to_string())
    })
}

/// A REST request as the transport received it.
struct Incoming {
    path: String,
    query: String,
    headers: HeaderMap,
    body: Bytes,
    /// The client's address key ([`ClientAddr::key`]), when known.
    client: Option<String>,
}

fn limited() -> ApiError {
    ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "QUERY_LIMIT_EXCEEDED", "Too many requests")
}

/// A request that passed the limits and authentication, its parameters parsed.
struct Admitted {
    auth: Authenticated,
    method: String,
    params: Params,
}

/// Limits, authenticates and parses. The client's address is limited before anything else (so
/// bad tokens are limited too); the credential is checked before the body is parsed, except for
/// a token that only the body carries.
fn admit(state: &AppState, request: &Incoming) -> Result<Admitted, ApiError> {
    let now = Instant::now();
    if let (Some(limit), Some(client)) = (state.config.address_rate_limit, &request.client) {
        if !state.limits.addresses.admit(limit, client.clone(), now) {
            return Err(limited());
        }
    }
    let route = route(&request.path)?;
    let ctx = state.ctx();
    let (auth, method, p) = match route {
        Route::Webhook { user, token, method } => {
            let webhook_error = |e: CoreError| match e {
                CoreError::Unauthorized { failure } => ApiError::webhook_auth(failure),
                e => ApiError::from(e),
            };
            let user = user
                .parse::<u32>()
                .map_err(|_| ApiError::webhook_auth(profile_core::AuthFailure::UnknownCredential))?;
            let auth = credentials::authenticate_webhook(ctx, UserId(user), &token).map_err(webhook_error)?;
            let mut p = parameters(&request.query, &request.headers, &request.body)?;
            // The path names the credential; tokens in the parameters are ignored.
            take_token(&mut p, &HeaderMap::new());
            (auth, method, p)
        }
        Route::Token { method } => {
            // The header or the query string names the token without the body being parsed.
            let mut from_query = parse_query(&request.query)?;
            let early = match take_token(&mut from_query, &request.headers) {
                Some(token) => Some(credentials::authenticate_app_token(ctx, &token)?),
                None => None,
            };
            // Parsed once: the query's credentials are already taken out.
            let mut p = with_body(from_query, &request.headers, &request.body)?;
            let late = take_token(&mut p, &request.headers);
            let auth = match (early, late) {
                (Some(auth), _) => auth,
                (None, Some(token)) => credentials::authenticate_app_token(ctx, &token)?,
                (None, None) => {
                    return Err(ApiError::new(
                        StatusCode::UNAUTHORIZED,
                        "NO_AUTH_FOUND",
                        "Wrong authorization data",
                    ))
                }
            };
            (auth, method, p)
        }
    };
    if let Some(limit) = state.config.rate_limit {
        if !state.limits.credentials.admit(limit, auth.credential.id, now) {
            return Err(limited());
        }
    }
    crate::activity::note(state, &auth);
    Ok(Admitted { auth, method, params: p })
}

/// Runs an admitted request.
fn run(state: &AppState, a: &Admitted) -> Result<Reply, ApiError> {
    if a.method == methods::BATCH {
        return batch::run(state, &a.auth, &a.params);
    }
    metered_call(state, state.ctx(), &a.auth, &a.method, &a.params)
}

/// [`call`] within the operating-time budget (spec §1.6): past it, the method answers 429
/// `OPERATION_TIME_LIMIT` until the oldest minute of the ten drops out.
pub(crate) fn metered_call(
    state: &AppState,
    ctx: Ctx<'_>,
    auth: &Authenticated,
    method: &str,
    p: &Params,
) -> Result<Reply, ApiError> {
    let Some(budget) = state.config.operating_budget else {
        return call(ctx, auth, method, p);
    };
    let now = ctx.clock.now().timestamp();
    let standing = state.limits.operating.standing(auth.credential.id, method, now);
    if standing.used >= budget.as_secs_f64() {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "OPERATION_TIME_LIMIT",
            format!("Method is blocked due to operation time limit (until {})", standing.reset_at),
        ));
    }
    let started = Instant::now();
    let answered = call(ctx, auth, method, p);
    state.limits.operating.spent(auth.credential.id, method, now, started.elapsed().as_secs_f64());
    answered
}

/// Runs one method as the authenticated caller.
pub(crate) fn call(ctx: Ctx<'_>, auth: &Authenticated, method: &str, p: &Params) -> Result<Reply, ApiError> {
    let m = methods::find(method).ok_or_else(|| ApiError::method_not_found(method))?;
    if !m.need.met_by(&auth.actor) {
        return Err(ApiError::insufficient_scope(m.need.code()));
    }
    (m.handler)(&Call { ctx, actor: &auth.actor, credential: &auth.credential, params: p })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert!(matches!(route("user.get"), Ok(Route::Token { method }) if method == "user.get"));
        assert!(matches!(route("User.Get.json/"), Ok(Route::Token { method }) if method == "user.get"));
        assert!(matches!(
            route("7/abc/user.current.json"),
            Ok(Route::Webhook { user, token, method }) if user == "7" && token == "abc" && method == "user.current"
        ));
        assert!(route("a/b").is_err());
        assert!(route("").is_err());
        assert!(route("1/2/3/4").is_err());
    }
}
