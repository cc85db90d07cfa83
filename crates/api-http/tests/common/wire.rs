//! Requests as bytes on the wire, for fuzzing: a call as a client makes it (credential,
//! method, parameters, where they travel and how they are encoded), written as a PHP query
//! string, a form or a JSON body; and changes to those bytes. `cases` generates them.

use std::fmt;
use std::sync::OnceLock;

use axum::http::Uri;

use super::World;

/// A parameter value before it is written as a query string or as JSON.
#[derive(Debug, Clone)]
pub enum P {
    Text(String),
    /// Text already encoded for a query (`%FF`, `%`, `+`): written as it is into a query or a
    /// form, as a string into JSON.
    Wire(String),
    /// A JSON number literal as written (`18446744073709551616`, `1e400`, `-0`); text in a query.
    Number(String),
    Bool(bool),
    Null,
    List(Vec<P>),
    Map(Vec<(String, P)>),
}

/// One named parameter.
pub type Param = (String, P);

/// How a call's credential travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cred {
    /// A webhook of the world, by name (`/rest/{user}/{token}/…`).
    Hook(&'static str),
    /// A webhook's token with another user's ID.
    HookOtherUser,
    /// A webhook path whose user part is not a user ID.
    HookBadUser(&'static str),
    /// A webhook path with an unknown token.
    HookBadToken,
    /// The application token as `auth` in the query string.
    AppQuery,
    /// The application token as `auth` among the parameters (the body, when there is one).
    AppParam,
    /// The application token as `access_token` among the parameters.
    AppAccessToken,
    /// The application token in `Authorization: Bearer`.
    AppBearer,
    /// An unknown application token.
    BadToken,
    /// No credential at all.
    Nothing,
}

/// Where the parameters travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Carry {
    Query,
    /// A form body; its content type (an empty string: no header).
    Form(&'static str),
    /// A JSON body; its content type.
    Json(&'static str),
    /// The first `n` parameters in the query string, the rest in a JSON body.
    Split(usize),
}

/// How keys and values are percent-encoded in a query string or a form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Enc {
    /// Keys (and their brackets) percent-encoded, as PHP's `http_build_query` writes them.
    pub keys: bool,
    /// Values percent-encoded; otherwise written raw (`&`, `=` and `%` in them included).
    pub values: bool,
    /// Spaces as `+` (else `%20`) where encoded.
    pub plus: bool,
}

/// One call as a client makes it.
#[derive(Debug, Clone)]
pub struct Call {
    pub cred: Cred,
    pub verb: &'static str,
    /// The method part of the path (`user.get`, `USER.Get.json/`, `no.such`, `a/b`).
    pub method: String,
    pub params: Vec<(String, P)>,
    pub carry: Carry,
    pub enc: Enc,
    /// Raw pieces appended to the query string (`&&`, `=x`, `a[=1`, `%FF=1`).
    pub junk: Vec<String>,
}

/// A request as bytes.
#[derive(Clone)]
pub struct Wire {
    pub verb: &'static str,
    /// Path and query, valid for `http::Uri`.
    pub target: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

/// At most `max` bytes of `s` (on a character boundary), with how much was left out.
pub fn clip(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut cut = max;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}… ({} more bytes)", &s[..cut], s.len() - cut)
}

impl fmt::Display for Wire {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "  {} {}", self.verb, clip(&self.target, 3_000))?;
        for (k, v) in &self.headers {
            writeln!(f, "  {k}: {v}")?;
        }
        let n = self.body.len();
        match std::str::from_utf8(&self.body) {
            Ok(text) => write!(f, "  body ({n} bytes): {}", clip(&format!("{text:?}"), 3_000)),
            Err(_) => {
                write!(
                    f,
                    "  body ({n} bytes, not UTF-8): b\"{}\"",
                    clip(&self.body.escape_ascii().to_string(), 3_000)
                )
            }
        }
    }
}

// For the predicates of `KNOWN_FINDINGS`, which is empty while every finding is fixed.
#[allow(dead_code)]
impl Wire {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Whether the target or the body holds `needle`.
    pub fn holds(&self, needle: &str) -> bool {
        self.target.contains(needle) || self.body.windows(needle.len().max(1)).any(|w| w == needle.as_bytes())
    }
}

