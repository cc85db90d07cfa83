//! `/company/`: the directory. A search box (`FIND`, as REST reads it) and filters — a
//! department with its sub-departments, an interest tag, the kind of user, a presence status,
//! "absent today" — sent as a plain GET form, so it works without JavaScript; with it, the
//! results refresh as one types from `/company/search`, the same list as a fragment. 50 people
//! a page, read by one query of the store (photos are their capability URLs): by last name when
//! browsing, in the search index's order when searching.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};
use maud::{html, Markup};
use profile_core::access::{Select, UserView};
use profile_core::field::UserField;
use profile_core::ids::DepartmentId;
use profile_core::model::image::ImageSize;
use profile_core::model::user::PresenceStatus;
use profile_core::query::{Condition, Op, Page, PageRequest, SortKey, UserFilter, UserQuery, PAGE_SIZE};
use profile_core::usecase::users::{self, ReadOptions};
use profile_core::Value;
use serde::Deserialize;

use super::layout::{t, tf};
use super::people::{avatar, failed, here, name, text, wide_page, Here, PagePath};
use super::session::blocking;
use crate::AppState;

/// The directory's query, as its form sends it.
#[derive(Deserialize, Default, Clone)]
pub(crate) struct DirectoryQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    department: String,
    #[serde(default)]
    tag: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    absent: String,
    #[serde(default)]
    start: String,
}

impl DirectoryQuery {
    fn start(&self) -> u64 {
        self.start.trim().parse().unwrap_or(0)
    }

    /// The query string of another page of the same search.
    fn with_start(&self, start: u64) -> String {
        let pairs = [
            ("q", self.q.as_str()),
            ("department", &self.department),
            ("tag", &self.tag),
            ("kind", &self.kind),
            ("status", &self.status),
            ("absent", &self.absent),
        ];
        let mut out = form_urlencoded(&pairs);
        if start > 0 {
            if !out.is_empty() {
                out.push('&');
            }
            out.push_str(&format!("start={start}"));
        }
        out
    }

    /// The store query: every filter a condition the store answers; a bad value, a message.
    fn user_query(&self, now: chrono::DateTime<chrono::Utc>) -> Result<UserQuery, String> {
        let mut filter = UserFilter::default();
        if !self.q.trim().is_empty() {
            filter = filter.with_find(&self.q).map_err(|e| e.to_string())?;
        }
        if let Ok(d) = self.department.trim().parse::<u32>() {
            let c =
                Condition::parse(UserField::UfDepartment, Op::Eq, &Value::Int(i64::from(DepartmentId(d).0)))
                    .map_err(|e| e.to_string())?;
            filter = filter.and(c);
            filter.subdepartments = true;
        }
        if !self.tag.trim().is_empty() {
            filter = filter
                .with_interests(&Value::text(self.tag.trim()))
                .map_err(|_| t("web.directory.bad_tag").to_string())?;
        }
        if matches!(self.kind.as_str(), "employee" | "extranet") {
            let c = Condition::parse(UserField::UserType, Op::Eq, &Value::text(self.kind.as_str()))
                .map_err(|e| e.to_string())?;
            filter = filter.and(c);
        }
        if let Some(s) = PresenceStatus::from_code(self.status.trim()) {
            filter.statuses = vec![s];
        }
        if !self.absent.is_empty() {
            filter.absent_on = Some(now.date_naive());
        }
        // Browsing is by last name; a search keeps the index's order, so that each keystroke
        // reads one page of its matches, not all of them sorted.
        let sort = if self.q.trim().is_empty() {
            vec![
                SortKey::new(UserField::LastName, false).map_err(|e| e.to_string())?,
                SortKey::new(UserField::Name, false).map_err(|e| e.to_string())?,
            ]
        } else {
            Vec::new()
        };
        Ok(UserQuery { filter, sort, page: PageRequest { start: self.start(), count_total: true }, now })
    }
}

