//! The administration commands on the real binary: accounts, webhooks, tokens, the outbox;
//! each one's happy path and its bad input (exit code 1, a message, nothing changed).

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

mod common;

fn cardfile(db: &Path, args: &[&str]) -> (i32, String, String) {
    common::output(
        Command::new(env!("CARGO_BIN_EXE_cardfile"))
            .arg("--db")
            .arg(db)
            .args(args)
            .env("CARDFILE_LOG", "warn")
            .env_remove("CARDFILE_ACCOUNT"),
    )
}

fn json(db: &Path, args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let (code, out, err) = cardfile(db, &all);
    assert_eq!(code, 0, "{args:?}: {err}");
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"))
}

fn refused(db: &Path, args: &[&str], says: &str) {
    let (code, _, err) = cardfile(db, args);
    assert_eq!(code, 1, "{args:?} should fail");
    assert!(err.contains(says), "{args:?}: {err}");
}

fn initialised() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cardfile.db");
    init(&db, &["--slug", "acme", "--name", "Acme"]);
    (dir, db)
}

/// `cardfile init --password-stdin ARGS` on `db`, which must succeed.
fn init(db: &Path, args: &[&str]) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cardfile"))
        .arg("--db")
        .arg(db)
        .args(["init", "--password-stdin"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"a long enough password\n").unwrap();
    assert!(child.wait().unwrap().success());
}

