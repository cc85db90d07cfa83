//! Delivery through the real thing: `cardfile serve` sends the outbox to a real SMTP server
//! (aiosmtpd, from the venv `cargo xtask ci` makes: tests/mail/smtp_server.py) with STARTTLS,
//! a self-signed certificate and AUTH, and to an SMS gateway on 127.0.0.1; the mail that
//! arrived is parsed by Python's email package (tests/mail/read_mail.py). Faults: a server
//! that is down, a 550, a wrong password, a gateway 500, a revoked invitation, `kill -9`
//! during a burst, and two servers on one database file.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use profile_core::ports::{RandomIds, SystemClock};
use profile_core::secret::Argon2id;
use profile_core::usecase::invitations::{self, Acceptance};
use profile_core::usecase::{identities, Ctx};
use serde_json::{json, Value};
use store_sqlite::SqliteDb;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The venv's Python, with aiosmtpd: required, never skipped.
fn python() -> PathBuf {
    let p = std::env::var_os("CARDFILE_SDK_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target/sdk/venv/bin/python"));
    assert!(
        p.exists(),
        "the test venv is missing at {}: run `cargo xtask ci`, which creates it",
        p.display()
    );
    p
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Waits until `done` holds, polling; panics with `what` after `limit`.
fn wait_until(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "timed out after {limit:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The real SMTP server, killed when dropped.
struct SmtpServer {
    child: Child,
    port: u16,
    spool: PathBuf,
}

#[derive(Default)]
struct SmtpSetup<'a> {
    tls: Option<(&'a Path, &'a Path)>,
    auth: Option<&'a Path>,
    /// Offer only this AUTH mechanism.
    auth_only: Option<&'a str>,
    reject: Option<&'a str>,
}

impl SmtpServer {
    fn start(port: u16, spool: &Path, setup: &SmtpSetup<'_>) -> SmtpServer {
        let mut cmd = Command::new(python());
        cmd.arg(workspace().join("tests/mail/smtp_server.py"))
            .args(["--port", &port.to_string(), "--spool"])
            .arg(spool);
        if let Some((cert, key)) = setup.tls {
            cmd.arg("--tls").arg(cert).arg(key).arg("--require-tls");
        }
        if let Some(auth) = setup.auth {
            cmd.arg("--auth").arg(auth);
        }
        if let Some(mechanism) = setup.auth_only {
            cmd.args(["--auth-only", mechanism]);
        }
        if let Some(prefix) = setup.reject {
            cmd.args(["--reject", prefix]);
        }
        let mut child =
            cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "READY", "the SMTP server did not start");
        SmtpServer { child, port, spool: spool.to_path_buf() }
    }

    /// Every message received so far, parsed.
    fn messages(&self) -> Vec<Value> {
        read_spool(&self.spool)
    }

    fn count(&self) -> usize {
        std::fs::read_dir(&self.spool).map_or(0, |d| {
            d.filter(|e| e.as_ref().is_ok_and(|e| e.path().extension().is_some_and(|x| x == "eml"))).count()
        })
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read_spool(spool: &Path) -> Vec<Value> {
    let out =
        Command::new(python()).arg(workspace().join("tests/mail/read_mail.py")).arg(spool).output().unwrap();
    assert!(out.status.success(), "read_mail.py: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice::<Value>(&out.stdout).unwrap().as_array().unwrap().clone()
}

/// An SMS gateway on 127.0.0.1: records each request and answers with the next scripted
/// status (200 once the script is used up).
/// What the gateway received: each request's `Authorization` header and JSON body.
type Received = Arc<Mutex<Vec<(Option<String>, Value)>>>;

struct Gateway {
    port: u16,
    received: Received,
}

impl Gateway {
    fn start(script: Vec<u16>) -> Gateway {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(script));
        let r = Arc::clone(&received);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let _ = answer(stream, &r, &script);
            }
        });
        Gateway { port, received }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/send", self.port)
    }

    fn received(&self) -> Vec<(Option<String>, Value)> {
        self.received.lock().unwrap().clone()
    }
}

