//! `/company/personal/user/{ID}/edit/`: the card's own fields, "about me", interests and the
//! coming absences, edited by the person or an administrator (the rules of `users::update_user`: a person may not
//! change the fields only administrators change). A bad value is shown at its field and changes
//! nothing; a saved form goes back to the card.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::{Duration, NaiveDate};
use maud::{html, Markup};
use profile_core::access::{Select, UserView};
use profile_core::field::{FieldKind, UserField};
use profile_core::ids::UserId;
use profile_core::model::absence::AbsenceKind;
use profile_core::model::user::UserPatch;
use profile_core::query::PageRequest;
use profile_core::usecase::absences::{self, AbsenceFilter, AbsenceSpec, AbsenceView};
use profile_core::usecase::{about, users};
use profile_core::{CoreError, Value};

use super::layout::{alert, t};
use super::people::{failed, here, name, text, wide_page, Here, PagePath};
use super::session::{blocking, csrf_ok};
use crate::AppState;

/// The fields the form offers, in its order.
const FIELDS: [UserField; 12] = [
    UserField::Name,
    UserField::LastName,
    UserField::SecondName,
    UserField::WorkPosition,
    UserField::WorkPhone,
    UserField::PersonalMobile,
    UserField::UfPhoneInner,
    UserField::PersonalBirthday,
    UserField::WorkCity,
    UserField::PersonalCity,
    UserField::UfSkype,
    UserField::UfInterests,
];

fn value(v: &UserView, f: UserField) -> String {
    match v.get(f) {
        Some(Value::Date(d)) => d.format("%Y-%m-%d").to_string(),
        _ => text(v, f).to_string(),
    }
}

fn label(f: UserField) -> String {
    let rest = f.code().replace('_', " ").to_lowercase();
    let rest = rest.strip_prefix("uf ").unwrap_or(&rest).to_string();
    let mut c = rest.chars();
    c.next().map(|first| first.to_uppercase().chain(c).collect()).unwrap_or_default()
}

/// The id of a user the actor may edit, else the 404 of a page that is not theirs.
fn editable(h: &Here, at: &PagePath) -> Option<UserId> {
    let id = at.id.as_deref()?.parse::<u32>().ok().filter(|i| *i > 0).map(UserId)?;
    (h.actor.is(id) || h.actor.is_admin()).then_some(id)
}

fn form(
    h: &Here,
    v: &UserView,
    about_text: &str,
    values: &HashMap<String, String>,
    error: Option<(&str, &str)>,
) -> Markup {
    let err = |key: &str| error.filter(|(k, _)| *k == key).map(|(_, reason)| reason);
    let shown = |f: UserField| values.get(f.code()).cloned().unwrap_or_else(|| value(v, f));
    html! {
        div class="card" {
            h1 { (t("web.edit.title")) ": " (name(v)) }
            @if let Some((_, reason)) = error.filter(|(k, _)| FIELDS.iter().all(|f| f.code() != *k) && *k != "ABOUT") {
                (alert(Some(reason)))
            }
            form method="post" action=(format!("{}edit/", h.card(v.id))) {
                input type="hidden" name="csrf" value=(h.csrf.token);
                @for f in FIELDS {
                    @let id = format!("f-{}", f.code());
                    @let kind = if f.kind() == FieldKind::Date { "date" } else { "text" };
                    div class="field" {
                        label for=(id) { (label(f)) }
                        input id=(id) name=(f.code()) type=(kind) value=(shown(f))
                            aria-invalid=[err(f.code()).map(|_| "true")]
                            aria-describedby=[err(f.code()).map(|_| format!("{id}-error"))];
                        @if let Some(reason) = err(f.code()) {
                            p class="error" id=(format!("{id}-error")) role="alert" { (reason) }
                        }
                        @if f == UserField::UfInterests { p class="hint" { (t("web.edit.interests_hint")) } }
                    }
                }
                div class="field" {
                    label for="f-ABOUT" { (t("web.card.about")) }
                    textarea id="f-ABOUT" name="ABOUT" rows="6" maxlength="4000"
                        aria-invalid=[err("ABOUT").map(|_| "true")] aria-describedby="f-ABOUT-hint" {
                        (values.get("ABOUT").map_or(about_text, String::as_str))
                    }
                    p class="hint" id="f-ABOUT-hint" { (t("web.edit.about_hint")) }
                    @if let Some(reason) = err("ABOUT") { p class="error" role="alert" { (reason) } }
                }
                button type="submit" { (t("web.edit.save")) }
                " " a href=(h.card(v.id)) { (t("web.edit.cancel")) }
            }
        }
    }
}