fn form_urlencoded(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| {
            format!("{k}={}", percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC))
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// The fields a directory row shows.
const ROW_FIELDS: [&str; 7] =
    ["ID", "NAME", "LAST_NAME", "WORK_POSITION", "PERSONAL_PHOTO", "UF_DEPARTMENT", "USER_TYPE"];

async fn search(
    state: &Arc<AppState>,
    h: &Here,
    q: &DirectoryQuery,
) -> Result<Result<Page<UserView>, String>, Response> {
    let query = match q.user_query(state.clock.now()) {
        Ok(query) => query,
        Err(message) => return Ok(Err(message)),
    };
    let actor = h.actor.clone();
    let found = blocking(state, move |ctx| {
        let options = ReadOptions { photos: Some(ImageSize::Small), ..ReadOptions::default() };
        users::find_users_with(ctx, &actor, &query, &Select::parse(ROW_FIELDS), &options)
    })
    .await;
    match found {
        Ok(page) => Ok(Ok(page)),
        Err(profile_core::CoreError::Validation { reason, .. }) => Ok(Err(reason)),
        Err(e) => Err(failed(&e)),
    }
}

/// The results: a count, the people, and the links to the pages around.
fn results(h: &Here, q: &DirectoryQuery, found: &Result<Page<UserView>, String>) -> Markup {
    let page = match found {
        Err(message) => return html! { p class="alert" role="alert" { (message) } },
        Ok(page) => page,
    };
    let total = page.total.unwrap_or(page.items.len() as u64);
    let start = q.start();
    html! {
        p class="hint" role="status" { (tf("web.directory.found", &[("n", &total.to_string())])) }
        @if page.items.is_empty() {
            p { (t("web.directory.nobody")) }
        } @else {
            ul class="people" {
                @for v in &page.items {
                    li {
                        (avatar(v, "avatar"))
                        div {
                            a href=(h.card(v.id)) { (name(v)) }
                            @let position = text(v, UserField::WorkPosition);
                            @if !position.is_empty() { p class="hint" { (position) } }
                            @if text(v, UserField::UserType) == "extranet" { p class="hint" { (t("web.card.extranet")) } }
                        }
                    }
                }
            }
            nav class="pages" aria-label=(t("web.directory.pages")) {
                @if start > 0 {
                    a rel="prev" href=(format!("?{}", q.with_start(start.saturating_sub(PAGE_SIZE as u64)))) { (t("web.directory.previous")) }
                }
                @if let Some(next) = page.next(start) {
                    a rel="next" href=(format!("?{}", q.with_start(next))) { (t("web.directory.next")) }
                }
            }
        }
    }
}

fn form(
    h: &Here,
    q: &DirectoryQuery,
    departments: &[(profile_core::model::department::Department, usize)],
) -> Markup {
    let option = |value: &str, label: &str, current: &str| {
        html! { option value=(value) selected[value == current] { (label) } }
    };
    html! {
        form class="search" method="get" action=(h.root()) role="search" data-live=(h.path("search")) {
            div class="field" {
                label for="f-q" { (t("web.directory.search")) }
                input id="f-q" name="q" type="search" value=(q.q) autocomplete="off" aria-controls="results";
            }
            div class="filters" {
                div class="field" {
                    label for="f-tag" { (t("web.directory.tag")) }
                    input id="f-tag" name="tag" type="text" value=(q.tag) placeholder="#travel";
                }
                @if !departments.is_empty() {
                    div class="field" {
                        label for="f-department" { (t("web.directory.department")) }
                        select id="f-department" name="department" {
                            (option("", t("web.directory.any_department"), &q.department))
                            @for (d, depth) in departments {
                                (option(&d.id.to_string(), &format!("{}{}", "\u{a0}\u{a0}".repeat(*depth), d.name), &q.department))
                            }
                        }
                    }
                }
                div class="field" {
                    label for="f-kind" { (t("web.directory.kind")) }
                    select id="f-kind" name="kind" {
                        (option("", t("web.directory.anyone"), &q.kind))
                        (option("employee", t("web.directory.employees"), &q.kind))
                        (option("extranet", t("web.directory.extranet"), &q.kind))
                    }
                }
                div class="field" {
                    label for="f-status" { (t("web.directory.status")) }
                    select id="f-status" name="status" {
                        (option("", t("web.directory.any_status"), &q.status))
                        @for s in PresenceStatus::ALL { (option(s.code(), status_label(s), &q.status)) }
                    }
                }
                div class="field check" {
                    input id="f-absent" name="absent" type="checkbox" value="1" checked[!q.absent.is_empty()];
                    label for="f-absent" { (t("web.directory.absent")) }
                }
            }
            button type="submit" { (t("web.directory.find")) }
        }
    }
}

/// A presence status as people read it.
pub(crate) fn status_label(s: PresenceStatus) -> &'static str {
    match s {
        PresenceStatus::Online => t("web.status.online"),
        PresenceStatus::Dnd => t("web.status.dnd"),
        PresenceStatus::Away => t("web.status.away"),
        PresenceStatus::Break => t("web.status.break"),
    }
}

/// The directory page, or (`whole` false) its results alone.
async fn answer(
    state: Arc<AppState>,
    headers: HeaderMap,
    uri: Uri,
    slug: Option<String>,
    q: DirectoryQuery,
    whole: bool,
) -> Response {
    let h = match here(&state, &headers, &uri, slug).await {
        Ok(h) => h,
        Err(r) => return r,
    };
    let found = match search(&state, &h, &q).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let status = if found.is_err() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    if !whole {
        return (status, Html(results(&h, &q, &found).into_string())).into_response();
    }
    // The picker: the structure for intranet users; none for external ones.
    let (actor, identity) = (h.actor.clone(), h.identity);
    let read = blocking(&state, move |ctx| {
        let departments = match profile_core::usecase::departments::picker(ctx, &actor) {
            Ok(d) => d,
            Err(profile_core::CoreError::Forbidden { .. }) => Vec::new(),
            Err(e) => return Err(e),
        };
        Ok((departments, profile_core::usecase::sessions::home(ctx, identity)?))
    });
    let (departments, home) = match read.await {
        Ok(found) => found,
        Err(e) => return failed(&e),
    };
    let body = html! {
        div class="card" {
            h1 { (h.place.name) }
            p class="lead" {
                (tf("web.home.hello", &[("name", &home.name)]))
                @if home.accounts.len() > 1 { " " a href="/" { (t("web.home.switch")) } }
            }
            h2 { (t("web.directory.title")) }
            (form(&h, &q, &departments))
        }
        section id="results" class="card" aria-live="polite" aria-label=(t("web.directory.results")) {
            (results(&h, &q, &found))
        }
    };
    let title = t("web.directory.title");
    wide_page(status, title, h, "directory", html! { div class="stack" { (body) } })
}

/// `/company/` (and `/a/{slug}/company/`).
pub(crate) async fn page(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    uri: Uri,
    at: PagePath,
    Query(q): Query<DirectoryQuery>,
) -> Response {
    answer(state, headers, uri, at.slug, q, true).await
}

/// `/company/search`: the results alone, for search as you type.
pub(crate) async fn results_only(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    uri: Uri,
    at: PagePath,
    Query(q): Query<DirectoryQuery>,
) -> Response {
    answer(state, headers, uri, at.slug, q, false).await
}
