//! `/company/personal/user/{ID}/`: a person's card (seed 000), Bitrix24's own address so that
//! links integrations build work. Everything on it is read through the use cases as the viewer
//! (a session acts with every scope): the fields the viewer may read, in the order of the
//! layout they see cards in; a person the viewer may not see is the same 404 as no one. The
//! appreciations' messages are shown to the card's owner only; a colleague may give one.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maud::{html, Markup, PreEscaped};
use profile_core::access::{Select, UserView};
use profile_core::field::UserField;
use profile_core::ids::UserId;
use profile_core::model::appreciation::{Appreciation, Badge};
use profile_core::model::image::ImageSize;
use profile_core::model::layout::Layout;
use profile_core::model::user::PresenceStatus;
use profile_core::query::{Condition, Op, PageRequest, UserFilter, UserQuery};
use profile_core::usecase::about::{self, ProfileContent};
use profile_core::usecase::custom::CustomSelect;
use profile_core::usecase::images::{self, BackgroundView};
use profile_core::usecase::users::{self, ReadOptions, Structure};
use profile_core::usecase::{appreciations, hr, layout};
use profile_core::{CoreError, Value};
use serde::Deserialize;

use super::directory::status_label;
use super::layout::{t, tf};
use super::people::{
    avatar, custom_label, failed, field_label, here, here_reading, name, text, wide_page, Here, PagePath,
};
use super::session::{blocking, csrf_ok};
use crate::AppState;

/// What a card shows, read in one go.
struct CardData {
    view: UserView,
    structure: Structure,
    names: BTreeMap<UserId, String>,
    content: ProfileContent,
    counts: Vec<(String, u64)>,
    messages: Vec<Appreciation>,
    badges: Vec<Badge>,
    layout: Layout,
    hr: Option<Vec<(String, String)>>,
    background: Option<BackgroundView>,
    status: Option<PresenceStatus>,
}

fn read_card(
    ctx: profile_core::usecase::Ctx<'_>,
    actor: &profile_core::access::Actor,
    id: UserId,
) -> Result<CardData, CoreError> {
    let options =
        ReadOptions { photos: Some(ImageSize::Medium), custom: CustomSelect::All, ..ReadOptions::default() };
    let view = users::get_user_with(ctx, actor, id, &Select::All, &options)?;
    let structure = users::structure(ctx, actor, id, false)?;
    let messages = if actor.is(id) {
        appreciations::list(ctx, actor, id, PageRequest { start: 0, count_total: false })?.items
    } else {
        Vec::new()
    };
    let givers = messages.iter().map(|m| &m.giver);
    let mut ids: Vec<i64> = structure
        .supervisors
        .iter()
        .chain(&structure.subordinates)
        .chain(givers)
        .map(|u| i64::from(u.0))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let mut names = BTreeMap::new();
    if !ids.is_empty() {
        let q = UserQuery {
            filter: UserFilter::default().and(Condition::parse(UserField::Id, Op::In, &Value::IntList(ids))?),
            sort: Vec::new(),
            page: PageRequest { start: 0, count_total: false },
            now: ctx.clock.now(),
        };
        for v in users::find_users(ctx, actor, &q, &Select::parse(["ID", "NAME", "LAST_NAME"]), false)?.items
        {
            names.insert(v.id, name(&v));
        }
    }
    let content = about::profile_content(ctx, actor, id)?;
    let counts = appreciations::counts(ctx, actor, id)?;
    let badges = appreciations::badges(ctx, actor)?;
    let layout = layout::layout(ctx, actor)?;
    // External readers learn nothing of HR details, not even that they exist.
    let hr = if actor.role.is_external() {
        None
    } else {
        match hr::hr_record(ctx, actor, id) {
            Ok(record) => {
                let labels: BTreeMap<String, String> =
                    hr::hr_fields(ctx, actor)?.into_iter().map(|f| (f.key, f.label)).collect();
                Some(
                    record
                        .values
                        .into_iter()
                        .map(|(k, v)| (labels.get(&k).cloned().unwrap_or(k), v))
                        .collect(),
                )
            }
            Err(CoreError::Forbidden { .. } | CoreError::InsufficientScope { .. }) => None,
            Err(e) => return Err(e),
        }
    };
    let background = images::background(ctx, actor, id, false)?;
    let status = profile_core::usecase::presence::status_of(ctx, actor, id)?;
    Ok(CardData { view, structure, names, content, counts, messages, badges, layout, hr, background, status })
}