fn answer(
    stream: TcpStream,
    received: &Mutex<Vec<(Option<String>, Value)>>,
    script: &Mutex<Vec<u16>>,
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let (mut length, mut auth) = (0usize, None);
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':').unwrap_or((line, ""));
        match name.to_ascii_lowercase().as_str() {
            "content-length" => length = value.trim().parse().unwrap_or(0),
            "authorization" => auth = Some(value.trim().to_string()),
            _ => {}
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let status = if request_line.starts_with("POST") {
        received.lock().unwrap().push((auth, serde_json::from_slice(&body).unwrap_or(Value::Null)));
        let mut s = script.lock().unwrap();
        if s.is_empty() {
            200
        } else {
            s.remove(0)
        }
    } else {
        200
    };
    let mut stream = stream;
    write!(stream, "HTTP/1.1 {status} X\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}")?;
    Ok(())
}

/// A self-signed certificate for 127.0.0.1: (cert, key) files in `dir`.
fn certificate(dir: &Path) -> (PathBuf, PathBuf) {
    let c = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()]).unwrap();
    let (cert, key) = (dir.join("smtp.cert.pem"), dir.join("smtp.key.pem"));
    std::fs::write(&cert, c.cert.pem()).unwrap();
    std::fs::write(&key, c.signing_key.serialize_pem()).unwrap();
    (cert, key)
}

fn cardfile(db: &Path, args: &[&str]) -> (i32, String, String) {
    common::output(Command::new(env!("CARGO_BIN_EXE_cardfile")).arg("--db").arg(db).args(args))
}

fn outbox(db: &Path) -> Vec<Value> {
    let (code, out, err) = cardfile(db, &["--json", "outbox", "--all", "list"]);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str::<Value>(&out).unwrap().as_array().unwrap().clone()
}

fn states(db: &Path) -> BTreeMap<String, String> {
    outbox(db)
        .iter()
        .map(|m| (m["to"].as_str().unwrap().to_string(), m["state"].as_str().unwrap().to_string()))
        .collect()
}

fn ctx(db: &SqliteDb) -> Ctx<'_> {
    Ctx {
        db,
        clock: &SystemClock,
        ids: &RandomIds,
        passwords: &Argon2id::FAST_INSECURE,
        images: &profile_core::ports::NoImages,
        base_url: "http://unused.test",
        invitations_per_hour: 0,
        client: None,
    }
}

fn invite(port: u16, hook: &str, email: &str, text: Option<&str>) -> Value {
    let mut body = json!({"EMAIL": email, "UF_DEPARTMENT": [1]});
    if let Some(t) = text {
        body["MESSAGE_TEXT"] = json!(t);
    }
    let (status, reply) = common::post(port, &format!("{hook}user.add"), &body).unwrap();
    assert_eq!(status, 200, "{reply}");
    reply
}

/// The token of the acceptance link in a mail's text.
fn token_in(text: &str, base_url: &str) -> String {
    let prefix = format!("{base_url}/invite/");
    let at = text.find(&prefix).unwrap_or_else(|| panic!("no link in {text}")) + prefix.len();
    text[at..].chars().take_while(char::is_ascii_alphanumeric).collect()
}

fn serve(db: &Path, first: bool, extra: &[String], env: &[(&str, &str)]) -> (Child, u16, Option<String>) {
    common::start_custom(db.as_os_str(), db.parent().unwrap(), first, false, extra, env)
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(ToString::to_string).collect()
}

