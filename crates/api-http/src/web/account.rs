//! Where a signed-in person lands: `/` sends them to their account, or lists their accounts to
//! choose from (or says they have none); an account's pages are at the root (`/company/`) for
//! the default account and under `/a/{slug}/` for the others (decisions.md); its home is the
//! directory.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use profile_core::usecase::sessions::{self, Place};

use super::layout::{page, t, tf};
use super::login::server_error;
use super::session::{blocking, csrf, signed_in};
use crate::AppState;

/// The root of an account's pages.
pub(crate) fn root(place: &Place) -> String {
    if place.default {
        "/company/".to_string()
    } else {
        format!("/a/{}/company/", place.slug)
    }
}

/// `/`: to `/login` signed out; to the only account; otherwise the list to choose from.
pub(crate) async fn home(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let Some(s) = signed_in(&state, &headers).await else {
        return Redirect::to("/login").into_response();
    };
    let home = match blocking(&state, move |ctx| sessions::home(ctx, s.identity)).await {
        Ok(h) => h,
        Err(e) => return server_error(&e),
    };
    if let [only] = home.accounts.as_slice() {
        return Redirect::to(&root(only)).into_response();
    }
    let token = csrf(&state, &headers);
    let body = html! {
        div class="card" {
            h1 { (t("web.home.title")) }
            p class="lead" { (tf("web.home.hello", &[("name", &home.name)])) }
            @if home.accounts.is_empty() {
                p { (t("web.home.none")) }
            } @else {
                h2 { (t("web.home.accounts")) }
                ul class="accounts" {
                    @for place in &home.accounts {
                        li { a href=(root(place)) { (place.name) } " " span class="hint" { "(" (place.slug) ")" } }
                    }
                }
            }
            p { a href="/security/" { (t("web.home.security")) } }
        }
    };
    let mut r = page(StatusCode::OK, t("web.home.title"), Some(&token.token), body);
    token.set_on(&mut r);
    r
}

/// `/a/{slug}/`: the account's home.
pub(crate) async fn other_account_root(Path(slug): Path<String>) -> Response {
    Redirect::to(&format!(
        "/a/{}/company/",
        percent_encoding::utf8_percent_encode(&slug, percent_encoding::NON_ALPHANUMERIC)
    ))
    .into_response()
}

/// The page of an address that leads nowhere (or nowhere this person may go).
pub(crate) fn not_found() -> Response {
    page(
        StatusCode::NOT_FOUND,
        t("web.not_found.title"),
        None,
        html! { div class="card" { h1 { (t("web.not_found.title")) } p { (t("web.not_found.text")) } p { a href="/" { (t("web.not_found.home")) } } } },
    )
}
