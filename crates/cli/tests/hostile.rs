//! Clients that try to hold the real `cardfile serve` hostage, on plain HTTP and over TLS: headers
//! that never finish, a body sent a byte at a time, an idle keep-alive, and more connections than
//! the cap. Timeouts are set to 2 s here; each test checks that the server lets go, and that an
//! ordinary request is answered meanwhile.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

const LIMITS: [&str; 8] =
    ["--header-timeout", "2s", "--body-timeout", "2s", "--idle-timeout", "2s", "--max-connections", "16"];

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

struct Server {
    child: std::process::Child,
    port: u16,
    /// The server's certificate, over TLS.
    tls: Option<Arc<rustls::ClientConfig>>,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(tls: bool) -> Server {
    start_with(tls, &LIMITS)
}

fn start_with(tls: bool, limits: &[&str]) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hostile.db");
    let extra: Vec<String> = limits.iter().map(|s| (*s).to_string()).collect();
    let (child, port, _) = common::start_custom(db.as_os_str(), dir.path(), true, tls, &extra, &[]);
    let tls = tls.then(|| {
        let pem = std::fs::read(db.with_extension("cert.pem")).unwrap();
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls_pki_types::CertificateDer::pem_slice_iter(&pem) {
            roots.add(cert.unwrap()).unwrap();
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        Arc::new(config)
    });
    Server { child, port, tls, _dir: dir }
}

use rustls_pki_types::pem::PemObject;

impl Server {
    async fn open(&self) -> Box<dyn Stream> {
        let tcp = TcpStream::connect(("127.0.0.1", self.port)).await.unwrap();
        match &self.tls {
            None => Box::new(tcp),
            Some(config) => {
                let name = rustls_pki_types::ServerName::IpAddress(std::net::Ipv4Addr::LOCALHOST.into());
                let tls =
                    tokio_rustls::TlsConnector::from(Arc::clone(config)).connect(name, tcp).await.unwrap();
                Box::new(tls)
            }
        }
    }

    /// One ordinary request on a new connection: its status.
    async fn ordinary(&self) -> u16 {
        let mut s = self.open().await;
        s.write_all(b"GET /rest/server.time HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let text = read_all(&mut s, Duration::from_secs(10)).await.0;
        status(&text)
    }
}

fn status(text: &str) -> u16 {
    text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0)
}

/// Reads until the server closes (or `limit` passes): the text and how long it took.
async fn read_all(s: &mut Box<dyn Stream>, limit: Duration) -> (String, Duration) {
    let started = Instant::now();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(limit.saturating_sub(started.elapsed()), s.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => break,
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Err(_) => panic!("the server kept the connection open for {limit:?}"),
        }
    }
    (String::from_utf8_lossy(&out).into_owned(), started.elapsed())
}

fn run(f: impl std::future::Future<Output = ()>) {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f);
}

