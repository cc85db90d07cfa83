//! `/photo/{id}/{size}.{ext}`: the copies of stored images at their capability URLs
//! (decisions.md): no credential, since the 128-bit ID is the capability and is handed out only
//! in projections to readers who may see the user; cached for a year, since a URL's content
//! never changes (a new upload gets a new ID).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use profile_core::usecase::images;

use crate::AppState;

/// Serves one copy, or 404 for anything that names none.
pub(crate) async fn serve(
    State(state): State<Arc<AppState>>,
    Path((id, file)): Path<(String, String)>,
    client: Option<axum::Extension<crate::ClientAddr>>,
) -> Response {
    // The per-address limit, in a bucket of its own (REST calls keep theirs).
    if let (Some(limit), Some(axum::Extension(client))) = (state.config.address_rate_limit, &client) {
        if !state.limits.photos.admit(limit, client.key(), std::time::Instant::now()) {
            return refuse(
                StatusCode::TOO_MANY_REQUESTS,
                "too many requests from this address; try again shortly",
            );
        }
    }
    let found = if state.config.blocking_reads {
        let s = Arc::clone(&state);
        tokio::task::spawn_blocking(move || images::served_copy(s.ctx(), &id, &file)).await.ok()
    } else {
        // A lookup by primary key on SQLite takes microseconds: the worker does it (as short
        // REST reads).
        Some(images::served_copy(state.ctx(), &id, &file))
    };
    match found {
        Some(Ok(Some((format, bytes)))) => {
            let mut r = bytes.into_response();
            let h = r.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(format.media_type()));
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable"));
            h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
            // Integrations show photos on their own pages (the REST API is open to every origin).
            h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
            h.insert("cross-origin-resource-policy", HeaderValue::from_static("cross-origin"));
            r
        }
        Some(Ok(None)) => refuse(StatusCode::NOT_FOUND, "no such image"),
        Some(Err(e)) => {
            tracing::warn!(error = %e, "reading an image failed");
            refuse(StatusCode::SERVICE_UNAVAILABLE, "the image cannot be read now")
        }
        None => refuse(StatusCode::SERVICE_UNAVAILABLE, "the image cannot be read now"),
    }
}

fn refuse(status: StatusCode, text: &'static str) -> Response {
    let mut r = (status, text).into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r.headers_mut().insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    r
}
