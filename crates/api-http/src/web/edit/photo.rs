//! The edit page's photo: the current one, a file chosen and previewed before it is sent (the
//! page's script reads the file in the browser; without it the form still uploads), and its
//! removal. The upload is a `multipart/form-data` POST, received within the upload limit like
//! REST's.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Form;
use base64::Engine as _;
use maud::{html, Markup};
use profile_core::access::UserView;
use profile_core::field::UserField;
use profile_core::usecase::images::{self, PhotoChange};
use profile_core::CoreError;

use super::{back, editor, refuse, Part, Posted, Refusal};
use crate::web::layout::{t, tf};
use crate::web::people::{avatar, photo_path, text, Here, PagePath};
use crate::web::session::blocking;
use crate::AppState;

/// The section: `refused` shown at the file's field when it is the photo form's.
pub(super) fn section(h: &Here, v: &UserView, max_bytes: usize, refused: Option<&Refusal>) -> Markup {
    let field = UserField::PersonalPhoto.code();
    let error = Refusal::at(refused, Part::Photo, field);
    let has_photo = photo_path(text(v, UserField::PersonalPhoto)).is_some();
    let megabytes = format!("{}", max_bytes.div_ceil(1 << 20));
    let action = format!("{}edit/photo", h.card(v.id));
    html! {
        section class="card" id="photo" aria-labelledby="h-photo" {
            h2 id="h-photo" { (t("web.edit.photo")) }
            div class="who" {
                (avatar(v, "photo"))
                img id="photo-preview" class="photo" alt=(t("web.edit.photo_preview")) width="96" height="96" hidden;
            }
            form method="post" action=(action) enctype="multipart/form-data" {
                input type="hidden" name="csrf" value=(h.csrf.token);
                div class="field" {
                    label for="f-PHOTO" { (t("web.edit.photo_choose")) }
                    input id="f-PHOTO" name="PHOTO" type="file" required data-preview="photo-preview"
                        accept="image/png,image/jpeg,image/webp,image/gif"
                        aria-invalid=[error.as_ref().map(|_| "true")]
                        aria-describedby=(if error.is_some() { "f-PHOTO-hint f-PHOTO-error" } else { "f-PHOTO-hint" });
                    p class="hint" id="f-PHOTO-hint" { (tf("web.edit.photo_hint", &[("mb", &megabytes)])) }
                    @if let Some(reason) = &error { p class="error" id="f-PHOTO-error" role="alert" { (reason) } }
                }
                button type="submit" { (t("web.edit.photo_upload")) }
            }
            @if has_photo {
                form class="inline" method="post" action=(format!("{action}/remove")) {
                    input type="hidden" name="csrf" value=(h.csrf.token);
                    button class="link" type="submit" { (t("web.edit.photo_remove")) }
                }
            }
        }
    }
}

/// `POST …/personal/user/{ID}/edit/photo`: a `multipart/form-data` body with the file `PHOTO`.
pub(crate) async fn upload_photo(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    uri: Uri,
    at: PagePath,
    body: Bytes,
) -> Response {
    let kind = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let sent: HashMap<String, String> = match crate::multipart::pairs(kind, &body) {
        Ok(pairs) => pairs.into_iter().collect(),
        Err(why) => return (StatusCode::BAD_REQUEST, why).into_response(),
    };
    let (h, id) =
        match editor(&state, &headers, &uri, &at, Posted::With(sent.get("csrf").map(String::as_str))).await {
            Ok(found) => found,
            Err(r) => return r,
        };
    let file = sent
        .get("PHOTO[1]")
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .filter(|b| !b.is_empty());
    let Some(file) = file else {
        let e = CoreError::invalid(UserField::PersonalPhoto.code(), t("web.edit.photo_missing"));
        return refuse(&state, h, id, Part::Photo, &e, HashMap::new()).await;
    };
    let actor = h.actor.clone();
    match blocking(&state, move |ctx| images::set_photo(ctx, &actor, id, &PhotoChange::Upload(file))).await {
        Ok(()) => back(&h, id, "photo"),
        Err(e) => refuse(&state, h, id, Part::Photo, &e, HashMap::new()).await,
    }
}

/// `POST …/personal/user/{ID}/edit/photo/remove`.
pub(crate) async fn remove_photo(
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
    let actor = h.actor.clone();
    match blocking(&state, move |ctx| images::set_photo(ctx, &actor, id, &PhotoChange::Remove)).await {
        Ok(()) => back(&h, id, "photo"),
        Err(e) => refuse(&state, h, id, Part::Photo, &e, HashMap::new()).await,
    }
}
