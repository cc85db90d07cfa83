//! Every method × every scope × the three kinds of caller (administrator, employee, extranet
//! user): the exact fields returned or the exact error. The expectation is computed from the
//! rules (spec §2.1, decisions.md) and the whole table is also kept as a snapshot.

mod common;

use std::collections::BTreeSet;

use api_http::methods::METHODS;
use axum::http::StatusCode;
use common::World;
use profile_core::access::{Actor, Scope, ScopeSet, Tier};
use profile_core::field::UserField;
use profile_core::ids::UserId;
use profile_core::model::credential::CredentialKind;
use profile_core::usecase::credentials::{self, NewCredential};
use serde_json::{json, Value};

#[derive(Clone, Copy, PartialEq, Debug)]
enum Role {
    Admin,
    Employee,
    Extranet,
}

fn fields_of(tier: Tier) -> BTreeSet<String> {
    UserField::ALL.iter().filter(|f| f.tier() <= tier).map(|f| f.code().to_string()).collect()
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default()
}

/// The call each method gets: harmless, and the same for every caller.
fn params(w: &World, method: &str, me: UserId) -> Value {
    match method {
        "user.get" | "user.search" => json!({"select": ["*"]}),
        "user.add" => json!({"EMAIL": "not-an-email"}),
        "user.update" => json!({"ID": me.get(), "PERSONAL_CITY": "Oslo"}),
        "user.access" => json!({"ACCESS": ["AU"]}),
        "department.add" => json!({"NAME": "", "PARENT": 1}),
        "department.update" => json!({"ID": w.sales.get(), "SORT": 100}),
        "department.delete" => json!({"ID": 999}),
        "method.get" => json!({"name": "user.get"}),
        "im.user.status.set" => json!({"STATUS": "away"}),
        "cardfile.user.structure" | "cardfile.user.background.get" => json!({"ID": me.get()}),
        "cardfile.user.background.set" => json!({"ID": me.get(), "BACKGROUND": "sea"}),
        "user.userfield.add" => json!({"fields": {"USER_TYPE_ID": "string"}}),
        "user.userfield.update" => json!({"id": 999, "fields": {}}),
        "user.userfield.delete" => json!({"id": 999}),
        "cardfile.absence.add" => {
            json!({"USER_ID": me.get(), "KIND": "vacation", "DATE_FROM": "2026-03-02", "DATE_TO": "2026-03-06"})
        }
        "cardfile.absence.update" | "cardfile.absence.delete" => json!({"ID": 999}),
        "cardfile.profile.get" => json!({"ID": me.get()}),
        "cardfile.profile.set" => json!({"ID": me.get(), "ABOUT": "[b]hi[/b]"}),
        "cardfile.appreciation.give" => json!({"USER_ID": me.get(), "BADGE": "star", "MESSAGE": "me"}),
        "cardfile.appreciation.counts" | "cardfile.appreciation.list" => json!({"USER_ID": me.get()}),
        "cardfile.appreciation.badge.add" => json!({"CODE": "", "LABEL": "Nothing"}),
        "cardfile.layout.set" => json!({"FIELDS": ["EMAIL", "ABOUT"]}),
        "im.department.get" | "im.department.managers.get" | "im.department.employees.get" => {
            json!({"ID": [1]})
        }
        _ => json!({}),
    }
}