/// The signed-in person and the user whose card they may edit (a POST with its CSRF token);
/// else the answer to give: the sign-in page, a 404, or a refused form.
async fn editor(
    state: &Arc<AppState>,
    headers: &HeaderMap,
    uri: &Uri,
    at: &PagePath,
    sent: Option<&HashMap<String, String>>,
) -> Result<(Here, UserId), Response> {
    let h = here(state, headers, uri, at.slug.clone()).await?;
    let Some(id) = editable(&h, at) else { return Err(super::account::not_found()) };
    if let Some(sent) = sent {
        if !csrf_ok(headers, sent.get("csrf").map(String::as_str)) {
            return Err((StatusCode::FORBIDDEN, t("web.form.expired")).into_response());
        }
    }
    Ok((h, id))
}

/// What the form shows: the user as the editor reads them, "about me", and their absences
/// from today on.
async fn current(
    state: &Arc<AppState>,
    h: &Here,
    id: UserId,
) -> Result<(UserView, String, Vec<AbsenceView>), Response> {
    let actor = h.actor.clone();
    let today = state.clock.now().date_naive();
    blocking(state, move |ctx| {
        let view = users::get_user(ctx, &actor, id, &Select::All, false)?;
        let period =
            AbsenceFilter { user: Some(id), department: None, from: today, to: today + Duration::days(365) };
        let coming = absences::list_absences(ctx, &actor, &period, PageRequest::default())?.items;
        Ok((view, about::profile_content(ctx, &actor, id)?.about, coming))
    })
    .await
    .map_err(|e| failed(&e))
}

/// The person's coming absences, each with its deletion, and a form to add one.
fn absences_section(h: &Here, id: UserId, coming: &[AbsenceView], error: Option<(&str, &str)>) -> Markup {
    let err = |key: &str| error.filter(|(k, _)| *k == key).map(|(_, reason)| reason);
    let base = format!("{}edit/absences", h.card(id));
    let date = |key: &str, label: &str| {
        let id = format!("f-{key}");
        html! {
            div class="field" {
                label for=(id) { (label) }
                input id=(id) name=(key) type="date" required aria-invalid=[err(key).map(|_| "true")]
                    aria-describedby=[err(key).map(|_| format!("{id}-error"))];
                @if let Some(reason) = err(key) { p class="error" id=(format!("{id}-error")) role="alert" { (reason) } }
            }
        }
    };
    html! {
        section class="card" aria-labelledby="h-absences" {
            h2 id="h-absences" { (t("web.card.absences")) }
            @if coming.is_empty() { p class="hint" { (t("web.edit.no_absences")) } }
            ul class="accounts" {
                @for a in coming {
                    li {
                        (a.from.format("%Y-%m-%d")) " – " (a.to.format("%Y-%m-%d"))
                        @if let Some(k) = a.kind { " · " (k.code().replace('_', " ")) }
                        @if let Some(n) = a.note.as_deref().filter(|n| !n.is_empty()) { " · " (n) }
                        form class="inline" method="post" action=(format!("{base}/{}/delete", a.id)) {
                            input type="hidden" name="csrf" value=(h.csrf.token);
                            button class="link" type="submit"
                                aria-label=(format!("{} {} – {}", t("web.edit.delete_absence"), a.from, a.to)) {
                                (t("web.edit.delete_absence"))
                            }
                        }
                    }
                }
            }
            form method="post" action=(base) {
                input type="hidden" name="csrf" value=(h.csrf.token);
                div class="filters" {
                    div class="field" {
                        label for="f-KIND" { (t("web.edit.kind")) }
                        select id="f-KIND" name="KIND" {
                            @for k in AbsenceKind::ALL { option value=(k.code()) { (k.code().replace('_', " ")) } }
                        }
                    }
                    (date("DATE_FROM", t("web.absences.from")))
                    (date("DATE_TO", t("web.absences.to")))
                    div class="field" {
                        label for="f-NOTE" { (t("web.edit.note")) }
                        input id="f-NOTE" name="NOTE" type="text" maxlength="500";
                        @if let Some(reason) = err("NOTE") { p class="error" role="alert" { (reason) } }
                    }
                }
                button type="submit" { (t("web.edit.add_absence")) }
            }
        }
    }
}

/// `GET …/personal/user/{ID}/edit/` (and under `/a/{slug}/`).
pub(crate) async fn page(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    uri: Uri,
    at: PagePath,
) -> Response {
    let (h, id) = match editor(&state, &headers, &uri, &at, None).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let (view, about_text, coming) = match current(&state, &h, id).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let body = html! {
        div class="stack" { (form(&h, &view, &about_text, &HashMap::new(), None)) (absences_section(&h, id, &coming, None)) }
    };
    wide_page(StatusCode::OK, t("web.edit.title"), h, "me", body)
}