// ---------------------------------------------------------------------------------------------
// Writing calls.

/// The bytes `http::Uri` takes as they are in a path and in a query (computed from its parser,
/// so that whatever it refuses is percent-encoded and every generated target is valid).
fn uri_bytes() -> &'static ([bool; 256], [bool; 256]) {
    static TABLE: OnceLock<([bool; 256], [bool; 256])> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut path = [false; 256];
        let mut query = [false; 256];
        for b in 0..0x80u8 {
            let ok = |prefix: &[u8]| {
                let mut t = prefix.to_vec();
                t.extend_from_slice(&[b'a', b, b'b']);
                Uri::try_from(t.as_slice()).is_ok_and(|u| u.fragment_free(&t))
            };
            path[b as usize] = b != b'?' && b != b'#' && b != b'%' && ok(b"/rest/");
            query[b as usize] = b != b'#' && ok(b"/rest/x?");
        }
        (path, query)
    })
}

trait FragmentFree {
    fn fragment_free(&self, written: &[u8]) -> bool;
}

impl FragmentFree for Uri {
    /// Whether the URI kept every byte (a fragment or a dropped byte would change what the
    /// server sees).
    fn fragment_free(&self, written: &[u8]) -> bool {
        self.path_and_query().is_some_and(|pq| pq.as_str().as_bytes() == written)
    }
}

/// The longest target generated (`http::Uri` refuses 64 KB and more).
const URI_MAX: usize = 60_000;

fn pct(out: &mut String, b: u8) {
    out.push_str(&format!("%{b:02X}"));
}

/// Percent-encodes every byte a path may not hold raw.
pub fn path_safe(s: &[u8]) -> String {
    let (path, _) = uri_bytes();
    let mut out = String::new();
    for &b in s {
        if path[b as usize] {
            out.push(b as char);
        } else {
            pct(&mut out, b);
        }
    }
    out
}

/// Percent-encodes every byte a query string may not hold raw (`%` stays: it is the encoding).
pub fn query_safe(s: &[u8]) -> String {
    let (_, query) = uri_bytes();
    let mut out = String::new();
    for &b in s {
        if query[b as usize] || b == b'%' {
            out.push(b as char);
        } else {
            pct(&mut out, b);
        }
    }
    out
}

/// `application/x-www-form-urlencoded` encoding of text: everything but `[A-Za-z0-9-._~]`.
fn form_encode(s: &str, plus: bool) -> String {
    let mut out = String::new();
    for &b in s.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => out.push(b as char),
            b' ' if plus => out.push('+'),
            _ => pct(&mut out, b),
        }
    }
    out
}

/// The PHP pairs a parameter becomes: `key[a][]=…`; (key, value, value already encoded).
fn php_pairs(key: &str, p: &P, out: &mut Vec<(String, String, bool)>) {
    match p {
        P::Text(s) => out.push((key.to_string(), s.clone(), false)),
        P::Wire(s) => out.push((key.to_string(), s.clone(), true)),
        P::Number(n) => out.push((key.to_string(), n.clone(), false)),
        P::Bool(b) => out.push((key.to_string(), if *b { "Y" } else { "N" }.to_string(), false)),
        P::Null => out.push((key.to_string(), String::new(), false)),
        P::List(items) => {
            for item in items {
                php_pairs(&format!("{key}[]"), item, out);
            }
        }
        P::Map(entries) => {
            for (k, v) in entries {
                php_pairs(&format!("{key}[{k}]"), v, out);
            }
        }
    }
}