/// A field's value as the card shows it (`None`: nothing to show).
fn shown(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::Text(s) if s.is_empty() => None,
        Value::Text(s) => Some(s.clone()),
        Value::Int(i) => Some(i.to_string()),
        Value::Bool(b) => Some(if *b { t("web.card.yes") } else { t("web.card.no") }.to_string()),
        Value::Date(d) => Some(d.format("%Y-%m-%d").to_string()),
        Value::DateTime(d) => Some(d.format("%Y-%m-%d %H:%M UTC").to_string()),
        Value::IntList(l) if l.is_empty() => None,
        Value::IntList(l) => Some(l.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")),
        Value::TextList(l) if l.is_empty() => None,
        Value::TextList(l) => Some(l.join(", ")),
    }
}

/// The fields a card never lists (shown elsewhere on it, or internal).
const NOT_LISTED: [UserField; 10] = [
    UserField::Id,
    UserField::WorkPosition,
    UserField::Name,
    UserField::LastName,
    UserField::PersonalPhoto,
    UserField::UfDepartment,
    UserField::UfInterests,
    UserField::Active,
    UserField::IsOnline,
    UserField::UserType,
];

fn body(h: &Here, d: &CardData, done: Option<&str>) -> Markup {
    let v = &d.view;
    let id = v.id;
    let own = h.actor.is(id);
    let role = match d.structure.role {
        profile_core::model::user::Role::Administrator => t("web.card.admin"),
        profile_core::model::user::Role::Extranet | profile_core::model::user::Role::CollabGuest => {
            t("web.card.extranet")
        }
        profile_core::model::user::Role::Integrator => t("web.card.integrator"),
        profile_core::model::user::Role::Employee => t("web.card.employee"),
    };
    let background = match &d.background {
        Some(BackgroundView::Builtin(b)) => html! { div class=(format!("banner bg-{}", b.name)) {} },
        Some(BackgroundView::Image { url }) => match super::people::photo_path(url) {
            Some(src) => html! { img class="banner" src=(src) alt=""; },
            None => html! {},
        },
        None => html! { div class="banner bg-none" {} },
    };
    let label_of =
        |code: &str| d.badges.iter().find(|b| b.code == code).map_or(code.to_string(), |b| b.label.clone());
    let section = |entry: &str| -> Markup {
        match entry {
            "ABOUT" => html! {
                @if !d.content.about.is_empty() {
                    section class="card" aria-labelledby="h-about" {
                        h2 id="h-about" { (t("web.card.about")) }
                        div class="about" { (PreEscaped(&d.content.about_html)) }
                    }
                }
            },
            "ABSENCES" => html! {
                @if let Some(until) = d.content.away_until {
                    section class="card" aria-labelledby="h-away" {
                        h2 id="h-away" { (t("web.card.absences")) }
                        p { (tf("web.card.away_until", &[("day", &until.format("%Y-%m-%d").to_string())])) }
                    }
                }
            },
            "APPRECIATIONS" => html! {
                section class="card" aria-labelledby="h-thanks" {
                    h2 id="h-thanks" { (t("web.card.appreciations")) }
                    @if d.counts.is_empty() {
                        p class="hint" { (t("web.card.no_appreciations")) }
                    } @else {
                        ul class="badges" {
                            @for (badge, n) in &d.counts {
                                li { span class=(format!("badge badge-{badge}")) aria-hidden="true" {} (label_of(badge)) " × " (n) }
                            }
                        }
                    }
                    @if own && !d.messages.is_empty() {
                        h3 { (t("web.card.messages")) }
                        ul class="messages" {
                            @for m in &d.messages {
                                li {
                                    strong { (label_of(&m.badge)) } " · "
                                    a href=(h.card(m.giver)) { (d.names.get(&m.giver).cloned().unwrap_or_else(|| m.giver.to_string())) }
                                    p { (m.message) }
                                }
                            }
                        }
                    }
                    @if !own && h.actor.user.is_some() {
                        form class="give" method="post" action=(format!("{}appreciate", h.card(id))) {
                            input type="hidden" name="csrf" value=(h.csrf.token);
                            div class="field" {
                                label for="f-badge" { (t("web.card.badge")) }
                                select id="f-badge" name="badge" {
                                    @for b in &d.badges { option value=(b.code) { (b.label) } }
                                }
                            }
                            div class="field" {
                                label for="f-message" { (t("web.card.message")) }
                                textarea id="f-message" name="message" rows="2" maxlength="2000" required {}
                            }
                            button type="submit" { (t("web.card.give")) }
                        }
                    }
                }
            },
            _ => html! {},
        }
    };
    let fields: Vec<(String, String)> = d
        .layout
        .fields
        .iter()
        .filter_map(|entry| {
            if let Some(f) = UserField::from_code(entry) {
                if NOT_LISTED.contains(&f) {
                    return None;
                }
                return v.get(f).and_then(shown).map(|s| (field_label(f), s));
            }
            v.custom
                .iter()
                .find(|(n, _)| n == entry)
                .and_then(|(n, val)| shown(val).map(|s| (custom_label(n), s)))
        })
        .collect();
    let tags = profile_core::model::interest::stored_tags(text(v, UserField::UfInterests));
    html! {
        article class="stack" aria-labelledby="h-name" {
            div class="card profile" {
                (background)
                div class="who" {
                    (avatar(v, "photo"))
                    div {
                        h1 id="h-name" { (name(v)) }
                        @let position = text(v, UserField::WorkPosition);
                        @if !position.is_empty() { p class="lead" { (position) } }
                        p class="hint" {
                            span class=(format!("role role-{}", d.structure.role.code())) { (role) }
                            @if let Some(s) = d.status { " · " (status_label(s)) }
                            @if let Some(until) = d.content.away_until {
                                " · " (tf("web.card.away_until", &[("day", &until.format("%Y-%m-%d").to_string())]))
                            }
                        }
                    }
                }
                @if let Some(m) = done { p role="status" { (m) } }
                @for path in &d.structure.paths {
                    p class="path" {
                        @for (i, dep) in path.iter().enumerate() {
                            @if i > 0 { " › " }
                            a href=(h.path(&format!("structure/{}/", dep.id))) { (dep.name) }
                        }
                    }
                }
                p {
                    @if own || h.actor.is_admin() { a href=(format!("{}edit/", h.card(id))) { (t("web.card.edit")) } }
                    @if own { " · " a href="/security/" { (t("web.card.security")) } }
                }
            }
            @if !fields.is_empty() {
                section class="card" aria-labelledby="h-contact" {
                    h2 id="h-contact" { (t("web.card.details")) }
                    dl class="fields" {
                        @for (label, value) in &fields {
                            dt { (label) }
                            dd { (value) }
                        }
                    }
                }
            }
            @if !d.structure.supervisors.is_empty() || !d.structure.subordinates.is_empty() {
                section class="card" aria-labelledby="h-team" {
                    h2 id="h-team" { (t("web.card.team")) }
                    @for (key, list) in [("web.card.supervisors", &d.structure.supervisors), ("web.card.subordinates", &d.structure.subordinates)] {
                        @if !list.is_empty() {
                            h3 { (t(key)) }
                            ul class="links" {
                                @for u in list.iter() {
                                    li { a href=(h.card(u)) { (d.names.get(u).cloned().unwrap_or_else(|| u.to_string())) } }
                                }
                            }
                        }
                    }
                }
            }
            @if !tags.is_empty() {
                section class="card" aria-labelledby="h-interests" {
                    h2 id="h-interests" { (t("web.card.interests")) }
                    ul class="tags" {
                        @for tag in &tags {
                            li {
                                a href=(format!("{}?tag=%23{}", h.root(), percent_encoding::utf8_percent_encode(tag, percent_encoding::NON_ALPHANUMERIC))) { "#" (tag) }
                            }
                        }
                    }
                }
            }
            @for entry in &d.layout.fields { (section(entry)) }
            @if let Some(record) = &d.hr {
                @if !record.is_empty() {
                    section class="card" aria-labelledby="h-hr" {
                        h2 id="h-hr" { (t("web.card.hr")) }
                        dl class="fields" {
                            @for (label, value) in record { dt { (label) } dd { (value) } }
                        }
                    }
                }
            }
        }
    }
}

