//! `batch` through the router.

mod common;

use std::cell::Cell;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::World;
use profile_core::ports::{Batch, Database, StoreResult, Tx};
use serde_json::{json, Value};
use store_sqlite::SqliteDb;

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

/// SQLite whose optimistic batches report, from their second unit on, that they must run again
/// (as one does after a command failed having written).
struct RerunAfterOne(Arc<SqliteDb>);

struct Tainted<'a> {
    inner: Box<dyn Batch + 'a>,
    units: Cell<usize>,
}

impl Database for RerunAfterOne {
    fn read(&self) -> StoreResult<Box<dyn Tx + '_>> {
        self.0.read()
    }
    fn write(&self) -> StoreResult<Box<dyn Tx + '_>> {
        self.0.write()
    }
    fn batch(&self) -> StoreResult<Box<dyn Batch + '_>> {
        self.0.batch()
    }
    fn optimistic_batch(&self) -> StoreResult<Box<dyn Batch + '_>> {
        Ok(Box::new(Tainted { inner: self.0.optimistic_batch()?, units: Cell::new(0) }))
    }
}

impl Database for Tainted<'_> {
    fn read(&self) -> StoreResult<Box<dyn Tx + '_>> {
        self.inner.as_database().read()
    }
    fn write(&self) -> StoreResult<Box<dyn Tx + '_>> {
        self.units.set(self.units.get() + 1);
        self.inner.as_database().write()
    }
    fn batch(&self) -> StoreResult<Box<dyn Batch + '_>> {
        self.inner.batch()
    }
}

impl Batch for Tainted<'_> {
    fn as_database(&self) -> &dyn Database {
        self
    }
    fn commit(self: Box<Self>) -> StoreResult<()> {
        self.inner.commit()
    }
    fn must_rerun(&self) -> bool {
        self.units.get() >= 2
    }
}

/// A batch whose optimistic run must run again is run once more with a savepoint per command:
/// the reply and the data are those of that run alone (each user added once, `$result`
/// references resolved against it).
#[tokio::test]
async fn a_batch_that_must_run_again_answers_and_keeps_one_run() {
    let w = World::wrapping(|db| Arc::new(RerunAfterOne(db)));
    let (s, b) = w
        .call(
            "admin",
            "batch",
            json!({"cmd": {
                "a": "user.add?EMAIL=r1@example.com&UF_DEPARTMENT[]=1",
                "b": "user.add?EMAIL=r1@example.com&UF_DEPARTMENT[]=1",
                "c": "user.add?EMAIL=r2@example.com&UF_DEPARTMENT[]=1",
                "d": "user.get?ID=$result[c]",
            }}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let r = &b["result"];
    assert_eq!(r["result_error"]["b"]["error"], "ERROR_CORE", "{r}");
    let (a, c) = (r["result"]["a"].as_u64().unwrap(), r["result"]["c"].as_u64().unwrap());
    assert_eq!(c, a + 1, "IDs of one run: {r}");
    assert_eq!(r["result"]["d"][0]["EMAIL"], "r2@example.com", "{r}");
    let (_, list) = w
        .call("admin", "user.get", json!({"FILTER": {"%EMAIL": "@example.com"}, "select": ["ID", "EMAIL"]}))
        .await;
    assert_eq!(
        list["result"],
        json!([{"ID": a.to_string(), "EMAIL": "r1@example.com"}, {"ID": c.to_string(), "EMAIL": "r2@example.com"}])
    );
}
