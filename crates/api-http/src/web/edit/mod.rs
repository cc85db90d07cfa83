//! `/company/personal/user/{ID}/edit/`: a card edited by the person or an administrator (the
//! rules of `users::update_user`: a person may not change the fields only administrators
//! change, so those are offered to administrators only). The page holds one form per part —
//! the fields and "about me" here, the photo ([`photo`]), "my form layout" on one's own page
//! ([`arrange`]) and the coming absences ([`absences`]). A bad value is shown at its field and
//! changes nothing; a saved form goes back to the card, or to this page.

mod absences;
mod arrange;
mod photo;

pub(crate) use absences::{add_absence, delete_absence};
pub(crate) use arrange::{reset_layout, save_layout};
pub(crate) use photo::{remove_photo, upload_photo};

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::Duration;
use maud::{html, Markup};
use profile_core::access::{Select, UserView};
use profile_core::field::{FieldKind, UserField};
use profile_core::ids::UserId;
use profile_core::model::department::Department;
use profile_core::model::image::ImageSize;
use profile_core::model::layout::Layout;
use profile_core::model::user::UserPatch;
use profile_core::query::PageRequest;
use profile_core::usecase::absences::{self as absence_uc, AbsenceFilter, AbsenceView};
use profile_core::usecase::users::{self, ReadOptions};
use profile_core::usecase::{about, departments, layout};
use profile_core::{CoreError, Value};

use super::layout::{alert, t};
use super::people::{failed, field_label, here, name, text, wide_page, Here, PagePath};
use super::session::{blocking, csrf_ok};
use crate::AppState;

/// The fields the form offers everyone who may edit the card, in its order.
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

/// The fields only administrators change, which the form offers them besides the departments.
const ADMIN_FIELDS: [UserField; 2] = [UserField::UfEmploymentDate, UserField::XmlId];

fn value(v: &UserView, f: UserField) -> String {
    match v.get(f) {
        Some(Value::Date(d)) => d.format("%Y-%m-%d").to_string(),
        _ => text(v, f).to_string(),
    }
}

/// Which of the page's forms a refusal belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    Fields,
    Photo,
    Layout,
    Absence,
}

/// A refused form: the part, the field and why, and what was sent (shown again).
struct Refusal {
    part: Part,
    field: String,
    reason: String,
    sent: HashMap<String, String>,
}

impl Refusal {
    fn new(part: Part, e: &CoreError, sent: HashMap<String, String>) -> Option<Refusal> {
        let (field, reason) = match e {
            CoreError::Validation { field, reason } | CoreError::Conflict { field, reason } => {
                (field.clone(), reason.clone())
            }
            CoreError::Forbidden { reason } => (String::new(), reason.clone()),
            _ => return None,
        };
        Some(Refusal { part, field, reason, sent })
    }

    /// The reason, when this refusal is `part`'s and about `field`.
    fn at(refused: Option<&Refusal>, part: Part, field: &str) -> Option<String> {
        refused.filter(|r| r.part == part && r.field == field).map(|r| r.reason.clone())
    }
}

/// A field's input with its label and, when refused, its error.
fn input(f: UserField, shown: String, error: Option<String>) -> Markup {
    let id = format!("f-{}", f.code());
    let kind = if f.kind() == FieldKind::Date { "date" } else { "text" };
    html! {
        div class="field" {
            label for=(id) { (field_label(f)) }
            input id=(id) name=(f.code()) type=(kind) value=(shown)
                aria-invalid=[error.as_ref().map(|_| "true")]
                aria-describedby=[error.as_ref().map(|_| format!("{id}-error"))];
            @if let Some(reason) = &error {
                p class="error" id=(format!("{id}-error")) role="alert" { (reason) }
            }
            @if f == UserField::UfInterests { p class="hint" { (t("web.edit.interests_hint")) } }
        }
    }
}

/// The departments' picker of an administrator's form: the user's current ones selected.
fn departments_picker(e: &Editing, refused: Option<&Refusal>) -> Markup {
    let current: Vec<i64> = match e.view.get(UserField::UfDepartment) {
        Some(Value::IntList(l)) => l.clone(),
        _ => Vec::new(),
    };
    let error = Refusal::at(refused, Part::Fields, UserField::UfDepartment.code());
    html! {
        div class="field" {
            label for="f-UF_DEPARTMENT" { (t("web.edit.departments")) }
            select id="f-UF_DEPARTMENT" name="UF_DEPARTMENT" multiple size="6"
                aria-invalid=[error.as_ref().map(|_| "true")] aria-describedby="f-UF_DEPARTMENT-hint" {
                @for (d, depth) in &e.departments {
                    option value=(d.id) selected[current.contains(&i64::from(d.id.0))] {
                        @for _ in 0..*depth { "\u{a0}\u{a0}" } (d.name)
                    }
                }
            }
            p class="hint" id="f-UF_DEPARTMENT-hint" { (t("web.edit.departments_hint")) }
            @if let Some(reason) = &error { p class="error" role="alert" { (reason) } }
        }
    }
}