#[test]
fn accounts() {
    let (_dir, db) = initialised();
    let list = json(&db, &["account", "list"]);
    assert_eq!(list[0]["slug"], "acme");
    let shown = json(&db, &["account", "show"]);
    assert_eq!((shown["name"].as_str(), shown["invite"].as_str()), (Some("Acme"), Some("admins")));
    let changed = json(
        &db,
        &[
            "account",
            "settings",
            "--invite",
            "everyone",
            "--registration",
            "public",
            "--domains",
            "a.example, b.example",
            "--greeting",
            "Hi",
        ],
    );
    assert_eq!(changed["invite"], "everyone");
    assert_eq!(changed["registration"], "public");
    assert_eq!(changed["domains"], serde_json::json!(["a.example", "b.example"]));
    assert_eq!(changed["greeting"], "Hi");
    assert_eq!(json(&db, &["--account", "acme", "account", "rename", "Acme Corp"])["name"], "Acme Corp");
    // Bad input: a message, exit 1, nothing changed.
    refused(&db, &["account", "settings", "--invite", "nobody"], "--invite");
    refused(&db, &["--account", "nope", "account", "show"], "no account");
    refused(&db, &["account", "rename", ""], "name");
    assert_eq!(json(&db, &["account", "show"])["invite"], "everyone");
    // Usage errors are clap's: exit 2.
    assert_eq!(cardfile(&db, &["account", "frobnicate"]).0, 2);

    // Another account, with its own administrator, login and webhook.
    let created = json(
        &db,
        &["account", "create", "globex", "--name", "Globex", "--admin-email", "Boss@Globex.example"],
    );
    assert_eq!(created["login"], "boss@globex.example");
    assert_eq!(created["password"].as_str().unwrap().len(), 20);
    assert!(created["webhook"].as_str().unwrap().contains("/rest/1/"), "{created}");
    let slugs: Vec<String> = json(&db, &["account", "list"])
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["slug"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(slugs, vec!["acme", "globex"]);
    assert_eq!(json(&db, &["--account", "globex", "account", "show"])["name"], "Globex");
    // Refused: a taken slug; a login another account's user has (after the account row was
    // written: the batch drops it); a bad email. Nothing is left behind.
    let create = |slug: &str, email: &str| {
        vec!["account", "create", slug, "--name", "X", "--admin-email", email]
            .into_iter()
            .map(String::from)
            .collect::<Vec<_>>()
    };
    let args = create("globex", "x@globex.example");
    refused(&db, &args.iter().map(String::as_str).collect::<Vec<_>>(), "slug");
    let args = create("initech", "boss@globex.example");
    refused(&db, &args.iter().map(String::as_str).collect::<Vec<_>>(), "login");
    let args = create("initech", "not an email");
    refused(&db, &args.iter().map(String::as_str).collect::<Vec<_>>(), "admin-email");
    assert_eq!(json(&db, &["account", "list"]).as_array().unwrap().len(), 2, "nothing half-created");
    assert_eq!(
        cardfile(&db, &["account", "create", "initech"]).0,
        2,
        "--name and --admin-email are required"
    );
}

#[test]
fn webhooks_and_tokens() {
    let (_dir, db) = initialised();
    let hook = json(
        &db,
        &["webhook", "create", "--user", "1", "--scope", "user_brief,department", "--name", "sync"],
    );
    let token = hook["token"].as_str().unwrap();
    assert_eq!(token.len(), 32);
    assert!(hook["url"].as_str().unwrap().ends_with(&format!("/rest/1/{token}/")));
    assert_eq!(hook["scopes"], serde_json::json!(["user_brief", "department"]));
    let listed = json(&db, &["webhook", "list"]);
    let ids: Vec<&str> = listed.as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert!(ids.contains(&hook["id"].as_str().unwrap()));
    assert!(listed.as_array().unwrap().iter().all(|c| c.get("token").is_none()), "tokens are never listed");
    let revoked = json(&db, &["webhook", "revoke", hook["id"].as_str().unwrap()]);
    assert!(revoked["revoked"].is_string());

    let app = json(
        &db,
        &["token", "create", "--name", "HR sync", "--scope", "user", "--expires", "2099-01-01T00:00:00Z"],
    );
    assert_eq!(app["kind"], "app_token");
    assert!(app["expires"].as_str().unwrap().starts_with("2099-01-01"));
    assert_eq!(json(&db, &["token", "list"]).as_array().unwrap().len(), 1);
    assert_eq!(
        json(&db, &["webhook", "list"]).as_array().unwrap().len(),
        2,
        "the first-run webhook and ours"
    );

    refused(&db, &["webhook", "create", "--scope", "everything"], "unknown scope");
    refused(&db, &["webhook", "create", "--user", "99"], "owner");
    refused(&db, &["token", "create", "--expires", "tomorrow"], "--expires");
    refused(&db, &["token", "create", "--expires", "2001-01-01T00:00:00Z"], "future");
    refused(&db, &["webhook", "revoke", "not-an-id"], "credential ID");
    assert_eq!(json(&db, &["token", "list"]).as_array().unwrap().len(), 1, "nothing was created");
}

#[test]
fn outbox() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cardfile.db");
    // An invitation through the REST API queues a message.
    let (mut server, port, hook) = common::start(&db, true);
    let (status, body) = common::post(
        port,
        &format!("{}user.add", hook.unwrap()),
        &serde_json::json!({"EMAIL": "new@example.com", "UF_DEPARTMENT": [1]}),
    )
    .unwrap();
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!(status, 200, "{body}");
    let messages = json(&db, &["outbox"]);
    assert_eq!(messages.as_array().unwrap().len(), 1);
    let m = &messages[0];
    assert_eq!((m["kind"].as_str(), m["to"].as_str()), (Some("invitation"), Some("new@example.com")));
    assert!(m["body"].as_str().unwrap().contains("/invite/"), "{m}");
    let (code, out, _) = cardfile(&db, &["outbox"]);
    assert_eq!(code, 0);
    assert!(out.contains("invitation to new@example.com") && out.contains("/invite/"), "{out}");
    assert_eq!(json(&db, &["outbox", "list"]), messages);

    // One message by its ID's first characters; then marked sent by hand, which drops the body.
    let id = m["id"].as_str().unwrap();
    assert_eq!(&json(&db, &["outbox", "show", &id[..8]]), m);
    let (_, text, _) = cardfile(&db, &["outbox", "show", id]);
    assert!(text.contains(id) && text.contains("/invite/"), "{text}");
    refused(&db, &["outbox", "show", &id[..4]], "first 8 characters");
    refused(&db, &["outbox", "sent", "ffffffff"], "no message");
    assert!(json(&db, &["outbox"])[0]["sent"].is_null(), "refusals changed nothing");
    let sent = json(&db, &["outbox", "sent", id]);
    assert!(sent["sent"].is_string(), "{sent}");
    assert_eq!(sent["body"], "", "the link is gone once passed on");
    assert_eq!(
        json(&db, &["outbox", "sent", id])["sent"],
        sent["sent"],
        "marking twice keeps the first time"
    );
}

