//! `/reset`: a code to the login's address, then the code and a new password. The answer to the
//! first step is the same whether or not the login exists.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use maud::html;
use profile_core::usecase::{identities, Ctx};
use profile_core::CoreError;
use serde::Deserialize;
use uuid::Uuid;

use super::layout::{alert, field, page, t, tf};
use super::login::server_error;
use super::session::{blocking, csrf, csrf_ok, hashing};
use crate::transport::ClientAddr;
use crate::AppState;

#[derive(Deserialize)]
pub(crate) struct ResetForm {
    #[serde(default)]
    login: String,
    code_id: Option<String>,
    #[serde(default)]
    code: String,
    #[serde(default)]
    password: String,
    csrf: Option<String>,
}

#[derive(Default)]
struct Shown<'a> {
    login: &'a str,
    /// The code's ID once one was asked for: the second step.
    code_id: Option<Uuid>,
    message: Option<String>,
    login_error: Option<String>,
    code_error: Option<String>,
    password_error: Option<String>,
}

fn reset_page(state: &AppState, headers: &HeaderMap, status: StatusCode, s: &Shown<'_>) -> Response {
    let token = csrf(state, headers);
    let body = html! {
        div class="card" {
            h1 { (t("web.reset.title")) }
            (alert(s.message.as_deref()))
            form method="post" action="/reset" {
                input type="hidden" name="csrf" value=(token.token);
                @if let Some(id) = s.code_id {
                    p class="lead" { (tf("web.reset.sent", &[("login", s.login)])) }
                    input type="hidden" name="code_id" value=(id.to_string());
                    input type="hidden" name="login" value=(s.login);
                    (field("code", t("web.reset.code"), "text", "", "one-time-code", s.code_error.as_deref()))
                    (field("password", t("web.reset.password"), "password", "", "new-password", s.password_error.as_deref()))
                    button type="submit" { (t("web.reset.change")) }
                } @else {
                    p class="lead" { (t("web.reset.lead")) }
                    (field("login", t("web.login.login"), "text", s.login, "username", s.login_error.as_deref()))
                    button type="submit" { (t("web.reset.send")) }
                }
            }
        }
    };
    let mut r = page(status, t("web.reset.title"), None, body);
    token.set_on(&mut r);
    r
}

pub(crate) async fn form(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    reset_page(&state, &headers, StatusCode::OK, &Shown::default())
}

pub(crate) async fn submit(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    client: Option<Extension<ClientAddr>>,
    Form(f): Form<ResetForm>,
) -> Response {
    let client = client.map(|Extension(c)| c.key());
    let code_id = f.code_id.as_deref().and_then(|id| Uuid::parse_str(id).ok());
    let mut s = Shown { login: &f.login, code_id, ..Shown::default() };
    if !csrf_ok(&headers, f.csrf.as_deref()) {
        s.message = Some(t("web.form.expired").into());
        return reset_page(&state, &headers, StatusCode::FORBIDDEN, &s);
    }
    let Some(code_id) = code_id else {
        let login = f.login.clone();
        let asked = blocking(&state, move |ctx| {
            identities::request_password_reset(Ctx { client: client.as_deref(), ..ctx }, &login)
        });
        return match asked.await {
            Ok(id) => {
                s.code_id = Some(id);
                reset_page(&state, &headers, StatusCode::OK, &s)
            }
            Err(CoreError::Validation { reason, .. }) => {
                s.login_error = Some(reason);
                reset_page(&state, &headers, StatusCode::UNPROCESSABLE_ENTITY, &s)
            }
            Err(CoreError::TooManyAttempts { retry_after_secs }) => {
                s.message = Some(tf("web.login.wait", &[("seconds", &retry_after_secs.to_string())]));
                reset_page(&state, &headers, StatusCode::TOO_MANY_REQUESTS, &s)
            }
            Err(e) => server_error(&e),
        };
    };
    let (code, password) = (f.code.clone(), f.password.clone());
    let reset = hashing(&state, move |ctx| {
        identities::reset_password(Ctx { client: client.as_deref(), ..ctx }, code_id, &code, &password)
    });
    match reset.await {
        Ok(()) => Redirect::to("/login?reset=done").into_response(),
        Err(CoreError::Validation { reason, .. }) => {
            s.password_error = Some(reason);
            reset_page(&state, &headers, StatusCode::UNPROCESSABLE_ENTITY, &s)
        }
        Err(CoreError::Unauthorized { .. }) => {
            s.code_error = Some(t("web.reset.wrong").into());
            reset_page(&state, &headers, StatusCode::UNAUTHORIZED, &s)
        }
        Err(CoreError::TooManyAttempts { retry_after_secs }) => {
            s.message = Some(tf("web.login.wait", &[("seconds", &retry_after_secs.to_string())]));
            reset_page(&state, &headers, StatusCode::TOO_MANY_REQUESTS, &s)
        }
        Err(e) => server_error(&e),
    }
}
