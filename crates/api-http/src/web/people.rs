//! What the directory's pages share: the signed-in person acting in an account (a session acts
//! with every scope, so pages show exactly what REST would), the account's paths, the
//! navigation, the wide page shell, and how a person is shown in a list.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup, DOCTYPE};
use profile_core::access::{Actor, ScopeSet, UserView};
use profile_core::field::UserField;
use profile_core::usecase::sessions::{self, Place};
use profile_core::usecase::{users, Ctx};
use profile_core::{CoreError, Value};

use super::account::{not_found, root};
use super::layout::t;
use super::login::server_error;
use super::session::{blocking, cookie, csrf, touch_when_due, Csrf, SESSION_COOKIE};
use crate::AppState;

/// What an account page's path names: the account (`/a/{slug}/…`; none for the default
/// account's pages at the root) and, for a card or a department, its `{id}`. One handler
/// serves both addresses of a page.
pub(crate) struct PagePath {
    pub(crate) slug: Option<String>,
    pub(crate) id: Option<String>,
    /// An absence's `{absence}`, on the edit page's deletions.
    pub(crate) absence: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for PagePath {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        let params = axum::extract::RawPathParams::from_request_parts(parts, state).await.ok();
        let get = |name: &str| {
            params.as_ref().and_then(|p| p.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string()))
        };
        Ok(PagePath { slug: get("slug"), id: get("id"), absence: get("absence") })
    }
}

/// The signed-in person where a page addresses them.
pub(crate) struct Here {
    /// Who is signed in.
    pub(crate) identity: profile_core::model::identity::IdentityId,
    pub(crate) place: Place,
    pub(crate) actor: Actor,
    pub(crate) csrf: Csrf,
}

impl Here {
    /// The account's pages' root: `/company/` or `/a/{slug}/company/`.
    pub(crate) fn root(&self) -> String {
        root(&self.place)
    }

    /// A path under the root (`personal/user/7/`).
    pub(crate) fn path(&self, rest: &str) -> String {
        format!("{}{rest}", self.root())
    }

    /// A person's card.
    pub(crate) fn card(&self, id: impl std::fmt::Display) -> String {
        self.path(&format!("personal/user/{id}/"))
    }
}

/// The person and the account the page addresses, acting with every scope; or the answer to
/// give: signed out, the sign-in page and back; an account where they are no active user (or
/// none at all), 404.
pub(crate) async fn here(
    state: &Arc<AppState>,
    headers: &HeaderMap,
    uri: &Uri,
    slug: Option<String>,
) -> Result<Here, Response> {
    here_reading(state, headers, uri, slug, |_, _| Ok(())).await.map(|(h, _)| h)
}

/// [`here`], and what `read` (reads only) reads as that person, in the same call on the
/// blocking pool and on one snapshot of the store (one hop off the workers, one read
/// transaction, for a whole page).
pub(crate) async fn here_reading<T: Send + 'static>(
    state: &Arc<AppState>,
    headers: &HeaderMap,
    uri: &Uri,
    slug: Option<String>,
    read: impl FnOnce(Ctx<'_>, &Actor) -> Result<T, CoreError> + Send + 'static,
) -> Result<(Here, Result<T, CoreError>), Response> {
    let sign_in = || {
        let back = uri.path_and_query().map_or("/", |p| p.as_str());
        let next = percent_encoding::utf8_percent_encode(back, percent_encoding::NON_ALPHANUMERIC);
        Redirect::to(&format!("/login?next={next}")).into_response()
    };
    let Some(token) = cookie(headers, SESSION_COOKIE) else { return Err(sign_in()) };
    let policy = state.config.sessions;
    // `None`: no live session.
    // All of it on one snapshot of the store.
    let found = blocking(state, move |ctx| {
        profile_core::usecase::reading(ctx, |ctx| {
            let Ok(session) = sessions::resume(ctx, &policy, &token) else { return Ok(None) };
            let place = sessions::place(ctx, session.identity, slug.as_deref())?;
            let actor = users::actor_for(ctx, place.account, place.user, ScopeSet::all())?;
            let read = read(ctx, &actor);
            Ok(Some((session, place, actor, read)))
        })
    })
    .await;
    let (session, place, actor, read) = match found {
        Ok(Some(found)) => found,
        Ok(None) => return Err(sign_in()),
        Err(CoreError::NotFound { .. } | CoreError::Unauthorized { .. }) => return Err(not_found()),
        Err(e) => return Err(server_error(&e)),
    };
    touch_when_due(state, &session);
    // A page view is activity (decisions.md), written with the others off the path.
    crate::activity::note_user(state, place.account, place.user);
    Ok((Here { identity: session.identity, place, actor, csrf: csrf(state, headers) }, read))
}