#[tokio::test]
async fn every_method_every_scope_every_role() {
    let w = World::new();
    let ctx = w.state.ctx();
    let account = ctx.db.read().unwrap().accounts().unwrap()[0].id;
    let op = Actor::operator(account);
    let roles = [(Role::Admin, UserId(1)), (Role::Employee, w.bob), (Role::Extranet, w.eve)];
    let mut table = Vec::new();
    for (role, me) in roles {
        for scope in Scope::ALL.iter().map(Some).chain([None]) {
            let scopes: ScopeSet = scope.into_iter().copied().collect();
            // A credential with no scope at all cannot be made; model it with user.userfield,
            // which opens none of the methods below.
            let scopes = if scope.is_none() { [Scope::UserUserfield].into_iter().collect() } else { scopes };
            let hook = credentials::create_credential(
                ctx,
                &op,
                NewCredential {
                    kind: CredentialKind::Webhook,
                    name: "matrix".into(),
                    owner: Some(me),
                    scopes,
                    expires_at: None,
                },
            )
            .unwrap();
            let base = format!("/rest/{me}/{}", hook.token);
            let tier = scopes.user_tier();
            for m in METHODS {
                if m.name == "app.info" {
                    continue; // webhooks have no application context: covered in the error table
                }
                let (status, body) = w.post(&format!("{base}/{}", m.name), params(&w, m.name, me)).await;
                let outcome = if status == StatusCode::OK {
                    "ok".to_string()
                } else {
                    body["error"].as_str().unwrap().to_string()
                };
                // The rules.
                let admin = role == Role::Admin;
                let expected = if !m.need.met_by(&Actor {
                    account,
                    user: Some(me),
                    role: profile_core::model::user::Role::Employee,
                    scopes,
                }) {
                    "insufficient_scope"
                } else {
                    match m.name {
                        "user.add" if admin => "ERROR_ARGUMENT",
                        "user.add" => "ACCESS_DENIED",
                        "department.add" if admin => "ERROR_ARGUMENT",
                        "department.update" if !admin => "ACCESS_DENIED",
                        "department.add" | "department.delete" if !admin => "ACCESS_DENIED",
                        "department.delete" => "ERROR_NOT_FOUND",
                        // §4.1's own errors: an empty code ("Access denied.", a missing name).
                        "user.userfield.list" if !admin => "",
                        "user.userfield.add" | "user.userfield.update" | "user.userfield.delete" => "",
                        "cardfile.absence.update" | "cardfile.absence.delete" => "ERROR_NOT_FOUND",
                        // Nobody appreciates themself.
                        "cardfile.appreciation.give" => "ERROR_ARGUMENT",
                        "cardfile.appreciation.badge.add" if admin => "ERROR_ARGUMENT",
                        "cardfile.appreciation.badge.add" => "ACCESS_DENIED",
                        "cardfile.interest.list" if role == Role::Extranet => "ACCESS_DENIED",
                        _ => "ok",
                    }
                };
                assert_eq!(outcome, expected, "{role:?} {scope:?} {}: {body}", m.name);
                // The exact fields of user reads, and who is visible.
                let mut seen = Value::Null;
                if outcome == "ok" {
                    let tier = tier.unwrap_or(Tier::Brief);
                    match m.name {
                        "user.current" => {
                            assert_eq!(keys(&body["result"]), fields_of(tier), "{role:?} {scope:?}")
                        }
                        "user.get" | "user.search" => {
                            let rows = body["result"].as_array().unwrap();
                            for r in rows {
                                assert_eq!(keys(r), fields_of(tier), "{role:?} {scope:?} {}", m.name);
                            }
                            let ids: Vec<String> =
                                rows.iter().map(|r| r["ID"].as_str().unwrap().to_string()).collect();
                            let expected_ids: Vec<String> = match role {
                                // Intranet viewers: every intranet user; Eve shares no group with them.
                                Role::Admin | Role::Employee => vec![1, w.ann.get(), w.bob.get()],
                                // Eve: her group's members (Ann) and herself.
                                Role::Extranet => vec![w.ann.get(), w.eve.get()],
                            }
                            .iter()
                            .map(u32::to_string)
                            .collect();
                            assert_eq!(ids, expected_ids, "{role:?} {scope:?} {}", m.name);
                            seen = json!(ids);
                        }
                        "user.fields" => assert_eq!(keys(&body["result"]), fields_of(tier)),
                        _ => {}
                    }
                }
                table.push(json!({"role": format!("{role:?}"), "scope": scope.map(|s| s.code()), "method": m.name, "outcome": outcome, "users": seen}));
            }
        }
    }
    insta::assert_json_snapshot!("scope_matrix", table);
}