/// Headers that never finish, a trickled body and an idle keep-alive are each let go, while
/// ordinary requests are answered.
fn slow_clients(tls: bool) {
    let server = start(tls);
    run(async {
        // Headers that never finish: closed by the header timeout.
        let mut headers = server.open().await;
        headers.write_all(b"GET /rest/server.time HTTP/1.1\r\nHost: 127.0.0.1\r\n").await.unwrap();
        // A body announced as 100 bytes, sent one byte every 300 ms.
        let mut body = server.open().await;
        body.write_all(
            b"POST /rest/server.time HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n",
        )
        .await
        .unwrap();
        let trickle = async move {
            for _ in 0..40 {
                if body.write_all(b" ").await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            body
        };
        // A keep-alive connection that goes quiet after one answer.
        let mut idle = server.open().await;
        idle.write_all(b"GET /rest/server.time HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").await.unwrap();
        let mut first = [0u8; 64];
        let n = idle.read(&mut first).await.unwrap();
        assert!(String::from_utf8_lossy(&first[..n]).starts_with("HTTP/1.1 "), "the first answer comes");

        assert_eq!(server.ordinary().await, 401, "an ordinary request is answered meanwhile");
        let (text, took) = read_all(&mut headers, Duration::from_secs(8)).await;
        assert!(took >= Duration::from_millis(1500), "not before the timeout: {took:?}");
        assert!(!text.contains("200 OK"), "{text}");
        let mut body = tokio::time::timeout(Duration::from_secs(20), trickle).await.unwrap();
        let (text, _) = read_all(&mut body, Duration::from_secs(8)).await;
        assert_eq!(status(&text), 400, "a clear error, not a hang: {text}");
        assert!(text.contains("the body was not received within 2 s"), "{text}");
        let (_, took) = read_all(&mut idle, Duration::from_secs(8)).await;
        assert!(took < Duration::from_secs(6), "the idle connection is closed: {took:?}");
        assert_eq!(server.ordinary().await, 401);
    });
}

#[test]
fn slow_clients_are_let_go_on_plain_http() {
    slow_clients(false);
}

#[test]
fn slow_clients_are_let_go_over_tls() {
    slow_clients(true);
}

/// More connections than the cap: the next one gets 503 OVERLOAD_LIMIT at once, and once the
/// silent ones are let go, requests are answered again.
#[test]
fn connections_over_the_cap_are_refused_and_the_server_recovers() {
    let server = start(false);
    run(async {
        let mut held = Vec::new();
        for _ in 0..16 {
            held.push(TcpStream::connect(("127.0.0.1", server.port)).await.unwrap());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let mut over = server.open().await;
        let (text, took) = read_all(&mut over, Duration::from_secs(5)).await;
        assert_eq!(status(&text), 503, "{text}");
        assert!(text.contains("OVERLOAD_LIMIT"), "{text}");
        assert!(took < Duration::from_secs(1), "at once: {took:?}");
        // The silent connections are closed by the header timeout; then there is room again.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let s = server.ordinary().await;
            if s == 401 {
                break;
            }
            assert_eq!(s, 503);
            assert!(Instant::now() < deadline, "the server did not recover");
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        drop(held);
    });
}

/// A server of 2,000 users whose reads may run 100 ms, and the first run's webhook path.
fn start_populated() -> (Server, String) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("readers.db");
    // Limits off: this is about readers; every client here comes from 127.0.0.1.
    let extra: Vec<String> = [
        "--read-time-budget",
        "100ms",
        "--rate-limit",
        "off",
        "--address-rate-limit",
        "off",
        "--operating-budget",
        "off",
    ]
    .iter()
    .map(|s| (*s).to_string())
    .collect();
    let (child, port, hook) = common::start_custom(db.as_os_str(), dir.path(), true, false, &extra, &[]);
    let hook = hook.unwrap();
    for chunk in 0..40 {
        let cmd: serde_json::Map<String, serde_json::Value> = (0..50)
            .map(|k| {
                let i = chunk * 50 + k;
                let add = format!("user.add?EMAIL=p{i}%40example.com&NAME=Name{i}&LAST_NAME=Family{}&WORK_POSITION=Engineer&UF_DEPARTMENT[]=1", i % 97);
                (format!("u{k}"), serde_json::Value::String(add))
            })
            .collect();
        let (status, body) =
            common::post(port, &format!("{hook}batch"), &serde_json::json!({ "cmd": cmd })).unwrap();
        assert_eq!(status, 200, "{body}");
        assert!(
            body["result"]["result_error"].as_object().is_none_or(|e| e.is_empty()),
            "{}",
            body["result"]["result_error"]["u0"]
        );
    }
    (Server { child, port, tls: None, _dir: dir }, hook)
}

/// Four clients send filters of 49 conditions over 2,000 users (one of them as `batch` commands) as fast as they are
/// answered: each is answered (or stopped past the read budget with OVERLOAD_LIMIT), and an
/// ordinary client is meanwhile answered every time — authentication and point reads never
/// wait for the hostile reads.
#[test]
fn hostile_readers_do_not_take_the_service_from_others() {
    use serde_json::{json, Value};
    let (server, hook) = start_populated();
    let port = server.port;
    // Each condition holds for every user, so each is evaluated for every row.
    let fields =
        ["NAME", "LAST_NAME", "SECOND_NAME", "WORK_POSITION", "EMAIL", "PERSONAL_CITY", "WORK_COMPANY"];
    let prefixes = ["!%", "!=%", "!%=", "!", "!=", "<", "<="];
    // A new text each time: what a query found is cached, and the cache would answer a repeat.
    let hostile = |n: usize| -> Value {
        let filter: serde_json::Map<String, Value> = fields
            .iter()
            .flat_map(|f| prefixes.iter().map(move |p| format!("{p}{f}")))
            .take(50)
            .map(|k| (k, json!(format!("zz{n}"))))
            .collect();
        json!({ "FILTER": filter })
    };
    let sent = std::sync::atomic::AtomicUsize::new(0);
    let stop = std::sync::atomic::AtomicBool::new(false);
    let (answered, overloaded, ordinary) = std::thread::scope(|s| {
        let (hostile, sent, stop, hook) = (&hostile, &sent, &stop, &hook);
        // Three send the reads alone, one as `batch` commands of three.
        let readers: Vec<_> = (0..4)
            .map(|r| {
                s.spawn(move || {
                    let (mut answered, mut overloaded) = (0, 0);
                    let mut conn = common::Conn::open(port);
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        let n = sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if r == 3 {
                            let cmd: serde_json::Map<String, Value> = (0..3)
                                .map(|k| (format!("c{k}"), json!(as_command(&hostile(n * 3 + k)))))
                                .collect();
                            conn.send(&format!("{hook}batch"), &json!({ "cmd": cmd }));
                        } else {
                            conn.send(&format!("{hook}user.get"), &hostile(n));
                        }
                        let (status, body) = conn.receive().expect("the server answers a hostile read");
                        let errors = body["result"]["result_error"].as_object().cloned().unwrap_or_default();
                        match (status, body["error"].as_str()) {
                            (200, _) if errors.values().all(|e| e["error"] == "OVERLOAD_LIMIT") => {
                                answered += usize::from(errors.is_empty());
                                overloaded += errors.len();
                            }
                            (503, Some("OVERLOAD_LIMIT")) => overloaded += 1,
                            _ => panic!("a hostile read got {status} {body}"),
                        }
                    }
                    (answered, overloaded)
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(300));
        let mut conn = common::Conn::open(port);
        let mut ordinary = 0;
        let mut failed = None;
        let until = Instant::now() + Duration::from_secs(3);
        'calls: while Instant::now() < until {
            for (method, body) in [("server.time", json!({})), ("user.get", json!({ "ID": 1 }))] {
                conn.send(&format!("{hook}{method}"), &body);
                match conn.receive() {
                    Some((200, _)) => ordinary += 1,
                    other => {
                        failed = Some(format!("{method} during the hostile reads: {other:?}"));
                        break 'calls;
                    }
                }
            }
        }
        // Stopped before any assertion, so that a failure never leaves the readers running.
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let (a, o) =
            readers.into_iter().map(|r| r.join().unwrap()).fold((0, 0), |t, r| (t.0 + r.0, t.1 + r.1));
        assert_eq!(failed, None);
        (a, o, ordinary)
    });
    // Each hostile read is answered or stopped past the 100 ms budget; how many of each depends
    // on the machine's speed (the budget itself is tested in tests/it/budgets.rs).
    assert!(answered + overloaded > 0, "the hostile reads ran");
    assert!(ordinary > 20, "ordinary requests kept being answered: {ordinary}");
}

/// A `user.get` body with a `FILTER` object as a `batch` command (`user.get?FILTER[key]=value…`).
fn as_command(body: &serde_json::Value) -> String {
    let encode = |s: &str| -> String {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b == b'_' {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    };
    let pairs: Vec<String> = body["FILTER"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| format!("FILTER[{}]={}", encode(k), encode(v.as_str().unwrap())))
        .collect();
    format!("user.get?{}", pairs.join("&"))
}

/// The process runs out of file descriptors (a limit of 64, far below the connection cap):
/// the accept loop backs off instead of spinning a core, and once the silent connections are
/// let go the server answers again.
#[test]
fn running_out_of_descriptors_does_not_spin_or_stop_the_server() {
    let mut limits = LIMITS;
    limits[7] = "1000";
    let server = start_with(false, &limits);
    let pid = server.child.id().to_string();
    let limited =
        std::process::Command::new("prlimit").args(["--pid", &pid, "--nofile=64:64"]).status().unwrap();
    assert!(limited.success(), "prlimit (util-linux) sets the server's descriptor limit");
    let cpu = || -> u64 {
        // utime + stime in clock ticks (proc(5): fields 14 and 15).
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        let after = &stat[stat.rfind(')').unwrap() + 2..];
        let f: Vec<&str> = after.split(' ').collect();
        f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
    };
    run(async {
        let mut held = Vec::new();
        for _ in 0..100 {
            held.push(TcpStream::connect(("127.0.0.1", server.port)).await.unwrap());
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let before = cpu();
        tokio::time::sleep(Duration::from_secs(1)).await;
        let spent = cpu() - before;
        // Spinning would take the whole second (100 ticks); the back-off takes next to nothing.
        assert!(spent < 30, "the server spent {spent} ticks of CPU in a second with no descriptors");
        // The header timeout (2 s) lets go of the silent connections; requests are answered
        // again, though the test still holds its ends.
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let s = tokio::time::timeout(Duration::from_secs(5), server.ordinary()).await.unwrap_or(0);
            if s == 401 {
                break;
            }
            assert!(Instant::now() < deadline, "the server did not recover (last status {s})");
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        drop(held);
    });
}
