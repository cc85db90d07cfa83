//! Running the real `cardfile` binary in tests, and a minimal HTTP/1.1 client.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Runs `cmd` with no standard input; returns its exit code (-1 if killed), stdout and stderr.
pub fn output(cmd: &mut Command) -> (i32, String, String) {
    let out = cmd.stdin(Stdio::null()).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

/// Starts `cardfile serve` on `db`; returns the child, the port and, on the first run, the
/// webhook path it printed.
pub fn start(db: &Path, first: bool) -> (Child, u16, Option<String>) {
    start_with(db, first, false)
}

/// [`start`], over HTTPS with a self-signed certificate (`db` with the extension `cert.pem`)
/// when `tls`.
pub fn start_with(db: &Path, first: bool, tls: bool) -> (Child, u16, Option<String>) {
    start_on(db.as_os_str(), db.parent().unwrap_or(Path::new(".")), first, tls)
}

/// [`start_with`] on any `--db` value (a file or a `postgres://` URL), run in `cwd` (where a
/// PostgreSQL server's self-signed certificate is written: `cardfile.cert.pem`).
pub fn start_on(db: &OsStr, cwd: &Path, first: bool, tls: bool) -> (Child, u16, Option<String>) {
    start_custom(db, cwd, first, tls, &[], &[])
}

/// [`start_on`] with more arguments of `serve` and more environment variables.
pub fn start_custom(
    db: &OsStr,
    cwd: &Path,
    first: bool,
    tls: bool,
    extra: &[String],
    env: &[(&str, &str)],
) -> (Child, u16, Option<String>) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cardfile"));
    cmd.current_dir(cwd).args(["--json", "--db"]).arg(db).args(["serve", "--listen", "127.0.0.1:0"]);
    if tls {
        cmd.arg("--tls-self-signed");
    }
    cmd.args(extra).envs(env.iter().copied());
    let mut child = cmd
        .env("CARDFILE_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let webhook = first.then(|| {
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let v: Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("first run output {line:?}: {e}"));
        let w = v["webhook"].as_str().unwrap().to_string();
        w[w.find("/rest/").unwrap()..].to_string()
    });
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let deadline = Instant::now() + Duration::from_secs(30);
    let port = loop {
        let mut line = String::new();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "the server exited before listening");
        let scheme = if tls { "https" } else { "http" };
        if let Some(addr) = line.trim().strip_prefix(&format!("cardfile: listening on {scheme}://")) {
            break addr.rsplit(':').next().unwrap().parse().unwrap();
        }
        assert!(Instant::now() < deadline, "the server did not start");
    };
    std::thread::spawn(move || {
        let (mut a, mut b) = (String::new(), String::new());
        let _ = stderr.read_to_string(&mut a);
        let _ = stdout.read_to_string(&mut b);
    });
    (child, port, webhook)
}

/// One HTTP/1.1 POST with a JSON body; `None` when the server is gone.
pub fn post(port: u16, path: &str, body: &Value) -> Option<(u16, Value)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let body = body.to_string();
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).ok()?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).ok()?;
    let text = String::from_utf8_lossy(&raw);
    let (head, payload) = text.split_once("\r\n\r\n")?;
    let status: u16 = head.split(' ').nth(1)?.parse().ok()?;
    Some((status, serde_json::from_str(payload).ok()?))
}

/// Sends SIGTERM.
pub fn terminate(child: &Child) {
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
}

/// A raw keep-alive connection for requests in flight.
pub struct Conn(pub TcpStream);

impl Conn {
    pub fn open(port: u16) -> Conn {
        let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        Conn(s)
    }

    /// Sends a POST without waiting for the answer.
    pub fn send(&mut self, path: &str, body: &Value) {
        let body = body.to_string();
        let req = format!(
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        self.0.write_all(req.as_bytes()).unwrap();
    }

    /// Reads one answer: status and JSON body (by Content-Length).
    pub fn receive(&mut self) -> Option<(u16, Value)> {
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            if self.0.read(&mut byte).ok()? == 0 {
                return None;
            }
            head.push(byte[0]);
        }
        let head = String::from_utf8_lossy(&head).to_string();
        let status = head.split(' ').nth(1)?.parse().ok()?;
        let len: usize = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_string())
            })?
            .parse()
            .ok()?;
        let mut body = vec![0u8; len];
        self.0.read_exact(&mut body).ok()?;
        Some((status, serde_json::from_slice(&body).ok()?))
    }
}

/// One form POST to the real server from the loopback address `from` (any of 127.0.0.0/8 is
/// this machine, so each stands for another client); the status and the body.
pub fn post_form(port: u16, from: [u8; 4], path: &str, fields: &[(&str, &str)]) -> (u16, String) {
    use std::io::{Read, Write};
    // The double-submit CSRF pair: the cookie and the form carry the same token.
    let csrf = "t".repeat(32);
    let mut body = format!("csrf={csrf}");
    for (k, v) in fields {
        body.push_str(&format!("&{k}={}", v.replace('@', "%40").replace(' ', "+")));
    }
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: __Host-cardfile-csrf={csrf}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let stream = runtime.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind((std::net::Ipv4Addr::from(from), 0).into()).unwrap();
        socket.connect(([127, 0, 0, 1], port).into()).await.unwrap().into_std().unwrap()
    });
    let mut stream = stream;
    stream.set_nonblocking(false).unwrap();
    stream.set_read_timeout(Some(std::time::Duration::from_secs(30))).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).to_string();
    let status = text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, text)
}

/// One GET with a `Cookie` header; the status and the whole response.
pub fn get_with_cookie(port: u16, path: &str, cookie: &str) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n");
    s.write_all(request.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).to_string();
    (text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0), text)
}

/// `cardfile init` of `db` with an administrator who signs in with `password`.
pub fn init_with_password(db: &Path, email: &str, password: &str) {
    let mut init = Command::new(env!("CARGO_BIN_EXE_cardfile"))
        .arg("--db")
        .arg(db)
        .args(["init", "--admin-email", email, "--password-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    init.stdin.take().unwrap().write_all(format!("{password}\n").as_bytes()).unwrap();
    assert!(init.wait().unwrap().success());
}
