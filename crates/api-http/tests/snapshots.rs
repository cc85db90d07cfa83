//! insta snapshots of every method's JSON and of the whole error table, through the router.
//! The world is deterministic (fixed clock, counting random source); `time` objects, which hold
//! the wall clock, are replaced by a marker.

mod common;

use api_http::methods::METHODS;
use axum::body::Body;
use axum::http::Request;
use common::{stable, World};
use serde_json::{json, Value};

#[tokio::test]
async fn every_method() {
    let w = World::new();
    let calls: Vec<(&str, Value)> = vec![
        ("user.get", json!({"FILTER": {"UF_DEPARTMENT": w.sales.get()}})),
        (
            "user.search",
            json!({"FILTER": {"FIND": "bob"}, "select": ["ID", "NAME", "LAST_NAME", "WORK_POSITION"]}),
        ),
        ("user.current", json!({})),
        ("user.fields", json!({})),
        (
            "user.add",
            json!({"EMAIL": "new@acme.test", "NAME": "Nina", "UF_DEPARTMENT": [w.sales.get()], "MESSAGE_TEXT": "Welcome"}),
        ),
        (
            "user.update",
            json!({"ID": w.bob.get(), "WORK_POSITION": "Lead engineer", "PERSONAL_CITY": "Lyon", "UF_INTERESTS": "#Rust, climbing"}),
        ),
        ("user.admin", json!({})),
        ("user.access", json!({"ACCESS": ["AU", "U3"]})),
        ("department.get", json!({})),
        ("department.fields", json!({})),
        ("department.add", json!({"NAME": "Support", "PARENT": 1, "SORT": 300, "UF_HEAD": w.bob.get()})),
        ("department.update", json!({"ID": w.sales.get(), "UF_HEAD": w.ann.get()})),
        ("department.delete", json!({"ID": 3})),
        ("scope", json!({})),
        ("methods", json!({})),
        ("method.get", json!({"name": "user.get"})),
        ("server.time", json!({})),
        ("profile", json!({})),
        ("im.user.status.set", json!({"STATUS": "dnd"})),
        ("im.user.status.get", json!({})),
        ("im.user.get", json!({"ID": w.bob.get()})),
        ("cardfile.user.structure", json!({"ID": w.ann.get()})),
        ("im.department.get", json!({"ID": [1, w.sales.get()], "USER_DATA": "Y"})),
        ("im.department.managers.get", json!({"ID": format!("[{}]", w.sales.get())})),
        ("im.department.employees.get", json!({"ID": w.sales.get()})),
        ("im.department.colleagues.list", json!({"LIMIT": 2})),
        ("cardfile.background.list", json!({})),
        ("cardfile.user.background.set", json!({"ID": w.ann.get(), "BACKGROUND": "dune"})),
        ("cardfile.user.background.get", json!({"ID": w.ann.get()})),
        (
            "user.userfield.add",
            json!({"fields": {"FIELD_NAME": "office", "USER_TYPE_ID": "enumeration", "EDIT_FORM_LABEL": "Office",
                "LIST": [{"VALUE": "Berlin", "SORT": 10}, {"VALUE": "Oslo", "SORT": 20, "DEF": "Y"}]}}),
        ),
        (
            "user.userfield.update",
            json!({"id": 1, "fields": {"MANDATORY": "N", "SORT": 200, "SETTINGS": {"DISPLAY": "UI"}}}),
        ),
        ("user.userfield.list", json!({"order": {"ID": "desc"}, "filter": {"USER_TYPE_ID": "enumeration"}})),
        ("user.userfield.delete", json!({"id": 1})),
        (
            "cardfile.absence.add",
            json!({"USER_ID": w.ann.get(), "KIND": "vacation", "DATE_FROM": "2026-01-01", "DATE_TO": "2026-01-09", "NOTE": "Alps"}),
        ),
        ("cardfile.absence.update", json!({"ID": 1, "DATE_TO": "2026-01-11"})),
        (
            "cardfile.absence.list",
            json!({"FILTER": {"UF_DEPARTMENT": w.sales.get(), "DATE_FROM": "2026-01-01", "DATE_TO": "2026-01-31"}}),
        ),
        (
            "cardfile.profile.set",
            json!({"ID": w.ann.get(), "ABOUT": "[b]Hiking[/b] and [url=https://example.com]maps[/url]\n<script>"}),
        ),
        ("cardfile.profile.get", json!({"ID": w.ann.get()})),
        ("cardfile.absence.delete", json!({"ID": 1})),
        ("cardfile.interest.list", json!({"PREFIX": "#r"})),
        ("cardfile.appreciation.badge.add", json!({"CODE": "mentor", "LABEL": "Mentor"})),
        ("cardfile.appreciation.badges", json!({})),
        (
            "cardfile.appreciation.give",
            json!({"USER_ID": w.bob.get(), "BADGE": "mentor", "MESSAGE": "Thanks for the review"}),
        ),
        ("cardfile.appreciation.counts", json!({"USER_ID": w.bob.get()})),
        ("cardfile.appreciation.list", json!({"USER_ID": w.bob.get()})),
        ("cardfile.layout.set", json!({"FIELDS": ["EMAIL", "WORK_PHONE", "ABOUT"], "DEFAULT": "Y"})),
        ("cardfile.layout.get", json!({})),
        ("cardfile.layout.reset", json!({})),
    ];
    let covered: Vec<&str> = calls.iter().map(|(m, _)| *m).collect();
    for m in METHODS {
        assert!(covered.contains(&m.name) || m.name == "app.info", "{} has no snapshot", m.name);
    }
    for (method, params) in calls {
        let (status, body) = w.call("admin", method, params.clone()).await;
        insta::assert_json_snapshot!(
            method,
            json!({"request": params, "status": status.as_u16(), "body": stable(body)})
        );
    }
    // A photo uploaded as [name, base64] (a 1 × 1 PNG), then linked at the size asked for.
    let png =
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";
    let upload = json!({"ID": w.ann.get(), "PERSONAL_PHOTO": ["ann.png", png]});
    let (status, body) = w.call("admin", "user.update", upload.clone()).await;
    insta::assert_json_snapshot!(
        "user.update.photo",
        json!({"request": upload, "status": status.as_u16(), "body": stable(body)})
    );
    let resized = json!({"ID": w.ann.get(), "IMAGE_RESIZE": "small", "select": ["ID", "PERSONAL_PHOTO"]});
    let (status, body) = w.call("admin", "user.get", resized.clone()).await;
    insta::assert_json_snapshot!(
        "user.get.image_resize",
        json!({"request": resized, "status": status.as_u16(), "body": stable(body)})
    );
    let (status, body) = w.post("/rest/app.info", json!({"auth": w.app_token})).await;
    insta::assert_json_snapshot!("app.info", json!({"status": status.as_u16(), "body": stable(body)}));
    let (status, body) = w.call("admin", "batch", json!({"cmd": {"me": "user.current?", "dep": "department.get?ID=$result[me][UF_DEPARTMENT][0]", "bad": "no.such"}})).await;
    insta::assert_json_snapshot!("batch", json!({"status": status.as_u16(), "body": stable(body)}));
}

