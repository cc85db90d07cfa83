//! What the fuzzer generates: near-valid Bitrix24 calls (the real methods, field codes and
//! filter prefixes, PHP brackets raw and percent-encoded, JSON bodies, batches with
//! `$result[...]` references, dates, `FIND` text, huge numbers, invalid UTF-8, empty keys),
//! writes that get through to the store (their mutations down to raw bytes are in `mangling`).

use profile_core::field::UserField;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

use crate::wire::{query_string, Call, Carry, Cred, Enc, P};

/// Every method Cardfile serves, `batch`, and names it does not.
pub const METHODS: &[&str] = &[
    "user.get",
    "user.search",
    "user.current",
    "user.fields",
    "user.add",
    "user.update",
    "user.admin",
    "user.access",
    "department.get",
    "department.fields",
    "department.add",
    "department.update",
    "department.delete",
    "scope",
    "methods",
    "method.get",
    "server.time",
    "profile",
    "app.info",
    "batch",
];

const OTHER_METHODS: &[&str] = &[
    "user.userfield.list",
    "im.user.status.set",
    "event.bind",
    "placement.list",
    "no.such",
    "",
    ".json",
    "user.get.json.json",
    "user..get",
    "a/b",
    "1/2/3",
    "user.get/extra",
    "%",
    "..",
];

fn method_name() -> BoxedStrategy<String> {
    prop_oneof![
        12 => select(METHODS).prop_map(String::from),
        2 => select(METHODS).prop_map(|m| m.to_uppercase()),
        2 => (select(METHODS), select(&[".json", "/", ".json/", ".JSON", "//", " "][..]))
            .prop_map(|(m, s)| format!("{m}{s}")),
        2 => select(OTHER_METHODS).prop_map(String::from),
        1 => any::<String>(),
    ]
    .boxed()
}

/// Methods for batch commands (no `/`).
fn command_method() -> BoxedStrategy<String> {
    prop_oneof![
        12 => select(METHODS).prop_map(String::from),
        2 => select(METHODS).prop_map(|m| format!(" {} ", m.to_uppercase())),
        1 => select(&["no.such", "", "user.get.json", "batch.json", "user.userfield.list"][..]).prop_map(String::from),
        1 => "[a-z.?&=\\[\\]$%]{0,12}",
    ]
    .boxed()
}

fn field_codes() -> Vec<&'static str> {
    UserField::ALL.iter().map(|f| f.code()).collect()
}

pub fn field_code() -> BoxedStrategy<String> {
    prop_oneof![
        10 => select(field_codes()).prop_map(String::from),
        2 => select(field_codes()).prop_map(|c| c.to_lowercase()),
        2 => select(&[
            "TIME_ZONE_OFFSET", "UF_USR_X", "UF_*", "*", "", " ", " ID", "ID ", "PASSWORD",
            "UF_DEPARTMENT_NAME", "FIND", "NAME_SEARCH", "ID\u{0}", "İD", "ＩＤ",
        ][..])
        .prop_map(String::from),
        1 => "[A-Z_]{1,14}",
    ]
    .boxed()
}

/// Every spelling of every prefix of spec §2.5, and near misses.
const PREFIXES: &[&str] = &[
    "", "", "", "=", "!", "!=", ">", ">=", "<", "<=", "%", "!%", "=%", "%=", "!=%", "!%=", "@", "!@", " >",
    ">>", "<>", "=>", "=<", "!!", "%%", "@@", "!@!", "*", "?", "~", "> =", "≥",
];

pub fn filter_key() -> BoxedStrategy<String> {
    (select(PREFIXES), field_code(), select(&["", "", "", " ", "\t"][..]))
        .prop_map(|(p, f, ws)| format!("{ws}{p}{f}"))
        .boxed()
}

pub fn int_text() -> BoxedStrategy<String> {
    prop_oneof![
        6 => (-2i64..8).prop_map(|i| i.to_string()),
        2 => any::<i64>().prop_map(|i| i.to_string()),
        1 => any::<u64>().prop_map(|i| i.to_string()),
        1 => (1_000_000u64..1_000_050).prop_map(|i| i.to_string()),
        3 => select(&[
            "18446744073709551615", "18446744073709551616", "9223372036854775807",
            "9223372036854775808", "-9223372036854775808", "-9223372036854775809", "4294967295",
            "4294967296", "2147483647", "2147483648", "-2147483649", "99999999999999999999999999999999",
            "1e3", "1.0", "1.5", "-0", "+1", " 3 ", "0x10", "007", "١٢", "NaN", "inf", "-1", " ", "",
            "1_000", "3abc",
        ][..])
        .prop_map(String::from),
    ]
    .boxed()
}

