//! Mutations for the fuzzer: near-valid calls and batches of `cases` with their bytes edited
//! (truncated, inserted, flipped), raw query strings, and multipart bodies.

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

use crate::cases::{
    batch, call, command, date_text, enc, field_code, filter_key, int_text, junk, param, text, METHODS,
};
use crate::wire::{query_string, Call, Carry, Cred, Edit, Enc, Mangled, Multipart};

fn header_text() -> BoxedStrategy<String> {
    "[ -~]{0,40}".boxed()
}

/// Paths around `/rest/` (none of them a web page's).
const PATHS: &[&str] = &[
    "/rest",
    "/rest/",
    "/rest//",
    "/rest/%2F",
    "/rest/%2e%2e/user.get",
    "//rest/user.get",
    "/rest/./user.get",
    "/rest/../rest/user.get",
    "/REST/user.get",
    "/rest/user.get/",
    "/rest/1/x/user.get/",
    "/rest/1//user.get",
    "/rest/%FF/%FE/user.get",
    "/rest/1/%00/user.get",
    "/rest/user.get%00",
    "/rest/batch",
    "/rest/1/2/3/4/5",
    "/rest/%20user.get",
    "/rest/user%2Eget",
];

/// Bytes that break JSON, UTF-8 or a query in one stroke.
const INSERTED: &[&[u8]] = &[
    b"\xff",
    b"\xc3",
    b"\xed\xa0\x80",
    b"\"",
    b"\\",
    b"\\u",
    b"\\ud800",
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b":",
    b"\0",
    b"&",
    b"=",
    b"%",
    b"%FF",
    b"[[[[[[[[",
    b"nul",
    b"1e999999",
    b"--",
];

fn edit() -> BoxedStrategy<Edit> {
    let inserted = prop_oneof![
        3 => vec(any::<u8>(), 1..8),
        2 => select(INSERTED).prop_map(<[u8]>::to_vec),
    ];
    prop_oneof![
        2 => any::<u8>().prop_map(Edit::Truncate),
        3 => (any::<u8>(), inserted).prop_map(|(at, b)| Edit::Insert(at, b)),
        2 => (any::<u8>(), 1u8..=255).prop_map(|(at, x)| Edit::Flip(at, x)),
        2 => prop_oneof![
            3 => vec(any::<u8>(), 0..300),
            1 => (1usize..3_000).prop_map(|n| b"[".repeat(n)),
            1 => (1usize..300).prop_map(|n| format!("{}1{}", "{\"a\":".repeat(n), "}".repeat(n)).into_bytes()),
            1 => (1usize..200).prop_map(|n| format!("{{\"FILTER\":{}1{}}}", "[".repeat(n), "]".repeat(n)).into_bytes()),
            1 => Just(b" \t\r\n ".to_vec()),
            1 => Just(b"null".to_vec()),
            1 => Just(b"[]".to_vec()),
            1 => Just(b"\"cmd\"".to_vec()),
            1 => Just(b"\xef\xbb\xbf{}".to_vec()),
        ].prop_map(Edit::Body),
        2 => prop::option::of(prop_oneof![
            3 => select(&[
                "application/json", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                "text/plain", "application/json; charset=latin1", "application/jsonx", "", " application/json",
                "MULTIPART/mixed", "application/*", "*/*",
            ][..]).prop_map(String::from),
            1 => header_text(),
        ]).prop_map(Edit::ContentType),
        2 => vec(any::<u8>(), 0..120).prop_map(Edit::Query),
        1 => vec(any::<u8>(), 0..24).prop_map(Edit::Method),
        1 => select(PATHS).prop_map(Edit::Path),
        1 => prop_oneof![
            select(&["Bearer ", "bearer", "Bearer  x", "Basic YTpi", "Basic", "Bearer \t x"][..]).prop_map(String::from),
            header_text(),
        ].prop_map(Edit::Authorization),
    ]
    .boxed()
}

/// Near-valid calls and batches with their bytes changed, down to raw bytes.
pub fn mangled() -> BoxedStrategy<Mangled> {
    (prop_oneof![3 => call(), 1 => batch()], vec(edit(), 1..4))
        .prop_map(|(call, edits)| Mangled { call, edits })
        .boxed()
}

pub fn multipart() -> BoxedStrategy<Multipart> {
    let cred = prop_oneof![
        4 => select(&["admin", "bob", "bob_brief", "bob_none", "eve"][..]).prop_map(Cred::Hook),
        1 => Just(Cred::AppQuery),
        1 => Just(Cred::AppBearer),
    ];
    let part = (
        prop_oneof![
            filter_key().prop_map(|k| format!("FILTER[{k}]")),
            field_code(),
            Just("file".to_string())
        ],
        prop_oneof![text(), date_text(), int_text()],
        prop::option::of(select(&["a.png", "a.txt", "", "../../etc/passwd"][..])),
    );
    (
        cred,
        select(METHODS),
        select(&["B", "----WebKitFormBoundary7MA4YWxkTrZu0gW", "x y", "", "\"q\""][..]),
        select(&["multipart/form-data", "multipart/mixed", "MULTIPART/FORM-DATA", "multipart/"][..]),
        vec(part, 0..4),
        prop::bool::weighted(0.8),
    )
        .prop_map(|(cred, method, boundary, kind, parts, closed)| {
            let mut body = Vec::new();
            for (name, value, file) in &parts {
                body.extend_from_slice(
                    format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"").as_bytes(),
                );
                if let Some(f) = file {
                    body.extend_from_slice(
                        format!("; filename=\"{f}\"\r\nContent-Type: application/octet-stream").as_bytes(),
                    );
                }
                body.extend_from_slice(format!("\r\n\r\n{value}\r\n").as_bytes());
            }
            if closed || parts.is_empty() {
                body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
            }
            let call = Call {
                cred,
                verb: "POST",
                method: method.to_string(),
                params: Vec::new(),
                carry: Carry::Query,
                enc: Enc { keys: false, values: true, plus: false },
                junk: Vec::new(),
            };
            Multipart { call, content_type: format!("{kind}; boundary={boundary}"), body }
        })
        .boxed()
}

/// Strings that look like query strings: PHP pairs of the vocabularies above, raw or encoded,
/// with junk; for the decoder alone.
pub fn query_text() -> BoxedStrategy<String> {
    prop_oneof![
        3 => (vec(param(), 0..8), enc(), junk()).prop_map(|(p, e, j)| format!("{}{}", query_string(&p, e), j.concat())),
        1 => command(),
        1 => any::<String>(),
        1 => "[a-z\\[\\]%&=+0-9A-F]{0,60}",
    ]
    .boxed()
}
