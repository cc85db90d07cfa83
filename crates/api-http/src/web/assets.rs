//! The stylesheet and the pages' script, embedded in the binary and served under names
//! that carry their content's hash, so it can be cached for a year and a new build is fetched at once.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

const CSS: &str = include_str!("app.css");
const JS: &str = include_str!("app.js");

/// `app.<first 12 hex digits of its SHA-256>.css`.
static CSS_NAME: LazyLock<String> = LazyLock::new(|| {
    let hex = profile_core::secret::SecretHash::of(CSS).to_hex();
    format!("app.{}.css", &hex[..12])
});

/// `app.<hash>.js`, likewise.
static JS_NAME: LazyLock<String> = LazyLock::new(|| {
    let hex = profile_core::secret::SecretHash::of(JS).to_hex();
    format!("app.{}.js", &hex[..12])
});

/// The script's path, for `<script src>`.
pub(crate) fn script() -> String {
    format!("/assets/{}", *JS_NAME)
}

/// The stylesheet's path, for `<link>`.
pub(crate) fn stylesheet() -> String {
    format!("/assets/{}", *CSS_NAME)
}

pub(crate) async fn serve(Path(name): Path<String>) -> Response {
    let (body, kind) = if name == *CSS_NAME {
        (CSS, "text/css; charset=utf-8")
    } else if name == *JS_NAME {
        (JS, "text/javascript; charset=utf-8")
    } else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable"));
    r
}