/// JSON number literals (valid JSON syntax, some out of every integer type's range).
fn json_number() -> BoxedStrategy<String> {
    prop_oneof![
        4 => (-2i64..8).prop_map(|i| i.to_string()),
        2 => any::<i64>().prop_map(|i| i.to_string()),
        1 => any::<u64>().prop_map(|i| i.to_string()),
        1 => any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| format!("{f:e}")),
        3 => select(&[
            "18446744073709551616", "-9223372036854775809", "4294967296", "1e400", "-1e400", "1e308",
            "1.7976931348623157e308", "4.9e-324", "-0", "-0.0", "0.5", "2.0", "1E2", "3.0e0",
            "100000000000000000000000000000000000000", "9007199254740993",
        ][..])
        .prop_map(String::from),
    ]
    .boxed()
}

pub fn date_text() -> BoxedStrategy<String> {
    prop_oneof![
        4 => select(&[
            "2024-01-01", "2024-02-29", "2023-02-29", "0000-01-01", "0001-01-01", "9999-12-31",
            "10000-01-01", "+262143-12-31", "-262144-01-01", "262144-01-01", "+10000-01-01 00:00:00",
            "-0001-01-01", "2024-13-01", "2024-00-10", "2024-1-1", "01.02.2024", "31.12.9999",
            "00.00.0000", "29.02.2023", "1.1.1", "2024-01-01T00:00:00+00:00", "2024-01-01T00:00:00Z",
            "2024-01-01T25:00:00Z", "2024-01-01T00:00:00+99:99", "2024-01-01T00:00:00+24:00",
            "2024-01-01 23:59:60", "2016-12-31T23:59:60Z", "2024-01-01T00:00:00.123456789Z",
            "2024-01-01T00:00:00.99999999999999999999Z", "1970-01-01T00:00:00-23:59",
            "9999-12-31T23:59:59-23:59", "0000-01-01T00:00:00+23:59", "2024-01-01T00:00:00\u{2212}05:00",
            "2024-01-01T", "2024-01-01x", "2024-01-01 ", " 2024-01-01", "2024-01-01T00:00",
            "2024-01-01 00:00:00", "2024-01-01T00:00:00", "2024-01-01 24:00:00", "1900-01-01",
            "2038-01-19T03:14:08Z", "1901-12-13T20:45:52Z", "2024-06-01T12:00:00+05:30",
        ][..])
        .prop_map(String::from),
        2 => (0i32..10_000, 0u32..14, 0u32..33).prop_map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}")),
        2 => (-300_000i32..300_000, 1u32..13, 1u32..29, 0u32..25, 0u32..61, 0u32..62, select(&["", "Z", "+00:00", "-14:00", "+23:59", "z", "+0000"][..]), select(&["T", " ", "t"][..]))
            .prop_map(|(y, mo, d, h, mi, s, z, sep)| format!("{y:04}-{mo:02}-{d:02}{sep}{h:02}:{mi:02}:{s:02}{z}")),
        1 => (1u32..32, 1u32..13, 0i32..10_000).prop_map(|(d, m, y)| format!("{d:02}.{m:02}.{y:04}")),
        1 => "[0-9+-]{0,8}-[0-9]{0,3}-[0-9]{0,3}[T ]?[0-9:.+Z-]{0,14}",
    ]
    .boxed()
}

fn bool_word() -> BoxedStrategy<String> {
    select(
        &[
            "Y",
            "N",
            "y",
            "n",
            "1",
            "0",
            "true",
            "false",
            "True",
            "FALSE",
            "on",
            "off",
            "yes",
            "no",
            "none",
            "None",
            "",
            " ",
            "maybe",
            "2",
            "-1",
            "Y ",
            "TRUE\u{0}",
        ][..],
    )
    .prop_map(String::from)
    .boxed()
}

