//! The page shell and the texts of the pages (the same catalogue as the messages').

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use maud::{html, Markup, DOCTYPE};
use profile_core::templates::ENGLISH;

/// The text under `key` in the catalogue.
pub(crate) fn t(key: &'static str) -> &'static str {
    ENGLISH.text(key)
}

/// The text under `key` with its `{placeholders}` filled.
pub(crate) fn tf(key: &'static str, args: &[(&str, &str)]) -> String {
    ENGLISH.fill(key, args)
}

/// A whole page: `title`, an optional sign-out button (the CSRF token of the signed-in person),
/// and `body` in the main landmark.
pub(crate) fn page(status: StatusCode, title: &str, signed_in: Option<&str>, body: Markup) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Cardfile" }
                link rel="stylesheet" href=(super::assets::stylesheet());
            }
            body {
                a class="skip" href="#main" { (t("web.skip")) }
                header class="top" {
                    a class="brand" href="/" { "Cardfile" }
                    @if let Some(csrf) = signed_in {
                        form method="post" action="/logout" {
                            input type="hidden" name="csrf" value=(csrf);
                            button class="link" type="submit" { (t("web.sign_out")) }
                        }
                    }
                }
                main id="main" { (body) }
            }
        }
    };
    (status, Html(markup.into_string())).into_response()
}

/// A labelled input with its error next to it, announced and tied to the field.
pub(crate) fn field(
    name: &str,
    label: &str,
    kind: &str,
    value: &str,
    autocomplete: &str,
    error: Option<&str>,
) -> Markup {
    field_with(name, label, kind, value, autocomplete, error, true)
}

/// [`field`], optional when `required` is false.
pub(crate) fn field_with(
    name: &str,
    label: &str,
    kind: &str,
    value: &str,
    autocomplete: &str,
    error: Option<&str>,
    required: bool,
) -> Markup {
    let id = format!("f-{name}");
    let err_id = format!("{id}-error");
    html! {
        div class="field" {
            label for=(id) { (label) }
            input id=(id) name=(name) type=(kind) value=(value) autocomplete=(autocomplete) required[required]
                aria-invalid=[error.map(|_| "true")] aria-describedby=[error.map(|_| err_id.as_str())];
            @if let Some(e) = error {
                p class="error" id=(err_id) role="alert" { (e) }
            }
        }
    }
}

/// A message for the whole form, announced.
pub(crate) fn alert(text: Option<&str>) -> Markup {
    html! {
        @if let Some(text) = text {
            div class="alert" role="alert" { (text) }
        }
    }
}