/// Parameters as a PHP query string.
pub fn query_string(params: &[(String, P)], enc: Enc) -> String {
    let mut pairs = Vec::new();
    for (k, v) in params {
        php_pairs(k, v, &mut pairs);
    }
    pairs
        .iter()
        .map(|(k, v, wire)| {
            let k = if enc.keys { form_encode(k, enc.plus) } else { k.clone() };
            let v = if *wire || !enc.values { v.clone() } else { form_encode(v, enc.plus) };
            format!("{k}={v}")
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn json_value(p: &P, out: &mut String) {
    match p {
        P::Text(s) | P::Wire(s) => json_string(s, out),
        P::Number(n) => out.push_str(n),
        P::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        P::Null => out.push_str("null"),
        P::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json_value(item, out);
            }
            out.push(']');
        }
        P::Map(entries) => json_object(entries, out),
    }
}

fn json_object(entries: &[(String, P)], out: &mut String) {
    out.push('{');
    for (i, (k, v)) in entries.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        json_string(k, out);
        out.push(':');
        json_value(v, out);
    }
    out.push('}');
}

/// Parameters as a JSON object (written by hand: duplicate keys and number literals that
/// serde_json would not write stay as generated).
pub fn json_body(params: &[(String, P)]) -> String {
    let mut out = String::new();
    json_object(params, &mut out);
    out
}

impl Call {
    /// The call as bytes, with `w`'s credentials.
    pub fn render(&self, w: &World) -> Wire {
        let token = w.app_token.clone();
        let hook_parts = |name: &str| -> (String, String) {
            let path = w.hook(name);
            let rest = path.trim_start_matches("/rest/");
            let (user, token) = rest.split_once('/').unwrap_or((rest, ""));
            (user.to_string(), token.to_string())
        };
        let base = match self.cred {
            Cred::Hook(name) => w.hook(name).to_string(),
            Cred::HookOtherUser => format!("/rest/{}/{}", w.ann, hook_parts("bob").1),
            Cred::HookBadUser(user) => {
                format!("/rest/{}/{}", path_safe(user.as_bytes()), hook_parts("admin").1)
            }
            Cred::HookBadToken => "/rest/1/0123456789abcdefghijklmnopqrstuv".to_string(),
            _ => "/rest".to_string(),
        };
        let path = format!("{base}/{}", path_safe(self.method.as_bytes()));
        let mut params = self.params.clone();
        match self.cred {
            Cred::AppParam => params.push(("auth".into(), P::Text(token.clone()))),
            Cred::AppAccessToken => params.push(("access_token".into(), P::Text(token.clone()))),
            Cred::BadToken => params.push(("auth".into(), P::Text("nope0123456789".into()))),
            _ => {}
        }
        let mut headers = Vec::new();
        if self.cred == Cred::AppBearer {
            headers.push(("authorization", format!("Bearer {token}")));
        }
        let (in_query, in_body): (&[Param], &[Param]) = match self.carry {
            Carry::Query => (&params, &[]),
            Carry::Split(n) => params.split_at(n.min(params.len())),
            Carry::Form(_) | Carry::Json(_) => (&[], &params),
        };
        let mut query = query_string(in_query, self.enc);
        if self.cred == Cred::AppQuery {
            query = format!("auth={token}&{query}");
        }
        for j in &self.junk {
            query.push_str(j);
        }
        let body = match self.carry {
            Carry::Query => Vec::new(),
            Carry::Form(ct) => {
                if !ct.is_empty() {
                    headers.push(("content-type", ct.to_string()));
                }
                query_string(in_body, self.enc).into_bytes()
            }
            Carry::Json(ct) => {
                headers.push(("content-type", ct.to_string()));
                json_body(in_body).into_bytes()
            }
            Carry::Split(_) => {
                headers.push(("content-type", "application/json".to_string()));
                json_body(in_body).into_bytes()
            }
        };
        let query = query_safe(query.as_bytes());
        // `http::Uri` takes at most 64 KB (a server refuses longer ones before the router): a
        // longer query string travels as a form body instead.
        if path.len() + query.len() > URI_MAX && body.is_empty() {
            headers.retain(|(k, _)| *k != "content-type");
            headers.push(("content-type", "application/x-www-form-urlencoded".to_string()));
            return Wire { verb: "POST", target: path, headers, body: query.into_bytes() };
        }
        let mut query = query;
        if path.len() + query.len() > URI_MAX {
            // Both a query string and a body: the query is cut at a pair.
            let mut cut = URI_MAX.saturating_sub(path.len());
            while !query.is_char_boundary(cut) {
                cut -= 1;
            }
            query.truncate(query[..cut].rfind('&').unwrap_or(0));
        }
        let target = if query.is_empty() { path } else { format!("{path}?{query}") };
        Wire { verb: self.verb, target, headers, body }
    }
}