const WORDS: &[&str] = &[
    "ann",
    "Ann",
    "lee",
    "bob",
    "Stone",
    "ada",
    "admin",
    "eve",
    "sales",
    "acme",
    "engineer",
    "account",
    "manager",
    "José",
    "Straße",
    "Ørsted",
    "ü",
    "e\u{301}",
    "\u{301}",
    "İstanbul",
    "ﬁ",
    "😀",
    "中文",
    "ß",
    "a",
    "b",
    "c",
    "d",
    "e",
    "f",
    "g",
    "h",
    "i",
    "j",
];

fn find_text() -> BoxedStrategy<String> {
    prop_oneof![
        3 => select(&[
            "ann", "Ann Lee", "ada@acme.test", "@", "@@", "a@", "@b", "<ada@acme.test>,", "+1 555",
            "555-0100", "+1 (555) 0100", "+", "++1234", "1234", "123", "0000000000000000000000000",
            "", " ", "  a  ", "a b c d e f g h", "a b c d e f g h i", "1 2 3 4 5 6 7 8 9", "%", "_",
            "%a%", "*", "\"", "'", "\\", "\u{0}", "\u{FEFF}ann", "\u{E000}ada", "\u{E001}555",
            "\u{E002}", "ANN", "Ǆ", "ﬃ", "\u{10FFFF}", "e\u{301}\u{301}\u{301}",
        ][..])
        .prop_map(String::from),
        2 => vec(select(WORDS), 0..11).prop_map(|w| w.join(" ")),
        2 => "[a-zA-Z0-9@+ ().,;<>_%-]{0,24}",
        1 => "\\PC{0,16}",
        1 => any::<String>(),
        1 => (1usize..1_100).prop_map(|n| "a".repeat(n)),
    ]
    .boxed()
}

fn email() -> BoxedStrategy<String> {
    prop_oneof![
        3 => select(&[
            "ada@acme.test", "ann@acme.test", "new@acme.test", "NEW@ACME.TEST", "not-an-email", "@",
            "a@", "@b", "a@b", "a@@b.c", "a b@c.d", "a@b..c", " x@y.z ", "ü@ä.de", "\"q\"@x.y", "",
            "a@[127.0.0.1]", "a+b@c.d", "a@b.c\u{0}",
        ][..])
        .prop_map(String::from),
        2 => "[a-z.+_-]{0,12}@[a-z.-]{0,12}",
        1 => (200usize..300).prop_map(|n| format!("{}@acme.test", "x".repeat(n))),
        1 => (0u32..1_000).prop_map(|i| format!("fuzz{i}@acme.test")),
    ]
    .boxed()
}

pub fn text() -> BoxedStrategy<String> {
    prop_oneof![
        3 => any::<String>(),
        2 => "[a-zA-Z ]{0,20}",
        1 => (select(&["x", "ü", "😀", " ", "\u{0}", "%", "&", "=", "[", "]"][..]),
              select(&[24usize, 25, 26, 49, 50, 51, 254, 255, 256, 999, 1000, 1001, 4000][..]))
            .prop_map(|(c, n)| c.repeat(n)),
        1 => select(&["Europe/Berlin", "UTC", "Mars/Olympus", "M", "F", "X", "m", "+1 555 0100", "555", "12ab", "https://x.test/a.png", "javascript:alert(1)", "<b>x</b>"][..]).prop_map(String::from),
    ]
    .boxed()
}

/// Keys of batch commands (also the first segment of references to them).
const COMMAND_KEYS: &[&str] =
    &["0", "1", "2", "me", "a", "b", "x y", "", "[", "]", "$result", "ü", "00", "-1"];

const REF_SEGMENTS: &[&str] = &[
    "ID",
    "0",
    "1",
    "UF_DEPARTMENT",
    "result",
    "NAME",
    "",
    "99999999999999999999",
    "-1",
    " 0",
    "next",
    "ID][",
];

fn reference() -> BoxedStrategy<String> {
    prop_oneof![
        4 => (select(COMMAND_KEYS), vec(select(REF_SEGMENTS), 0..4), select(&["", "", "x", " ", "]", "["][..]))
            .prop_map(|(k, segs, tail)| {
                let mut s = format!("$result[{k}]");
                for seg in segs {
                    s.push_str(&format!("[{seg}]"));
                }
                s.push_str(tail);
                s
            }),
        2 => select(&[
            "$result", "$result[", "$result[]", "$result[][]", "$result]", "$$result[0]", "x$result[0]y$result[1]z",
            "$RESULT[0]", "$result[0][", "$result[me][ID]$result[me][ID]", "$result[me]", "$result[0][0][0][0][0][0]",
            "$result[\u{0}]", "$result[ü][ü]",
        ][..])
        .prop_map(String::from),
        1 => (select(&["$result[0]", "$result[me]", "$result[a][ID] "][..]), 90usize..110).prop_map(|(r, n)| r.repeat(n)),
    ]
    .boxed()
}

