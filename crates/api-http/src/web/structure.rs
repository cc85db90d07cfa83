//! `/company/structure/`: the department tree with heads and how many people each holds (the
//! sub-departments of each in a `details` element: expand and collapse without script),
//! filtered by a name;
//! `/company/structure/{ID}/`: a department with its people; `/company/absences/`: the absence
//! chart of a department and its sub-departments over a period. For intranet users.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use chrono::{Duration, NaiveDate};
use maud::{html, Markup};
use profile_core::access::{Select, UserView};
use profile_core::field::UserField;
use profile_core::ids::{DepartmentId, UserId};
use profile_core::model::department::{Department, Tree};
use profile_core::model::image::ImageSize;
use profile_core::query::{Condition, Op, PageRequest, SortKey, UserFilter, UserQuery};
use profile_core::usecase::absences::{self, AbsenceFilter, AbsenceView};
use profile_core::usecase::departments;
use profile_core::usecase::users::{self, ReadOptions};
use profile_core::Value;
use serde::Deserialize;

use super::layout::{t, tf};
use super::people::{avatar, failed, here, name, text, wide_page, Here, PagePath};
use super::session::blocking;
use crate::AppState;

/// The names of `ids` the actor sees, by one query.
fn names_of(
    ctx: profile_core::usecase::Ctx<'_>,
    actor: &profile_core::access::Actor,
    ids: Vec<i64>,
) -> Result<BTreeMap<UserId, String>, profile_core::CoreError> {
    if ids.is_empty() {
        return Ok(BTreeMap::new());
    }
    let mut out = BTreeMap::new();
    for chunk in ids.chunks(500) {
        let q = UserQuery {
            filter: UserFilter::default().and(Condition::parse(
                UserField::Id,
                Op::In,
                &Value::IntList(chunk.to_vec()),
            )?),
            sort: Vec::new(),
            page: PageRequest { start: 0, count_total: false },
            now: ctx.clock.now(),
        };
        // A chunk of up to 500 IDs, read 50 a page.
        let mut start = 0;
        loop {
            let page = users::find_users(
                ctx,
                actor,
                &UserQuery { page: PageRequest { start, count_total: false }, ..q.clone() },
                &Select::parse(["ID", "NAME", "LAST_NAME"]),
                false,
            )?;
            let n = page.items.len();
            out.extend(page.items.iter().map(|v| (v.id, name(v))));
            if n < profile_core::query::PAGE_SIZE {
                break;
            }
            start += n as u64;
        }
    }
    Ok(out)
}

#[derive(Deserialize, Default)]
pub(crate) struct StructureQuery {
    #[serde(default)]
    q: String,
}

fn tree_markup(
    h: &Here,
    tree: &Tree,
    id: DepartmentId,
    counts: &BTreeMap<DepartmentId, u64>,
    heads: &BTreeMap<UserId, String>,
    shown: &dyn Fn(DepartmentId) -> bool,
    depth: usize,
) -> Markup {
    let Some(d) = tree.get(id) else { return html! {} };
    if !shown(id) {
        return html! {};
    }
    let children = tree.children(id);
    let line = html! {
        a href=(h.path(&format!("structure/{}/", d.id))) { (d.name) }
        " " span class="hint" { (tf("web.structure.people", &[("n", &counts.get(&d.id).copied().unwrap_or(0).to_string())])) }
        @if let Some(head) = d.head {
            " · " span class="hint" { (t("web.structure.head")) " " a href=(h.card(head)) { (heads.get(&head).cloned().unwrap_or_else(|| head.to_string())) } }
        }
    };
    html! {
        li {
            (line)
            @if !children.is_empty() && depth <= 64 {
                details open[depth < 2] {
                    summary { (tf("web.structure.below", &[("name", &d.name), ("n", &children.len().to_string())])) }
                    ul class="tree" {
                        @for c in children { (tree_markup(h, tree, *c, counts, heads, shown, depth + 1)) }
                    }
                }
            }
        }
    }
}

