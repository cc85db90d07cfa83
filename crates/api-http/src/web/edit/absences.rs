//! The edit page's absences: the coming ones, each with its deletion, and a form to add one.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use axum::Form;
use chrono::{Duration, NaiveDate};
use maud::{html, Markup};
use profile_core::ids::UserId;
use profile_core::model::absence::AbsenceKind;
use profile_core::query::PageRequest;
use profile_core::usecase::absences::{self, AbsenceFilter, AbsenceSpec, AbsenceView};
use profile_core::CoreError;

use super::{back, editor, refuse, Part, Posted, Refusal};
use crate::web::layout::t;
use crate::web::people::{failed, Here, PagePath};
use crate::web::session::blocking;
use crate::AppState;

/// The section: `refused` shown at its field when it is the absence form's.
pub(super) fn section(h: &Here, id: UserId, coming: &[AbsenceView], refused: Option<&Refusal>) -> Markup {
    let err = |key: &str| Refusal::at(refused, Part::Absence, key);
    let base = format!("{}edit/absences", h.card(id));
    let date = |key: &str, label: &str| {
        let id = format!("f-{key}");
        let error = err(key);
        html! {
            div class="field" {
                label for=(id) { (label) }
                input id=(id) name=(key) type="date" required aria-invalid=[error.as_ref().map(|_| "true")]
                    aria-describedby=[error.as_ref().map(|_| format!("{id}-error"))];
                @if let Some(reason) = &error { p class="error" id=(format!("{id}-error")) role="alert" { (reason) } }
            }
        }
    };
    html! {
        section class="card" id="absences" aria-labelledby="h-absences" {
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

/// `POST …/personal/user/{ID}/edit/absences`: adds an absence, then back to the edit page.
pub(crate) async fn add_absence(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    uri: Uri,
    at: PagePath,
    Form(sent): Form<HashMap<String, String>>,
) -> Response {
    let (h, id) =
        match editor(&state, &headers, &uri, &at, Posted::With(sent.get("csrf").map(String::as_str))).await {
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
        Ok(_) => back(&h, id, "absences"),
        Err(e) => refuse(&state, h, id, Part::Absence, &e, sent).await,
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
    let (h, id) =
        match editor(&state, &headers, &uri, &at, Posted::With(sent.get("csrf").map(String::as_str))).await {
            Ok(found) => found,
            Err(r) => return r,
        };
    let Some(absence) = at.absence.as_deref().and_then(|a| a.parse::<u32>().ok()) else {
        return crate::web::account::not_found();
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
        Ok(()) => back(&h, id, "absences"),
        Err(e) => failed(&e),
    }
}