fn wire_junk() -> BoxedStrategy<String> {
    select(
        &[
            "%",
            "%2",
            "%zz",
            "%FF",
            "%C3%28",
            "%E2%82",
            "%00",
            "%F0%9F%98%80",
            "+",
            "%2B",
            "%26",
            "%3D",
            "%5B",
            "%5D",
            "%5B%5D",
            "%25",
            "%%",
            "%u00e9",
            "%C0%AF",
            "%ED%A0%80",
            "%EF%BF%BF",
            "a%",
            "%%41",
            "%4",
            "%0A",
        ][..],
    )
    .prop_map(String::from)
    .boxed()
}

fn leaf() -> BoxedStrategy<P> {
    prop_oneof![
        4 => int_text().prop_map(P::Text),
        2 => json_number().prop_map(P::Number),
        3 => date_text().prop_map(P::Text),
        2 => bool_word().prop_map(P::Text),
        1 => any::<bool>().prop_map(P::Bool),
        1 => Just(P::Null),
        2 => find_text().prop_map(P::Text),
        1 => email().prop_map(P::Text),
        2 => text().prop_map(P::Text),
        1 => reference().prop_map(P::Text),
        2 => wire_junk().prop_map(P::Wire),
        1 => field_code().prop_map(P::Text),
    ]
    .boxed()
}

/// Keys inside nested arrays: numbers (huge ones too), empty, names, brackets.
fn inner_key() -> BoxedStrategy<String> {
    prop_oneof![
        4 => (0u32..4).prop_map(|i| i.to_string()),
        2 => field_code(),
        1 => filter_key(),
        1 => select(&["", " ", "18446744073709551615", "18446744073709551616", "-1", "[", "]", "][", "a]b", "VALUE", "VALUE_TYPE", "%5B"][..]).prop_map(String::from),
        1 => any::<String>(),
    ]
    .boxed()
}

fn value() -> BoxedStrategy<P> {
    leaf()
        .prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                2 => vec(inner.clone(), 0..6).prop_map(P::List),
                1 => vec((inner_key(), inner), 0..6).prop_map(P::Map),
            ]
        })
        .boxed()
}

/// A filter: an object of conditions, or something that is not one.
fn filter_value() -> BoxedStrategy<P> {
    let condition = prop_oneof![
        6 => leaf(),
        2 => vec(leaf(), 0..5).prop_map(P::List),
        1 => (1_000usize..1_003, int_text()).prop_map(|(n, v)| P::List(vec![P::Text(v); n])),
        1 => value(),
    ];
    prop_oneof![
        8 => vec((filter_key(), condition), 0..5).prop_map(P::Map),
        1 => select(&["", "x", "ID"][..]).prop_map(|s| P::Text(s.into())),
        1 => vec(leaf(), 0..3).prop_map(P::List),
        1 => Just(P::Null),
    ]
    .boxed()
}

fn select_value() -> BoxedStrategy<P> {
    let name = prop_oneof![4 => field_code(), 1 => select(&["*", "UF_*", "uf_*", "", "ID,NAME", "PASSWORD"][..]).prop_map(String::from)];
    prop_oneof![
        4 => vec(name.clone().prop_map(P::Text), 0..6).prop_map(P::List),
        1 => name.prop_map(P::Text),
        1 => value(),
    ]
    .boxed()
}

fn order_value() -> BoxedStrategy<P> {
    let dir = select(&["ASC", "DESC", "asc", "desc", "", "UP", " DESC "][..]).prop_map(|s| P::Text(s.into()));
    prop_oneof![
        3 => vec((field_code(), dir.clone()), 0..4).prop_map(P::Map),
        1 => dir,
        1 => value(),
    ]
    .boxed()
}

fn spelling(name: &'static str) -> BoxedStrategy<String> {
    prop_oneof![
        6 => Just(name.to_string()),
        2 => Just(name.to_lowercase()),
        1 => Just(name.to_uppercase()),
        1 => Just(format!(" {name}")),
    ]
    .boxed()
}

