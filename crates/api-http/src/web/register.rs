//! `/register/{token}`: the account's quick-registration link. The form, then the code sent to
//! the e-mail, then "you are in" (a public account, a whitelisted domain) or "waiting for
//! approval" (moderated). The registrant is signed in either way.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maud::html;
use profile_core::model::account::Account;
use profile_core::usecase::invitations::{self, RegistrationOutcome, SelfRegistration};
use profile_core::usecase::sessions;
use profile_core::CoreError;
use serde::Deserialize;
use uuid::Uuid;

use super::layout::{alert, field, field_with, page, t, tf};
use super::login::server_error;
use super::session::{self, blocking, csrf, csrf_ok, hashing};
use crate::AppState;

#[derive(Deserialize)]
pub(crate) struct RegisterForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    last_name: String,
    #[serde(default)]
    password: String,
    code_id: Option<String>,
    #[serde(default)]
    code: String,
    csrf: Option<String>,
}

#[derive(Default)]
struct Shown<'a> {
    email: &'a str,
    name: &'a str,
    last_name: &'a str,
    code_id: Option<Uuid>,
    message: Option<String>,
    errors: Vec<(String, String)>,
}

impl Shown<'_> {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.iter().find(|(f, _)| f.eq_ignore_ascii_case(field)).map(|(_, e)| e.as_str())
    }
}

async fn account(state: &Arc<AppState>, token: &str) -> Result<Account, Response> {
    let t2 = token.to_string();
    match blocking(state, move |ctx| invitations::registration_account(ctx, &t2)).await {
        Ok(a) => Ok(a),
        Err(CoreError::Unauthorized { .. }) => Err(page(
            StatusCode::NOT_FOUND,
            t("web.register.gone_title"),
            None,
            html! { div class="card" { h1 { (t("web.register.gone_title")) } p { (t("web.register.gone")) } } },
        )),
        Err(e) => Err(server_error(&e)),
    }
}

fn register_page(
    state: &AppState,
    headers: &HeaderMap,
    token: &str,
    a: &Account,
    status: StatusCode,
    s: &Shown<'_>,
) -> Response {
    let csrf = csrf(state, headers);
    let title = tf("web.register.title", &[("account", &a.name)]);
    let body = html! {
        div class="card" {
            h1 { (title) }
            @if !a.settings.greeting.trim().is_empty() { p class="lead" { (a.settings.greeting) } }
            (alert(s.message.as_deref()))
            form method="post" action=(format!("/register/{token}")) {
                input type="hidden" name="csrf" value=(csrf.token);
                @if let Some(id) = s.code_id {
                    p { (tf("web.register.sent", &[("email", s.email)])) }
                    input type="hidden" name="code_id" value=(id.to_string());
                    input type="hidden" name="email" value=(s.email);
                    (field("code", t("web.reset.code"), "text", "", "one-time-code", s.error("code")))
                    button type="submit" { (t("web.register.confirm")) }
                } @else {
                    (field("email", t("web.register.email"), "email", s.email, "email", s.error("EMAIL")))
                    (field("name", t("web.invite.name"), "text", s.name, "given-name", s.error("NAME")))
                    (field_with("last_name", t("web.invite.last_name"), "text", s.last_name, "family-name", s.error("LAST_NAME"), false))
                    (field("password", t("web.invite.password"), "password", "", "new-password", s.error("password")))
                    button type="submit" { (t("web.register.send")) }
                }
            }
        }
    };
    let mut r = page(status, &title, None, body);
    csrf.set_on(&mut r);
    r
}

pub(crate) async fn form(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Response {
    match account(&state, &token).await {
        Ok(a) => register_page(&state, &headers, &token, &a, StatusCode::OK, &Shown::default()),
        Err(r) => r,
    }
}

pub(crate) async fn submit(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(token): Path<String>,
    Form(f): Form<RegisterForm>,
) -> Response {
    let a = match account(&state, &token).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let code_id = f.code_id.as_deref().and_then(|id| Uuid::parse_str(id).ok());
    let mut s =
        Shown { email: &f.email, name: &f.name, last_name: &f.last_name, code_id, ..Shown::default() };
    if !csrf_ok(&headers, f.csrf.as_deref()) {
        s.message = Some(t("web.form.expired").into());
        return register_page(&state, &headers, &token, &a, StatusCode::FORBIDDEN, &s);
    }
    let Some(code_id) = code_id else {
        let form = SelfRegistration {
            email: f.email.clone(),
            name: f.name.clone(),
            last_name: f.last_name.clone(),
            password: f.password.clone(),
        };
        let t2 = token.clone();
        return match hashing(&state, move |ctx| invitations::register_with_link(ctx, &t2, form)).await {
            Ok(id) => {
                s.code_id = Some(id);
                register_page(&state, &headers, &token, &a, StatusCode::OK, &s)
            }
            Err(CoreError::Validation { field, reason }) => {
                s.errors.push((field, reason));
                register_page(&state, &headers, &token, &a, StatusCode::UNPROCESSABLE_ENTITY, &s)
            }
            Err(e) => server_error(&e),
        };
    };
    let code = f.code.clone();
    let device = session::device(&headers);
    let done = blocking(&state, move |ctx| {
        let outcome = invitations::confirm_registration(ctx, code_id, &code)?;
        let identity = match outcome {
            RegistrationOutcome::Joined(j) => j.identity,
            RegistrationOutcome::AwaitingApproval { identity, .. } => identity,
        };
        let (token, _) = sessions::start(ctx, identity, &device)?;
        Ok((outcome, token))
    })
    .await;
    match done {
        Ok((outcome, session_token)) => {
            let mut r = match outcome {
                RegistrationOutcome::Joined(_) => Redirect::to("/").into_response(),
                RegistrationOutcome::AwaitingApproval { .. } => {
                    let title = t("web.register.waiting_title");
                    let text = tf("web.register.waiting", &[("account", &a.name)]);
                    page(
                        StatusCode::OK,
                        title,
                        None,
                        html! { div class="card" { h1 { (title) } p { (text) } } },
                    )
                }
            };
            r.headers_mut().append(header::SET_COOKIE, session::session_cookie(&state, &session_token));
            r
        }
        Err(CoreError::Unauthorized { .. }) => {
            s.errors.push(("code".into(), t("web.reset.wrong").into()));
            register_page(&state, &headers, &token, &a, StatusCode::UNAUTHORIZED, &s)
        }
        Err(CoreError::TooManyAttempts { retry_after_secs }) => {
            s.message = Some(tf("web.login.wait", &[("seconds", &retry_after_secs.to_string())]));
            register_page(&state, &headers, &token, &a, StatusCode::TOO_MANY_REQUESTS, &s)
        }
        Err(CoreError::Conflict { reason, .. }) => {
            s.message = Some(reason);
            s.code_id = None;
            register_page(&state, &headers, &token, &a, StatusCode::CONFLICT, &s)
        }
        Err(e) => server_error(&e),
    }
}
