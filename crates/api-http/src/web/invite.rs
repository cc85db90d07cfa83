//! `/invite/{token}`: accepting an invitation, with a new profile (name and password) or, when
//! the address already has one, with that profile once signed in. The person is signed in after.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maud::{html, Markup};
use profile_core::model::invitation::InvitationState;
use profile_core::usecase::identities::{self, ProfileEdit};
use profile_core::usecase::invitations::{self, Acceptance, InvitationPreview};
use profile_core::usecase::sessions;
use profile_core::CoreError;
use serde::Deserialize;

use super::layout::{alert, field, field_with, page, t, tf};
use super::login::server_error;
use super::session::{self, blocking, csrf, csrf_ok, hashing, signed_in};
use crate::AppState;

#[derive(Deserialize)]
pub(crate) struct AcceptForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    last_name: String,
    #[serde(default)]
    password: String,
    /// `existing`: join with the signed-in profile.
    mode: Option<String>,
    csrf: Option<String>,
}

/// What the form shows besides the invitation.
#[derive(Default)]
struct Shown<'a> {
    name: &'a str,
    last_name: &'a str,
    message: Option<String>,
    password_error: Option<String>,
    name_error: Option<String>,
}

async fn preview(state: &Arc<AppState>, token: &str) -> Result<InvitationPreview, Response> {
    let t2 = token.to_string();
    match blocking(state, move |ctx| invitations::preview_invitation(ctx, &t2)).await {
        Ok(p) => Ok(p),
        Err(CoreError::Unauthorized { .. }) => {
            Err(notice(StatusCode::NOT_FOUND, t("web.invite.gone_title"), t("web.invite.unknown")))
        }
        Err(e) => Err(server_error(&e)),
    }
}

fn notice(status: StatusCode, title: &str, text: &str) -> Response {
    page(status, title, None, html! { div class="card" { h1 { (title) } p { (text) } } })
}

fn gone() -> Response {
    notice(StatusCode::GONE, t("web.invite.gone_title"), t("web.invite.gone"))
}

fn accept_page(
    state: &AppState,
    headers: &HeaderMap,
    token: &str,
    p: &InvitationPreview,
    signed_in: bool,
    status: StatusCode,
    shown: &Shown<'_>,
) -> Response {
    let csrf = csrf(state, headers);
    let account = p.account_name.as_str();
    let address = p.address.as_str();
    let action = format!("/invite/{token}");
    let form: Markup = if p.has_identity {
        html! {
            p { (tf("web.invite.existing", &[("address", address), ("account", account)])) }
            @if signed_in {
                form method="post" action=(action) {
                    input type="hidden" name="csrf" value=(csrf.token);
                    input type="hidden" name="mode" value="existing";
                    button type="submit" { (tf("web.invite.join_existing", &[("account", account)])) }
                }
            } @else {
                a href=(format!("/login?next={action}")) { (t("web.sign_in")) }
            }
        }
    } else {
        html! {
            p class="lead" { (tf("web.invite.lead", &[("address", address)])) }
            form method="post" action=(action) {
                input type="hidden" name="csrf" value=(csrf.token);
                (field("name", t("web.invite.name"), "text", shown.name, "given-name", shown.name_error.as_deref()))
                (field_with("last_name", t("web.invite.last_name"), "text", shown.last_name, "family-name", None, false))
                (field("password", t("web.invite.password"), "password", "", "new-password", shown.password_error.as_deref()))
                button type="submit" { (t("web.invite.accept")) }
            }
        }
    };
    let title = tf("web.invite.title", &[("account", account)]);
    let body = html! {
        div class="card" {
            h1 { (title) }
            (alert(shown.message.as_deref()))
            (form)
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
    let p = match preview(&state, &token).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    if p.state != InvitationState::Pending {
        return gone();
    }
    let me = signed_in(&state, &headers).await.is_some();
    accept_page(&state, &headers, &token, &p, me, StatusCode::OK, &Shown::default())
}

pub(crate) async fn submit(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(token): Path<String>,
    Form(f): Form<AcceptForm>,
) -> Response {
    let p = match preview(&state, &token).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    if p.state != InvitationState::Pending {
        return gone();
    }
    let me = signed_in(&state, &headers).await;
    let mut shown = Shown { name: &f.name, last_name: &f.last_name, ..Shown::default() };
    if !csrf_ok(&headers, f.csrf.as_deref()) {
        shown.message = Some(t("web.form.expired").into());
        return accept_page(&state, &headers, &token, &p, me.is_some(), StatusCode::FORBIDDEN, &shown);
    }
    if f.mode.as_deref() == Some("existing") {
        let Some(me) = me else {
            return Redirect::to(&format!("/login?next=/invite/{token}")).into_response();
        };
        let token2 = token.clone();
        return match blocking(&state, move |ctx| {
            invitations::accept_invitation(ctx, &token2, Acceptance::Existing(me.identity))
        })
        .await
        {
            Ok(_) => Redirect::to("/").into_response(),
            Err(CoreError::Conflict { field, .. }) if field == "token" => gone(),
            Err(CoreError::Conflict { reason, .. }) => {
                shown.message = Some(reason);
                accept_page(&state, &headers, &token, &p, true, StatusCode::CONFLICT, &shown)
            }
            Err(e) => server_error(&e),
        };
    }
    // The names are checked before the invitation is used up: accepting cannot be undone.
    let names = profile_core::model::user::UserPatch::from_text([
        (profile_core::field::UserField::Name, f.name.trim()),
        (profile_core::field::UserField::LastName, f.last_name.trim()),
    ]);
    if f.name.trim().is_empty() || names.is_err() {
        shown.name_error = Some(match names {
            Err(CoreError::Validation { reason, .. }) => reason,
            _ => "Enter your first name.".into(),
        });
        return accept_page(
            &state,
            &headers,
            &token,
            &p,
            me.is_some(),
            StatusCode::UNPROCESSABLE_ENTITY,
            &shown,
        );
    }
    let (token2, password) = (token.clone(), f.password.clone());
    let (name, last_name) = (f.name.trim().to_string(), f.last_name.trim().to_string());
    let device = session::device(&headers);
    let done = hashing(&state, move |ctx| {
        let accepted = invitations::accept_invitation(ctx, &token2, Acceptance::NewIdentity { password })?;
        let edit = ProfileEdit { name, last_name };
        identities::update_profile(ctx, accepted.identity, edit, true)?;
        sessions::start(ctx, accepted.identity, &device)
    })
    .await;
    match done {
        Ok((session_token, _)) => {
            let mut r = Redirect::to("/").into_response();
            r.headers_mut().append(header::SET_COOKIE, session::session_cookie(&state, &session_token));
            r
        }
        Err(CoreError::Validation { field, reason }) => {
            if field.eq_ignore_ascii_case("password") {
                shown.password_error = Some(reason.clone());
            } else {
                shown.name_error = Some(reason);
            }
            accept_page(&state, &headers, &token, &p, me.is_some(), StatusCode::UNPROCESSABLE_ENTITY, &shown)
        }
        Err(CoreError::Conflict { field, .. }) if field == "token" => gone(),
        Err(e) => server_error(&e),
    }
}