/// `POST …/personal/user/{ID}/edit/`.
pub(crate) async fn save(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    uri: Uri,
    at: PagePath,
    Form(sent): Form<HashMap<String, String>>,
) -> Response {
    let (h, id) = match editor(&state, &headers, &uri, &at, Some(&sent)).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let (view, about_text, _) = match current(&state, &h, id).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    // Only what changed is written: a field one may not change stays untouched unless typed over.
    let changed: Vec<(UserField, Value)> = FIELDS
        .iter()
        .filter_map(|f| sent.get(f.code()).map(|s| (*f, s.trim().to_string())))
        .filter(|(f, s)| *s != value(&view, *f))
        .map(|(f, s)| (f, Value::text(s)))
        .collect();
    let new_about = sent.get("ABOUT").map(|a| a.replace("\r\n", "\n")).filter(|a| a.trim_end() != about_text);
    let actor = h.actor.clone();
    let saved = blocking(&state, move |ctx| {
        if !changed.is_empty() {
            users::update_user(ctx, &actor, id, &UserPatch::parse(changed)?)?;
        }
        if let Some(text) = new_about {
            about::set_about(ctx, &actor, id, &text)?;
        }
        Ok(())
    })
    .await;
    let back = h.card(id);
    match saved {
        Ok(()) => Redirect::to(&format!("{back}?done=saved")).into_response(),
        Err(CoreError::Validation { field, reason }) | Err(CoreError::Conflict { field, reason }) => {
            let body = form(&h, &view, &about_text, &sent, Some((&field, &reason)));
            wide_page(StatusCode::BAD_REQUEST, t("web.edit.title"), h, "me", body)
        }
        Err(CoreError::Forbidden { reason }) => {
            let body = form(&h, &view, &about_text, &sent, Some(("", &reason)));
            wide_page(StatusCode::FORBIDDEN, t("web.edit.title"), h, "me", body)
        }
        Err(e) => failed(&e),
    }
}

/// `POST …/personal/user/{ID}/edit/absences`: adds an absence, then back to the edit page.
pub(crate) async fn add_absence(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    uri: Uri,
    at: PagePath,
    Form(sent): Form<HashMap<String, String>>,
) -> Response {
    let (h, id) = match editor(&state, &headers, &uri, &at, Some(&sent)).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let day = |key: &str| sent.get(key).and_then(|d| NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").ok());
    let spec = AbsenceSpec {
        kind: sent.get("KIND").and_then(|k| AbsenceKind::from_code(k)),
        from: day("DATE_FROM"),
        to: day("DATE_TO"),
        note: sent.get("NOTE").cloned(),
    };
    let actor = h.actor.clone();
    match blocking(&state, move |ctx| absences::add_absence(ctx, &actor, id, spec)).await {
        Ok(_) => Redirect::to(&format!("{}edit/", h.card(id))).into_response(),
        Err(CoreError::Validation { field, reason }) => {
            let (view, about_text, coming) = match current(&state, &h, id).await {
                Ok(c) => c,
                Err(r) => return r,
            };
            let body = html! {
                div class="stack" {
                    (form(&h, &view, &about_text, &HashMap::new(), None))
                    (absences_section(&h, id, &coming, Some((&field, &reason))))
                }
            };
            wide_page(StatusCode::BAD_REQUEST, t("web.edit.title"), h, "me", body)
        }
        Err(e) => failed(&e),
    }
}

/// `POST …/personal/user/{ID}/edit/absences/{absence}/delete`.
pub(crate) async fn delete_absence(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    uri: Uri,
    at: PagePath,
    Form(sent): Form<HashMap<String, String>>,
) -> Response {
    let (h, id) = match editor(&state, &headers, &uri, &at, Some(&sent)).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let Some(absence) = at.absence.as_deref().and_then(|a| a.parse::<u32>().ok()) else {
        return super::account::not_found();
    };
    let actor = h.actor.clone();
    // Only an absence of the person whose page this is.
    let deleted = blocking(&state, move |ctx| {
        let today = ctx.clock.now().date_naive();
        // The absences the page lists: from today on.
        let period =
            AbsenceFilter { user: Some(id), department: None, from: today, to: today + Duration::days(365) };
        let theirs =
            absences::list_absences(ctx, &actor, &period, PageRequest { start: 0, count_total: false })?;
        if !theirs.items.iter().any(|a| a.id == absence) {
            return Err(CoreError::not_found("absence", absence));
        }
        absences::delete_absence(ctx, &actor, absence)
    })
    .await;
    match deleted {
        Ok(()) => Redirect::to(&format!("{}edit/", h.card(id))).into_response(),
        Err(e) => failed(&e),
    }
}
