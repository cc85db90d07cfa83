//! `/login`, `POST /logout` and the home page `/`.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maud::html;
use profile_core::model::identity::LockoutPolicy;
use profile_core::usecase::identities::LoginAttempt;
use profile_core::usecase::sessions::{self, SignIn};
use profile_core::CoreError;
use serde::Deserialize;

use super::layout::{alert, field, page, t, tf};
use super::session::{self, blocking, csrf, csrf_ok, hashing, safe_next, signed_in};
use crate::AppState;

#[derive(Deserialize)]
pub(crate) struct NextQuery {
    next: Option<String>,
    /// `done` after a password reset.
    reset: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct LoginForm {
    #[serde(default)]
    login: String,
    #[serde(default)]
    password: String,
    code: Option<String>,
    csrf: Option<String>,
    next: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct CsrfForm {
    csrf: Option<String>,
}

/// What the login form shows besides its fields.
#[derive(Default)]
struct Shown<'a> {
    login: &'a str,
    next: &'a str,
    message: Option<String>,
    second_step: bool,
}

fn login_page(state: &AppState, headers: &HeaderMap, status: StatusCode, shown: &Shown<'_>) -> Response {
    let token = csrf(state, headers);
    let body = html! {
        div class="card" {
            h1 { (t("web.login.title")) }
            (alert(shown.message.as_deref()))
            form method="post" action="/login" {
                input type="hidden" name="csrf" value=(token.token);
                input type="hidden" name="next" value=(shown.next);
                (field("login", t("web.login.login"), "text", shown.login, "username", None))
                (field("password", t("web.login.password"), "password", "", "current-password", None))
                @if shown.second_step {
                    (field("code", t("web.login.code"), "text", "", "one-time-code", None))
                }
                button type="submit" { (t("web.sign_in")) }
            }
            p { a href="/reset" { (t("web.login.forgot")) } }
        }
    };
    let mut r = page(status, t("web.login.title"), None, body);
    token.set_on(&mut r);
    r
}

pub(crate) async fn form(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Query<NextQuery>,
) -> Response {
    let next = safe_next(q.next.as_deref());
    if signed_in(&state, &headers).await.is_some() {
        return Redirect::to(&next).into_response();
    }
    let message = (q.reset.as_deref() == Some("done")).then(|| t("web.reset.done").to_string());
    login_page(&state, &headers, StatusCode::OK, &Shown { next: &next, message, ..Shown::default() })
}

pub(crate) async fn submit(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    let next = safe_next(f.next.as_deref());
    let mut shown = Shown { login: &f.login, next: &next, ..Shown::default() };
    if !csrf_ok(&headers, f.csrf.as_deref()) {
        shown.message = Some(t("web.form.expired").into());
        return login_page(&state, &headers, StatusCode::FORBIDDEN, &shown);
    }
    let device = session::device(&headers);
    let (login, password) = (f.login.clone(), f.password.clone());
    let code = f.code.clone().filter(|c| !c.trim().is_empty());
    let outcome = hashing(&state, move |ctx| {
        let attempt = LoginAttempt {
            login: &login,
            password: &password,
            second_factor: code.as_deref(),
            app_passwords: false,
        };
        sessions::sign_in(ctx, &LockoutPolicy::default(), attempt, &device)
    })
    .await;
    match outcome {
        Ok(SignIn::Started(started)) => {
            let mut r = Redirect::to(&next).into_response();
            r.headers_mut().append(header::SET_COOKIE, session::session_cookie(&state, &started.token));
            r
        }
        Ok(SignIn::SecondFactorNeeded) => {
            shown.second_step = true;
            shown.message = Some(t("web.login.second_step").into());
            login_page(&state, &headers, StatusCode::OK, &shown)
        }
        Err(CoreError::TooManyAttempts { retry_after_secs }) => {
            shown.message = Some(tf("web.login.wait", &[("seconds", &retry_after_secs.to_string())]));
            login_page(&state, &headers, StatusCode::TOO_MANY_REQUESTS, &shown)
        }
        Err(CoreError::Unauthorized { .. }) => {
            shown.second_step = f.code.is_some();
            shown.message = Some(t("web.login.wrong").into());
            login_page(&state, &headers, StatusCode::UNAUTHORIZED, &shown)
        }
        Err(e) => server_error(&e),
    }
}

pub(crate) async fn logout(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Form(f): Form<CsrfForm>,
) -> Response {
    if !csrf_ok(&headers, f.csrf.as_deref()) {
        return login_page(
            &state,
            &headers,
            StatusCode::FORBIDDEN,
            &Shown { next: "/", message: Some(t("web.form.expired").into()), ..Shown::default() },
        );
    }
    if let Some(token) = session::cookie(&headers, session::SESSION_COOKIE) {
        if let Err(e) = blocking(&state, move |ctx| sessions::sign_out(ctx, &token)).await {
            return server_error(&e);
        }
    }
    let mut r = Redirect::to("/login").into_response();
    r.headers_mut().append(header::SET_COOKIE, session::clear_session_cookie());
    r
}

pub(crate) async fn home(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let Some(s) = signed_in(&state, &headers).await else {
        return Redirect::to("/login").into_response();
    };
    let home = match blocking(&state, move |ctx| sessions::home(ctx, s.identity)).await {
        Ok(h) => h,
        Err(e) => return server_error(&e),
    };
    let token = csrf(&state, &headers);
    let body = html! {
        div class="card" {
            h1 { (t("web.home.title")) }
            p class="lead" { (tf("web.home.hello", &[("name", &home.name)])) }
            h2 { (t("web.home.accounts")) }
            @if home.accounts.is_empty() {
                p { (t("web.home.none")) }
            } @else {
                ul class="accounts" {
                    @for (name, slug) in &home.accounts {
                        li { (name) " " span class="hint" { "(" (slug) ")" } }
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

/// The page of an unexpected failure; the cause goes to the log, not to the browser.
pub(crate) fn server_error(e: &CoreError) -> Response {
    tracing::error!(error = %e, "a page failed");
    page(
        StatusCode::INTERNAL_SERVER_ERROR,
        t("web.error"),
        None,
        html! { div class="card" { p { (t("web.error")) } } },
    )
}
