//! The browser's side of a session: the cookie (decisions.md: `__Host-cardfile`, `Secure`,
//! `HttpOnly`, `SameSite=Lax`), the CSRF token (a double-submit cookie, `SameSite=Strict`,
//! whose value every form repeats), the signed-in person, and running store calls and password
//! hashing off the async workers.

use std::sync::Arc;

use axum::http::{header, HeaderMap, HeaderValue};
use profile_core::model::session::Session;
use profile_core::secret;
use profile_core::usecase::{sessions, Ctx};
use profile_core::CoreError;

use crate::AppState;

/// The session cookie.
pub(crate) const SESSION_COOKIE: &str = "__Host-cardfile";
/// The CSRF cookie.
const CSRF_COOKIE: &str = "__Host-cardfile-csrf";

/// A cookie's value from the request.
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
        .filter(|v| secret::is_token_shaped(v))
}

fn set_cookie(name: &str, value: &str, same_site: &str, max_age: i64) -> HeaderValue {
    let text = format!("{name}={value}; Path=/; Secure; HttpOnly; SameSite={same_site}; Max-Age={max_age}");
    HeaderValue::from_str(&text).unwrap_or(HeaderValue::from_static(""))
}

/// The `Set-Cookie` of a new session, lasting as long as sessions may.
pub(crate) fn session_cookie(state: &AppState, token: &str) -> HeaderValue {
    set_cookie(SESSION_COOKIE, token, "Lax", state.config.sessions.absolute.num_seconds())
}

/// The `Set-Cookie` that removes the session cookie.
pub(crate) fn clear_session_cookie() -> HeaderValue {
    set_cookie(SESSION_COOKIE, "x", "Lax", 0)
}

/// This browser's CSRF token: its cookie's, or a new one with the `Set-Cookie` to send.
pub(crate) struct Csrf {
    /// The token the forms carry.
    pub token: String,
    /// The cookie to set, when it is new.
    pub set: Option<HeaderValue>,
}

impl Csrf {
    /// Adds the cookie to a page's response when the token is new.
    pub(crate) fn set_on(self, response: &mut axum::response::Response) {
        if let Some(set) = self.set {
            response.headers_mut().append(header::SET_COOKIE, set);
        }
    }
}

/// The browser's `User-Agent`, for session lists.
pub(crate) fn device(headers: &HeaderMap) -> String {
    headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("").to_string()
}

/// The CSRF token for the forms of a page.
pub(crate) fn csrf(state: &AppState, headers: &HeaderMap) -> Csrf {
    match cookie(headers, CSRF_COOKIE) {
        Some(token) => Csrf { token, set: None },
        None => {
            let token = secret::new_token(&*state.ids);
            let set = set_cookie(CSRF_COOKIE, &token, "Strict", 60 * 60 * 24 * 30);
            Csrf { token, set: Some(set) }
        }
    }
}

/// Whether a form's `csrf` value is this browser's token.
pub(crate) fn csrf_ok(headers: &HeaderMap, sent: Option<&str>) -> bool {
    match (cookie(headers, CSRF_COOKIE), sent) {
        (Some(mine), Some(sent)) => secret::same_bytes(mine.as_bytes(), sent.as_bytes()),
        _ => false,
    }
}

/// Runs a store call on the blocking pool.
pub(crate) async fn blocking<T: Send + 'static>(
    state: &Arc<AppState>,
    f: impl FnOnce(Ctx<'_>) -> Result<T, CoreError> + Send + 'static,
) -> Result<T, CoreError> {
    let s = Arc::clone(state);
    tokio::task::spawn_blocking(move || f(s.ctx())).await.unwrap_or_else(|_| {
        Err(CoreError::Storage(profile_core::StoreError::Backend("the worker stopped".into())))
    })
}

/// Runs a call that hashes a password: on the blocking pool, at most `cores − 1` at once.
pub(crate) async fn hashing<T: Send + 'static>(
    state: &Arc<AppState>,
    f: impl FnOnce(Ctx<'_>) -> Result<T, CoreError> + Send + 'static,
) -> Result<T, CoreError> {
    let _slot = state.hashing.acquire().await;
    blocking(state, f).await
}

/// The live session of the request's cookie, if any. "Last seen" is written after the answer
/// when it is due (at most once a minute), never on the request's path.
pub(crate) async fn signed_in(state: &Arc<AppState>, headers: &HeaderMap) -> Option<Session> {
    let token = cookie(headers, SESSION_COOKIE)?;
    let policy = state.config.sessions;
    let session = blocking(state, move |ctx| sessions::resume(ctx, &policy, &token)).await.ok()?;
    touch_when_due(state, &session);
    Some(session)
}

/// Writes a resumed session's last use off the request's path, when the session policy's
/// throttle says it is due (decisions.md: no read becomes a write per request).
pub(crate) fn touch_when_due(state: &Arc<AppState>, session: &Session) {
    let policy = state.config.sessions;
    if policy.needs_touch(session, state.clock.now()) {
        let s = Arc::clone(state);
        let touched = session.clone();
        tokio::task::spawn_blocking(move || {
            if let Err(e) = sessions::touch(s.ctx(), &policy, &touched) {
                tracing::warn!(error = %e, "could not write a session's last seen");
            }
        });
    }
}

/// A return path from `?next=`: only a path on this origin (no scheme, no `//` host, no
/// backslash, no control character); anything else is `/`.
pub(crate) fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && !n.chars().any(char::is_control)
                && n.len() <= 2000 =>
        {
            n.to_string()
        }
        _ => "/".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn return_paths_stay_on_this_origin() {
        assert_eq!(safe_next(Some("/invite/abc?x=1")), "/invite/abc?x=1");
        for bad in
            ["https://evil.example/", "//evil.example", "/\\evil.example", "javascript:alert(1)", "", "/a\nb"]
        {
            assert_eq!(safe_next(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(safe_next(None), "/");
    }
}
