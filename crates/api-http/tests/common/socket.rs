//! `serve` on 127.0.0.1 for the fuzzer, and a small HTTP/1.1 client that writes a [`Wire`] as
//! bytes on a socket (framed by `Content-Length` or chunked, pipelined or not) and reads the
//! replies back: the accept loop, hyper's parsing and the client's address are in the path.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use api_http::Config;
use proptest::prelude::*;

use super::World;
use crate::wire::Wire;

/// A world served on a loopback port until dropped.
pub struct Server {
    pub world: World,
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    pub fn new(config: Config) -> Server {
        let world = World::with_config(config);
        let state = Arc::clone(&world.state);
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt =
                tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                addr_tx.send(listener.local_addr().unwrap()).unwrap();
                let shutdown = async {
                    let _ = stopped.await;
                };
                api_http::serve(listener, state, None, shutdown).await.unwrap();
            });
        });
        let addr = addr_rx.recv().unwrap();
        Server { world, addr, stop: Some(stop), thread: Some(thread) }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// How a request is framed on the connection.
#[derive(Debug, Clone)]
pub struct Framing {
    /// Chunk sizes for `Transfer-Encoding: chunked` (cycled); `None`: `Content-Length`.
    pub chunks: Option<Vec<usize>>,
    /// `Expect: 100-continue`.
    pub expect_continue: bool,
    /// Header names in upper case.
    pub shout: bool,
    /// The same request twice on one connection without waiting (pipelined), else once.
    pub twice: bool,
    /// `Connection: close`.
    pub close: bool,
    /// The same request at the same time on a second connection too (two writers racing).
    pub racing: bool,
}

pub fn framing() -> BoxedStrategy<Framing> {
    (
        prop::option::of(proptest::collection::vec(1usize..64, 1..4)),
        prop::bool::weighted(0.2),
        any::<bool>(),
        prop::bool::weighted(0.3),
        prop::bool::weighted(0.3),
        prop::bool::weighted(0.3),
    )
        .prop_map(|(chunks, expect_continue, shout, twice, close, racing)| Framing {
            chunks,
            expect_continue,
            shout,
            twice: twice && !close,
            close,
            racing,
        })
        .boxed()
}

/// A reply as read from the socket.
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
}

fn request_bytes(wire: &Wire, f: &Framing) -> Vec<u8> {
    let name = |n: &str| if f.shout { n.to_uppercase() } else { n.to_string() };
    let mut out =
        format!("{} {} HTTP/1.1\r\n{}: 127.0.0.1\r\n", wire.verb, wire.target, name("host")).into_bytes();
    for (k, v) in &wire.headers {
        out.extend_from_slice(format!("{}: {v}\r\n", name(k)).as_bytes());
    }
    if f.expect_continue {
        out.extend_from_slice(format!("{}: 100-continue\r\n", name("expect")).as_bytes());
    }
    if f.close {
        out.extend_from_slice(format!("{}: close\r\n", name("connection")).as_bytes());
    }
    match &f.chunks {
        None => {
            out.extend_from_slice(
                format!("{}: {}\r\n\r\n", name("content-length"), wire.body.len()).as_bytes(),
            );
            out.extend_from_slice(&wire.body);
        }
        Some(sizes) => {
            out.extend_from_slice(format!("{}: chunked\r\n\r\n", name("transfer-encoding")).as_bytes());
            let mut rest = wire.body.as_slice();
            for size in sizes.iter().cycle() {
                if rest.is_empty() {
                    break;
                }
                let (chunk, tail) = rest.split_at((*size).min(rest.len()));
                out.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
                out.extend_from_slice(chunk);
                out.extend_from_slice(b"\r\n");
                rest = tail;
            }
            out.extend_from_slice(b"0\r\n\r\n");
        }
    }
    out
}

fn read_line(r: &mut impl BufRead) -> Result<String, String> {
    let mut line = Vec::new();
    r.read_until(b'\n', &mut line).map_err(|e| format!("no reply ({e})"))?;
    if line.is_empty() {
        return Err("the connection closed without a reply".into());
    }
    Ok(String::from_utf8_lossy(&line).trim_end().to_string())
}

/// Reads one final reply (1xx interim replies skipped).
fn read_reply(r: &mut impl BufRead) -> Result<Reply, String> {
    loop {
        let status_line = read_line(r)?;
        let status: u16 = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("not an HTTP status line: {status_line:?}"))?;
        let mut length = None;
        let mut chunked = false;
        let mut content_type = String::new();
        loop {
            let h = read_line(r)?;
            if h.is_empty() {
                break;
            }
            let (k, v) = h.split_once(':').unwrap_or((&h, ""));
            let v = v.trim();
            match k.to_ascii_lowercase().as_str() {
                "content-length" => length = v.parse::<usize>().ok(),
                "transfer-encoding" => chunked = v.eq_ignore_ascii_case("chunked"),
                "content-type" => content_type = v.to_string(),
                _ => {}
            }
        }
        if (100..200).contains(&status) {
            continue;
        }
        let mut body = Vec::new();
        if chunked {
            loop {
                let size = usize::from_str_radix(read_line(r)?.split(';').next().unwrap_or("").trim(), 16)
                    .map_err(|e| format!("a bad chunk size ({e})"))?;
                let mut chunk = vec![0; size + 2];
                r.read_exact(&mut chunk).map_err(|e| format!("a cut chunk ({e})"))?;
                if size == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..size]);
            }
        } else if let Some(n) = length {
            body.resize(n, 0);
            r.read_exact(&mut body).map_err(|e| format!("a cut body ({e})"))?;
        } else {
            r.read_to_end(&mut body).map_err(|e| format!("a cut body ({e})"))?;
        }
        return Ok(Reply { status, content_type, body });
    }
}

/// Sends `wire` (once, or twice pipelined) on a fresh connection, and with `racing` at the same
/// time on another; the replies.
pub fn exchange(addr: SocketAddr, wire: &Wire, f: &Framing) -> Result<Vec<Reply>, String> {
    if !f.racing {
        return one_connection(addr, wire, f);
    }
    let (a, b) = std::thread::scope(|s| {
        let other = s.spawn(|| one_connection(addr, wire, f));
        let mine = one_connection(addr, wire, f);
        (mine, other.join().unwrap_or_else(|_| Err("the racing client panicked".into())))
    });
    let mut replies = a?;
    replies.extend(b?);
    Ok(replies)
}

fn one_connection(addr: SocketAddr, wire: &Wire, f: &Framing) -> Result<Vec<Reply>, String> {
    let mut tcp = TcpStream::connect(addr).map_err(|e| format!("cannot connect: {e}"))?;
    tcp.set_read_timeout(Some(Duration::from_secs(30))).map_err(|e| e.to_string())?;
    let one = request_bytes(wire, f);
    let mut bytes = one.clone();
    if f.twice {
        bytes.extend_from_slice(&one);
    }
    tcp.write_all(&bytes).map_err(|e| format!("cannot send: {e}"))?;
    let mut r = BufReader::new(tcp);
    (0..if f.twice { 2 } else { 1 }).map(|_| read_reply(&mut r)).collect()
}
