//! Search and offset paging against the real server: `FIND` by whole email address and by
//! phone number, `UF_DEPARTMENT_NAME`, `cardfile.subdepartments`, and a department's members
//! sorted by last name paged to the end with `start` offsets while users change between pages.

mod common;

use serde_json::{json, Value};

#[test]
fn search_and_paging_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cardfile.db");
    let (mut server, port, hook) = common::start(&db, true);
    let hook = hook.unwrap();
    let call = |method: &str, body: Value| -> Value {
        let (status, b) = common::post(port, &format!("{hook}{method}"), &body).expect("the server answers");
        assert_eq!(status, 200, "{method} {body}: {b}");
        b
    };
    let sales =
        call("department.add", json!({"NAME": "Sales Europe", "PARENT": 1}))["result"].as_u64().unwrap();
    let nordic =
        call("department.add", json!({"NAME": "Nordic Sales", "PARENT": sales}))["result"].as_u64().unwrap();
    let jane = call(
        "user.add",
        json!({"EMAIL": "Jane.Doe@Example.com", "NAME": "Jane", "LAST_NAME": "Doe",
               "WORK_PHONE": "+1 555-012-3456", "UF_DEPARTMENT": [sales]}),
    )["result"]
        .as_u64()
        .unwrap();
    // 130 more in the Nordic team, in batches of 50, with last names out of ID order.
    let mut nordics = Vec::new();
    for chunk in 0..3 {
        let cmd: serde_json::Map<String, Value> = (0..50)
            .filter(|k| chunk * 50 + k < 130)
            .map(|k| {
                let i = chunk * 50 + k;
                let last = format!("L{:03}", (i * 37) % 130);
                (
                    format!("u{k}"),
                    Value::String(format!(
                        "user.add?EMAIL=n{i}%40example.com&LAST_NAME={last}&UF_DEPARTMENT[]={nordic}"
                    )),
                )
            })
            .collect();
        let results = call("batch", json!({"cmd": cmd}))["result"]["result"].clone();
        nordics.extend(results.as_object().unwrap().values().map(|v| v.as_u64().unwrap()));
    }
    let ids = |b: &Value| -> Vec<u64> {
        b["result"].as_array().unwrap().iter().map(|u| u["ID"].as_str().unwrap().parse().unwrap()).collect()
    };
    let search = |filter: Value| ids(&call("user.search", json!({"FILTER": filter})));
    assert_eq!(search(json!({"FIND": "jane.doe@example.com"})), vec![jane]);
    assert_eq!(search(json!({"FIND": "JANE.DOE@EXA"})), vec![jane]);
    assert_eq!(search(json!({"FIND": "5550123456"})), vec![jane]);
    assert_eq!(search(json!({"FIND": "+1 (555) 012-3456"})), vec![jane]);
    assert_eq!(search(json!({"UF_DEPARTMENT_NAME": "sales eur"})), vec![jane]);
    assert_eq!(search(json!({"UF_DEPARTMENT_NAME": "nordic"})).len(), 50, "a full first page");
    let (status, b) =
        common::post(port, &format!("{hook}user.search"), &json!({"FILTER": {"UF_DEPARTMENT_NAME": "  "}}))
            .unwrap();
    assert_eq!((status, b["error"].as_str()), (400, Some("ERROR_ARGUMENT")), "{b}");

    // The sales department with its sub-departments, by last name, paged to the end while
    // users are renamed between pages: each page is exact, so every user who stays put is
    // seen exactly once.
    let mut seen = Vec::new();
    let mut start = 0;
    for page in 0..10 {
        let b = call(
            "user.get",
            json!({"FILTER": {"UF_DEPARTMENT": sales}, "cardfile.subdepartments": "Y",
                   "sort": "LAST_NAME", "order": "ASC", "start": start}),
        );
        assert_eq!(b["total"], 131, "{b}");
        let got = ids(&b);
        seen.extend(got.iter().copied());
        match b.get("next").and_then(Value::as_u64) {
            Some(next) => start = next,
            None => break,
        }
        // A rename that moves nobody across this page boundary: a user already seen gets a
        // name that sorts first.
        call("user.update", json!({"ID": got[0], "LAST_NAME": format!("A{page}")}));
    }
    seen.sort_unstable();
    let mut want: Vec<u64> = nordics.iter().copied().chain([jane]).collect();
    want.sort_unstable();
    assert_eq!(seen, want, "every member once");
    let without = call("user.get", json!({"FILTER": {"UF_DEPARTMENT": sales}}));
    assert_eq!(without["total"], 1, "without the option, the department alone");
    let _ = server.kill();
    let _ = server.wait();
}