fn fields_form(h: &Here, e: &Editing, refused: Option<&Refusal>) -> Markup {
    let v = &e.view;
    let sent = refused.filter(|r| r.part == Part::Fields).map(|r| &r.sent);
    let shown = |f: UserField| sent.and_then(|s| s.get(f.code())).cloned().unwrap_or_else(|| value(v, f));
    let general = refused.filter(|r| {
        r.part == Part::Fields
            && FIELDS.iter().chain(&ADMIN_FIELDS).all(|f| f.code() != r.field)
            && r.field != "ABOUT"
            && r.field != UserField::UfDepartment.code()
    });
    let about_error = Refusal::at(refused, Part::Fields, "ABOUT");
    html! {
        div class="card" {
            h1 { (t("web.edit.title")) ": " (name(v)) }
            @if let Some(r) = general { (alert(Some(&r.reason))) }
            form method="post" action=(format!("{}edit/", h.card(v.id))) {
                input type="hidden" name="csrf" value=(h.csrf.token);
                @for f in FIELDS { (input(f, shown(f), Refusal::at(refused, Part::Fields, f.code()))) }
                div class="field" {
                    label for="f-ABOUT" { (t("web.card.about")) }
                    textarea id="f-ABOUT" name="ABOUT" rows="6" maxlength="4000"
                        aria-invalid=[about_error.as_ref().map(|_| "true")] aria-describedby="f-ABOUT-hint" {
                        (sent.and_then(|s| s.get("ABOUT")).map_or(e.about.as_str(), String::as_str))
                    }
                    p class="hint" id="f-ABOUT-hint" { (t("web.edit.about_hint")) }
                    @if let Some(reason) = &about_error { p class="error" role="alert" { (reason) } }
                }
                @if h.actor.is_admin() {
                    fieldset {
                        legend { (t("web.edit.employment")) }
                        (departments_picker(e, refused))
                        @for f in ADMIN_FIELDS { (input(f, shown(f), Refusal::at(refused, Part::Fields, f.code()))) }
                    }
                }
                button type="submit" { (t("web.edit.save")) }
                " " a href=(h.card(v.id)) { (t("web.edit.cancel")) }
            }
        }
    }
}

/// How a POST to one of the page's forms is checked.
enum Posted<'a> {
    /// A GET: nothing to check.
    No,
    /// A POST with the CSRF token it carried.
    With(Option<&'a str>),
}

/// The signed-in person and the user whose card they may edit (a POST with its CSRF token);
/// else the answer to give: the sign-in page, a 404, or a refused form.
async fn editor(
    state: &Arc<AppState>,
    headers: &HeaderMap,
    uri: &Uri,
    at: &PagePath,
    posted: Posted<'_>,
) -> Result<(Here, UserId), Response> {
    let h = here(state, headers, uri, at.slug.clone()).await?;
    let id = at.id.as_deref().and_then(|i| i.parse::<u32>().ok()).filter(|i| *i > 0).map(UserId);
    let Some(id) = id.filter(|id| h.actor.is(*id) || h.actor.is_admin()) else {
        return Err(super::account::not_found());
    };
    if let Posted::With(token) = posted {
        if !csrf_ok(headers, token) {
            return Err((StatusCode::FORBIDDEN, t("web.form.expired")).into_response());
        }
    }
    Ok((h, id))
}

/// What the page shows, read in one blocking call.
struct Editing {
    view: UserView,
    about: String,
    /// The absences from today on.
    coming: Vec<AbsenceView>,
    /// On one's own page: the layout one sees cards in, and every entry it may place.
    layout: Option<(Layout, Vec<String>)>,
    /// For administrators: the structure, in tree order with depths.
    departments: Vec<(Department, usize)>,
    /// The largest photo accepted.
    photo_max_bytes: usize,
}

async fn current(state: &Arc<AppState>, h: &Here, id: UserId) -> Result<Editing, Response> {
    let actor = h.actor.clone();
    let photo_max_bytes = state.config.photo_max_bytes;
    blocking(state, move |ctx| {
        let options = ReadOptions { photos: Some(ImageSize::Medium), ..ReadOptions::default() };
        let view = users::get_user_with(ctx, &actor, id, &Select::All, &options)?;
        let today = ctx.clock.now().date_naive();
        let period =
            AbsenceFilter { user: Some(id), department: None, from: today, to: today + Duration::days(365) };
        let coming = absence_uc::list_absences(ctx, &actor, &period, PageRequest::default())?.items;
        let layout = if actor.is(id) {
            Some((layout::layout(ctx, &actor)?, layout::choices(ctx, &actor)?))
        } else {
            None
        };
        let departments = if actor.is_admin() { departments::picker(ctx, &actor)? } else { Vec::new() };
        let about = about::profile_content(ctx, &actor, id)?.about;
        Ok(Editing { view, about, coming, layout, departments, photo_max_bytes })
    })
    .await
    .map_err(|e| failed(&e))
}

