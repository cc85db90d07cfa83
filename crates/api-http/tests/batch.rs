//! `batch` through the router.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::World;
use serde_json::{json, Value};

#[tokio::test]
async fn references_and_the_five_maps() {
    let w = World::new();
    let (s, b) = w
        .call(
            "bob",
            "batch",
            json!({"halt": 0, "cmd": {
                "me": "user.current",
                "dep": "department.get?ID=$result[me][UF_DEPARTMENT][0]",
                "peers": "user.get?FILTER[UF_DEPARTMENT]=$result[me][UF_DEPARTMENT][0]&start=-1&select[]=ID",
                "ann": format!("user.get?ID={}", w.ann),
            }}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let r = &b["result"];
    for key in ["result", "result_error", "result_total", "result_next", "result_time"] {
        assert!(r.get(key).is_some(), "{key} always present: {r}");
    }
    assert_eq!(r["result"]["me"]["ID"], json!(w.bob.to_string()));
    assert_eq!(r["result"]["dep"], json!([{"ID": "1", "NAME": "Acme", "SORT": 500}]));
    let peers: Vec<&str> =
        r["result"]["peers"].as_array().unwrap().iter().map(|u| u["ID"].as_str().unwrap()).collect();
    assert_eq!(peers, vec!["1", w.bob.to_string().as_str()]);
    assert_eq!(r["result_error"], json!([]), "an empty map is []");
    assert_eq!(r["result_total"], json!({"dep": 1, "ann": 1}));
    assert_eq!(r["result_next"], json!([]));
    for key in ["me", "dep", "peers", "ann"] {
        let t = &r["result_time"][key];
        assert!(t["start"].is_number() && t["date_finish"].is_string(), "{key}: {t}");
    }
    assert!(b["time"]["duration"].is_number());
}

#[tokio::test]
async fn lists_halt_errors_nesting_and_limits() {
    let w = World::new();
    // A list of commands: keys 0..n, so PHP-style lists come back.
    let (_, b) = w
        .call("bob", "batch", json!({"cmd": ["server.time", format!("user.get?ID={}&select[]=ID", w.bob)]}))
        .await;
    assert!(b["result"]["result"].is_array(), "{b}");
    assert_eq!(b["result"]["result"][1], json!([{"ID": w.bob.to_string()}]));
    // Errors land in result_error under their key; the batch answers 200; without halt the rest runs.
    let (s, b) = w
        .call("bob", "batch", json!({"cmd": {"a": "no.such", "b": "batch?cmd[]=server.time", "c": "server.time", "d": "user.update?ID=1&NAME=x"}}))
        .await;
    assert_eq!(s, StatusCode::OK);
    let e = &b["result"]["result_error"];
    assert_eq!(e["a"]["error"], "ERROR_METHOD_NOT_FOUND");
    assert_eq!(e["b"]["error"], "ERROR_BATCH_METHOD_NOT_ALLOWED");
    assert_eq!(e["d"]["error"], "ACCESS_DENIED");
    assert!(b["result"]["result"]["c"].is_string());
    // halt stops at the first failure; later commands do not run.
    let (_, b) = w
        .call(
            "bob",
            "batch",
            json!({"halt": "1", "cmd": {"a": "server.time", "b": "no.such", "c": "server.time"}}),
        )
        .await;
    assert_eq!(b["result"]["result"].as_object().unwrap().keys().collect::<Vec<_>>(), vec!["a"]);
    assert!(b["result"]["result_time"].get("c").is_none());
    // At most 50.
    let many: Vec<String> = (0..51).map(|_| "server.time".to_string()).collect();
    let (s, b) = w.call("bob", "batch", json!({"cmd": many})).await;
    assert_eq!((s, b["error"].as_str()), (StatusCode::BAD_REQUEST, Some("ERROR_BATCH_LENGTH_EXCEEDED")));
    let (s, b) = w.call("bob", "batch", json!({"cmd": "server.time"})).await;
    assert_eq!((s, b["error"].as_str()), (StatusCode::BAD_REQUEST, Some("ERROR_ARGUMENT")));
}

#[tokio::test]
async fn form_encoded_commands_with_brackets_raw_or_encoded() {
    let w = World::new();
    // A form body: the command strings are URL-encoded a second time.
    let body = format!(
        "halt=0&cmd%5Bx%5D={}&cmd%5By%5D={}",
        urlencode(&format!("user.get?FILTER%5BID%5D={}&select%5B%5D=NAME", w.ann)),
        urlencode(&format!("user.get?FILTER[ID]={}&select[]=NAME&", w.bob)),
    );
    let req = Request::post(format!("{}/batch", w.hook("admin")))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .unwrap();
    let (s, _, b) = w.send(req).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["result"]["result"]["x"], json!([{"ID": w.ann.to_string(), "NAME": "Ann"}]));
    assert_eq!(b["result"]["result"]["y"], json!([{"ID": w.bob.to_string(), "NAME": "Bob"}]));
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[tokio::test]
async fn chained_pages_by_reference() {
    // b24pysdk's as_list_fast chains commands with $result[prev][49][ID].
    let w = World::new();
    let account = w.state.ctx().db.read().unwrap().accounts().unwrap()[0].id;
    let op = profile_core::access::Actor::operator(account);
    let rows = (0..130)
        .map(|i| profile_core::usecase::users::NewUser {
            role: profile_core::model::user::Role::Employee,
            fields: profile_core::model::user::UserPatch::from_text([
                (profile_core::field::UserField::Email, format!("c{i}@acme.test").as_str()),
                (profile_core::field::UserField::UfDepartment, "1"),
            ])
            .unwrap(),
            workgroups: vec![],
        })
        .collect();
    profile_core::usecase::users::create_users_bulk(w.state.ctx(), &op, rows).unwrap();
    let cmd = json!({
        "p0": "user.get?order[ID]=ASC&filter[>ID]=0&start=-1&select[]=ID",
        "p1": "user.get?order[ID]=ASC&filter[>ID]=$result[p0][49][ID]&start=-1&select[]=ID",
        "p2": "user.get?order[ID]=ASC&filter[>ID]=$result[p1][49][ID]&start=-1&select[]=ID",
    });
    let (_, b) = w.call("admin", "batch", json!({"cmd": cmd})).await;
    let ids: Vec<u64> = ["p0", "p1", "p2"]
        .iter()
        .flat_map(|k| b["result"]["result"][k].as_array().unwrap().clone())
        .map(|u| u["ID"].as_str().unwrap().parse().unwrap())
        .collect();
    let expected: Vec<u64> = (1..=134).filter(|&i| i != w.eve.get() as u64).collect();
    assert_eq!(ids, expected);
}

#[tokio::test]
async fn one_transaction_failed_commands_roll_back_alone() {
    let w = World::new();
    let add = |email: &str| format!("user.add?EMAIL={email}&UF_DEPARTMENT[]=1&NAME=New");
    let (s, b) = w
        .call(
            "admin",
            "batch",
            json!({"cmd": {"a": add("n1@example.com"), "b": add("n1@example.com"), "c": add("not-an-email"), "d": add("n2@example.com")}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let r = &b["result"];
    assert!(r["result"]["a"].is_number() && r["result"]["d"].is_number(), "{r}");
    assert_eq!(r["result_error"]["b"]["error"], "ERROR_CORE");
    assert_eq!(r["result_error"]["c"]["error"], "ERROR_ARGUMENT");
    let (_, list) =
        w.call("admin", "user.get", json!({"FILTER": {"%EMAIL": "@example.com"}, "select": ["EMAIL"]})).await;
    let emails: Vec<&Value> = list["result"].as_array().unwrap().iter().map(|u| &u["EMAIL"]).collect();
    assert_eq!(emails, vec![&json!("n1@example.com"), &json!("n2@example.com")]);
}
