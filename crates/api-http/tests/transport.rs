//! The transport through the router: URL forms, encodings, the envelope, paging, credentials and
//! the error table.

mod common;

use api_http::{Config, RateLimit};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::Duration;
use common::World;
use profile_core::access::Actor;
use profile_core::field::UserField;
use profile_core::model::user::UserPatch;
use profile_core::ports::Clock;
use profile_core::usecase::credentials;
use serde_json::{json, Value};

fn ids(result: &Value) -> Vec<String> {
    result.as_array().unwrap().iter().map(|u| u["ID"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn url_forms_encodings_and_the_envelope() {
    let w = World::new();
    let hook = w.hook("admin").to_string();
    // With and without .json and a trailing slash, any case; unknown query parameters ignored.
    for path in [
        format!("{hook}/user.current"),
        format!("{hook}/user.current.json"),
        format!("{hook}/USER.Current/"),
        format!("{hook}/user.current.json?bx24_request_id=1&bx24_sdk_ver=2&start=0"),
    ] {
        let (s, b) = w.get(&path).await;
        assert_eq!(s, StatusCode::OK, "{path}: {b}");
        assert_eq!(b["result"]["ID"], "1");
        let t = &b["time"];
        for k in ["start", "finish", "duration", "processing", "operating", "operating_reset_at"] {
            assert!(t[k].is_number(), "{k} in {t}");
        }
        for k in ["date_start", "date_finish"] {
            assert!(t[k].as_str().unwrap().ends_with("+00:00"), "{k} in {t}");
        }
    }
    // PHP-style brackets, raw and percent-encoded, in the query and in a form body.
    let (_, raw) = w.get(&format!("{hook}/user.get?FILTER[UF_DEPARTMENT]={}&FILTER[%3EID]=1", w.sales)).await;
    let (_, enc) =
        w.get(&format!("{hook}/user.get?FILTER%5BUF_DEPARTMENT%5D={}&FILTER%5B%3EID%5D=1", w.sales)).await;
    assert_eq!(ids(&raw["result"]), vec![w.ann.to_string()]);
    assert_eq!(raw["result"], enc["result"]);
    let form = Request::post(format!("{hook}/user.get"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(format!("FILTER%5BUF_DEPARTMENT%5D%5B%5D={}&select[]=ID&select[]=NAME", w.sales)))
        .unwrap();
    let (s, _, b) = w.send(form).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b["result"], json!([{"ID": w.ann.to_string(), "NAME": "Ann"}]));
    // Query and body merge; the body wins.
    let (_, b) = w
        .post(
            &format!("{hook}/user.get?FILTER[ID]={}&select[]=ID", w.ann),
            json!({"FILTER": {"ID": w.bob.get()}}),
        )
        .await;
    assert_eq!(ids(&b["result"]), vec![w.bob.to_string()]);
    // Filters at the top level, lenient values.
    let (_, b) =
        w.post(&format!("{hook}/user.get"), json!({"ID": w.bob.to_string(), "ACTIVE": "True"})).await;
    assert_eq!(ids(&b["result"]), vec![w.bob.to_string()]);
    let (_, b) = w.post(&format!("{hook}/user.get"), json!({"filter": {"ACTIVE": "N"}})).await;
    assert_eq!(b["result"], json!([]));
    assert_eq!(b["total"], 0);
}

#[tokio::test]
async fn values_have_the_shapes_clients_read() {
    let w = World::new();
    let (_, b) = w.call("admin", "user.get", json!({"ID": w.ann.get()})).await;
    let ann = &b["result"][0];
    assert_eq!(ann["ID"], json!(w.ann.to_string()));
    assert_eq!(ann["ACTIVE"], json!(true));
    assert_eq!(ann["IS_ONLINE"], json!("N"));
    assert_eq!(ann["UF_DEPARTMENT"], json!([w.sales.get()]));
    assert_eq!(ann["USER_TYPE"], json!("employee"));
    assert!(ann["DATE_REGISTER"].as_str().unwrap().ends_with("+00:00"));
    assert_eq!(ann["LAST_LOGIN"], json!(""), "empty dates are \"\", never null");
    assert_eq!(ann["PERSONAL_BIRTHDAY"], json!(""));
    let (_, b) = w.call("admin", "department.get", json!({})).await;
    assert_eq!(
        b["result"][0],
        json!({"ID": "1", "NAME": "Acme", "SORT": 500}),
        "no PARENT/UF_HEAD on the root"
    );
    assert_eq!(
        b["result"][1],
        json!({"ID": w.sales.to_string(), "NAME": "Sales", "SORT": 100, "PARENT": "1"})
    );
}

#[tokio::test]
async fn paging_offsets_no_count_and_cursor() {
    let w = World::new();
    let op = Actor::operator(w.state.ctx().db.read().unwrap().accounts().unwrap()[0].id);
    let patch = |i: usize| {
        UserPatch::parse([
            (UserField::Email, profile_core::Value::text(format!("p{i}@acme.test"))),
            (UserField::LastName, profile_core::Value::text(format!("P{i:03}"))),
            (UserField::UfDepartment, profile_core::Value::text("1")),
        ])
        .unwrap()
    };
    let rows = (0..120)
        .map(|i| profile_core::usecase::users::NewUser {
            role: profile_core::model::user::Role::Employee,
            fields: patch(i),
            workgroups: vec![],
        })
        .collect();
    profile_core::usecase::users::create_users_bulk(w.state.ctx(), &op, rows).unwrap();
    let total = 124; // 120 + Ada, Ann, Bob (Eve is external, unseen without a shared group) + ...
    let (_, first) = w.call("bob", "user.get", json!({"ADMIN_MODE": true})).await;
    let n = first["total"].as_u64().unwrap();
    assert!(n >= 123, "{n}");
    let _ = total;
    assert_eq!(first["result"].as_array().unwrap().len(), 50);
    assert_eq!(first["next"], json!(50));
    let (_, second) = w.call("bob", "user.get", json!({"start": "50"})).await;
    assert_eq!(second["next"], json!(100));
    let (_, last) = w.call("bob", "user.get", json!({"START": 100})).await;
    assert!(last.get("next").is_none(), "no next on the last page: {last}");
    assert_eq!(last["total"].as_u64().unwrap(), n);
    // start=-1: the first 50, no total, no next.
    let (_, fast) = w.call("bob", "user.get", json!({"start": -1})).await;
    assert_eq!(fast["result"].as_array().unwrap().len(), 50);
    assert!(fast.get("total").is_none() && fast.get("next").is_none(), "{fast}");
    // Cursor: >ID with order {ID: ASC} reaches every user exactly once.
    let mut seen = Vec::new();
    let mut last_id = 0u64;
    for _ in 0..10 {
        let (_, page) = w
            .call("bob", "user.get", json!({"filter": {">ID": last_id}, "order": {"ID": "ASC"}, "start": -1}))
            .await;
        let got = ids(&page["result"]);
        if got.is_empty() {
            break;
        }
        last_id = got.last().unwrap().parse().unwrap();
        seen.extend(got);
        if seen.len() as u64 >= n {
            break;
        }
    }
    assert_eq!(seen.len() as u64, n);
    let mut sorted = seen.clone();
    sorted.sort_by_key(|s| s.parse::<u64>().unwrap());
    sorted.dedup();
    assert_eq!(sorted, seen);
    // SORT/ORDER upper case, as b24pysdk sends them.
    let (_, desc) = w.call("bob", "user.get", json!({"SORT": "ID", "ORDER": "DESC", "start": -1})).await;
    assert_eq!(desc["result"][0]["ID"], json!(seen.last().unwrap()));
}

#[tokio::test]
async fn the_error_table() {
    let w = World::new();
    let hook = w.hook("bob").to_string();
    let cases: Vec<(String, Value, StatusCode, &str)> = vec![
        (format!("{hook}/no.such.method"), json!({}), StatusCode::NOT_FOUND, "ERROR_METHOD_NOT_FOUND"),
        (
            format!("{hook}/user.get"),
            json!({"FILTER": {"NO_SUCH": 1}}),
            StatusCode::BAD_REQUEST,
            "ERROR_ARGUMENT",
        ),
        (format!("{hook}/user.get"), json!({"start": -5}), StatusCode::BAD_REQUEST, "ERROR_ARGUMENT"),
        (
            format!("{hook}/user.update"),
            json!({"ID": 999, "NAME": "x"}),
            StatusCode::FORBIDDEN,
            "ACCESS_DENIED",
        ),
        (
            format!("{hook}/user.update"),
            json!({"ID": w.bob.get(), "ACTIVE": "N"}),
            StatusCode::FORBIDDEN,
            "ACCESS_DENIED",
        ),
        (
            format!("{hook}/department.add"),
            json!({"NAME": "X", "PARENT": 1}),
            StatusCode::FORBIDDEN,
            "ACCESS_DENIED",
        ),
        (
            format!("{}/user.update", w.hook("admin")),
            json!({"ID": 999, "NAME": "x"}),
            StatusCode::BAD_REQUEST,
            "ERROR_NOT_FOUND",
        ),
        (
            format!("{}/department.delete", w.hook("admin")),
            json!({"ID": 1}),
            StatusCode::BAD_REQUEST,
            "ERROR_CORE",
        ),
        (format!("{}/user.get", w.hook("bob_none")), json!({}), StatusCode::FORBIDDEN, "insufficient_scope"),
        (
            format!("{}/user.update", w.hook("bob_basic")),
            json!({"ID": w.bob.get()}),
            StatusCode::FORBIDDEN,
            "insufficient_scope",
        ),
        (format!("{}/app.info", w.hook("admin")), json!({}), StatusCode::FORBIDDEN, "ACCESS_DENIED"),
        (
            "/rest/1/abcdefghijklmnopqrstuvwxyz012345/user.get".into(),
            json!({}),
            StatusCode::UNAUTHORIZED,
            "INVALID_CREDENTIALS",
        ),
        (
            format!("/rest/{}/{}/user.get", w.ann, hook.rsplit('/').next().unwrap()),
            json!({}),
            StatusCode::UNAUTHORIZED,
            "INVALID_CREDENTIALS",
        ),
        ("/rest/x/y/user.get".into(), json!({}), StatusCode::UNAUTHORIZED, "INVALID_CREDENTIALS"),
        ("/rest/user.get".into(), json!({}), StatusCode::UNAUTHORIZED, "NO_AUTH_FOUND"),
        ("/rest/user.get".into(), json!({"auth": "nope"}), StatusCode::UNAUTHORIZED, "invalid_token"),
        ("/nowhere".into(), json!({}), StatusCode::NOT_FOUND, "ERROR_METHOD_NOT_FOUND"),
    ];
    for (path, body, status, code) in cases {
        let (s, b) = w.post(&path, body.clone()).await;
        assert_eq!((s, b["error"].as_str()), (status, Some(code)), "{path} {body}: {b}");
        assert!(b["error_description"].is_string());
        assert_eq!(b.as_object().unwrap().len(), 2, "exactly error and error_description: {b}");
    }
    // A body over the 2 MB limit: still a JSON error, not axum's plain text.
    let big = format!("{{\"x\":\"{}\"}}", "a".repeat(3 << 20));
    let req = Request::post(format!("{hook}/user.get"))
        .header("content-type", "application/json")
        .body(Body::from(big))
        .unwrap();
    let (s, ct, b) = w.send(req).await;
    assert_eq!(
        (s, ct.as_str(), b["error"].as_str()),
        (StatusCode::BAD_REQUEST, "application/json; charset=utf-8", Some("ERROR_ARGUMENT")),
        "{b}"
    );
    // A body that is not JSON, or not an object, is refused (Bitrix would ignore it).
    for bad in ["{not json", "[1,2]"] {
        let req = Request::post(format!("{hook}/user.get"))
            .header("content-type", "application/json")
            .body(Body::from(bad))
            .unwrap();
        let (s, _, b) = w.send(req).await;
        assert_eq!((s, b["error"].as_str()), (StatusCode::BAD_REQUEST, Some("ERROR_ARGUMENT")), "{bad}");
    }
}

#[tokio::test]
async fn application_tokens_in_every_place() {
    let w = World::new();
    let t = w.app_token.clone();
    let (s, b) = w.post("/rest/profile", json!({"auth": t})).await;
    assert_eq!((s, &b["result"]["ID"], &b["result"]["ADMIN"]), (StatusCode::OK, &json!("1"), &json!(true)));
    let (s, _) = w.get(&format!("/rest/user.current.json?access_token={t}")).await;
    assert_eq!(s, StatusCode::OK);
    let req = Request::get("/rest/server.time")
        .header("authorization", format!("Bearer {t}"))
        .body(Body::empty())
        .unwrap();
    let (s, _, b) = w.send(req).await;
    assert_eq!(s, StatusCode::OK);
    assert!(b["result"].as_str().unwrap().ends_with("+00:00"));
    let (_, info) = w.post("/rest/app.info", json!({"auth": t})).await;
    assert_eq!(info["result"]["CODE"], "HR sync");
    assert_eq!(info["result"]["INSTALLED"], true);
}

#[tokio::test]
async fn revocation_expiry_and_dismissal_act_at_once() {
    let w = World::new();
    let ctx = w.state.ctx();
    let account = ctx.db.read().unwrap().accounts().unwrap()[0].id;
    let op = Actor::operator(account);
    assert_eq!(w.call("bob", "user.current", json!({})).await.0, StatusCode::OK);
    // Dismissing the owner: authorization_error; reinstating: works again.
    let dismiss = |v: &str| UserPatch::parse([(UserField::Active, profile_core::Value::text(v))]).unwrap();
    profile_core::usecase::users::update_user(ctx, &op, w.bob, &dismiss("N")).unwrap();
    let (s, b) = w.call("bob", "user.current", json!({})).await;
    assert_eq!((s, b["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("authorization_error")));
    profile_core::usecase::users::update_user(ctx, &op, w.bob, &dismiss("Y")).unwrap();
    assert_eq!(w.call("bob", "user.current", json!({})).await.0, StatusCode::OK);
    // Revoking: INVALID_CREDENTIALS from the next call.
    let bob_hooks = credentials::list_credentials(ctx, &op).unwrap();
    let hook = bob_hooks.iter().find(|c| c.name == "bob").unwrap();
    credentials::revoke_credential(ctx, &op, hook.id).unwrap();
    let (s, b) = w.call("bob", "user.current", json!({})).await;
    assert_eq!((s, b["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("INVALID_CREDENTIALS")));
    // An expiring application token: expired_token.
    let token = credentials::create_credential(
        ctx,
        &op,
        credentials::NewCredential {
            kind: profile_core::model::credential::CredentialKind::AppToken,
            name: "short".into(),
            owner: Some(profile_core::ids::UserId(1)),
            scopes: [profile_core::access::Scope::User].into_iter().collect(),
            expires_at: Some(w.clock.now() + Duration::hours(1)),
        },
    )
    .unwrap()
    .token;
    assert_eq!(w.post("/rest/user.current", json!({"auth": token})).await.0, StatusCode::OK);
    w.clock.advance(Duration::hours(1));
    let (s, b) = w.post("/rest/user.current", json!({"auth": token})).await;
    assert_eq!((s, b["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("expired_token")));
}

#[tokio::test]
async fn rate_limit_answers_query_limit_exceeded() {
    let w = World::with_config(Config {
        rate_limit: Some(RateLimit { burst: 3.0, per_second: 0.001 }),
        ..Config::default()
    });
    for _ in 0..3 {
        assert_eq!(w.call("bob", "server.time", json!({})).await.0, StatusCode::OK);
    }
    let (s, b) = w.call("bob", "server.time", json!({})).await;
    assert_eq!((s, b["error"].as_str()), (StatusCode::SERVICE_UNAVAILABLE, Some("QUERY_LIMIT_EXCEEDED")));
    assert_eq!(w.call("admin", "server.time", json!({})).await.0, StatusCode::OK, "per credential");
}

#[tokio::test]
async fn accounts_never_see_each_other() {
    // A second account's IDs answer exactly as nonexistent IDs do.
    let w = World::new();
    let ctx = w.state.ctx();
    let other = profile_core::usecase::accounts::create_account(
        ctx,
        profile_core::usecase::accounts::CreateAccountRequest {
            slug: "globex".into(),
            name: "Globex".into(),
            admin: UserPatch::parse([(UserField::Email, profile_core::Value::text("hank@globex.test"))])
                .unwrap(),
        },
    )
    .unwrap();
    let op = Actor::operator(other.account.id);
    // Globex gets departments 2-4 and users 2-6; Acme has departments 1-2 and users 1-4.
    for name in ["G2", "G3", "G4"] {
        profile_core::usecase::departments::add_department(
            ctx,
            &op,
            profile_core::usecase::departments::NewDepartment {
                name: name.into(),
                parent: Some(profile_core::ids::DepartmentId(1)),
                sort: None,
                head: None,
            },
        )
        .unwrap();
    }
    let rows = (0..5)
        .map(|i| profile_core::usecase::users::NewUser {
            role: profile_core::model::user::Role::Employee,
            fields: UserPatch::parse([
                (UserField::Email, profile_core::Value::text(format!("g{i}@globex.test"))),
                (UserField::UfDepartment, profile_core::Value::text("1")),
            ])
            .unwrap(),
            workgroups: vec![],
        })
        .collect();
    profile_core::usecase::users::create_users_bulk(ctx, &op, rows).unwrap();
    for (method, foreign, missing) in [
        ("department.update", json!({"ID": 4, "NAME": "x"}), json!({"ID": 77, "NAME": "x"})),
        ("department.delete", json!({"ID": 4}), json!({"ID": 77})),
        ("user.update", json!({"ID": 6, "NAME": "x"}), json!({"ID": 99, "NAME": "x"})),
        ("user.get", json!({"ID": 6}), json!({"ID": 99})),
        ("department.get", json!({"ID": 4}), json!({"ID": 77})),
    ] {
        let (s1, mut b1) = w.call("admin", method, foreign.clone()).await;
        let (s2, mut b2) = w.call("admin", method, missing.clone()).await;
        for b in [&mut b1, &mut b2] {
            if let Some(m) = b.as_object_mut() {
                m.remove("time");
                // The description names the ID that was asked for.
                m.remove("error_description");
            }
        }
        assert_eq!((s1, &b1), (s2, &b2), "{method}: {foreign} vs {missing}");
    }
    let (_, list) = w
        .call("admin", "user.get", json!({"ADMIN_MODE": "Y", "FILTER": {"EMAIL": "hank@globex.test"}}))
        .await;
    assert_eq!(list["result"], json!([]));
}

#[tokio::test]
async fn bad_tokens_are_limited_per_client_address() {
    let w = World::with_config(Config {
        rate_limit: None,
        address_rate_limit: Some(RateLimit { burst: 3.0, per_second: 0.001 }),
        ..Config::default()
    });
    let from = |ip: [u8; 4], token: &str| {
        let mut req = Request::post("/rest/user.current")
            .header("content-type", "application/json")
            .body(Body::from(json!({"auth": token}).to_string()))
            .unwrap();
        req.extensions_mut().insert(api_http::ClientAddr(std::net::Ipv4Addr::from(ip).into()));
        req
    };
    for i in 0..3 {
        let (s, _, b) = w.send(from([192, 0, 2, 1], &format!("guess{i}"))).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{b}");
    }
    let (s, _, b) = w.send(from([192, 0, 2, 1], "guess")).await;
    assert_eq!((s, b["error"].as_str()), (StatusCode::SERVICE_UNAVAILABLE, Some("QUERY_LIMIT_EXCEEDED")));
    // A good token from that address is limited too; another address is not.
    let good = w.app_token.clone();
    assert_eq!(w.send(from([192, 0, 2, 1], &good)).await.0, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(w.send(from([192, 0, 2, 2], &good)).await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_method_past_its_operating_time_answers_operation_time_limit() {
    let w = World::with_config(Config {
        operating_budget: Some(std::time::Duration::from_nanos(1)),
        ..Config::default()
    });
    assert_eq!(w.call("bob", "user.get", json!({})).await.0, StatusCode::OK, "within the budget at first");
    let (s, b) = w.call("bob", "user.get", json!({})).await;
    assert_eq!(
        (s, b["error"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("OPERATION_TIME_LIMIT")),
        "{b}"
    );
    assert_eq!(w.call("bob", "user.current", json!({})).await.0, StatusCode::OK, "per method");
    assert_eq!(w.call("eve", "user.get", json!({})).await.0, StatusCode::OK, "per credential");
    // In a batch the commands are counted, the batch itself is not.
    let (s, b) = w.call("bob", "batch", json!({"cmd": {"a": "user.get", "b": "server.time"}})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["result"]["result_error"]["a"]["error"], "OPERATION_TIME_LIMIT", "{b}");
    assert!(b["result"]["result"]["b"].is_string(), "{b}");
    // Ten minutes later the budget is back.
    w.clock.advance(Duration::minutes(11));
    assert_eq!(w.call("bob", "user.get", json!({})).await.0, StatusCode::OK);
}

#[tokio::test]
async fn work_over_its_budget_is_refused_naming_the_limit() {
    let w = World::new();
    let hook = w.hook("admin").to_string();
    let refused = |body: &Value, limit: &str| {
        assert_eq!(body["error"], "ERROR_ARGUMENT", "{body}");
        let text = body["error_description"].as_str().unwrap_or_default();
        assert!(text.contains(limit), "{text} names {limit}");
    };
    // 51 distinct conditions, each one a filter integrations may send.
    let prefixes = ["", "!", "%", "!%", "=", "!=", ">", ">=", "<", "<=", "=%", "%=", "!=%"];
    let fields = ["NAME", "LAST_NAME", "SECOND_NAME", "WORK_POSITION"];
    let keys: Vec<String> =
        fields.iter().flat_map(|f| prefixes.iter().map(move |p| format!("{p}{f}"))).take(51).collect();
    let filter: serde_json::Map<String, Value> = keys.iter().map(|k| (k.clone(), json!("a"))).collect();
    let (s, body) = w.call("admin", "user.get", json!({ "FILTER": filter })).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    refused(&body, "at most 50 conditions");
    // 50 are within it.
    let within: serde_json::Map<String, Value> =
        keys.iter().take(50).map(|k| (k.clone(), json!("a"))).collect();
    let (s, body) = w.call("admin", "user.get", json!({ "FILTER": within })).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    // One list of 1,001 values; six lists of 1,000.
    let ids: Vec<u32> = (1..=1001).collect();
    let (s, body) = w.call("admin", "user.get", json!({ "FILTER": { "ID": ids } })).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    refused(&body, "at most 1000 values");
    let list: Vec<u32> = (1..=1000).collect();
    let six: serde_json::Map<String, Value> =
        ["ID", "!ID", "@ID", "UF_DEPARTMENT", "!UF_DEPARTMENT", "@UF_DEPARTMENT"]
            .iter()
            .map(|k| ((*k).to_string(), json!(list)))
            .collect();
    let (s, body) = w.call("admin", "user.get", json!({ "FILTER": six })).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    refused(&body, "at most 5000 values");
    // `select`, `FIND` and department lists.
    let names: Vec<&str> = std::iter::repeat_n("NAME", 201).collect();
    let (s, body) = w.call("admin", "user.get", json!({ "select": names })).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    refused(&body, "at most 200 field names");
    let (s, body) = w.call("admin", "user.search", json!({ "FIND": "a ".repeat(501) })).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    refused(&body, "longer than 1000 characters");
    let (s, body) = w.call("admin", "user.search", json!({ "FIND": "an bo ca da ed fa gu ha ix" })).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    refused(&body, "at most 8 words");
    let (s, body) = w.post(&format!("{hook}/department.get"), json!({ "ID": ids })).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    refused(&body, "at most 1000 values");
    let (s, body) = w.post(&format!("{hook}/department.get"), json!({ "ID": list })).await;
    assert_eq!(s, StatusCode::OK, "{body}");
}