/// The page: every part's form, `refused` shown at its field.
fn render(status: StatusCode, h: Here, e: &Editing, refused: Option<&Refusal>) -> Response {
    let body = html! {
        div class="stack" {
            (fields_form(&h, e, refused))
            (photo::section(&h, &e.view, e.photo_max_bytes, refused))
            @if let Some((layout, choices)) = &e.layout { (arrange::section(&h, e.view.id, layout, choices, refused)) }
            (absences::section(&h, e.view.id, &e.coming, refused))
        }
    };
    let current = if h.actor.is(e.view.id) { "me" } else { "directory" };
    wide_page(status, t("web.edit.title"), h, current, body)
}

/// The page again with a refused form's error, or the failure.
async fn refuse(
    state: &Arc<AppState>,
    h: Here,
    id: UserId,
    part: Part,
    e: &CoreError,
    sent: HashMap<String, String>,
) -> Response {
    let Some(refused) = Refusal::new(part, e, sent) else { return failed(e) };
    let status = if matches!(e, CoreError::Forbidden { .. }) {
        StatusCode::FORBIDDEN
    } else {
        StatusCode::BAD_REQUEST
    };
    match current(state, &h, id).await {
        Ok(editing) => render(status, h, &editing, Some(&refused)),
        Err(r) => r,
    }
}

/// `GET …/personal/user/{ID}/edit/` (and under `/a/{slug}/`).
pub(crate) async fn page(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    uri: Uri,
    at: PagePath,
) -> Response {
    let (h, id) = match editor(&state, &headers, &uri, &at, Posted::No).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    match current(&state, &h, id).await {
        Ok(editing) => render(StatusCode::OK, h, &editing, None),
        Err(r) => r,
    }
}

/// The departments an administrator's form sent, when they differ from the user's.
fn changed_departments(view: &UserView, sent: &[(String, String)]) -> Option<Value> {
    let mut chosen: Vec<i64> =
        sent.iter().filter(|(k, _)| k == "UF_DEPARTMENT").filter_map(|(_, v)| v.parse().ok()).collect();
    chosen.sort_unstable();
    let mut now = match view.get(UserField::UfDepartment) {
        Some(Value::IntList(l)) => l.clone(),
        _ => Vec::new(),
    };
    now.sort_unstable();
    (chosen != now).then_some(Value::IntList(chosen))
}

/// `POST …/personal/user/{ID}/edit/`.
pub(crate) async fn save(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    uri: Uri,
    at: PagePath,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let sent: HashMap<String, String> = pairs.iter().cloned().collect();
    let (h, id) =
        match editor(&state, &headers, &uri, &at, Posted::With(sent.get("csrf").map(String::as_str))).await {
            Ok(found) => found,
            Err(r) => return r,
        };
    let before = match current(&state, &h, id).await {
        Ok(e) => e,
        Err(r) => return r,
    };
    // Only what changed is written: a field one may not change stays untouched unless typed over.
    let offered: &[UserField] =
        if h.actor.is_admin() { &[FIELDS.as_slice(), &ADMIN_FIELDS].concat() } else { &FIELDS };
    let mut changed: Vec<(UserField, Value)> = offered
        .iter()
        .filter_map(|f| sent.get(f.code()).map(|s| (*f, s.trim().to_string())))
        .filter(|(f, s)| *s != value(&before.view, *f))
        .map(|(f, s)| (f, Value::text(s)))
        .collect();
    if h.actor.is_admin() {
        changed.extend(changed_departments(&before.view, &pairs).map(|d| (UserField::UfDepartment, d)));
    }
    let new_about =
        sent.get("ABOUT").map(|a| a.replace("\r\n", "\n")).filter(|a| a.trim_end() != before.about);
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
    match saved {
        Ok(()) => Redirect::to(&format!("{}?done=saved", h.card(id))).into_response(),
        Err(e) => match Refusal::new(Part::Fields, &e, sent) {
            Some(refused) => {
                let status = if matches!(e, CoreError::Forbidden { .. }) {
                    StatusCode::FORBIDDEN
                } else {
                    StatusCode::BAD_REQUEST
                };
                render(status, h, &before, Some(&refused))
            }
            None => failed(&e),
        },
    }
}

/// Back to the edit page after a saved part, at that part.
fn back(h: &Here, id: UserId, part: &str) -> Response {
    Redirect::to(&format!("{}edit/#{part}", h.card(id))).into_response()
}
