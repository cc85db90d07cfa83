//! Custom fields against the real server: `user.userfield.*` as spec §4.1 documents them
//! (names, types fixed at creation, options, its own errors, administrators only), and values
//! written with `user.add`/`user.update` and read with `select`, typed and checked.

mod common;

use std::process::Command;

use serde_json::{json, Value};

#[test]
fn custom_fields_are_defined_written_and_read_through_the_real_server() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cardfile.db");
    let (mut server, port, hook) = common::start(&db, true);
    let hook = hook.unwrap();
    let post = |path: &str, body: Value| common::post(port, path, &body).unwrap();
    let call = |method: &str, body: Value| {
        let (status, b) = post(&format!("{hook}{method}"), body);
        assert_eq!(status, 200, "{method}: {b}");
        b
    };
    let refused = |method: &str, body: Value| {
        let (status, b) = post(&format!("{hook}{method}"), body);
        assert_eq!(status, 400, "{method}: {b}");
        (
            b["error"].as_str().unwrap_or("?").to_string(),
            b["error_description"].as_str().unwrap_or("").to_string(),
        )
    };

    // Definitions.
    let skills = call(
        "user.userfield.add",
        json!({"fields": {"FIELD_NAME": "skills", "USER_TYPE_ID": "string", "LABEL": "Skills"}}),
    );
    let skills = skills["result"].as_u64().unwrap();
    let office = call(
        "user.userfield.add",
        json!({"fields": {"FIELD_NAME": "UF_OFFICE", "USER_TYPE_ID": "enumeration", "LIST": [{"VALUE": "Berlin"}, {"VALUE": "Oslo"}]}}),
    )["result"]
        .as_u64()
        .unwrap();
    call("user.userfield.add", json!({"fields": {"FIELD_NAME": "mentor", "USER_TYPE_ID": "employee"}}));
    call(
        "user.userfield.add",
        json!({"fields": {"FIELD_NAME": "codes", "USER_TYPE_ID": "integer", "MULTIPLE": "Y"}}),
    );
    let listed = call("user.userfield.list", json!({"order": {"ID": "asc"}}));
    assert_eq!(listed["total"], 4, "{listed}");
    let first = &listed["result"][0];
    assert_eq!(
        (first["FIELD_NAME"].as_str(), first["ID"].as_str()),
        (Some("UF_USR_SKILLS"), Some("1")),
        "{first}"
    );
    assert_eq!(first["SETTINGS"], json!({"DEFAULT_VALUE": "", "ROWS": 1}));
    assert_eq!(first["EDIT_FORM_LABEL"], json!({"en": "Skills"}));
    let options = listed["result"][1]["LIST"].as_array().unwrap().clone();
    let berlin: u64 = options[0]["ID"].as_str().unwrap().parse().unwrap();
    let filtered = call("user.userfield.list", json!({"filter": {"MULTIPLE": "Y"}}));
    assert_eq!(filtered["result"].as_array().unwrap().len(), 1, "{filtered}");

    // §4.1's errors.
    assert_eq!(
        refused("user.userfield.add", json!({"fields": {"FIELD_NAME": "SKILLS", "USER_TYPE_ID": "integer"}}))
            .0,
        "ERROR_CORE"
    );
    assert_eq!(
        refused("user.userfield.add", json!({"fields": {"USER_TYPE_ID": "string"}})),
        (String::new(), "The 'FIELD_NAME' field is not found.".to_string())
    );
    assert_eq!(
        refused("user.userfield.add", json!({"fields": {"FIELD_NAME": "x"}})),
        ("ERROR_ARGUMENT".to_string(), "Argument 'USER_TYPE_ID' is null or empty".to_string())
    );
    assert_eq!(
        refused("user.userfield.update", json!({"id": 99, "fields": {"SORT": 5}})).1,
        "Access denied."
    );
    assert_eq!(refused("user.userfield.delete", json!({})).1, "ID is not defined or invalid");
    let (code, _) =
        refused("user.userfield.update", json!({"id": skills, "fields": {"USER_TYPE_ID": "integer"}}));
    assert_eq!(code, "ERROR_ARGUMENT");
    assert_eq!(
        call("user.userfield.update", json!({"id": office, "fields": {"SORT": 50}}))["result"],
        json!(true)
    );

    // Values, written and read.
    let sam =
        call("user.add", json!({"EMAIL": "sam@example.com", "UF_DEPARTMENT": [1], "UF_USR_SKILLS": "Rust"}))
            ["result"]
            .as_u64()
            .unwrap();
    let values = json!({"ID": 1, "UF_USR_SKILLS": "SQL", "UF_USR_OFFICE": berlin, "UF_USR_MENTOR": sam, "UF_USR_CODES": [3, 1]});
    assert_eq!(call("user.update", values)["result"], json!(true));
    let read = |id: u64| call("user.get", json!({"ID": id, "select": ["ID", "UF_*"]}))["result"][0].clone();
    let me = read(1);
    assert_eq!(me["UF_USR_SKILLS"], "SQL", "{me}");
    assert_eq!(me["UF_USR_OFFICE"], json!(berlin));
    assert_eq!(me["UF_USR_MENTOR"], json!(sam));
    assert_eq!(me["UF_USR_CODES"], json!([3, 1]));
    assert_eq!(read(sam)["UF_USR_SKILLS"], "Rust");
    let plain = call("user.get", json!({"ID": 1}))["result"][0].clone();
    assert!(plain.get("UF_USR_SKILLS").is_none(), "only when selected: {plain}");
    for bad in [
        json!({"UF_USR_OFFICE": 9999}),
        json!({"UF_USR_MENTOR": 9999}),
        json!({"UF_USR_CODES": "x"}),
        json!({"UF_USR_NOPE": 1}),
    ] {
        let mut body = json!({"ID": 1, "UF_USR_SKILLS": "changed"});
        body.as_object_mut().unwrap().extend(bad.as_object().unwrap().clone());
        assert_eq!(refused("user.update", body.clone()).0, "ERROR_ARGUMENT", "{body}");
    }
    assert_eq!(read(1)["UF_USR_SKILLS"], "SQL", "a refused write changes nothing");

    // Filters on custom values, on user.get, with totals.
    let ids = |filter: Value| -> Vec<String> {
        let b = call("user.get", json!({"FILTER": filter}));
        b["result"].as_array().unwrap().iter().map(|u| u["ID"].as_str().unwrap().to_string()).collect()
    };
    assert_eq!(ids(json!({"UF_USR_CODES": 1})), ["1"]);
    assert_eq!(ids(json!({"%UF_USR_SKILLS": "sq"})), ["1"]);
    assert_eq!(ids(json!({">=UF_USR_CODES": 3, "ACTIVE": true})), ["1"]);
    assert_eq!(ids(json!({"UF_USR_OFFICE": ""})), [sam.to_string()]);
    let b = call("user.get", json!({"FILTER": {"UF_USR_MENTOR": sam}}));
    assert_eq!(b["total"], 1, "{b}");
    assert_eq!(refused("user.get", json!({"FILTER": {"UF_USR_CODES": "many"}})).0, "ERROR_ARGUMENT");
    call("user.update", json!({"ID": sam, "UF_USR_CODES": [9]}));
    let sorted = |order: &str| -> Vec<String> {
        let b = call(
            "user.get",
            json!({"sort": "UF_USR_CODES", "order": order, "FILTER": {"!UF_USR_CODES": ""}}),
        );
        b["result"].as_array().unwrap().iter().map(|u| u["ID"].as_str().unwrap().to_string()).collect()
    };
    assert_eq!(sorted("ASC"), ["1".to_string(), sam.to_string()]);
    assert_eq!(sorted("DESC"), [sam.to_string(), "1".to_string()]);
    assert_eq!(refused("user.get", json!({"sort": "UF_USR_NOPE", "order": "ASC"})).0, "ERROR_ARGUMENT");

    // FIND looks at a string field's values once it is searchable, on user.get and user.search.
    let found = |method: &str, find: &str| -> Vec<String> {
        let b = call(method, json!({"FILTER": {"FIND": find}}));
        b["result"].as_array().unwrap().iter().map(|u| u["ID"].as_str().unwrap().to_string()).collect()
    };
    assert!(found("user.get", "rus").is_empty());
    let on = json!({"id": skills, "fields": {"IS_SEARCHABLE": "Y"}});
    assert_eq!(call("user.userfield.update", on)["result"], json!(true));
    assert_eq!(found("user.get", "rus"), [sam.to_string()]);
    assert_eq!(found("user.search", "RUST"), [sam.to_string()]);
    call("user.update", json!({"ID": sam, "UF_USR_SKILLS": "Go"}));
    assert!(found("user.get", "rust").is_empty(), "a changed value is found by its new words");
    assert_eq!(found("user.get", "go"), [sam.to_string()]);

    // Administrators only: an employee's webhook with the scope gets §4.1's "Access denied.".
    let (code, out, err) = common::output(
        Command::new(env!("CARGO_BIN_EXE_cardfile")).args(["--json", "--db"]).arg(&db).args([
            "webhook",
            "create",
            "--user",
            &sam.to_string(),
            "--scope",
            "user,user.userfield",
        ]),
    );
    assert_eq!(code, 0, "{err}");
    let url = serde_json::from_str::<Value>(&out).unwrap()["url"].as_str().unwrap().to_string();
    let sams = url[url.find("/rest/").unwrap()..].to_string();
    let (status, b) = post(&format!("{sams}user.userfield.list"), json!({}));
    assert_eq!(
        (status, b["error"].as_str(), b["error_description"].as_str()),
        (400, Some(""), Some("Access denied.")),
        "{b}"
    );

    // A deleted field is gone from every read.
    assert_eq!(call("user.userfield.delete", json!({"id": skills}))["result"], json!(true));
    assert!(read(1).get("UF_USR_SKILLS").is_none());
    assert_eq!(call("user.userfield.list", json!({}))["total"], 3);

    // The CLI on the same database.
    let cli = |args: &[&str]| {
        common::output(
            Command::new(env!("CARGO_BIN_EXE_cardfile")).args(["--json", "--db"]).arg(&db).args(args),
        )
    };
    let (code, out, err) =
        cli(&["userfield", "add", "level", "--type", "integer", "--multiple", "--label", "Level"]);
    assert_eq!(code, 0, "{err}");
    let level = serde_json::from_str::<Value>(&out).unwrap()[0]["id"].as_u64().unwrap();
    let (code, _, err) = cli(&["user", "update", "1", "UF_USR_LEVEL=5,7", "WORK_POSITION=Boss"]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = cli(&["user", "show", "1"]);
    assert_eq!(code, 0, "{err}");
    let shown: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (shown["UF_USR_LEVEL"].clone(), shown["WORK_POSITION"].clone()),
        (json!([5, 7]), json!("Boss")),
        "{shown}"
    );
    assert_eq!(read(1)["UF_USR_LEVEL"], json!([5, 7]));
    let (code, _, err) = cli(&["user", "update", "1", "UF_USR_LEVEL=high"]);
    assert_ne!(code, 0);
    assert!(err.contains("UF_USR_LEVEL"), "{err}");
    let (code, out, _) = cli(&["userfield", "list"]);
    assert_eq!((code, serde_json::from_str::<Value>(&out).unwrap().as_array().unwrap().len()), (0, 4));
    // CSV: an export carries the custom fields as columns; an import writes them.
    let (code, csv, err) = common::output(
        Command::new(env!("CARGO_BIN_EXE_cardfile")).arg("--db").arg(&db).args(["export", "--format", "csv"]),
    );
    assert_eq!(code, 0, "{err}");
    let header = csv.lines().next().unwrap();
    assert!(header.ends_with("UF_USR_OFFICE,UF_USR_MENTOR,UF_USR_CODES,UF_USR_LEVEL"), "{header}");
    assert!(csv.lines().nth(1).unwrap().ends_with(&format!(",{berlin},{sam},3;1,5;7")), "{csv}");
    let fresh = dir.path().join("fresh.db");
    let on_fresh = |args: &[&str]| {
        common::output(
            Command::new(env!("CARGO_BIN_EXE_cardfile")).args(["--json", "--db"]).arg(&fresh).args(args),
        )
    };
    let (code, _, err) = on_fresh(&["init"]);
    assert_eq!(code, 0, "{err}");
    let file = dir.path().join("people.csv");
    std::fs::write(&file, "EMAIL,NAME,DEPARTMENTS,UF_USR_CODES\nkim@example.com,Kim,My Company/Sales,4;5\n")
        .unwrap();
    let (code, _, err) = on_fresh(&["import", file.to_str().unwrap()]);
    assert_ne!(code, 0, "the fresh database has no such field");
    assert!(err.contains("UF_USR_CODES"), "{err}");
    let (code, _, err) = on_fresh(&["userfield", "add", "codes", "--type", "integer", "--multiple"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = on_fresh(&["import", file.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = on_fresh(&["user", "list", "EMAIL=kim@example.com"]);
    assert_eq!(code, 0, "{err}");
    let kim = serde_json::from_str::<Value>(&out).unwrap()["users"][0]["ID"].as_i64().unwrap();
    let (_, out, _) = on_fresh(&["user", "show", &kim.to_string()]);
    assert_eq!(serde_json::from_str::<Value>(&out).unwrap()["UF_USR_CODES"], json!([4, 5]));

    let (code, _, err) = cli(&["userfield", "delete", &level.to_string()]);
    assert_eq!(code, 0, "{err}");
    assert!(read(1).get("UF_USR_LEVEL").is_none());

    common::terminate(&server);
    server.wait().unwrap();
}