/// A page of the directory: the shell with the account's navigation (`current` marks where the
/// person is) and `body` in a wide main landmark.
pub(crate) fn wide_page(status: StatusCode, title: &str, h: Here, current: &str, body: Markup) -> Response {
    let Here { csrf, place, actor, .. } = h;
    let root = root(&place);
    let nav = [
        ("directory", root.clone(), t("web.nav.directory")),
        ("structure", format!("{root}structure/"), t("web.nav.structure")),
        ("absences", format!("{root}absences/"), t("web.nav.absences")),
        ("me", format!("{root}personal/user/{}/", place.user), t("web.nav.me")),
        ("security", "/security/".to_string(), t("web.nav.security")),
    ];
    let external = actor.role.is_external();
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · " (place.name) " · Cardfile" }
                link rel="stylesheet" href=(super::assets::stylesheet());
                script src=(super::assets::script()) defer {}
            }
            body {
                a class="skip" href="#main" { (t("web.skip")) }
                header class="top" {
                    a class="brand" href=(root) { (place.name) }
                    nav aria-label=(t("web.nav.label")) {
                        ul class="nav" {
                            @for (key, href, label) in &nav {
                                @if !(external && matches!(*key, "structure" | "absences")) {
                                    li {
                                        a href=(href) aria-current=[(*key == current).then_some("page")] { (label) }
                                    }
                                }
                            }
                        }
                    }
                    form method="post" action="/logout" {
                        input type="hidden" name="csrf" value=(csrf.token);
                        button class="link" type="submit" { (t("web.sign_out")) }
                    }
                }
                main id="main" class="wide" { (body) }
            }
        }
    };
    let mut r = (status, axum::response::Html(markup.into_string())).into_response_with_csrf(csrf);
    r.headers_mut()
        .entry(axum::http::header::CACHE_CONTROL)
        .or_insert(axum::http::HeaderValue::from_static("no-store"));
    r
}

trait WithCsrf {
    fn into_response_with_csrf(self, csrf: Csrf) -> Response;
}

impl<T: axum::response::IntoResponse> WithCsrf for T {
    fn into_response_with_csrf(self, csrf: Csrf) -> Response {
        let mut r = self.into_response();
        csrf.set_on(&mut r);
        r
    }
}

/// A text field of a projected user ("" when absent).
pub(crate) fn text(v: &UserView, f: UserField) -> &str {
    match v.get(f) {
        Some(Value::Text(s)) => s,
        _ => "",
    }
}

/// A person's name as lists show it.
pub(crate) fn name(v: &UserView) -> String {
    let full = [text(v, UserField::Name), text(v, UserField::LastName)]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
    if full.is_empty() {
        t("web.card.no_name").to_string()
    } else {
        full
    }
}

/// A field's code as a label: `WORK_PHONE` → "Work phone", `UF_PHONE_INNER` → "Phone inner".
pub(crate) fn field_label(f: UserField) -> String {
    match f {
        UserField::XmlId => return t("web.field.xml_id").to_string(),
        UserField::PersonalWww => return t("web.field.www").to_string(),
        _ => {}
    }
    let code = f.code();
    sentence(code.strip_prefix("UF_").unwrap_or(code))
}

/// A custom field's name as a label: `UF_USR_COST_CENTRE` → "Cost centre".
pub(crate) fn custom_label(name: &str) -> String {
    sentence(name.strip_prefix(profile_core::model::custom::PREFIX).unwrap_or(name))
}

/// `SOME_CODE` → "Some code".
fn sentence(code: &str) -> String {
    let rest = code.replace('_', " ").to_lowercase();
    let mut c = rest.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

/// A layout entry's label: a user field's, a custom field's, or a section's heading.
pub(crate) fn entry_label(entry: &str) -> String {
    match entry {
        "ABOUT" => t("web.card.about").to_string(),
        "ABSENCES" => t("web.card.absences").to_string(),
        "APPRECIATIONS" => t("web.card.appreciations").to_string(),
        _ => UserField::from_code(entry).map_or_else(|| custom_label(entry), field_label),
    }
}

/// A photo URL as a path on this origin (the page's CSP takes images from here only).
pub(crate) fn photo_path(url: &str) -> Option<&str> {
    url.find("/photo/").map(|at| &url[at..])
}

/// A person's photo, or their initials on a disc.
pub(crate) fn avatar(v: &UserView, class: &str) -> Markup {
    let label = name(v);
    match photo_path(text(v, UserField::PersonalPhoto)) {
        Some(src) => html! { img class=(class) src=(src) alt="" width="48" height="48"; },
        None => {
            let initials: String =
                label.split_whitespace().filter_map(|w| w.chars().next()).take(2).collect();
            html! { span class=(format!("{class} initials")) aria-hidden="true" { (initials) } }
        }
    }
}

/// Not found, or a failure: what a use case's error comes to on a page.
pub(crate) fn failed(e: &profile_core::CoreError) -> Response {
    match e {
        profile_core::CoreError::NotFound { .. } | profile_core::CoreError::Forbidden { .. } => not_found(),
        e => server_error(e),
    }
}
