//! The stylesheet, embedded in the binary and served under a name that carries its content's
//! hash, so it can be cached for a year and a new build is fetched at once.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

const CSS: &str = include_str!("app.css");

/// `app.<first 12 hex digits of its SHA-256>.css`.
static CSS_NAME: LazyLock<String> = LazyLock::new(|| {
    let hex = profile_core::secret::SecretHash::of(CSS).to_hex();
    format!("app.{}.css", &hex[..12])
});

/// The stylesheet's path, for `<link>`.
pub(crate) fn stylesheet() -> String {
    format!("/assets/{}", *CSS_NAME)
}

pub(crate) async fn serve(Path(name): Path<String>) -> Response {
    if name != *CSS_NAME {
        return StatusCode::NOT_FOUND.into_response();
    }
    let mut r = CSS.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable"));
    r
}