fn kill(mut child: Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// Every kind of message reaches a real SMTP server over STARTTLS with AUTH, or the SMS
/// gateway, rendered from the catalogue; the invitation's link accepts the invitation.
#[test]
fn every_kind_reaches_the_smtp_server_and_the_sms_gateway() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.db");
    let (cert, key) = certificate(dir.path());
    let auth = dir.path().join("smtp.auth");
    std::fs::write(&auth, "bot@example.com:s3cret smtp").unwrap();
    let spool = dir.path().join("spool");
    let smtp = SmtpServer::start(
        free_port(),
        &spool,
        &SmtpSetup { tls: Some((&cert, &key)), auth: Some(&auth), ..SmtpSetup::default() },
    );
    let gateway = Gateway::start(vec![]);
    let token_file = dir.path().join("sms.token");
    std::fs::write(&token_file, "gw-token-1\n").unwrap();
    let base_url = "https://people.example.com";
    let extra = args(&[
        "--base-url",
        base_url,
        "--smtp-url",
        &format!("smtp://bot%40example.com@127.0.0.1:{}", smtp.port),
        "--smtp-ca",
        cert.to_str().unwrap(),
        "--mail-from",
        "Équipe Acme <people@example.com>",
        "--sms-url",
        &gateway.url(),
        "--sms-token-file",
        token_file.to_str().unwrap(),
    ]);
    let (child, port, hook) = serve(&db, true, &extra, &[("CARDFILE_SMTP_PASSWORD", "s3cret smtp")]);
    let hook = hook.unwrap();
    let (code, _, err) = cardfile(&db, &["account", "rename", "Société Générale"]);
    assert_eq!(code, 0, "{err}");

    invite(port, &hook, "ivy@example.com", Some("Welcome <b>aboard</b>, Ivy!\nSee you Monday."));
    let (code, _, err) = cardfile(&db, &["invite", "sms", "+15551234567"]);
    assert_eq!(code, 0, "{err}");
    wait_until(Duration::from_secs(20), "the invitation mail and SMS", || {
        smtp.count() >= 1 && !gateway.received().is_empty()
    });

    let mail = smtp.messages().pop().unwrap();
    assert_eq!(mail["to"], "ivy@example.com");
    // UTF-8 names and subjects arrive intact (encoded words on the wire).
    assert_eq!(mail["from"], "Équipe Acme <people@example.com>");
    assert_eq!(mail["subject"], "Invitation to Société Générale");
    assert_eq!(mail["content_type"], "multipart/alternative");
    assert_eq!(mail["parts"], json!(["text/plain", "text/html"]));
    let id = mail["message_id"].as_str().unwrap();
    assert!(id.starts_with('<') && id.ends_with("@example.com>"), "{id}");
    let listed = outbox(&db);
    let queued = listed.iter().find(|m| m["to"] == "ivy@example.com").unwrap();
    assert_eq!(
        id,
        format!("<{}@example.com>", queued["id"].as_str().unwrap()),
        "the Message-ID is the message's"
    );
    assert_eq!(queued["state"], "sent");
    assert_eq!(queued["body"], "", "a sent message's link is dropped");
    let text = mail["text"].as_str().unwrap();
    assert!(text.starts_with("Administrator invites you to join Société Générale on Cardfile."), "{text}");
    assert!(text.contains("Administrator added a note:"), "{text}");
    assert!(text.contains("> Welcome <b>aboard</b>, Ivy!\n> See you Monday."), "{text}");
    let html = mail["html"].as_str().unwrap();
    assert!(html.contains("Welcome &lt;b&gt;aboard&lt;/b&gt;, Ivy!<br>See you Monday."), "{html}");
    let token = token_in(text, base_url);
    assert!(html.contains(&format!("href=\"{base_url}/invite/{token}\"")));
    // The link's token accepts the invitation.
    let store = SqliteDb::open(&db).unwrap();
    let accepted = invitations::accept_invitation(
        ctx(&store),
        &token,
        Acceptance::NewIdentity { password: "a long and good password".into() },
    )
    .unwrap();

    let sms = gateway.received().pop().unwrap();
    assert_eq!(sms.0.as_deref(), Some("Bearer gw-token-1"));
    assert_eq!(sms.1["to"], "+15551234567");
    let sms_text = sms.1["text"].as_str().unwrap();
    assert!(sms_text.starts_with("Société Générale: you are invited to Cardfile. Join within 14 days: https://people.example.com/invite/"), "{sms_text}");
    assert!(sms.1["id"].as_str().is_some_and(|i| uuid::Uuid::parse_str(i).is_ok()));

    // The other kinds, caused through the library on the same file while serve delivers.
    let code_id = identities::request_password_reset(ctx(&store), "ivy@example.com").unwrap();
    wait_until(Duration::from_secs(10), "the reset code", || smtp.count() >= 2);
    let reset = smtp.messages().pop().unwrap();
    assert_eq!(reset["subject"], "Reset your password");
    let digits: String =
        reset["text"].as_str().unwrap().lines().find(|l| l.starts_with("    ")).unwrap().trim().into();
    identities::reset_password(ctx(&store), code_id, &digits, "another long password").unwrap();
    wait_until(Duration::from_secs(10), "the password-changed notice", || smtp.count() >= 3);
    assert_eq!(smtp.messages().pop().unwrap()["subject"], "Your password was changed");
    let code =
        identities::request_login_change(ctx(&store), accepted.identity, "ivy.new@example.com").unwrap();
    wait_until(Duration::from_secs(10), "the login code", || smtp.count() >= 4);
    let confirm = smtp.messages().pop().unwrap();
    assert_eq!(
        (confirm["to"].as_str(), confirm["subject"].as_str()),
        (Some("ivy.new@example.com"), Some("Your confirmation code"))
    );
    let digits: String =
        confirm["text"].as_str().unwrap().lines().find(|l| l.starts_with("    ")).unwrap().trim().into();
    identities::confirm_code(ctx(&store), accepted.identity, code, &digits, false).unwrap();
    wait_until(Duration::from_secs(10), "the login-changed notice", || smtp.count() >= 5);
    let changed = smtp.messages().pop().unwrap();
    assert_eq!(
        (changed["to"].as_str(), changed["subject"].as_str()),
        (Some("ivy@example.com"), Some("Your login was changed"))
    );
    let operator = profile_core::access::Actor::operator(accepted.account);
    let fields = profile_core::model::user::UserPatch::parse([(
        profile_core::field::UserField::Email,
        profile_core::Value::text("gus@example.com"),
    )])
    .unwrap();
    invitations::register_directly(ctx(&store), &operator, fields).unwrap();
    wait_until(Duration::from_secs(10), "the generated password", || {
        smtp.messages().iter().any(|m| m["to"] == "gus@example.com")
    });
    let generated = smtp.messages().into_iter().find(|m| m["to"] == "gus@example.com").unwrap();
    assert_eq!(generated["subject"], "Your account at Société Générale");
    assert!(generated["text"].as_str().unwrap().contains("Password: "));
    kill(child);
    assert!(outbox(&db).iter().all(|m| m["state"] == "sent"), "{:?}", outbox(&db));
}

