//! The edit page's "my form layout" (one's own page only): which entries the cards one views
//! show, in which order, and the way back to the account's default. Each entry is ticked or
//! not and has Up and Down buttons: without script they submit the form with the move (saved
//! at once); with it they move the entry in place, as dragging does, and Save sends the order.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use axum::Form;
use maud::{html, Markup};
use profile_core::ids::UserId;
use profile_core::model::layout::Layout;
use profile_core::usecase::layout;

use super::{back, editor, refuse, Part, Posted, Refusal};
use crate::web::layout::{alert, t, tf};
use crate::web::people::{entry_label, Here, PagePath};
use crate::web::session::blocking;
use crate::AppState;

/// The section: the layout's entries ticked, in order, then the other choices unticked.
pub(super) fn section(
    h: &Here,
    id: UserId,
    current: &Layout,
    choices: &[String],
    refused: Option<&Refusal>,
) -> Markup {
    let rest = choices.iter().filter(|c| !current.fields.contains(c));
    let entries: Vec<(&String, bool)> =
        current.fields.iter().map(|f| (f, true)).chain(rest.map(|f| (f, false))).collect();
    let action = format!("{}edit/layout", h.card(id));
    let error = refused.filter(|r| r.part == Part::Layout).map(|r| r.reason.as_str());
    html! {
        section class="card" id="layout" aria-labelledby="h-layout" {
            h2 id="h-layout" { (t("web.layout.title")) }
            p class="hint" { (t(if current.own { "web.layout.own" } else { "web.layout.default" })) }
            (alert(error))
            form method="post" action=(action) data-arrange {
                input type="hidden" name="csrf" value=(h.csrf.token);
                p id="arrange-help" { (t("web.layout.help")) }
                ol class="arrange" aria-describedby="arrange-help" {
                    @for (entry, shown) in &entries {
                        @let label = entry_label(entry);
                        li draggable="true" {
                            input type="hidden" name="order" value=(entry);
                            input type="checkbox" id=(format!("show-{entry}")) name="show" value=(entry) checked[*shown];
                            label for=(format!("show-{entry}")) { (label) }
                            span class="moves" {
                                button class="link" type="submit" name="move" value=(format!("up:{entry}"))
                                    aria-label=(tf("web.layout.up", &[("entry", &label)])) { "↑" }
                                button class="link" type="submit" name="move" value=(format!("down:{entry}"))
                                    aria-label=(tf("web.layout.down", &[("entry", &label)])) { "↓" }
                            }
                        }
                    }
                }
                p class="visually-hidden" id="arrange-status" aria-live="polite"
                    data-moved=(t("web.layout.moved")) {}
                button type="submit" { (t("web.layout.save")) }
            }
            @if current.own {
                form method="post" action=(format!("{action}/reset")) {
                    input type="hidden" name="csrf" value=(h.csrf.token);
                    button class="secondary" type="submit" { (t("web.layout.reset")) }
                }
            }
        }
    }
}

/// The entries in the order sent, with a move (`up:ENTRY`, `down:ENTRY`) applied, ticked only.
fn arranged(sent: &[(String, String)]) -> Vec<String> {
    let mut order: Vec<&str> = sent.iter().filter(|(k, _)| k == "order").map(|(_, v)| v.as_str()).collect();
    let moved = sent.iter().find(|(k, _)| k == "move").and_then(|(_, v)| v.split_once(':'));
    if let Some((way, entry)) = moved {
        if let Some(at) = order.iter().position(|e| *e == entry) {
            match way {
                "up" if at > 0 => order.swap(at, at - 1),
                "down" if at + 1 < order.len() => order.swap(at, at + 1),
                _ => {}
            }
        }
    }
    let shown: Vec<&str> = sent.iter().filter(|(k, _)| k == "show").map(|(_, v)| v.as_str()).collect();
    order.into_iter().filter(|e| shown.contains(e)).map(str::to_string).collect()
}

/// `POST …/personal/user/{ID}/edit/layout`: saves "my form layout".
pub(crate) async fn save_layout(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    uri: Uri,
    at: PagePath,
    Form(sent): Form<Vec<(String, String)>>,
) -> Response {
    let token = sent.iter().find(|(k, _)| k == "csrf").map(|(_, v)| v.as_str());
    let (h, id) = match editor(&state, &headers, &uri, &at, Posted::With(token)).await {
        Ok(found) if found.0.actor.is(found.1) => found,
        Ok(_) => return crate::web::account::not_found(),
        Err(r) => return r,
    };
    let fields = arranged(&sent);
    let actor = h.actor.clone();
    match blocking(&state, move |ctx| layout::set_layout(ctx, &actor, &fields, false)).await {
        Ok(_) => back(&h, id, "layout"),
        Err(e) => refuse(&state, h, id, Part::Layout, &e, Default::default()).await,
    }
}

/// `POST …/personal/user/{ID}/edit/layout/reset`: back to the account's default.
pub(crate) async fn reset_layout(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    uri: Uri,
    at: PagePath,
    Form(sent): Form<Vec<(String, String)>>,
) -> Response {
    let token = sent.iter().find(|(k, _)| k == "csrf").map(|(_, v)| v.as_str());
    let (h, id) = match editor(&state, &headers, &uri, &at, Posted::With(token)).await {
        Ok(found) if found.0.actor.is(found.1) => found,
        Ok(_) => return crate::web::account::not_found(),
        Err(r) => return r,
    };
    let actor = h.actor.clone();
    match blocking(&state, move |ctx| layout::reset_layout(ctx, &actor)).await {
        Ok(_) => back(&h, id, "layout"),
        Err(e) => refuse(&state, h, id, Part::Layout, &e, Default::default()).await,
    }
}

#[cfg(test)]
mod tests {
    use super::arranged;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn a_move_is_applied_before_the_unticked_are_left_out() {
        let sent = pairs(&[
            ("order", "EMAIL"),
            ("show", "EMAIL"),
            ("order", "WORK_PHONE"),
            ("show", "WORK_PHONE"),
            ("order", "ABOUT"),
            ("move", "up:WORK_PHONE"),
        ]);
        assert_eq!(arranged(&sent), ["WORK_PHONE", "EMAIL"]);
        let down_at_the_end = pairs(&[("order", "A"), ("show", "A"), ("move", "down:A")]);
        assert_eq!(arranged(&down_at_the_end), ["A"]);
    }
}