#[test]
fn users_and_departments() {
    let (_dir, db) = initialised();
    let sales = json(&db, &["dept", "add", "Sales"]);
    assert_eq!((sales["id"].as_u64(), sales["parent"].as_u64()), (Some(2), Some(1)));
    let east = json(&db, &["dept", "add", "Sales East", "--parent", "2"]);
    let ann =
        json(&db, &["user", "add", "EMAIL=ann@example.com", "NAME=Ann", "LAST_NAME=Lee", "UF_DEPARTMENT=2"]);
    assert_eq!(ann["NAME"], "Ann");
    let ann_id = ann["ID"].as_u64().unwrap().to_string();
    assert_eq!(json(&db, &["dept", "set-head", "2", &ann_id])["head"].as_u64(), ann["ID"].as_u64());
    let tree = json(&db, &["dept", "tree"]);
    let names: Vec<&str> = tree.as_array().unwrap().iter().map(|d| d["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["Acme", "Sales", "Sales East"], "tree order");
    let (_, text, _) = cardfile(&db, &["dept", "tree"]);
    assert!(text.contains("\n  Sales [2]") && text.contains("\n    Sales East [3]"), "{text}");
    assert_eq!(json(&db, &["dept", "move", "3", "1"])["parent"].as_u64(), Some(1));
    assert_eq!(json(&db, &["dept", "update", "3", "--name", "East"])["name"], "East");

    let list = json(&db, &["user", "list", "UF_DEPARTMENT=2"]);
    assert_eq!(list["total"], 1);
    assert_eq!(json(&db, &["user", "search", "ann"])["users"][0]["EMAIL"], "ann@example.com");
    assert_eq!(json(&db, &["user", "update", &ann_id, "WORK_POSITION=Lead"])["WORK_POSITION"], "Lead");
    assert_eq!(json(&db, &["user", "terminate", &ann_id])["ACTIVE"], false);
    assert_eq!(json(&db, &["user", "list", "ACTIVE=N"])["total"], 1);
    assert_eq!(json(&db, &["user", "reinstate", &ann_id])["ACTIVE"], true);
    assert_eq!(json(&db, &["user", "set-role", &ann_id, "admin"])["ID"], ann["ID"]);
    let bob = json(&db, &["user", "invite", "bob@example.com", "NAME=Bob"]);
    assert_eq!(bob["UF_DEPARTMENT"], serde_json::json!([1]));
    // Where Ann stands: head of Sales, under the root.
    let cy = json(&db, &["user", "add", "EMAIL=cy@example.com", "NAME=Cy", "UF_DEPARTMENT=2"]);
    let cy_id = cy["ID"].as_u64().unwrap().to_string();
    let shown = json(&db, &["user", "show", &cy_id]);
    assert_eq!(shown["STRUCTURE"]["SUPERVISORS"], serde_json::json!([ann_id]), "{shown}");
    assert_eq!(shown["STRUCTURE"]["ROLE"], "employee");
    let path: Vec<&str> = shown["STRUCTURE"]["DEPARTMENTS"][0]["PATH"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["NAME"].as_str().unwrap())
        .collect();
    assert_eq!(path, vec!["Acme", "Sales"]);
    let (_, text, _) = cardfile(&db, &["user", "show", &ann_id]);
    assert!(text.contains(&format!("SUBORDINATES           {cy_id}")), "{text}");
    assert!(text.contains("DEPARTMENT             Acme / Sales"), "{text}");
    assert!(text.contains("ROLE                   admin"), "{text}");
    assert_eq!(json(&db, &["outbox"]).as_array().unwrap().len(), 1, "the invitation waits in the outbox");

    // Bad input: a clear message, exit 1, nothing changed.
    refused(&db, &["user", "add", "NAME=NoMail", "UF_DEPARTMENT=1"], "EMAIL");
    refused(&db, &["user", "add", "NOPE=1"], "not a user field");
    refused(&db, &["user", "add", "EMAIL"], "CODE=value");
    refused(&db, &["user", "add", "EMAIL=ann@example.com", "UF_DEPARTMENT=1"], "already exists");
    refused(&db, &["user", "list", "WHAT=1"], "filter key");
    refused(&db, &["user", "show", "99"], "not found");
    refused(&db, &["user", "set-role", &ann_id, "king"], "unknown role");
    refused(&db, &["dept", "delete", "2"], "member");
    refused(&db, &["dept", "move", "2", "2"], "PARENT");
    refused(&db, &["dept", "add", "Nowhere", "--parent", "99"], "PARENT");
    assert_eq!(json(&db, &["user", "list"])["total"], 4, "the administrator, Ann, Bob and Cy, nobody else");
    let _ = east;
}

#[test]
fn hr_fields_details_and_permission() {
    let (_dir, db) = initialised();
    let ann = json(&db, &["user", "add", "EMAIL=ann@example.com", "NAME=Ann", "UF_DEPARTMENT=1"]);
    let ann = ann["ID"].as_u64().unwrap().to_string();
    let fields = json(&db, &["hr", "define", "passport_no=Passport number", "SALARY_BAND=Salary band"]);
    assert_eq!(fields[0], serde_json::json!({"key": "PASSPORT_NO", "label": "Passport number"}));
    assert_eq!(json(&db, &["hr", "fields"]).as_array().unwrap().len(), 2);
    let rec = json(&db, &["hr", "set", &ann, "PASSPORT_NO=X123", "SALARY_BAND=B2"]);
    assert_eq!(rec["values"], serde_json::json!({"PASSPORT_NO": "X123", "SALARY_BAND": "B2"}));
    assert_eq!(
        json(&db, &["hr", "set", &ann, "SALARY_BAND="])["values"],
        serde_json::json!({"PASSPORT_NO": "X123"})
    );
    assert_eq!(json(&db, &["hr", "show", &ann])["values"]["PASSPORT_NO"], "X123");
    let (_, text, _) = cardfile(&db, &["hr", "show", &ann]);
    assert!(text.contains("PASSPORT_NO") && text.contains("X123"), "{text}");

    let granted = json(&db, &["user", "grant-hr", &ann]);
    assert_eq!(granted["hr_permission"], true);
    assert_eq!(json(&db, &["hr", "holders"]), serde_json::json!([ann.parse::<u64>().unwrap()]));
    assert_eq!(json(&db, &["user", "revoke-hr", &ann])["hr_permission"], false);
    assert_eq!(json(&db, &["hr", "holders"]), serde_json::json!([]));

    // Bad input: a message, exit 1, nothing changed.
    refused(&db, &["hr", "set", &ann, "SHOE_SIZE=44"], "SHOE_SIZE");
    refused(&db, &["hr", "set", &ann, "PASSPORT_NO"], "KEY=value");
    refused(&db, &["hr", "define", "1BAD=x"], "KEY");
    refused(&db, &["hr", "show", "99"], "not found");
    refused(&db, &["user", "grant-hr", "99"], "not found");
    json(&db, &["user", "terminate", &ann]);
    refused(&db, &["user", "grant-hr", &ann], "dismissed");
    assert_eq!(json(&db, &["hr", "holders"]), serde_json::json!([]));
    assert_eq!(json(&db, &["hr", "fields"]).as_array().unwrap().len(), 2);
    assert_eq!(json(&db, &["hr", "show", &ann])["values"], serde_json::json!({"PASSPORT_NO": "X123"}));
    assert_eq!(cardfile(&db, &["hr", "set", &ann]).0, 2, "values are required: bad usage");
}

#[test]
fn groups_and_invitations() {
    let (_dir, db) = initialised();
    let g = json(&db, &["group", "add", "Partners"]);
    assert_eq!(g["id"], 1);
    let eve = json(&db, &["invite", "email", "eve@partner.example", "NAME=Eve", "--text", "Welcome!"]);
    let eve_id = eve["user"].as_u64().unwrap().to_string();
    json(&db, &["group", "add-member", "1", &eve_id]);
    let groups = json(&db, &["group", "list"]);
    assert_eq!(groups[0]["members"], serde_json::json!([eve["user"]]));
    json(&db, &["group", "remove-member", "1", &eve_id]);
    assert_eq!(json(&db, &["group", "list"])[0]["members"], serde_json::json!([]));

    let sms = json(&db, &["invite", "sms", "+44 20 7946 0958"]);
    assert_eq!(sms["to"], "+442079460958");
    let listed = json(&db, &["invite", "list"]);
    let states: Vec<&str> =
        listed["invitations"].as_array().unwrap().iter().map(|i| i["state"].as_str().unwrap()).collect();
    assert_eq!(states, vec!["pending", "pending"]);
    let outbox = json(&db, &["outbox"]);
    assert!(outbox[0]["body"].as_str().unwrap().contains("Welcome!"));
    assert_eq!(outbox[1]["channel"], "sms");
    json(&db, &["invite", "revoke", eve["invitation"].as_str().unwrap()]);
    assert_eq!(json(&db, &["invite", "list"])["invitations"][0]["state"], "revoked");

    let link = json(&db, &["invite", "link"]);
    assert!(link["link"].as_str().unwrap().contains("/register/"));
    assert_eq!(json(&db, &["invite", "link", "--off"])["link"], serde_json::Value::Null);

    refused(&db, &["invite", "email", "not-an-address"], "EMAIL");
    refused(&db, &["invite", "sms", "ann@example.com"], "PERSONAL_MOBILE");
    refused(&db, &["invite", "revoke", "nope"], "not an ID");
    refused(&db, &["invite", "revoke", eve["invitation"].as_str().unwrap()], "revoked");
    refused(&db, &["invite", "approve", "00000000-0000-0000-0000-000000000000"], "not found");
    refused(&db, &["group", "add-member", "9", "1"], "workgroup");
    refused(&db, &["group", "add", ""], "NAME");
    assert_eq!(json(&db, &["invite", "list"])["invitations"].as_array().unwrap().len(), 2, "nothing more");
}

#[test]
fn backup_while_the_server_writes_and_restore() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cardfile.db");
    let (mut server, port, hook) = common::start(&db, true);
    let hook = hook.unwrap();
    // Writes keep coming while the backup runs.
    let writer = {
        let hook = hook.clone();
        std::thread::spawn(move || {
            let mut acked = 0;
            for i in 0..200 {
                let body = serde_json::json!({"EMAIL": format!("w{i}@example.com"), "UF_DEPARTMENT": [1]});
                if let Some((200, _)) = common::post(port, &format!("{hook}user.add"), &body) {
                    acked += 1;
                }
            }
            acked
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(100));
    let backup = dir.path().join("backup.db");
    let taken = json(&db, &["backup", backup.to_str().unwrap()]);
    assert!(taken["bytes"].as_u64().unwrap() > 0);
    let acked = writer.join().unwrap();
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!(acked, 200);
    refused(&db, &["backup", backup.to_str().unwrap()], "exists");

    // The backup is a consistent database with some prefix of the writes; restore puts it back.
    let in_backup = json(&backup, &["user", "list", "%EMAIL=@example.com"])["total"].as_u64().unwrap();
    assert!(in_backup <= 200);
    refused(&db, &["restore", backup.to_str().unwrap()], "--force");
    json(&db, &["restore", backup.to_str().unwrap(), "--force"]);
    assert_eq!(json(&db, &["user", "list", "%EMAIL=@example.com"])["total"].as_u64().unwrap(), in_backup);
    let garbage = dir.path().join("garbage.db");
    std::fs::write(&garbage, b"not a database at all").unwrap();
    refused(&db, &["restore", garbage.to_str().unwrap(), "--force"], "not a usable backup");
    assert_eq!(
        json(&db, &["user", "list", "%EMAIL=@example.com"])["total"].as_u64().unwrap(),
        in_backup,
        "unchanged"
    );
}

#[test]
fn completions_and_man_page() {
    let (_dir, db) = initialised();
    let (code, bash, _) = cardfile(&db, &["completions", "bash"]);
    assert_eq!(code, 0);
    assert!(bash.contains("cardfile") && bash.contains("webhook"), "{}", &bash[..200.min(bash.len())]);
    let (code, man, _) = cardfile(&db, &["man"]);
    assert_eq!(code, 0);
    assert!(man.contains(".TH cardfile"), "{}", &man[..200.min(man.len())]);
}

/// The README's first run: `cardfile serve` on an empty database prints, once, the address, the
/// administrator's login and password and a webhook URL that works.
#[test]
fn first_serve_prints_what_a_newcomer_needs_once() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cardfile.db");
    let start = |db: &Path| {
        Command::new(env!("CARGO_BIN_EXE_cardfile"))
            .arg("--db")
            .arg(db)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("CARDFILE_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut server = start(&db);
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let mut printed = Vec::new();
    for _ in 0..20 {
        let line = lines.next().unwrap().unwrap();
        let done = line.starts_with("Try it:");
        printed.push(line);
        if done {
            break;
        }
    }
    let field = |name: &str| {
        printed
            .iter()
            .find_map(|l| l.trim().strip_prefix(name).map(|v| v.trim().to_string()))
            .unwrap_or_else(|| panic!("no {name} in {printed:?}"))
    };
    assert_eq!(field("login:"), "admin@cardfile.local");
    assert_eq!(field("password:").len(), 20);
    let webhook = field("webhook:");
    // The address printed is where it listens; the webhook is a full URL on it.
    let address = field("address:");
    assert!(webhook.starts_with(&address), "{webhook} vs {address}");
    assert!(!address.ends_with(":0"), "the real port, not the one asked for: {address}");
    let _ = server.kill();
    let _ = server.wait();
    // The second run prints nothing of the kind.
    let (mut again, port, none) = common::start(&db, false);
    assert!(none.is_none());
    let path = &webhook[webhook.find("/rest/").unwrap()..];
    let (status, me) = common::post(port, &format!("{path}user.current"), &serde_json::json!({})).unwrap();
    let _ = again.kill();
    let _ = again.wait();
    assert_eq!((status, me["result"]["ID"].as_str()), (200, Some("1")), "the printed webhook works");
}

fn init_as(db: &Path, slug: &str, email: &str) {
    init(db, &["--slug", slug, "--name", "Acme", "--admin-email", email]);
}

#[test]
fn import_export_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.db");
    let b = dir.path().join("b.db");
    init_as(&a, "acme", "root-a@example.com");
    init_as(&b, "acme", "root-b@example.com");
    let csv = dir.path().join("people.csv");
    std::fs::write(
        &csv,
        "ROLE,EMAIL,NAME,LAST_NAME,WORK_POSITION,PERSONAL_BIRTHDAY,DEPARTMENTS,HEAD_OF,ACTIVE\n\
         employee,ann@example.com,Ann,Lee,Manager,1990-05-04,Acme/Sales,Acme/Sales,Y\n\
         employee,bob@example.com,Bob,\"Stone, Jr.\",Engineer,,Acme/Sales/East;Acme/R&D,,Y\n\
         admin,cy@example.com,Cy,Root,CTO,,Acme,,N\n",
    )
    .unwrap();
    let dry = json(&a, &["import", csv.to_str().unwrap(), "--dry-run"]);
    assert_eq!((dry["rows"].as_u64(), dry["new_departments"].as_u64()), (Some(3), Some(3)));
    assert_eq!(json(&a, &["user", "list"])["total"], 1, "a dry run writes nothing");
    let done = json(&a, &["import", csv.to_str().unwrap()]);
    assert_eq!((done["users"].as_u64(), done["heads"].as_u64()), (Some(3), Some(1)));
    let names: Vec<String> = json(&a, &["dept", "tree"])
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, vec!["Acme", "R&D", "Sales", "East"]);

    // Export, import into another account, export again: the imported people come out the same.
    let out_a = dir.path().join("a.csv");
    let out_b = dir.path().join("b.csv");
    let (code, _, err) = cardfile(&a, &["export", "-o", out_a.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let without_root = |path: &Path| -> Vec<String> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .filter(|l| !l.contains("root-"))
            .map(str::to_string)
            .collect()
    };
    // The first account's own administrator is not the second's: leave it out of the transfer.
    let transfer = dir.path().join("transfer.csv");
    std::fs::write(&transfer, without_root(&out_a).join("\n")).unwrap();
    assert_eq!(json(&b, &["import", transfer.to_str().unwrap()])["users"], 3);
    let (code, _, err) = cardfile(&b, &["export", "-o", out_b.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(without_root(&out_a), without_root(&out_b));
    assert!(
        std::fs::read_to_string(&out_b).unwrap().contains("admin,N,,Cy,Root"),
        "role and dismissal survive"
    );

    // JSON lines: the same people.
    let jl = dir.path().join("a.jsonl");
    let (code, _, _) = cardfile(&a, &["export", "--format", "jsonl", "-o", jl.to_str().unwrap()]);
    assert_eq!(code, 0);
    let first: Value =
        serde_json::from_str(std::fs::read_to_string(&jl).unwrap().lines().nth(1).unwrap()).unwrap();
    assert_eq!(
        (first["EMAIL"].as_str(), first["DEPARTMENTS"].as_str()),
        (Some("ann@example.com"), Some("Acme/Sales"))
    );

    // Bad rows: every one reported by line and field, nothing imported.
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        "EMAIL,NAME,DEPARTMENTS,ROLE,NOPE\n\
         ok@example.com,Ok,Acme,,\n\
         not-an-email,X,Acme,,\n\
         y@example.com,Y,,,\n\
         z@example.com,Z,Acme,king,\n\
         w@example.com,W,Acme,,1\n\
         v@example.com,V,Acme//Sales,,\n",
    )
    .unwrap();
    let (code, _, err) = cardfile(&a, &["import", bad.to_str().unwrap()]);
    assert_eq!(code, 1);
    for expected in [
        "line 3: EMAIL",
        "line 4: DEPARTMENTS",
        "line 5: ROLE",
        "line 6: NOPE",
        "line 7: DEPARTMENTS",
        "nothing was imported",
    ] {
        assert!(err.contains(expected), "{expected} in {err}");
    }
    assert_eq!(json(&a, &["user", "list", "EMAIL=ok@example.com"])["total"], 0, "not even the good row");

    // A row the database refuses on insert (an email an account user already has): the import
    // is one transaction, so neither the new department nor the other new user is written.
    let users_before = json(&a, &["user", "list"])["total"].clone();
    let clash = dir.path().join("clash.csv");
    std::fs::write(
        &clash,
        "EMAIL,NAME,DEPARTMENTS
         new@example.com,New,Acme/Brand New
         ann@example.com,Ann Again,Acme
",
    )
    .unwrap();
    let (code, _, err) = cardfile(&a, &["import", clash.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("line 3") && err.contains("nothing was imported"), "{err}");
    assert_eq!(json(&a, &["user", "list"])["total"], users_before, "no user written");
    let tree = json(&a, &["dept", "tree"]).to_string();
    assert!(!tree.contains("Brand New"), "no department written: {tree}");
}

/// An import larger than one unit (10,000 rows) is written while the file is still being read
/// and checked: a bad row after the first unit, or an email taken by a user of the account in
/// the second unit, still leaves nothing written and names the line; the whole file then
/// imports once the problem is gone.
#[test]
fn a_large_import_is_written_while_it_is_read() {
    const ROWS: usize = 10_050;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.db");
    init_as(&db, "acme", "root@example.com");
    let file = |name: &str, last: &str| {
        let path = dir.path().join(name);
        let mut text = String::from("EMAIL,NAME,DEPARTMENTS,HEAD_OF\n");
        for i in 0..ROWS {
            text.push_str(&format!("u{i}@example.com,User {i},Acme/Team {},\n", i % 7));
        }
        text.push_str(last);
        std::fs::write(&path, text).unwrap();
        path
    };
    let users = || json(&db, &["user", "list"])["total"].clone();
    let before = users();
    let unchanged = |err: &str| {
        assert!(err.contains("nothing was imported"), "{err}");
        assert_eq!(users(), before, "no user written");
        let tree = json(&db, &["dept", "tree"]).to_string();
        assert!(!tree.contains("Team"), "no department written: {tree}");
    };
    // The file's last line (ROWS + 2) is invalid.
    let bad = file("bad.csv", "not-an-email,Bad,Acme/Late Team,\n");
    let (code, _, err) = cardfile(&db, &["import", bad.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains(&format!("line {}: EMAIL", ROWS + 2)), "{err}");
    unchanged(&err);
    // Its last line repeats the administrator's email: refused on insert, in the second unit.
    let taken = file("taken.csv", "root@example.com,Again,Acme/Late Team,Acme/Late Team\n");
    let (code, _, err) = cardfile(&db, &["import", taken.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains(&format!("line {}", ROWS + 2)), "{err}");
    unchanged(&err);
    let good = file("good.csv", "last@example.com,Last,Acme/Late Team,Acme/Late Team\n");
    let done = json(&db, &["import", good.to_str().unwrap()]);
    assert_eq!(done["users"], ROWS + 1, "{done}");
    assert_eq!(done["new_departments"], 8, "{done}");
    assert_eq!(done["heads"], 1, "{done}");
    assert_eq!(users(), before.as_u64().unwrap() + ROWS as u64 + 1);
    let team = json(&db, &["user", "list", "EMAIL=u10049@example.com"]);
    assert_eq!(team["total"], 1, "{team}");
}

/// `serve` purges the records no rule reads any more when it starts (and every ten minutes): a
/// message sent 40 days ago, a long-forgiven login failure and a code expired yesterday go; an
/// unsent message, a recent failure and a live code stay.
#[test]
fn serve_purges_stale_records() {
    use chrono::Duration;
    use profile_core::model::identity::{CodePurpose, ConfirmationCode, Login, LoginFailures};
    use profile_core::model::message::{
        Channel, Delivery, DeliveryUpdate, Message, MessageKind, MessageState,
    };
    use profile_core::ports::{Clock, Database, SystemClock};
    use profile_core::secret::SecretHash;
    use uuid::Uuid;

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    init_as(&db, "acme", "root@example.com");
    // The server reads the same system clock.
    let now = SystemClock.now();
    let msg = |n: u128, sent| Message {
        id: Uuid::from_u128(n),
        account: None,
        kind: MessageKind::Invitation,
        channel: Channel::Email,
        recipient: format!("to{n}@example.com"),
        subject: "s".into(),
        body: "b".into(),
        html: String::new(),
        created_at: now - Duration::days(41),
        expires_at: None,
        source: None,
        delivery: Delivery { sent_at: sent, ..Delivery::due_at(now - Duration::days(41)) },
    };
    let code = |n: u128, expires_at| ConfirmationCode {
        id: Uuid::from_u128(n),
        purpose: CodePurpose::Registration(Uuid::from_u128(99)),
        target: Login::parse("code@example.com").unwrap(),
        hash: SecretHash::keyed(b"x", "123456"),
        created_at: now - Duration::days(2),
        expires_at,
        attempts_left: 5,
        used: false,
    };
    let store = store_sqlite::SqliteDb::open(&db).unwrap();
    let mut tx = store.write().unwrap();
    tx.enqueue(&msg(1, None)).unwrap();
    let at = now - Duration::days(40);
    let sent = Delivery { state: MessageState::Sent, sent_at: Some(at), ..Delivery::due_at(at) };
    tx.update_deliveries(&[DeliveryUpdate { id: Uuid::from_u128(1), delivery: sent, drop_body: true }])
        .unwrap();
    tx.enqueue(&msg(2, None)).unwrap();
    let old = LoginFailures { count: 10, last: now - Duration::days(3) };
    tx.set_login_failures("old@example.com", Some(old)).unwrap();
    let recent = LoginFailures { count: 2, last: now - Duration::minutes(5) };
    tx.set_login_failures("recent@example.com", Some(recent)).unwrap();
    tx.insert_code(&code(1, now - Duration::days(1))).unwrap();
    tx.insert_code(&code(2, now + Duration::minutes(10))).unwrap();
    tx.commit().unwrap();

    let (mut child, _port, _) = common::start(&db, false);
    let purged = || {
        let tx = store.read().unwrap();
        let ids: Vec<Uuid> = tx.messages(None).unwrap().iter().map(|m| m.id).collect();
        !ids.contains(&Uuid::from_u128(1))
            && tx.login_failures("old@example.com").unwrap().is_none()
            && tx.code(Uuid::from_u128(1)).unwrap().is_none()
    };
    // Bounded: 10 s at most.
    let mut done = false;
    for _ in 0..200 {
        if purged() {
            done = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(done, "serve did not purge the stale records");
    let tx = store.read().unwrap();
    assert!(tx.messages(None).unwrap().iter().any(|m| m.id == Uuid::from_u128(2)), "unsent stays");
    assert_eq!(tx.login_failures("recent@example.com").unwrap().map(|f| f.count), Some(recent.count));
    assert!(tx.code(Uuid::from_u128(2)).unwrap().is_some(), "a live code stays");
}

/// `cardfile reindex` writes the quick-search index again from the users table: a database
/// whose index was emptied behind Cardfile's back finds its users again, by name, whole email
/// address and phone number.
#[test]
fn reindex_rebuilds_the_search_index() {
    let (_dir, db) = initialised();
    json(
        &db,
        &[
            "user",
            "add",
            "EMAIL=ann.lee@example.com",
            "NAME=Ann",
            "LAST_NAME=Lee",
            "WORK_PHONE=+1 555-012-3456",
            "UF_DEPARTMENT=1",
        ],
    );
    let found = |text: &str| json(&db, &["user", "search", text])["users"].as_array().unwrap().len();
    assert_eq!((found("ann"), found("ann.lee@example.com"), found("5550123456")), (1, 1, 1));
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch(
            "INSERT INTO user_fts(user_fts) VALUES('delete-all'); DELETE FROM search_prefix_counts;",
        )
        .unwrap();
    }
    assert_eq!(found("ann"), 0, "the index is empty");
    let done = json(&db, &["reindex"]);
    assert_eq!(done["reindexed"], 2, "the administrator and Ann");
    assert_eq!((found("ann"), found("ann.lee@example.com"), found("5550123456")), (1, 1, 1));
}