async fn structure(
    state: Arc<AppState>,
    headers: HeaderMap,
    uri: Uri,
    slug: Option<String>,
    q: StructureQuery,
) -> Response {
    let h = match here(&state, &headers, &uri, slug).await {
        Ok(h) => h,
        Err(r) => return r,
    };
    let actor = h.actor.clone();
    let overview = match blocking(&state, move |ctx| departments::structure_overview(ctx, &actor)).await {
        Ok(o) => o,
        Err(e) => return failed(&e),
    };
    let (deps, counts) = (overview.departments, overview.members);
    let heads: BTreeMap<UserId, String> = overview.heads.into_iter().collect();
    let counts: BTreeMap<DepartmentId, u64> = counts.into_iter().collect();
    let words = profile_core::query::search_words(&q.q);
    let tree = Tree::new(deps.clone());
    // With a search: the matching departments and the way down to them.
    let mut keep = std::collections::BTreeSet::new();
    for d in &deps {
        if words.is_empty() || profile_core::query::name_matches(&words, &d.name) {
            keep.extend(tree.path_to_root(d.id).map(|p| p.id));
        }
    }
    let roots: Vec<&Department> = deps.iter().filter(|d| d.parent.is_none()).collect();
    let shown = |id: DepartmentId| keep.contains(&id);
    let body = html! {
        div class="card" {
            h1 { (t("web.structure.title")) }
            form method="get" action=(h.path("structure/")) role="search" {
                div class="field" {
                    label for="f-q" { (t("web.structure.search")) }
                    input id="f-q" name="q" type="search" value=(q.q);
                }
                button type="submit" { (t("web.directory.find")) }
            }
        }
        section class="card" aria-label=(t("web.structure.title")) {
            @if keep.is_empty() { p { (t("web.structure.none")) } }
            ul class="tree" {
                @for r in &roots { (tree_markup(&h, &tree, r.id, &counts, &heads, &shown, 0)) }
            }
        }
    };
    wide_page(
        StatusCode::OK,
        t("web.structure.title"),
        h,
        "structure",
        html! { div class="stack" { (body) } },
    )
}

async fn department(
    state: Arc<AppState>,
    headers: HeaderMap,
    uri: Uri,
    slug: Option<String>,
    id: String,
) -> Response {
    let h = match here(&state, &headers, &uri, slug).await {
        Ok(h) => h,
        Err(r) => return r,
    };
    let Some(id) = id.parse::<u32>().ok().filter(|i| *i > 0).map(DepartmentId) else {
        return super::account::not_found();
    };
    let actor = h.actor.clone();
    let read = blocking(&state, move |ctx| {
        // The tree alone: the heads' names are the structure page's.
        let tree = Tree::new(departments::picker(ctx, &actor)?.into_iter().map(|(d, _)| d));
        let d = tree.get(id).cloned().ok_or_else(|| profile_core::CoreError::not_found("department", id))?;
        let path: Vec<Department> = {
            let mut p: Vec<Department> = tree.path_to_root(id).cloned().collect();
            p.reverse();
            p
        };
        let children: Vec<Department> =
            tree.children(id).iter().filter_map(|c| tree.get(*c).cloned()).collect();
        let q = UserQuery {
            filter: UserFilter::default().and(Condition::parse(
                UserField::UfDepartment,
                Op::Eq,
                &Value::Int(i64::from(id.0)),
            )?),
            sort: vec![SortKey::new(UserField::LastName, false)?],
            page: PageRequest { start: 0, count_total: true },
            now: ctx.clock.now(),
        };
        let options = ReadOptions { photos: Some(ImageSize::Small), ..ReadOptions::default() };
        let select = Select::parse(["ID", "NAME", "LAST_NAME", "WORK_POSITION", "PERSONAL_PHOTO"]);
        let members = users::find_users_with(ctx, &actor, &q, &select, &options)?;
        Ok((d, path, children, members))
    })
    .await;
    let (d, path, children, members) = match read {
        Ok(r) => r,
        Err(e) => return failed(&e),
    };
    let total = members.total.unwrap_or(0);
    let body = html! {
        div class="card" {
            p class="path" {
                @for (i, p) in path.iter().enumerate() {
                    @if i > 0 { " › " }
                    a href=(h.path(&format!("structure/{}/", p.id))) { (p.name) }
                }
            }
            h1 { (d.name) }
            p class="hint" { (tf("web.structure.people", &[("n", &total.to_string())])) }
            p {
                a href=(format!("{}?department={}", h.root(), d.id)) { (t("web.structure.everyone")) }
                " · "
                a href=(h.path(&format!("absences/?department={}", d.id))) { (t("web.structure.chart")) }
            }
            @if !children.is_empty() {
                h2 { (t("web.structure.sub")) }
                ul class="links" {
                    @for c in &children { li { a href=(h.path(&format!("structure/{}/", c.id))) { (c.name) } } }
                }
            }
        }
        section class="card" aria-labelledby="h-members" {
            h2 id="h-members" { (t("web.structure.members")) }
            (people_list(&h, &members.items))
            @if total > members.items.len() as u64 {
                p { a href=(format!("{}?department={}", h.root(), d.id)) { (t("web.structure.more")) } }
            }
        }
    };
    let title = d.name.clone();
    wide_page(StatusCode::OK, &title, h, "structure", html! { div class="stack" { (body) } })
}

