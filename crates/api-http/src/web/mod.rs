//! The web pages (server-rendered HTML on the REST API's origin and port): sign-in, sign-out,
//! a password reset, accepting an invitation, the quick-registration link, choosing an account,
//! `/security/` (password, two-step sign-in, application passwords, sessions), and an account's
//! pages (`/company/…` for the default account, `/a/{slug}/company/…` for others): the
//! directory, a person's card, the structure and the absence chart. They share [`layout`] (the
//! page shell and the text catalogue), [`session`] (the cookie, CSRF, the signed-in person),
//! `people` (acting in an account, the navigation) and the embedded [`assets`].
//!
//! Rules every page follows: state changes are POSTs carrying the CSRF token; pages never cache;
//! the Content-Security-Policy allows no inline script or style and no other origin (the one
//! script, `app.js`, only enhances: search refreshes as one types, a chosen photo is previewed,
//! the form layout is arranged in place); a store call runs on
//! the blocking pool; password hashing waits for one of at most `cores − 1` slots.

mod account;
mod assets;
mod card;
mod directory;
mod edit;
mod invite;
mod layout;
mod login;
mod people;
mod register;
mod reset;
mod security;
pub(crate) mod session;
mod structure;

use std::sync::Arc;

use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;

use crate::AppState;

/// The routes of the pages.
pub(crate) fn routes() -> Router<Arc<AppState>> {
    let mut pages =
        Router::new().route("/", get(account::home)).route("/a/{slug}/", get(account::other_account_root));
    // An account's pages: the default account's at the root, the others' under `/a/{slug}/`.
    for root in ["/company", "/a/{slug}/company"] {
        let card = format!("{root}/personal/user/{{id}}");
        pages = pages
            .route(&format!("{root}/"), get(directory::page))
            .route(&format!("{root}/search"), get(directory::results_only))
            .route(&format!("{card}/"), get(card::page))
            .route(&format!("{card}/appreciate"), post(card::give))
            .route(&format!("{card}/edit/"), get(edit::page).post(edit::save))
            .route(&format!("{card}/edit/photo"), post(edit::upload_photo))
            .route(&format!("{card}/edit/photo/remove"), post(edit::remove_photo))
            .route(&format!("{card}/edit/layout"), post(edit::save_layout))
            .route(&format!("{card}/edit/layout/reset"), post(edit::reset_layout))
            .route(&format!("{card}/edit/absences"), post(edit::add_absence))
            .route(&format!("{card}/edit/absences/{{absence}}/delete"), post(edit::delete_absence))
            .route(&format!("{root}/structure/"), get(structure::tree_page))
            .route(&format!("{root}/structure/{{id}}/"), get(structure::department_page))
            .route(&format!("{root}/absences/"), get(structure::chart_page));
    }
    pages
        .route("/login", get(login::form).post(login::submit))
        .route("/logout", post(login::logout))
        .route("/reset", get(reset::form).post(reset::submit))
        .route("/invite/{token}", get(invite::form).post(invite::submit))
        .route("/register/{token}", get(register::form).post(register::submit))
        .route("/security/", get(security::show))
        .route("/security/password", post(security::change_password))
        .route("/security/app-passwords", post(security::create_app_password))
        .route("/security/app-passwords/{id}/revoke", post(security::revoke_app_password))
        .route("/security/sessions/{id}/end", post(security::end_session))
        .route("/security/totp/begin", post(security::begin_totp))
        .route("/security/totp/enable", post(security::enable_totp))
        .route("/security/totp/disable", post(security::disable_totp))
        .route("/assets/{name}", get(assets::serve))
        .layer(axum::middleware::from_fn(security_headers))
}

/// The headers of every page: no inline script, nothing from another origin, no framing, no
/// referrer beyond this origin, no caching of pages (assets set their own).
async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self' data:; \
             form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    response
}
