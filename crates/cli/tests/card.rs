//! The card's content against the real server and the `cardfile` binary on the same file:
//! absences (the chart, "away until", `im.user.get`'s `absent`, `CARDFILE_ABSENT_ON`), "about
//! me", interests (`UF_INTERESTS=#tag` with its total, `cardfile.interest.list`),
//! appreciations and the form layout.

mod common;

use std::process::Command;

use chrono::{Duration, Utc};
use serde_json::{json, Value};

#[test]
fn the_cards_content_through_rest_and_the_cli() {
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
        assert!(status >= 400, "{method}: {b}");
        b["error"].as_str().unwrap_or("?").to_string()
    };
    // The server reads the system clock: the test must know the day it judges absences by.
    #[allow(clippy::disallowed_methods)]
    let today = Utc::now().date_naive();
    let day = |offset: i64| (today + Duration::days(offset)).format("%Y-%m-%d").to_string();
    let add = |email: &str, tags: &str| {
        call("user.add", json!({"EMAIL": email, "NAME": email, "UF_DEPARTMENT": [1], "UF_INTERESTS": tags}))
            ["result"]
            .as_u64()
            .unwrap()
    };
    let sam = add("sam@example.com", "#Climbing #rust");
    let kim = add("kim@example.com", "climbing, #Chess");

    // Absences: the chart of the root department, "away until", absent today.
    let id = call(
        "cardfile.absence.add",
        json!({"USER_ID": sam, "KIND": "business_trip", "DATE_FROM": day(-1), "DATE_TO": day(2), "NOTE": "Oslo"}),
    )["result"]
        .as_u64()
        .unwrap();
    call(
        "cardfile.absence.add",
        json!({"USER_ID": sam, "KIND": "vacation", "DATE_FROM": day(3), "DATE_TO": day(5)}),
    );
    assert_eq!(
        refused(
            "cardfile.absence.add",
            json!({"USER_ID": sam, "KIND": "holiday", "DATE_FROM": day(0), "DATE_TO": day(0)})
        ),
        "ERROR_ARGUMENT"
    );
    let chart = call(
        "cardfile.absence.list",
        json!({"FILTER": {"UF_DEPARTMENT": 1, "DATE_FROM": day(-3), "DATE_TO": day(20)}}),
    );
    assert_eq!(chart["total"], 2, "{chart}");
    assert_eq!(chart["result"][0]["ID"], json!(id));
    assert_eq!(chart["result"][0]["KIND"], "business_trip");
    let card = call("cardfile.profile.get", json!({"ID": sam}));
    assert_eq!(card["result"]["AWAY_UNTIL"], json!(day(5)), "{card}");
    let im = call("im.user.get", json!({"ID": sam}));
    assert_eq!(im["result"]["absent"], json!(format!("{}T23:59:59+00:00", day(5))), "{im}");
    let away = call("user.get", json!({"FILTER": {"CARDFILE_ABSENT_ON": day(0)}}));
    assert_eq!((away["total"].clone(), away["result"][0]["ID"].clone()), (json!(1), json!(sam.to_string())));
    call("cardfile.absence.update", json!({"ID": id, "DATE_TO": day(-1)}));
    assert_eq!(call("user.get", json!({"FILTER": {"CARDFILE_ABSENT_ON": day(0)}}))["total"], 0);

    // About me.
    let set = call("cardfile.profile.set", json!({"ID": kim, "ABOUT": "[i]Chess[/i] <img src=x>"}));
    assert_eq!(set["result"]["ABOUT_HTML"], "<i>Chess</i> &lt;img src=x&gt;");

    // Interests: normalised, found exactly, counted.
    let read = call("user.get", json!({"ID": kim, "select": ["UF_INTERESTS"]}));
    assert_eq!(read["result"][0]["UF_INTERESTS"], "#climbing #chess");
    let climbers = call("user.get", json!({"FILTER": {"UF_INTERESTS": "#CLIMBING"}}));
    assert_eq!(climbers["total"], 2, "{climbers}");
    assert_eq!(call("user.get", json!({"FILTER": {"UF_INTERESTS": "#climb"}}))["total"], 0);
    let tags = call("cardfile.interest.list", json!({"PREFIX": "c"}));
    assert_eq!(tags["result"], json!([{"TAG": "#climbing", "COUNT": 2}, {"TAG": "#chess", "COUNT": 1}]));

    // Appreciations and the layout.
    call("cardfile.appreciation.give", json!({"USER_ID": kim, "BADGE": "trophy", "MESSAGE": "Won the cup"}));
    assert_eq!(call("cardfile.appreciation.counts", json!({"USER_ID": kim}))["result"], json!({"trophy": 1}));
    assert_eq!(
        refused("cardfile.appreciation.give", json!({"USER_ID": kim, "BADGE": "nope", "MESSAGE": "x"})),
        "ERROR_ARGUMENT"
    );
    let own = call("cardfile.layout.set", json!({"FIELDS": ["ABOUT", "EMAIL"]}));
    assert_eq!(own["result"], json!({"FIELDS": ["ABOUT", "EMAIL"], "OWN": true}));
    assert_eq!(call("cardfile.layout.reset", json!({}))["result"]["OWN"], json!(false));
    assert_eq!(refused("cardfile.layout.set", json!({"FIELDS": ["NOPE"]})), "ERROR_ARGUMENT");

    // The CLI on the same database.
    let cli = |args: &[&str]| {
        let (code, out, err) = common::output(
            Command::new(env!("CARGO_BIN_EXE_cardfile")).args(["--json", "--db"]).arg(&db).args(args),
        );
        assert_eq!(code, 0, "{args:?}: {err}");
        serde_json::from_str::<Value>(&out).unwrap_or(Value::Null)
    };
    let (sam_s, kim_s) = (sam.to_string(), kim.to_string());
    let added = cli(&[
        "absence",
        "add",
        &kim_s,
        "--kind",
        "sick_leave",
        "--from",
        &day(0),
        "--to",
        &day(1),
        "--note",
        "flu",
    ]);
    assert!(added["id"].as_u64().is_some(), "{added}");
    let listed = cli(&["absence", "list", "--user", &kim_s]);
    assert_eq!(listed[0]["kind"], "sick_leave", "{listed}");
    assert_eq!(cli(&["profile", "show", &kim_s])["away_until"], json!(day(1)));
    cli(&["profile", "set", &sam_s, "--about", "[b]Hi[/b]"]);
    assert_eq!(call("cardfile.profile.get", json!({"ID": sam}))["result"]["ABOUT_HTML"], "<b>Hi</b>");
    assert_eq!(cli(&["interest", "list", "#r"]), json!([{"tag": "#rust", "count": 1}]));
    cli(&["appreciation", "add-badge", "mentor", "Mentor"]);
    cli(&[
        "appreciation",
        "give",
        &sam_s,
        "--as",
        &kim_s,
        "--badge",
        "mentor",
        "--message",
        "Taught me belaying",
    ]);
    assert_eq!(cli(&["appreciation", "counts", &sam_s]), json!({"mentor": 1}));
    assert_eq!(cli(&["appreciation", "list", &sam_s])[0]["message"], "Taught me belaying");
    assert_eq!(cli(&["appreciation", "list", &sam_s, "--as", "1"]), json!([]), "not the admin's to read");
    cli(&["layout", "set", "EMAIL,WORK_PHONE"]);
    assert_eq!(call("cardfile.layout.get", json!({}))["result"]["FIELDS"], json!(["EMAIL", "WORK_PHONE"]));
    assert_eq!(cli(&["layout", "set", "ABOUT", "--as", &kim_s])["own"], json!(true));
    assert_eq!(cli(&["layout", "reset", "--as", &kim_s])["fields"], json!(["EMAIL", "WORK_PHONE"]));

    common::terminate(&server);
    server.wait().unwrap();
}
