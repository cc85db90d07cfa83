//! A small synchronous SMTP client (RFC 5321): one session over plain TCP, STARTTLS or implicit
//! TLS (rustls), AUTH PLAIN or LOGIN, and `MAIL`/`RCPT`/`DATA` per message on the same
//! connection. Hand-written rather than lettre's transport for two reasons measured here:
//! lettre leaves Nagle's algorithm on and writes the `.` terminator separately from the body,
//! so every message waited for the server's delayed ACK (40 ms: 22 messages/s on one
//! connection), and its errors do not say at which step the server answered, which decides
//! whether a refusal is the message's (`RCPT`, `DATA`) or the transport's.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, StreamOwned};

/// Where in a session the server answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The greeting, `EHLO`, `STARTTLS`.
    Session,
    /// `AUTH`.
    Auth,
    /// `MAIL FROM`.
    Mail,
    /// `RCPT TO`.
    Rcpt,
    /// `DATA` and the message's content.
    Data,
}

/// Why a session or a message did not go through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SmtpError {
    /// The server answered `code` at `step`.
    Reply {
        /// The step.
        step: Step,
        /// The reply code.
        code: u16,
        /// The reply's text.
        text: String,
    },
    /// No usable connection: connect, read or write failed, or TLS did.
    Connection(String),
    /// TLS is required and the server does not offer `STARTTLS`.
    NoStartTls,
}

impl std::fmt::Display for SmtpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SmtpError::Reply { step, code, text } => write!(f, "{code} {text} (at {step:?})"),
            SmtpError::Connection(e) => write!(f, "connection: {e}"),
            SmtpError::NoStartTls => f.write_str("the server does not offer STARTTLS, which is required"),
        }
    }
}

fn io(e: std::io::Error) -> SmtpError {
    SmtpError::Connection(e.to_string())
}