#[tokio::test]
async fn the_error_table() {
    let w = World::new();
    let bob = w.hook("bob").to_string();
    let admin = w.hook("admin").to_string();
    let many: Vec<&str> = vec!["server.time"; 51];
    let cases: Vec<(&str, String, Value)> = vec![
        ("ERROR_ARGUMENT", format!("{bob}/user.get"), json!({"FILTER": {">DATE_REGISTER": "not a date"}})),
        ("ERROR_CORE", format!("{admin}/department.delete"), json!({"ID": 1})),
        (
            "ERROR_ARGUMENT_photo",
            format!("{admin}/user.update"),
            json!({"ID": 1, "PERSONAL_PHOTO": ["me.png", "AAAA"]}),
        ),
        (
            "userfield_no_name",
            format!("{admin}/user.userfield.add"),
            json!({"fields": {"USER_TYPE_ID": "string"}}),
        ),
        (
            "userfield_unknown_id",
            format!("{admin}/user.userfield.update"),
            json!({"id": 404, "fields": {"SORT": 1}}),
        ),
        ("userfield_no_id", format!("{admin}/user.userfield.delete"), json!({})),
        ("userfield_no_type", format!("{admin}/user.userfield.add"), json!({"fields": {"FIELD_NAME": "x"}})),
        (
            "ERROR_ARGUMENT_background",
            format!("{admin}/cardfile.user.background.set"),
            json!({"ID": 1, "BACKGROUND": "mars"}),
        ),
        ("STATUS_ERROR", format!("{admin}/im.user.status.set"), json!({"STATUS": "Online"})),
        ("ID_EMPTY", format!("{admin}/im.user.get"), json!({"ID": "x"})),
        ("USER_NOT_EXISTS", format!("{admin}/im.user.get"), json!({"ID": 404})),
        ("ERROR_NOT_FOUND", format!("{admin}/user.update"), json!({"ID": 404, "NAME": "x"})),
        ("ERROR_BATCH_LENGTH_EXCEEDED", format!("{bob}/batch"), json!({"cmd": many})),
        (
            "ERROR_BATCH_METHOD_NOT_ALLOWED",
            format!("{bob}/batch"),
            json!({"cmd": {"inner": "batch?cmd[]=server.time"}}),
        ),
        ("NO_AUTH_FOUND", "/rest/user.get".into(), json!({})),
        ("INVALID_CREDENTIALS", "/rest/1/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/user.get".into(), json!({})),
        ("invalid_token", "/rest/user.get".into(), json!({"auth": "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"})),
        ("insufficient_scope", format!("{}/user.get", w.hook("bob_none")), json!({})),
        ("ACCESS_DENIED", format!("{bob}/department.add"), json!({"NAME": "X", "PARENT": 1})),
        ("ERROR_METHOD_NOT_FOUND", format!("{bob}/user.delete"), json!({"ID": 2})),
    ];
    for (name, path, params) in cases {
        let (status, body) = w.post(&path, params.clone()).await;
        insta::assert_json_snapshot!(
            format!("error_{name}"),
            json!({"status": status.as_u16(), "body": stable(body)})
        );
    }
    // The rest of the table needs a changed world.
    let ctx = w.state.ctx();
    let account = ctx.db.read().unwrap().accounts().unwrap()[0].id;
    let op = profile_core::access::Actor::operator(account);
    let dismiss =
        profile_core::model::user::UserPatch::from_text([(profile_core::field::UserField::Active, "N")])
            .unwrap();
    profile_core::usecase::users::update_user(ctx, &op, w.bob, &dismiss).unwrap();
    let (status, body) = w.post(&format!("{bob}/user.current"), json!({})).await;
    insta::assert_json_snapshot!(
        "error_authorization_error",
        json!({"status": status.as_u16(), "body": stable(body)})
    );
    let expiring = profile_core::usecase::credentials::create_credential(
        ctx,
        &op,
        profile_core::usecase::credentials::NewCredential {
            kind: profile_core::model::credential::CredentialKind::AppToken,
            name: "expiring".into(),
            owner: Some(profile_core::ids::UserId(1)),
            scopes: [profile_core::access::Scope::User].into_iter().collect(),
            expires_at: Some(profile_core::ports::Clock::now(&*w.clock) + chrono::Duration::minutes(5)),
        },
    )
    .unwrap();
    w.clock.advance(chrono::Duration::minutes(5));
    let (status, body) = w.post("/rest/user.current", json!({"auth": expiring.token})).await;
    insta::assert_json_snapshot!(
        "error_expired_token",
        json!({"status": status.as_u16(), "body": stable(body)})
    );
    let limited = World::with_config(api_http::Config {
        rate_limit: Some(api_http::RateLimit { burst: 1.0, per_second: 0.001 }),
        ..api_http::Config::default()
    });
    limited.call("admin", "server.time", json!({})).await;
    let (status, body) = limited.call("admin", "server.time", json!({})).await;
    insta::assert_json_snapshot!(
        "error_QUERY_LIMIT_EXCEEDED",
        json!({"status": status.as_u16(), "body": stable(body)})
    );
    let https = World::with_config(api_http::Config { require_https: true, ..api_http::Config::default() });
    let req = Request::get(format!("{}/server.time", https.hook("admin"))).body(Body::empty()).unwrap();
    let (status, _, body) = https.send(req).await;
    insta::assert_json_snapshot!(
        "error_INVALID_REQUEST",
        json!({"status": status.as_u16(), "body": stable(body)})
    );
}