/// One top-level parameter of a call.
pub fn param() -> BoxedStrategy<(String, P)> {
    prop_oneof![
        6 => (spelling("FILTER"), filter_value()),
        3 => (filter_key(), leaf()),
        3 => (spelling("select"), select_value()),
        2 => (spelling("order"), order_value()),
        1 => (spelling("sort"), prop_oneof![field_code().prop_map(P::Text), leaf()]),
        3 => (spelling("start"), prop_oneof![int_text().prop_map(P::Text), json_number().prop_map(P::Number), leaf()]),
        3 => (spelling("ID"), prop_oneof![int_text().prop_map(P::Text), json_number().prop_map(P::Number), value()]),
        2 => (select(&["ADMIN_MODE", "halt", "EXTRANET", "full", "cardfile.subdepartments"][..]).prop_map(String::from),
              prop_oneof![bool_word().prop_map(P::Text), leaf()]),
        2 => (select(&["FIND", "NAME_SEARCH", "UF_DEPARTMENT_NAME"][..]).prop_map(String::from), find_text().prop_map(P::Text)),
        4 => (field_code(), prop_oneof![3 => leaf(), 1 => value()]),
        2 => (spelling("EMAIL"), email().prop_map(P::Text)),
        2 => (select(&[
            "NAME", "PARENT", "SORT", "UF_HEAD", "HEAD", "SONET_GROUP_ID", "ACCESS", "scope", "name",
            "MESSAGE_TEXT", "UF_DEPARTMENT", "cmd", "PERSONAL_BIRTHDAY", "UF_EMPLOYMENT_DATE",
        ][..]).prop_map(String::from), value()),
        1 => (select(&["auth", "access_token", "AUTH"][..]).prop_map(String::from),
              prop_oneof![Just(P::Text(String::new())), text().prop_map(P::Text), value()]),
        1 => (prop_oneof![
                Just(String::new()), Just(" ".to_string()), Just("[]".to_string()), Just("[a]".to_string()),
                Just("a]".to_string()), Just("a[".to_string()), Just("a[b".to_string()), Just("a[]]".to_string()),
                Just("bx24_request_id".to_string()), Just("__order".to_string()),
                (1usize..40).prop_map(|n| format!("a{}", "[x]".repeat(n))),
                any::<String>(),
             ], value()),
    ]
    .boxed()
}

fn cred() -> BoxedStrategy<Cred> {
    prop_oneof![
        10 => select(&["admin", "bob", "bob_basic", "bob_brief", "bob_none", "eve"][..]).prop_map(Cred::Hook),
        1 => Just(Cred::HookOtherUser),
        1 => select(&["x1", "-1", "0", "4294967296", "", " 1", "1.0", "٣"][..]).prop_map(Cred::HookBadUser),
        1 => Just(Cred::HookBadToken),
        2 => Just(Cred::AppQuery),
        2 => Just(Cred::AppParam),
        1 => Just(Cred::AppAccessToken),
        2 => Just(Cred::AppBearer),
        1 => Just(Cred::BadToken),
        1 => Just(Cred::Nothing),
    ]
    .boxed()
}

fn carry() -> BoxedStrategy<Carry> {
    prop_oneof![
        4 => Just(Carry::Query),
        2 => select(&[
            "application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=UTF-8",
            "", "text/plain", "application/octet-stream",
        ][..]).prop_map(Carry::Form),
        4 => select(&["application/json", "application/json; charset=utf-8", "APPLICATION/JSON", "application/jsonp"][..])
            .prop_map(Carry::Json),
        1 => (0usize..4).prop_map(Carry::Split),
    ]
    .boxed()
}

pub fn enc() -> BoxedStrategy<Enc> {
    (any::<bool>(), prop::bool::weighted(0.7), any::<bool>())
        .prop_map(|(keys, values, plus)| Enc { keys, values, plus })
        .boxed()
}

pub fn junk() -> BoxedStrategy<Vec<String>> {
    vec(
        select(
            &[
                "&",
                "&&",
                "&=",
                "&=x",
                "&[]=1",
                "&a[=1",
                "&a]=1",
                "&a[b=1",
                "&%FF=1",
                "&%5B%5D=1",
                "&a=%FF",
                "&FILTER=",
                "&FILTER[]=",
                "&FILTER[][]=1",
                "&start=1&start=2",
                "&select=",
                "&a[][][]=",
                "&&&&",
                "&%00=%00",
                "&+=+",
                "&%20FILTER[ID]=1",
            ][..],
        )
        .prop_map(String::from),
        0..3,
    )
    .boxed()
}

