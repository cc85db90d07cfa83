//! `/login` (with the second step of two-step sign-in) and `POST /logout`.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use maud::html;
use profile_core::error::AuthFailure;
use profile_core::model::identity::LockoutPolicy;
use profile_core::usecase::identities::LoginAttempt;
use profile_core::usecase::sessions::{self, SignIn};
use profile_core::usecase::Ctx;
use profile_core::CoreError;
use serde::Deserialize;

use super::layout::{alert, field, page, t, tf};
use super::session::{self, blocking, csrf, csrf_ok, hashing, safe_next, signed_in};
use crate::transport::ClientAddr;
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
    /// The second step: the ticket of the first, and the code.
    ticket: Option<String>,
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
    /// The second step's ticket: the form asks for the code only.
    ticket: Option<&'a str>,
    code_error: Option<String>,
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
                @if let Some(ticket) = shown.ticket {
                    p class="lead" { (tf("web.login.second_step", &[("login", shown.login)])) }
                    input type="hidden" name="ticket" value=(ticket);
                    input type="hidden" name="login" value=(shown.login);
                    (field("code", t("web.login.code"), "text", "", "one-time-code", shown.code_error.as_deref()))
                } @else {
                    (field("login", t("web.login.login"), "text", shown.login, "username", None))
                    (field("password", t("web.login.password"), "password", "", "current-password", None))
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
    client: Option<Extension<ClientAddr>>,
    Form(f): Form<LoginForm>,
) -> Response {
    let next = safe_next(f.next.as_deref());
    let ticket = f.ticket.as_deref().filter(|t| !t.is_empty());
    let mut shown = Shown { login: &f.login, next: &next, ticket, ..Shown::default() };
    if !csrf_ok(&headers, f.csrf.as_deref()) {
        shown.message = Some(t("web.form.expired").into());
        return login_page(&state, &headers, StatusCode::FORBIDDEN, &shown);
    }
    let device = session::device(&headers);
    let client = client.map(|Extension(c)| c.key());
    let outcome = match ticket {
        Some(ticket) => {
            let (ticket, code) = (ticket.to_string(), f.code.clone().unwrap_or_default());
            blocking(&state, move |ctx| {
                let ctx = Ctx { client: client.as_deref(), ..ctx };
                sessions::second_step(ctx, &LockoutPolicy::default(), &ticket, code.trim(), &device)
            })
            .await
        }
        None => {
            let (login, password) = (f.login.clone(), f.password.clone());
            hashing(&state, move |ctx| {
                let ctx = Ctx { client: client.as_deref(), ..ctx };
                let attempt = LoginAttempt {
                    login: &login,
                    password: &password,
                    second_factor: None,
                    app_passwords: false,
                };
                sessions::sign_in(ctx, &LockoutPolicy::default(), attempt, &device)
            })
            .await
        }
    };
    match outcome {
        Ok(SignIn::Started(started)) => {
            let mut r = Redirect::to(&next).into_response();
            r.headers_mut().append(header::SET_COOKIE, session::session_cookie(&state, &started.token));
            r
        }
        Ok(SignIn::SecondFactorNeeded { ticket }) => {
            shown.ticket = Some(&ticket);
            login_page(&state, &headers, StatusCode::OK, &shown)
        }
        Err(CoreError::TooManyAttempts { retry_after_secs }) => {
            shown.message = Some(tf("web.login.wait", &[("seconds", &retry_after_secs.to_string())]));
            login_page(&state, &headers, StatusCode::TOO_MANY_REQUESTS, &shown)
        }
        Err(CoreError::Unauthorized { failure: AuthFailure::Expired, .. }) => {
            // The first step is too old (or its password changed): start again.
            shown.ticket = None;
            shown.message = Some(t("web.login.again").into());
            login_page(&state, &headers, StatusCode::UNAUTHORIZED, &shown)
        }
        Err(CoreError::Unauthorized { .. }) if shown.ticket.is_some() => {
            shown.code_error = Some(t("web.login.wrong_code").into());
            login_page(&state, &headers, StatusCode::UNAUTHORIZED, &shown)
        }
        Err(CoreError::Unauthorized { .. }) => {
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