/// A change to a request's bytes.
#[derive(Debug, Clone)]
pub enum Edit {
    /// Cut the body at this fraction (0..=255 of its length).
    Truncate(u8),
    /// Insert bytes at this fraction of the body.
    Insert(u8, Vec<u8>),
    /// Flip bits of the byte at this fraction.
    Flip(u8, u8),
    /// Replace the body.
    Body(Vec<u8>),
    /// Set (or, with `None`, remove) the content type.
    ContentType(Option<String>),
    /// Replace the query string with these bytes (encoded where a URI needs it).
    Query(Vec<u8>),
    /// Replace the method part of the path with these bytes (percent-encoded).
    Method(Vec<u8>),
    /// Set `Authorization`.
    Authorization(String),
    /// Replace the path (the query string stays).
    Path(&'static str),
}

/// A near-valid call with its bytes mangled.
#[derive(Debug, Clone)]
pub struct Mangled {
    pub call: Call,
    pub edits: Vec<Edit>,
}

fn at(fraction: u8, len: usize) -> usize {
    len * fraction as usize / 255
}

impl Mangled {
    pub fn render(&self, w: &World) -> Wire {
        let mut wire = self.call.render(w);
        for e in &self.edits {
            match e {
                Edit::Truncate(f) => wire.body.truncate(at(*f, wire.body.len())),
                Edit::Insert(f, bytes) => {
                    let i = at(*f, wire.body.len());
                    wire.body.splice(i..i, bytes.iter().copied());
                }
                Edit::Flip(f, x) => {
                    let len = wire.body.len();
                    if len > 0 {
                        wire.body[at(*f, len - 1)] ^= x;
                    }
                }
                Edit::Body(b) => wire.body = b.clone(),
                Edit::ContentType(ct) => {
                    wire.headers.retain(|(k, _)| *k != "content-type");
                    if let Some(ct) = ct {
                        wire.headers.push(("content-type", ct.clone()));
                    }
                }
                Edit::Query(q) => {
                    let path = wire.target.split('?').next().unwrap_or("").to_string();
                    let mut encoded = String::new();
                    let (_, query) = uri_bytes();
                    for &b in q {
                        // Mostly raw where a URI allows it; `%` raw too, so broken escapes get through.
                        if query[b as usize] || b == b'%' {
                            encoded.push(b as char);
                        } else {
                            pct(&mut encoded, b);
                        }
                    }
                    wire.target = format!("{path}?{encoded}");
                }
                Edit::Method(m) => {
                    let (path, query) = wire.target.split_once('?').unwrap_or((&wire.target, ""));
                    // Only the method part changes: the path stays under `/rest`, never a web page's.
                    let base = path
                        .rsplit_once('/')
                        .map(|(b, _)| b)
                        .filter(|b| b.starts_with("/rest"))
                        .unwrap_or("/rest");
                    let mut t = format!("{base}/");
                    for &b in m {
                        pct(&mut t, b);
                    }
                    if !query.is_empty() {
                        t.push('?');
                        t.push_str(query);
                    }
                    wire.target = t;
                }
                Edit::Path(p) => {
                    let query = wire.target.split_once('?').map(|(_, q)| q.to_string());
                    wire.target = match query {
                        Some(q) => format!("{p}?{q}"),
                        None => p.to_string(),
                    };
                }
                Edit::Authorization(v) => {
                    wire.headers.retain(|(k, _)| *k != "authorization");
                    wire.headers.push(("authorization", v.clone()));
                }
            }
        }
        wire
    }
}

/// A multipart body through a working credential.
#[derive(Debug, Clone)]
pub struct Multipart {
    pub call: Call,
    pub content_type: String,
    pub body: Vec<u8>,
}

impl Multipart {
    pub fn render(&self, w: &World) -> Wire {
        let mut wire = self.call.render(w);
        wire.headers.retain(|(k, _)| *k != "content-type");
        wire.headers.push(("content-type", self.content_type.clone()));
        wire.body = self.body.clone();
        wire
    }
}