fn verb() -> BoxedStrategy<&'static str> {
    prop_oneof![6 => Just("POST"), 4 => Just("GET"), 1 => select(&["PUT", "DELETE", "PATCH", "OPTIONS"][..])]
        .boxed()
}

/// A value a field of a write might take: mostly of a plausible kind.
fn field_value() -> BoxedStrategy<P> {
    prop_oneof![
        4 => "[A-Za-z][A-Za-z '-]{0,12}".prop_map(P::Text),
        2 => date_text().prop_map(P::Text),
        1 => "\\+?[0-9][0-9 ().-]{3,14}".prop_map(P::Text),
        1 => select(&["M", "F", "", "Europe/Berlin", "UTC", "Y", "N", "1", "0"][..]).prop_map(|s| P::Text(s.into())),
        1 => vec((1i64..6).prop_map(|i| P::Number(i.to_string())), 0..3).prop_map(P::List),
        1 => leaf(),
    ]
    .boxed()
}

fn fields(n: std::ops::Range<usize>) -> BoxedStrategy<Vec<(String, P)>> {
    vec((field_code(), field_value()), n).boxed()
}

fn small_id() -> BoxedStrategy<P> {
    prop_oneof![
        6 => (0i64..8).prop_map(|i| P::Number(i.to_string())),
        3 => (0i64..8).prop_map(|i| P::Text(i.to_string())),
        1 => leaf(),
    ]
    .boxed()
}

fn department_params() -> BoxedStrategy<Vec<(String, P)>> {
    let parent = prop_oneof![4 => (1i64..4).prop_map(|i| Some(P::Number(i.to_string()))), 1 => prop::option::of(small_id())];
    (
        prop_oneof![
            6 => "[A-Za-z][A-Za-z ]{0,16}".prop_map(|n| Some(P::Text(n))),
            1 => prop::option::of(leaf()),
        ],
        parent,
        prop::option::of(prop_oneof![int_text().prop_map(P::Text), json_number().prop_map(P::Number)]),
        prop::option::of((select(&["UF_HEAD", "HEAD"][..]), small_id())),
    )
        .prop_map(|(name, parent, sort, head)| {
            let mut p = Vec::new();
            p.extend(name.map(|n| ("NAME".to_string(), n)));
            p.extend(parent.map(|x| ("PARENT".to_string(), x)));
            p.extend(sort.map(|x| ("SORT".to_string(), x)));
            p.extend(head.map(|(k, x)| (k.to_string(), x)));
            p
        })
        .boxed()
}

/// A write that is well formed but for a few of its values: `user.add`, `user.update` and the
/// department writes, so that writes get past the decoders and into the store.
fn write_params() -> BoxedStrategy<(&'static str, Vec<(String, P)>)> {
    prop_oneof![
        3 => (
            // A small pool: the same address twice (in one batch, or at once) must be a conflict.
            prop_oneof![3 => (0u32..200).prop_map(|i| format!("fuzz{i}@acme.test")), 1 => email()],
            prop_oneof![
                4 => vec((1i64..4).prop_map(|i| P::Number(i.to_string())), 1..3).prop_map(P::List),
                1 => field_value(),
            ],
            fields(0..3),
            prop::option::of(vec(small_id(), 0..3).prop_map(P::List)),
        )
            .prop_map(|(e, departments, mut f, groups)| {
                f.insert(0, ("UF_DEPARTMENT".into(), departments));
                f.insert(0, ("EMAIL".into(), P::Text(e)));
                f.extend(groups.map(|g| ("SONET_GROUP_ID".to_string(), g)));
                ("user.add", f)
            }),
        3 => (small_id(), fields(1..4)).prop_map(|(id, mut f)| {
            f.insert(0, ("ID".into(), id));
            ("user.update", f)
        }),
        2 => department_params().prop_map(|p| ("department.add", p)),
        2 => (small_id(), department_params()).prop_map(|(id, mut p)| {
            p.insert(0, ("ID".into(), id));
            ("department.update", p)
        }),
        1 => small_id().prop_map(|id| ("department.delete", vec![("ID".into(), id)])),
    ]
    .boxed()
}