/// Faults: a server down at first, a wrong password (paused, nothing failed), a revoked
/// invitation (obsolete, not sent), a 550 (failed, listed, retried by the CLI), a gateway 500
/// (retried).
#[test]
fn faults_delay_fail_or_pause_but_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("f.db");
    let auth = dir.path().join("smtp.auth");
    std::fs::write(&auth, "bot:the right password").unwrap();
    let spool = dir.path().join("spool");
    let smtp_port = free_port();
    let gateway = Gateway::start(vec![500]);
    let extra = args(&[
        "--smtp-url",
        &format!("smtp://bot@127.0.0.1:{smtp_port}?tls=none"),
        "--mail-from",
        "people@example.com",
        "--sms-url",
        &gateway.url(),
        "--retry-first",
        "1s",
        "--retry-max",
        "2s",
        "--invitations-per-hour",
        "3",
    ]);
    let (child, port, hook) = serve(&db, true, &extra, &[("CARDFILE_SMTP_PASSWORD", "a wrong password")]);
    let hook = hook.unwrap();
    invite(port, &hook, "ann@example.com", None);
    let revoked = invite(port, &hook, "rex@example.com", None);
    invite(port, &hook, "bounce@example.com", None);
    // The webhook's owner has used the hour's allowance; the CLI (below) is not limited.
    let (status, refused) = common::post(
        port,
        &format!("{hook}user.add"),
        &json!({"EMAIL": "more@example.com", "UF_DEPARTMENT": [1]}),
    )
    .unwrap();
    assert_eq!((status, refused["error"].as_str()), (503, Some("QUERY_LIMIT_EXCEEDED")), "{refused}");
    // The SMTP server is down: the transport pauses, and no message fails.
    std::thread::sleep(Duration::from_secs(2));
    let s = states(&db);
    assert!(s.values().all(|v| v == "pending"), "{s:?}");
    let ann = outbox(&db).into_iter().find(|m| m["to"] == "ann@example.com").unwrap();
    assert!(ann["last_error"].as_str().unwrap().starts_with("transport paused"), "{ann}");
    // Revoke one while it waits.
    let user = revoked["result"].as_u64().unwrap();
    let (code, out, _) = cardfile(&db, &["--json", "invite", "list"]);
    assert_eq!(code, 0);
    let list: Value = serde_json::from_str(&out).unwrap();
    let inv = list["invitations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["user"].as_u64() == Some(user))
        .unwrap_or_else(|| panic!("{list}"));
    let (code, _, err) = cardfile(&db, &["invite", "revoke", inv["id"].as_str().unwrap()]);
    assert_eq!(code, 0, "{err}");

    // Up, but with another password: still paused, still nothing failed.
    let smtp = SmtpServer::start(
        smtp_port,
        &spool,
        // Only AUTH LOGIN here (the other tests' servers offer PLAIN too, which is preferred).
        &SmtpSetup {
            auth: Some(&auth),
            auth_only: Some("LOGIN"),
            reject: Some("bounce@"),
            ..SmtpSetup::default()
        },
    );
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(smtp.count(), 0);
    let s = states(&db);
    assert!(s.values().all(|v| v == "pending" || v == "obsolete"), "nothing sent, nothing failed: {s:?}");
    // The password is fixed on the server's side: mail flows.
    std::fs::write(&auth, "bot:a wrong password").unwrap();
    wait_until(Duration::from_secs(20), "ann's invitation", || smtp.count() >= 1);
    wait_until(Duration::from_secs(10), "the bounce to fail", || {
        states(&db)["bounce@example.com"] == "failed"
    });
    let s = states(&db);
    assert_eq!(s["ann@example.com"], "sent");
    assert_eq!(s["rex@example.com"], "obsolete", "a revoked invitation is not sent");
    let (code, out, _) = cardfile(&db, &["--json", "outbox", "--all", "list", "--failed"]);
    assert_eq!(code, 0);
    let failed: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(failed.as_array().unwrap().len(), 1);
    assert!(failed[0]["last_error"].as_str().unwrap().contains("550"), "{failed}");
    assert_eq!(
        smtp.messages().iter().map(|m| m["to"].as_str().unwrap().to_string()).collect::<Vec<_>>(),
        vec!["ann@example.com"]
    );

    // The address is fixed; the administrator retries.
    drop(smtp);
    let smtp = SmtpServer::start(
        smtp_port,
        &spool,
        &SmtpSetup { auth: Some(&auth), auth_only: Some("LOGIN"), ..SmtpSetup::default() },
    );
    let (code, out, err) = cardfile(&db, &["outbox", "--all", "retry", "--all-failed"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("1 failed message(s) queued again"), "{out}");
    wait_until(Duration::from_secs(20), "the retried bounce", || smtp.count() >= 2);
    assert_eq!(states(&db)["bounce@example.com"], "sent");

    // SMS: the gateway's 500 is retried, then accepted.
    let (code, _, err) = cardfile(&db, &["invite", "sms", "+15550001111"]);
    assert_eq!(code, 0, "{err}");
    wait_until(Duration::from_secs(20), "the SMS after a 500", || states(&db)["+15550001111"] == "sent");
    assert_eq!(gateway.received().len(), 2, "one 500, one 200");
    let sms = outbox(&db).into_iter().find(|m| m["to"] == "+15550001111").unwrap();
    assert_eq!(sms["attempts"], 2);
    kill(child);
}

/// `kill -9` of `serve` during a burst of 500 invitations, then a restart: every invitation
/// arrives at least once, and the outbox ends with none pending. Two `serve` processes on one
/// file then share a second burst without sending any message twice.
#[test]
fn a_killed_server_loses_nothing_and_two_servers_share_the_outbox() {
    const BURST: usize = 500;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let spool = dir.path().join("spool");
    let smtp = SmtpServer::start(free_port(), &spool, &SmtpSetup::default());
    let extra = args(&[
        "--smtp-url",
        &format!("smtp://127.0.0.1:{}", smtp.port),
        "--mail-from",
        "people@example.com",
        "--delivery-lease",
        "2s",
    ]);
    let (child, port, hook) = serve(&db, true, &extra, &[]);
    let hook = hook.unwrap();
    burst(port, &hook, "p", 0..BURST);
    wait_until(Duration::from_secs(30), "the first deliveries", || smtp.count() >= 20);
    let mut child = child;
    child.kill().unwrap();
    child.wait().unwrap();
    let before = smtp.count();
    assert!(before < BURST, "the burst was over before the kill ({before}): nothing was tested");
    let (child, _, _) = serve(&db, false, &extra, &[]);
    wait_until(Duration::from_secs(60), "every invitation", || {
        smtp.count() >= BURST && states_pending(&db) == 0
    });
    let arrived = recipients(&smtp);
    for n in 0..BURST {
        assert!(arrived.contains_key(&format!("p{n}@example.com")), "p{n} never arrived");
    }
    kill(child);

    // Two servers, one file, one SMTP server: each message once.
    let (a, port_a, _) = serve(&db, false, &extra, &[]);
    let (b, _port_b, _) = serve(&db, false, &extra, &[]);
    let already = smtp.count();
    burst(port_a, &hook, "p", BURST..BURST + 200);
    wait_until(Duration::from_secs(60), "the second burst", || {
        smtp.count() >= already + 200 && states_pending(&db) == 0
    });
    std::thread::sleep(Duration::from_millis(500));
    let ids: Vec<String> =
        smtp.messages()[already..].iter().map(|m| m["message_id"].as_str().unwrap().to_string()).collect();
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!((ids.len(), unique.len()), (200, 200), "a message was sent twice");
    kill(a);
    kill(b);
}

/// Invites `{prefix}{n}@example.com` for every `n` of `range`, 50 to a `batch`, through the
/// server on `port`; every command must succeed.
fn burst(port: u16, hook: &str, prefix: &str, range: std::ops::Range<usize>) {
    for chunk in range.collect::<Vec<_>>().chunks(50) {
        let cmd: serde_json::Map<String, Value> = chunk
            .iter()
            .map(|n| {
                (
                    format!("u{n}"),
                    json!(format!("user.add?EMAIL={prefix}{n}%40example.com&UF_DEPARTMENT[]=1")),
                )
            })
            .collect();
        let (status, reply) =
            common::post(port, &format!("{hook}batch"), &json!({"halt": 1, "cmd": cmd})).unwrap();
        assert_eq!(status, 200, "{reply}");
        assert!(reply["result"]["result_error"].as_object().is_none_or(serde_json::Map::is_empty), "{reply}");
    }
}

fn states_pending(db: &Path) -> usize {
    outbox(db).iter().filter(|m| m["state"] == "pending").count()
}

/// How often each recipient received mail.
fn recipients(smtp: &SmtpServer) -> BTreeMap<String, usize> {
    let mut seen = BTreeMap::new();
    for m in smtp.messages() {
        *seen.entry(m["to"].as_str().unwrap().to_string()).or_insert(0) += 1;
    }
    seen
}

/// `cardfile outbox test` sends through the configured transport and says so; without one it
/// refuses clearly. Credentials never show in what it prints.
#[test]
fn outbox_test_sends_one_message() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let (code, _, err) = cardfile(&db, &["init"]);
    assert_eq!(code, 0, "{err}");
    let spool = dir.path().join("spool");
    let auth = dir.path().join("smtp.auth");
    std::fs::write(&auth, "bot:pw-XYZ").unwrap();
    let smtp =
        SmtpServer::start(free_port(), &spool, &SmtpSetup { auth: Some(&auth), ..SmtpSetup::default() });
    let pw = dir.path().join("pw");
    std::fs::write(&pw, "pw-XYZ\n").unwrap();
    let url = format!("smtp://bot@127.0.0.1:{}?tls=none", smtp.port);
    let (code, out, err) = cardfile(
        &db,
        &[
            "outbox",
            "test",
            "me@example.com",
            "--smtp-url",
            &url,
            "--mail-from",
            "Cardfile <cf@example.com>",
            "--smtp-password-file",
            pw.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("sent a test message to me@example.com"), "{out}");
    assert_eq!(smtp.messages()[0]["subject"], "Cardfile test message");
    // The transport `[serve]` of a config file sets up is the one `outbox test` uses.
    let config = dir.path().join("cardfile.toml");
    std::fs::write(
        &config,
        format!(
            "[serve]\nsmtp_url = \"{url}\"\nmail_from = \"cf@example.com\"\nsmtp_password_file = \"pw\"\n"
        ),
    )
    .unwrap();
    let (code, out, err) =
        cardfile(&db, &["--config", config.to_str().unwrap(), "outbox", "test", "you@example.com"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(smtp.messages()[1]["to"], "you@example.com");
    std::fs::write(&pw, "wrong\n").unwrap();
    let (code, out, err) = cardfile(
        &db,
        &[
            "outbox",
            "test",
            "me@example.com",
            "--smtp-url",
            &url,
            "--mail-from",
            "cf@example.com",
            "--smtp-password-file",
            pw.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1);
    assert!(err.contains("was not sent") && !err.contains("wrong") && !out.contains("wrong"), "{err}");
    let (code, _, err) = cardfile(&db, &["outbox", "test", "me@example.com"]);
    assert_eq!(code, 1);
    assert!(err.contains("no email transport is configured"), "{err}");
    let (code, _, err) = cardfile(&db, &["outbox", "test", "me@example.com", "--smtp-url", "smtp://u:p@x"]);
    assert_eq!(code, 2, "a password in the URL is bad usage: {err}");
}

/// On PostgreSQL, two `serve` processes (replicas) share one outbox: every invitation of a
/// burst arrives once.
#[test]
fn two_servers_on_postgres_share_the_outbox() {
    let url = store_postgres::testing::fresh_database();
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("spool");
    let smtp = SmtpServer::start(free_port(), &spool, &SmtpSetup::default());
    let extra = args(&[
        "--smtp-url",
        &format!("smtp://127.0.0.1:{}", smtp.port),
        "--mail-from",
        "people@example.com",
    ]);
    let (a, port, hook) = common::start_custom(url.as_ref(), dir.path(), true, false, &extra, &[]);
    let (b, _, _) = common::start_custom(url.as_ref(), dir.path(), false, false, &extra, &[]);
    let hook = hook.unwrap();
    burst(port, &hook, "q", 0..200);
    let db = Path::new(&url);
    wait_until(Duration::from_secs(60), "the burst on PostgreSQL", || {
        smtp.count() >= 200 && states_pending(db) == 0
    });
    std::thread::sleep(Duration::from_millis(500));
    let seen = recipients(&smtp);
    assert_eq!(seen.len(), 200);
    assert!(seen.values().all(|n| *n == 1), "a message was sent twice: {seen:?}");
    kill(a);
    kill(b);
}