#[derive(Deserialize, Default)]
pub(crate) struct DoneQuery {
    done: Option<String>,
}

async fn card(
    state: Arc<AppState>,
    headers: HeaderMap,
    uri: Uri,
    slug: Option<String>,
    id: String,
    done: Option<String>,
) -> Response {
    let wanted = id.parse::<u32>().ok().filter(|i| *i > 0).map(UserId);
    let read = move |ctx: profile_core::usecase::Ctx<'_>, actor: &profile_core::access::Actor| match wanted {
        Some(id) => read_card(ctx, actor, id),
        None => Err(CoreError::not_found("user", id)),
    };
    let (h, data) = match here_reading(&state, &headers, &uri, slug, read).await {
        Ok((h, Ok(data))) => (h, data),
        Ok((_, Err(e))) => return failed(&e),
        Err(r) => return r,
    };
    let id = data.view.id;
    let message = match done.as_deref() {
        Some("appreciated") => Some(t("web.card.appreciated")),
        Some("saved") => Some(t("web.card.saved")),
        _ => None,
    };
    let title = name(&data.view);
    let markup = body(&h, &data, message);
    let current = if h.actor.is(id) { "me" } else { "directory" };
    wide_page(StatusCode::OK, &title, h, current, markup)
}

/// `/company/personal/user/{ID}/` (and under `/a/{slug}/`).
pub(crate) async fn page(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    uri: Uri,
    at: PagePath,
    Query(q): Query<DoneQuery>,
) -> Response {
    card(state, headers, uri, at.slug, at.id.unwrap_or_default(), q.done).await
}