fn write_cred() -> BoxedStrategy<Cred> {
    prop_oneof![
        6 => Just(Cred::Hook("admin")),
        2 => Just(Cred::Hook("bob")),
        1 => Just(Cred::Hook("eve")),
        1 => Just(Cred::AppParam),
        1 => Just(Cred::AppBearer),
    ]
    .boxed()
}

/// A near-valid call of any method; one in four a write that is well formed but for a few
/// values.
pub fn call() -> BoxedStrategy<Call> {
    let any_call = (cred(), verb(), method_name(), vec(param(), 0..7), carry(), enc(), junk()).prop_map(
        |(cred, verb, method, params, carry, enc, junk)| Call {
            cred,
            verb,
            method,
            params,
            carry,
            enc,
            junk,
        },
    );
    let write =
        (write_cred(), write_params(), carry(), enc()).prop_map(|(cred, (method, params), carry, enc)| {
            Call { cred, verb: "POST", method: method.to_string(), params, carry, enc, junk: Vec::new() }
        });
    prop_oneof![3 => any_call, 1 => write].boxed()
}

/// A call of a method that only reads, through a webhook, its parameters in the query string.
pub fn read_call() -> BoxedStrategy<Call> {
    let reads = &[
        "user.get",
        "user.search",
        "user.current",
        "user.fields",
        "department.get",
        "department.fields",
        "scope",
        "methods",
        "method.get",
        "server.time",
        "profile",
        "user.admin",
        "user.access",
        "app.info",
    ][..];
    (select(&["admin", "bob", "bob_brief", "eve"][..]), select(reads), vec(param(), 0..7), enc(), junk())
        .prop_map(|(hook, method, params, enc, junk)| Call {
            cred: Cred::Hook(hook),
            verb: "GET",
            method: method.to_string(),
            params,
            carry: Carry::Query,
            enc,
            junk,
        })
        .boxed()
}

/// One batch command: `method?query`, its query written as clients write it.
pub fn command() -> BoxedStrategy<String> {
    let any_command =
        (command_method(), vec(param(), 0..4), enc(), select(&["?", "?", "?", "", "??", "?&"][..])).prop_map(
            |(m, params, enc, q)| {
                let query = query_string(&params, enc);
                if query.is_empty() && q == "?" {
                    m
                } else {
                    format!("{m}{q}{query}")
                }
            },
        );
    let write =
        (write_params(), enc()).prop_map(|((m, params), enc)| format!("{m}?{}", query_string(&params, enc)));
    prop_oneof![3 => any_command, 1 => write].boxed()
}

fn commands() -> BoxedStrategy<P> {
    let keyed = prop_oneof![
        10 => vec((select(COMMAND_KEYS).prop_map(String::from), command().prop_map(P::Text)), 0..6),
        1 => (49usize..53).prop_map(|n| (0..n).map(|i| (format!("c{i}"), P::Text("server.time".into()))).collect()),
        1 => vec((select(COMMAND_KEYS).prop_map(String::from), value()), 0..4),
    ];
    prop_oneof![
        6 => keyed.prop_map(P::Map),
        3 => vec(command().prop_map(P::Text), 0..6).prop_map(P::List),
        1 => prop_oneof![
            Just(P::Null),
            command().prop_map(P::Text),
            Just(P::Map(Vec::new())),
            (49usize..53).prop_map(|n| P::List(vec![P::Text("scope".into()); n])),
        ],
    ]
    .boxed()
}

/// A `batch` call: `cmd` (an object, a list, or something else), `halt`, other parameters.
pub fn batch() -> BoxedStrategy<Call> {
    (
        cred(),
        spelling("cmd"),
        commands(),
        prop::option::of(prop_oneof![bool_word().prop_map(P::Text), leaf()]),
        vec(param(), 0..2),
        carry(),
        enc(),
        select(&["batch", "batch", "batch", "BATCH", "batch.json", "Batch/"][..]),
    )
        .prop_map(|(cred, cmd_key, cmds, halt, mut params, carry, enc, method)| {
            params.insert(0, (cmd_key, cmds));
            if let Some(h) = halt {
                params.push(("halt".into(), h));
            }
            Call { cred, verb: "POST", method: method.to_string(), params, carry, enc, junk: Vec::new() }
        })
        .boxed()
}