fn people_list(h: &Here, people: &[UserView]) -> Markup {
    html! {
        ul class="people" {
            @for v in people {
                li {
                    (avatar(v, "avatar"))
                    div {
                        a href=(h.card(v.id)) { (name(v)) }
                        @let position = text(v, UserField::WorkPosition);
                        @if !position.is_empty() { p class="hint" { (position) } }
                    }
                }
            }
        }
    }
}

#[derive(Deserialize, Default)]
pub(crate) struct ChartQuery {
    #[serde(default)]
    department: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    start: String,
}

async fn chart(
    state: Arc<AppState>,
    headers: HeaderMap,
    uri: Uri,
    slug: Option<String>,
    q: ChartQuery,
) -> Response {
    let h = match here(&state, &headers, &uri, slug).await {
        Ok(h) => h,
        Err(r) => return r,
    };
    let today = state.clock.now().date_naive();
    let parse = |s: &str| store_day(s.trim());
    let from = parse(&q.from).unwrap_or(today);
    let to = parse(&q.to).or_else(|| from.checked_add_signed(Duration::days(30))).unwrap_or(from);
    let asked = q.department.trim().parse::<u32>().ok().filter(|d| *d > 0).map(DepartmentId);
    let start: u64 = q.start.trim().parse().unwrap_or(0);
    let actor = h.actor.clone();
    let read = blocking(&state, move |ctx| {
        let deps: Vec<Department> = departments::picker(ctx, &actor)?.into_iter().map(|(d, _)| d).collect();
        // The root department unless one is asked for.
        let department = asked
            .or_else(|| deps.iter().find(|d| d.parent.is_none()).map(|d| d.id))
            .unwrap_or(DepartmentId(1));
        let filter = AbsenceFilter { user: None, department: Some(department), from, to };
        let page = absences::list_absences(ctx, &actor, &filter, PageRequest { start, count_total: true });
        let names = match &page {
            Ok(p) => names_of(ctx, &actor, p.items.iter().map(|a| i64::from(a.user.0)).collect())?,
            Err(_) => BTreeMap::new(),
        };
        Ok((deps, page, names, department))
    })
    .await;
    let (deps, page, names, department) = match read {
        Ok(r) => r,
        Err(e) => return failed(&e),
    };
    let (items, total, error): (Vec<AbsenceView>, u64, Option<String>) = match page {
        Ok(p) => {
            let total = p.total.unwrap_or(0);
            (p.items, total, None)
        }
        Err(profile_core::CoreError::Validation { reason, .. }) => (Vec::new(), 0, Some(reason)),
        Err(e) => return failed(&e),
    };
    let days = (to - from).num_days().clamp(0, 366);
    let cell = |a: &AbsenceView, day: NaiveDate| a.from <= day && day <= a.to;
    let next = start + items.len() as u64;
    let body = html! {
        div class="card" {
            h1 { (t("web.absences.title")) }
            form class="filters" method="get" action=(h.path("absences/")) {
                div class="field" {
                    label for="f-department" { (t("web.directory.department")) }
                    select id="f-department" name="department" {
                        @for d in &deps { option value=(d.id) selected[d.id == department] { (d.name) } }
                    }
                }
                div class="field" {
                    label for="f-from" { (t("web.absences.from")) }
                    input id="f-from" name="from" type="date" value=(from.format("%Y-%m-%d"));
                }
                div class="field" {
                    label for="f-to" { (t("web.absences.to")) }
                    input id="f-to" name="to" type="date" value=(to.format("%Y-%m-%d"));
                }
                button type="submit" { (t("web.absences.show")) }
            }
        }
        section class="card chart" aria-labelledby="h-chart" {
            h2 id="h-chart" { (tf("web.absences.count", &[("n", &total.to_string())])) }
            @if let Some(e) = &error { p class="alert" role="alert" { (e) } }
            @if items.is_empty() && error.is_none() { p { (t("web.absences.none")) } }
            @if !items.is_empty() {
                div class="scroll" tabindex="0" role="region" aria-label=(t("web.absences.title")) {
                    table {
                        caption class="hint" { (tf("web.absences.period", &[("from", &from.to_string()), ("to", &to.to_string())])) }
                        thead {
                            tr {
                                th scope="col" { (t("web.absences.person")) }
                                th scope="col" { (t("web.absences.dates")) }
                                @for i in 0..=days {
                                    @let day = from + Duration::days(i);
                                    th scope="col" class="day" { abbr title=(day.format("%Y-%m-%d")) { (day.format("%d")) } }
                                }
                            }
                        }
                        tbody {
                            @for a in &items {
                                tr {
                                    th scope="row" { a href=(h.card(a.user)) { (names.get(&a.user).cloned().unwrap_or_else(|| a.user.to_string())) } }
                                    td {
                                        (a.from.format("%Y-%m-%d")) " – " (a.to.format("%Y-%m-%d"))
                                        @if let Some(kind) = a.kind { br; span class="hint" { (kind.code().replace('_', " ")) } }
                                    }
                                    @for i in 0..=days {
                                        @let day = from + Duration::days(i);
                                        @if cell(a, day) { td class="away" { span class="visually-hidden" { (t("web.absences.away")) } } } @else { td {} }
                                    }
                                }
                            }
                        }
                    }
                }
                nav class="pages" aria-label=(t("web.directory.pages")) {
                    @if start > 0 {
                        a rel="prev" href=(format!("?department={}&from={from}&to={to}&start={}", department, start.saturating_sub(50))) { (t("web.directory.previous")) }
                    }
                    @if next < total {
                        a rel="next" href=(format!("?department={}&from={from}&to={to}&start={next}", department)) { (t("web.directory.next")) }
                    }
                }
            }
        }
    };
    wide_page(StatusCode::OK, t("web.absences.title"), h, "absences", html! { div class="stack" { (body) } })
}

/// `/company/structure/` (and under `/a/{slug}/`).
pub(crate) async fn tree_page(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    uri: Uri,
    at: PagePath,
    Query(q): Query<StructureQuery>,
) -> Response {
    structure(state, headers, uri, at.slug, q).await
}

/// `/company/structure/{ID}/` (and under `/a/{slug}/`).
pub(crate) async fn department_page(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    uri: Uri,
    at: PagePath,
) -> Response {
    department(state, headers, uri, at.slug, at.id.unwrap_or_default()).await
}

/// `/company/absences/` (and under `/a/{slug}/`).
pub(crate) async fn chart_page(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    uri: Uri,
    at: PagePath,
    Query(q): Query<ChartQuery>,
) -> Response {
    chart(state, headers, uri, at.slug, q).await
}

/// A `YYYY-MM-DD` day of years 1 to 9999.
fn store_day(text: &str) -> Option<NaiveDate> {
    use chrono::Datelike;
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok().filter(|d| (1..=9999).contains(&d.year()))
}