#[derive(Deserialize, Default)]
pub(crate) struct AppreciateForm {
    #[serde(default)]
    badge: String,
    #[serde(default)]
    message: String,
    csrf: Option<String>,
}

async fn appreciate(
    state: Arc<AppState>,
    headers: HeaderMap,
    uri: Uri,
    slug: Option<String>,
    id: String,
    f: AppreciateForm,
) -> Response {
    let h = match here(&state, &headers, &uri, slug).await {
        Ok(h) => h,
        Err(r) => return r,
    };
    let Some(id) = id.parse::<u32>().ok().filter(|i| *i > 0).map(UserId) else {
        return super::account::not_found();
    };
    if !csrf_ok(&headers, f.csrf.as_deref()) {
        return (StatusCode::FORBIDDEN, t("web.form.expired")).into_response();
    }
    let actor = h.actor.clone();
    let (badge, message) = (f.badge, f.message);
    match blocking(&state, move |ctx| appreciations::give(ctx, &actor, id, &badge, &message)).await {
        Ok(_) => Redirect::to(&format!("{}?done=appreciated", h.card(id))).into_response(),
        Err(CoreError::Validation { reason, .. }) => {
            let body = html! { div class="card" { p class="alert" role="alert" { (reason) } p { a href=(h.card(id)) { (t("web.card.back")) } } } };
            wide_page(StatusCode::BAD_REQUEST, t("web.card.appreciations"), h, "directory", body)
        }
        Err(e) => failed(&e),
    }
}

/// `POST /company/personal/user/{ID}/appreciate` (and under `/a/{slug}/`).
pub(crate) async fn give(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    uri: Uri,
    at: PagePath,
    Form(f): Form<AppreciateForm>,
) -> Response {
    appreciate(state, headers, uri, at.slug, at.id.unwrap_or_default(), f).await
}
