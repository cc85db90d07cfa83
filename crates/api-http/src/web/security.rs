//! `/security/`: the signed-in person's password, two-step sign-in, application passwords and
//! sessions. Secrets (a new application password, recovery codes) are shown once, on the page
//! that answers the POST that made them.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maud::{html, Markup, PreEscaped};
use profile_core::model::session::{Session, SessionId};
use profile_core::usecase::{identities, sessions};
use profile_core::CoreError;
use serde::Deserialize;
use uuid::Uuid;

use super::layout::{alert, field, page, t, tf};
use super::login::server_error;
use super::session::{self, blocking, csrf, csrf_ok, hashing, signed_in};
use crate::AppState;

#[derive(Deserialize, Default)]
pub(crate) struct SecurityForm {
    #[serde(default)]
    current: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    code: String,
    csrf: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct DoneQuery {
    done: Option<String>,
}

/// What the page shows besides the overview.
#[derive(Default)]
struct Shown {
    message: Option<String>,
    error: Option<String>,
    /// Shown once: a new application password, or recovery codes.
    secret: Option<Markup>,
    /// A two-step set-up in progress: the secret and its QR code.
    setup: Option<(String, String)>,
    current_error: Option<String>,
    password_error: Option<String>,
}

async fn overview(
    state: &Arc<AppState>,
    headers: &HeaderMap,
    me: &Session,
    status: StatusCode,
    s: Shown,
) -> Response {
    let policy = state.config.sessions;
    let identity = me.identity;
    let sec = match blocking(state, move |ctx| sessions::security(ctx, &policy, identity)).await {
        Ok(sec) => sec,
        Err(e) => return server_error(&e),
    };
    let token = csrf(state, headers);
    let csrf_input = html! { input type="hidden" name="csrf" value=(token.token); };
    let body = html! {
        div class="card" {
            h1 { (t("web.security.title")) }
            p class="lead" { (tf("web.security.lead", &[("login", &sec.login)])) }
            @if let Some(m) = &s.message { p role="status" { (m) } }
            (alert(s.error.as_deref()))
            @if let Some(secret) = &s.secret { div class="secret" { (secret) } }
        }
        section class="card" aria-labelledby="h-password" {
            h2 id="h-password" { (t("web.security.password")) }
            form method="post" action="/security/password" {
                (csrf_input)
                (field("current", t("web.security.current"), "password", "", "current-password", s.current_error.as_deref()))
                (field("password", t("web.reset.password"), "password", "", "new-password", s.password_error.as_deref()))
                button type="submit" { (t("web.security.change")) }
            }
        }
        section class="card" aria-labelledby="h-totp" {
            h2 id="h-totp" { (t("web.security.two_step")) }
            @if sec.two_step {
                p { (t("web.security.two_step_on")) }
                form method="post" action="/security/totp/disable" {
                    (csrf_input)
                    (field("current", t("web.security.current"), "password", "", "current-password", None))
                    button type="submit" { (t("web.security.two_step_disable")) }
                }
            } @else if let Some((secret, svg)) = &s.setup {
                p { (t("web.security.two_step_scan")) }
                div class="qr" role="img" aria-label=(t("web.security.qr")) { (PreEscaped(svg)) }
                p { (t("web.security.two_step_secret")) " " code { (secret) } }
                form method="post" action="/security/totp/enable" {
                    (csrf_input)
                    (field("code", t("web.login.code_app"), "text", "", "one-time-code", None))
                    button type="submit" { (t("web.security.two_step_confirm")) }
                }
            } @else {
                p { (t("web.security.two_step_off")) }
                form method="post" action="/security/totp/begin" {
                    (csrf_input)
                    button type="submit" { (t("web.security.two_step_enable")) }
                }
            }
        }
        section class="card" aria-labelledby="h-apps" {
            h2 id="h-apps" { (t("web.security.apps")) }
            p class="hint" { (t("web.security.apps_lead")) }
            @if !sec.app_passwords.is_empty() {
                ul class="accounts" {
                    @for (id, name, created) in &sec.app_passwords {
                        li {
                            (name) " " span class="hint" { (created.format("%Y-%m-%d")) }
                            form class="inline" method="post" action=(format!("/security/app-passwords/{id}/revoke")) {
                                (csrf_input)
                                button class="link" type="submit" aria-label=(tf("web.security.revoke_named", &[("name", name)])) { (t("web.security.revoke")) }
                            }
                        }
                    }
                }
            }
            form method="post" action="/security/app-passwords" {
                (csrf_input)
                (field("name", t("web.security.app_name"), "text", "", "off", None))
                button type="submit" { (t("web.security.app_create")) }
            }
        }
        section class="card" aria-labelledby="h-sessions" {
            h2 id="h-sessions" { (t("web.security.sessions")) }
            ul class="accounts" {
                @for other in &sec.sessions {
                    li {
                        (if other.device.is_empty() { t("web.security.unknown_device").to_string() } else { other.device.clone() })
                        " " span class="hint" { (tf("web.security.last_seen", &[("when", &other.last_seen.format("%Y-%m-%d %H:%M UTC").to_string())])) }
                        @if other.id == me.id {
                            " " strong { (t("web.security.this_browser")) }
                        } @else {
                            form class="inline" method="post" action=(format!("/security/sessions/{}/end", other.id.0)) {
                                (csrf_input)
                                button class="link" type="submit" { (t("web.security.end")) }
                            }
                        }
                    }
                }
            }
        }
    };
    let mut r =
        page(status, t("web.security.title"), Some(&token.token), html! { div class="stack" { (body) } });
    token.set_on(&mut r);
    r
}

async fn me_or_login(state: &Arc<AppState>, headers: &HeaderMap) -> Result<Session, Response> {
    signed_in(state, headers).await.ok_or_else(|| Redirect::to("/login?next=/security/").into_response())
}

pub(crate) async fn show(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Query<DoneQuery>,
) -> Response {
    let me = match me_or_login(&state, &headers).await {
        Ok(me) => me,
        Err(r) => return r,
    };
    let message = match q.done.as_deref() {
        Some("password") => Some(t("web.security.password_done").to_string()),
        _ => None,
    };
    overview(&state, &headers, &me, StatusCode::OK, Shown { message, ..Shown::default() }).await
}

/// The checks of every POST here: signed in, and the CSRF token.
async fn post_guard(
    state: &Arc<AppState>,
    headers: &HeaderMap,
    f: &SecurityForm,
) -> Result<Session, Response> {
    let me = me_or_login(state, headers).await?;
    if !csrf_ok(headers, f.csrf.as_deref()) {
        let s = Shown { error: Some(t("web.form.expired").into()), ..Shown::default() };
        return Err(overview(state, headers, &me, StatusCode::FORBIDDEN, s).await);
    }
    Ok(me)
}

/// What a POST here comes to.
enum Answer {
    /// Back to the page (a `?done=` message, or none).
    Back(&'static str),
    /// The page again, with what to show.
    Page(StatusCode, Shown),
}

/// The page with an error for the whole form.
fn refused(status: StatusCode, text: impl Into<String>) -> Answer {
    Answer::Page(status, Shown { error: Some(text.into()), ..Shown::default() })
}

/// The refusals every form here shares; anything else is a server error.
fn refusal(e: CoreError, unauthorized: &'static str) -> Result<Answer, CoreError> {
    match e {
        CoreError::Unauthorized { .. } => Ok(refused(StatusCode::UNAUTHORIZED, t(unauthorized))),
        CoreError::Conflict { reason, .. } => Ok(refused(StatusCode::CONFLICT, reason)),
        CoreError::Validation { reason, .. } => Ok(refused(StatusCode::UNPROCESSABLE_ENTITY, reason)),
        e => Err(e),
    }
}

/// Runs a POST: the guard, then `act` for the signed-in session, then the answer.
async fn post<F, Fut>(state: Arc<AppState>, headers: HeaderMap, f: SecurityForm, act: F) -> Response
where
    F: FnOnce(Arc<AppState>, Session, SecurityForm) -> Fut,
    Fut: std::future::Future<Output = Result<(Answer, Option<String>), CoreError>>,
{
    let me = match post_guard(&state, &headers, &f).await {
        Ok(me) => me,
        Err(r) => return r,
    };
    match act(Arc::clone(&state), me.clone(), f).await {
        Ok((Answer::Back(to), new_session)) => {
            let mut r = Redirect::to(to).into_response();
            if let Some(token) = new_session {
                r.headers_mut().append(header::SET_COOKIE, session::session_cookie(&state, &token));
            }
            r
        }
        Ok((Answer::Page(status, shown), _)) => overview(&state, &headers, &me, status, shown).await,
        Err(e) => server_error(&e),
    }
}

pub(crate) async fn change_password(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Form(f): Form<SecurityForm>,
) -> Response {
    post(state, headers, f, |state, me, f| async move {
        let (identity, device) = (me.identity, me.device.clone());
        // Every session ends with the old password; this browser gets a new one.
        let done = hashing(&state, move |ctx| {
            identities::change_password(ctx, identity, &f.current, &f.password)?;
            sessions::start(ctx, identity, &device)
        })
        .await;
        match done {
            Ok((token, _)) => Ok((Answer::Back("/security/?done=password"), Some(token))),
            Err(CoreError::Unauthorized { .. }) => {
                let s =
                    Shown { current_error: Some(t("web.security.current_wrong").into()), ..Shown::default() };
                Ok((Answer::Page(StatusCode::UNAUTHORIZED, s), None))
            }
            Err(CoreError::Validation { reason, .. }) => {
                let s = Shown { password_error: Some(reason), ..Shown::default() };
                Ok((Answer::Page(StatusCode::UNPROCESSABLE_ENTITY, s), None))
            }
            Err(e) => Err(e),
        }
    })
    .await
}

pub(crate) async fn create_app_password(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Form(f): Form<SecurityForm>,
) -> Response {
    post(state, headers, f, |state, me, f| async move {
        let identity = me.identity;
        let answer = match blocking(&state, move |ctx| {
            identities::create_app_password(ctx, identity, &f.name)
        })
        .await
        {
            Ok((app, password)) => {
                let secret = html! {
                    p { (tf("web.security.app_created", &[("name", &app.name)])) }
                    p { code class="big" { (password) } }
                };
                Answer::Page(StatusCode::OK, Shown { secret: Some(secret), ..Shown::default() })
            }
            Err(e) => refusal(e, "web.error")?,
        };
        Ok((answer, None))
    })
    .await
}

pub(crate) async fn revoke_app_password(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<SecurityForm>,
) -> Response {
    let id = Uuid::parse_str(&id).unwrap_or_default();
    post(state, headers, f, |state, me, _| async move {
        let identity = me.identity;
        match blocking(&state, move |ctx| identities::revoke_app_password(ctx, identity, id)).await {
            Ok(()) | Err(CoreError::NotFound { .. }) => Ok((Answer::Back("/security/"), None)),
            Err(e) => Err(e),
        }
    })
    .await
}

pub(crate) async fn end_session(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<SecurityForm>,
) -> Response {
    let id = SessionId(Uuid::parse_str(&id).unwrap_or_default());
    post(state, headers, f, |state, me, _| async move {
        let identity = me.identity;
        match blocking(&state, move |ctx| sessions::end_session(ctx, identity, id)).await {
            Ok(()) | Err(CoreError::NotFound { .. }) => Ok((Answer::Back("/security/"), None)),
            Err(e) => Err(e),
        }
    })
    .await
}

pub(crate) async fn begin_totp(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Form(f): Form<SecurityForm>,
) -> Response {
    post(state, headers, f, |state, me, _| async move {
        let identity = me.identity;
        let answer = match blocking(&state, move |ctx| identities::begin_totp(ctx, identity, "Cardfile"))
            .await
        {
            Ok(setup) => {
                let svg = qrcode::QrCode::new(setup.uri.as_bytes())
                    .map(|q| q.render::<qrcode::render::svg::Color<'_>>().min_dimensions(200, 200).build())
                    .unwrap_or_default();
                Answer::Page(StatusCode::OK, Shown { setup: Some((setup.secret, svg)), ..Shown::default() })
            }
            Err(e) => refusal(e, "web.error")?,
        };
        Ok((answer, None))
    })
    .await
}

pub(crate) async fn enable_totp(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Form(f): Form<SecurityForm>,
) -> Response {
    post(state, headers, f, |state, me, f| async move {
        let identity = me.identity;
        let answer = match blocking(&state, move |ctx| identities::enable_totp(ctx, identity, &f.code)).await
        {
            Ok(codes) => {
                let secret = html! {
                    p { (t("web.security.recovery")) }
                    ul class="codes" { @for c in &codes { li { code { (c) } } } }
                };
                Answer::Page(StatusCode::OK, Shown { secret: Some(secret), ..Shown::default() })
            }
            Err(e) => refusal(e, "web.security.code_wrong")?,
        };
        Ok((answer, None))
    })
    .await
}

pub(crate) async fn disable_totp(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Form(f): Form<SecurityForm>,
) -> Response {
    post(state, headers, f, |state, me, f| async move {
        let identity = me.identity;
        match hashing(&state, move |ctx| identities::disable_totp(ctx, identity, &f.current)).await {
            Ok(()) => Ok((Answer::Back("/security/"), None)),
            Err(e) => Ok((refusal(e, "web.security.current_wrong")?, None)),
        }
    })
    .await
}