enum Stream {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

/// How to open a session.
#[derive(Clone)]
pub struct Dial {
    /// The server's host.
    pub host: String,
    /// Its port.
    pub port: u16,
    /// TLS from the first byte.
    pub implicit_tls: bool,
    /// Upgrade with `STARTTLS`: `Some(true)` required, `Some(false)` when offered.
    pub starttls: Option<bool>,
    /// `(user, password)` to authenticate with.
    pub credentials: Option<(String, String)>,
    /// The name sent with `EHLO`.
    pub hello: String,
    /// The TLS configuration (trusted roots).
    pub tls: Arc<ClientConfig>,
    /// How long connecting and each reply may take.
    pub timeout: Duration,
}

/// An open session, ready for messages.
pub struct Session {
    reader: BufReader<Stream>,
}

impl Session {
    /// Connects, greets, secures and authenticates.
    ///
    /// # Errors
    /// [`SmtpError`]: a refused connection, a failed handshake, or a reply at the session or
    /// auth step.
    pub fn open(dial: &Dial) -> Result<Session, SmtpError> {
        let addrs: Vec<_> = (dial.host.as_str(), dial.port).to_socket_addrs().map_err(io)?.collect();
        let mut last = SmtpError::Connection(format!("{}: no address", dial.host));
        let mut tcp = None;
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, dial.timeout) {
                Ok(s) => {
                    tcp = Some(s);
                    break;
                }
                Err(e) => last = io(e),
            }
        }
        let tcp = tcp.ok_or(last)?;
        // Every step is a write and then a wait for the reply: nothing for Nagle to coalesce.
        tcp.set_nodelay(true).map_err(io)?;
        tcp.set_read_timeout(Some(dial.timeout)).map_err(io)?;
        tcp.set_write_timeout(Some(dial.timeout)).map_err(io)?;
        let stream =
            if dial.implicit_tls { Stream::Tls(Box::new(tls(dial, tcp)?)) } else { Stream::Plain(tcp) };
        let mut s = Session { reader: BufReader::new(stream) };
        s.expect(Step::Session, &[220])?;
        let mut caps = s.ehlo(&dial.hello)?;
        if !dial.implicit_tls {
            let offered = caps.iter().any(|c| c.eq_ignore_ascii_case("STARTTLS"));
            match dial.starttls {
                Some(true) if !offered => return Err(SmtpError::NoStartTls),
                Some(_) if offered => {
                    s.command(Step::Session, "STARTTLS", &[220])?;
                    let Stream::Plain(tcp) = s.reader.into_inner() else {
                        return Err(SmtpError::Connection("already encrypted".into()));
                    };
                    s = Session { reader: BufReader::new(Stream::Tls(Box::new(tls(dial, tcp)?))) };
                    caps = s.ehlo(&dial.hello)?;
                }
                _ => {}
            }
        }
        if let Some((user, password)) = &dial.credentials {
            s.authenticate(&caps, user, password)?;
        }
        Ok(s)
    }

    /// Sends one message: `MAIL FROM`, `RCPT TO`, `DATA`. After a refusal the session is reset
    /// (`RSET`) and stays usable.
    ///
    /// # Errors
    /// [`SmtpError`] with the step the server refused at, or a connection failure.
    pub fn send(&mut self, from: &str, to: &str, content: &[u8]) -> Result<(), SmtpError> {
        let result = self.transaction(from, to, content);
        if let Err(SmtpError::Reply { .. }) = &result {
            // The server is still talking: clear the transaction for the next message.
            let _ = self.command(Step::Session, "RSET", &[250]);
        }
        result
    }

    fn transaction(&mut self, from: &str, to: &str, content: &[u8]) -> Result<(), SmtpError> {
        self.command(Step::Mail, &format!("MAIL FROM:<{from}>"), &[250])?;
        self.command(Step::Rcpt, &format!("RCPT TO:<{to}>"), &[250, 251])?;
        self.command(Step::Data, "DATA", &[354])?;
        // The content, dot-stuffed, and its terminator in one write.
        let mut data = Vec::with_capacity(content.len() + 64);
        for line in content.split_inclusive(|&b| b == b'\n') {
            if line.first() == Some(&b'.') {
                data.push(b'.');
            }
            data.extend_from_slice(line);
        }
        if !data.ends_with(b"\r\n") {
            data.extend_from_slice(b"\r\n");
        }
        data.extend_from_slice(b".\r\n");
        self.write(&data)?;
        self.expect(Step::Data, &[250]).map(|_| ())
    }

    /// Says goodbye (errors are of no interest any more).
    pub fn quit(mut self) {
        let _ = self.command(Step::Session, "QUIT", &[221]);
    }

    /// Whether the server still answers (`NOOP`).
    pub fn alive(&mut self) -> bool {
        self.command(Step::Session, "NOOP", &[250]).is_ok()
    }

    fn authenticate(&mut self, caps: &[String], user: &str, password: &str) -> Result<(), SmtpError> {
        let mechanisms: Vec<String> = caps
            .iter()
            .filter_map(|c| c.strip_prefix("AUTH ").or_else(|| c.strip_prefix("AUTH=")))
            .flat_map(|m| m.split_whitespace().map(str::to_ascii_uppercase))
            .collect();
        if mechanisms.iter().any(|m| m == "PLAIN") || mechanisms.is_empty() {
            let token = base64(format!("\0{user}\0{password}").as_bytes());
            self.command(Step::Auth, &format!("AUTH PLAIN {token}"), &[235]).map(|_| ())
        } else {
            self.command(Step::Auth, "AUTH LOGIN", &[334])?;
            self.command(Step::Auth, &base64(user.as_bytes()), &[334])?;
            self.command(Step::Auth, &base64(password.as_bytes()), &[235]).map(|_| ())
        }
    }

    fn ehlo(&mut self, hello: &str) -> Result<Vec<String>, SmtpError> {
        let text = self.command(Step::Session, &format!("EHLO {hello}"), &[250])?;
        Ok(text.lines().skip(1).map(|l| l.trim().to_string()).collect())
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), SmtpError> {
        let stream = self.reader.get_mut();
        stream.write_all(bytes).and_then(|()| stream.flush()).map_err(io)
    }

    /// Sends a command and reads its reply; returns the reply's text if its code is one of
    /// `ok`.
    fn command(&mut self, step: Step, line: &str, ok: &[u16]) -> Result<String, SmtpError> {
        self.write(format!("{line}\r\n").as_bytes())?;
        self.expect(step, ok)
    }

    /// Reads a reply (its continuation lines too).
    fn expect(&mut self, step: Step, ok: &[u16]) -> Result<String, SmtpError> {
        let mut text = String::new();
        // Bounded: a reply of more than 1000 lines is no SMTP server's.
        for _ in 0..1000 {
            let mut line = String::new();
            if self.reader.read_line(&mut line).map_err(io)? == 0 {
                return Err(SmtpError::Connection("the server closed the connection".into()));
            }
            let line = line.trim_end();
            let code: u16 = line.get(..3).and_then(|c| c.parse().ok()).ok_or_else(|| {
                SmtpError::Connection(format!(
                    "not an SMTP reply: {:?}",
                    line.chars().take(80).collect::<String>()
                ))
            })?;
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str(line.get(4..).unwrap_or(""));
            if line.as_bytes().get(3) != Some(&b'-') {
                return if ok.contains(&code) {
                    Ok(text)
                } else {
                    Err(SmtpError::Reply { step, code, text })
                };
            }
        }
        Err(SmtpError::Connection("an endless reply".into()))
    }
}

fn tls(dial: &Dial, tcp: TcpStream) -> Result<StreamOwned<ClientConnection, TcpStream>, SmtpError> {
    let name =
        ServerName::try_from(dial.host.clone()).map_err(|e| SmtpError::Connection(format!("TLS: {e}")))?;
    let conn = ClientConnection::new(Arc::clone(&dial.tls), name)
        .map_err(|e| SmtpError::Connection(format!("TLS: {e}")))?;
    let mut stream = StreamOwned::new(conn, tcp);
    // Complete the handshake now, so that a bad certificate is reported as such.
    while stream.conn.is_handshaking() {
        stream.conn.complete_io(&mut stream.sock).map_err(|e| SmtpError::Connection(format!("TLS: {e}")))?;
    }
    Ok(stream)
}

/// Standard base64 with padding (AUTH's encoding).
fn base64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_pads() {
        assert_eq!(super::base64(b""), "");
        assert_eq!(super::base64(b"f"), "Zg==");
        assert_eq!(super::base64(b"fo"), "Zm8=");
        assert_eq!(super::base64(b"foo"), "Zm9v");
        assert_eq!(super::base64(b"\0bot\0pw"), "AGJvdABwdw==");
    }
}
