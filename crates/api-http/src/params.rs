//! Request parameters the way Bitrix24 clients send them (spec §1.2): PHP-style query strings
//! with nested bracket keys (raw or percent-encoded), JSON bodies, both merged; and lenient
//! reading of untyped values.

use std::collections::HashMap;

use percent_encoding::percent_decode_str;
use serde_json::{Map, Value};

/// How deep bracket keys may nest (`a[b][c]` is 2); deeper keys are dropped, as PHP does.
pub const MAX_NESTING: usize = 32;

/// How many `key=value` pairs one query string or form may hold (PHP's `max_input_vars` is
/// 1,000; a batch of 50 commands with long filters needs more).
pub const MAX_PAIRS: usize = 10_000;

/// The parameters of one call: a JSON object, whatever encoding they came in.
pub type Params = Map<String, Value>;

/// A node of a PHP array while it is being built: keys in insertion order, and the next index
/// `[]` appends at.
#[derive(Default)]
struct PhpArray {
    entries: Vec<(String, PhpValue)>,
    /// Where each key is in `entries` (a linear search made large inputs quadratic).
    index: HashMap<String, usize>,
    next_index: u64,
}

enum PhpValue {
    Leaf(String),
    Array(PhpArray),
}

impl PhpArray {
    fn slot(&mut self, key: Option<String>) -> &mut PhpValue {
        let key = match key {
            Some(k) => {
                if let Ok(n) = k.parse::<u64>() {
                    self.next_index = self.next_index.max(n.saturating_add(1));
                }
                k
            }
            None => {
                let k = self.next_index.to_string();
                self.next_index = self.next_index.saturating_add(1);
                k
            }
        };
        let at = match self.index.get(&key) {
            Some(&i) => i,
            None => {
                self.index.insert(key.clone(), self.entries.len());
                self.entries.push((key, PhpValue::Leaf(String::new())));
                self.entries.len() - 1
            }
        };
        &mut self.entries[at].1
    }

    fn into_json(self) -> Value {
        // PHP's json_encode: a list when the keys are exactly 0..n-1, an object otherwise.
        let is_list = self.entries.iter().enumerate().all(|(i, (k, _))| *k == i.to_string());
        if is_list && !self.entries.is_empty() {
            Value::Array(self.entries.into_iter().map(|(_, v)| v.into_json()).collect())
        } else {
            Value::Object(self.entries.into_iter().map(|(k, v)| (k, v.into_json())).collect())
        }
    }
}

impl PhpValue {
    fn into_json(self) -> Value {
        match self {
            PhpValue::Leaf(s) => Value::String(s),
            PhpValue::Array(a) => a.into_json(),
        }
    }
}

/// `application/x-www-form-urlencoded` decoding: `+` is a space, then `%XX`.
fn decode(s: &str) -> String {
    percent_decode_str(&s.replace('+', " ")).decode_utf8_lossy().into_owned()
}

/// Splits a decoded key into its base name and bracket segments (`None` for `[]`). A key whose
/// brackets do not close is taken literally, as PHP does.
fn key_path(key: &str) -> (String, Vec<Option<String>>) {
    let Some(open) = key.find('[').filter(|&i| i > 0 && key[i..].contains(']')) else {
        return (key.to_string(), Vec::new());
    };
    let (base, mut rest) = key.split_at(open);
    let mut path = Vec::new();
    while let Some(inner) = rest.strip_prefix('[') {
        let Some(close) = inner.find(']') else { break };
        let seg = &inner[..close];
        path.push((!seg.is_empty()).then(|| seg.to_string()));
        rest = &inner[close + 1..];
    }
    (base.to_string(), path)
}

/// Parses a query string (or a form body) the way PHP's `parse_str` does:
/// `FILTER[>ID]=10&UF_DEPARTMENT[]=1&UF_DEPARTMENT[]=5` gives
/// `{"FILTER":{">ID":"10"},"UF_DEPARTMENT":["1","5"]}`. Every leaf is a string.
///
/// # Errors
/// A description when there are more than [`MAX_PAIRS`] pairs.
pub fn parse_query(query: &str) -> Result<Params, String> {
    let pairs = query.split('&').filter(|p| !p.is_empty()).map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (decode(k), decode(v))
    });
    from_pairs(pairs)
}

/// Builds parameters from decoded `key=value` pairs, nesting bracket keys as [`parse_query`]
/// does (a multipart form's parts arrive this way).
///
/// # Errors
/// A description when there are more than [`MAX_PAIRS`] pairs.
pub fn from_pairs(pairs: impl Iterator<Item = (String, String)>) -> Result<Params, String> {
    let mut root = PhpArray::default();
    for (n, (key, value)) in pairs.enumerate() {
        if n >= MAX_PAIRS {
            return Err(format!("more than {MAX_PAIRS} parameters"));
        }
        let key = key.trim_start();
        if key.is_empty() {
            continue;
        }
        let (base, path) = key_path(key);
        // PHP drops keys nested deeper than max_input_nesting_level; so do we, before the
        // recursive conversion below could meet them.
        if path.len() > MAX_NESTING {
            continue;
        }
        let mut node = root.slot(Some(base));
        for seg in path {
            if !matches!(node, PhpValue::Array(_)) {
                *node = PhpValue::Array(PhpArray::default());
            }
            let PhpValue::Array(arr) = node else { break };
            node = arr.slot(seg);
        }
        *node = PhpValue::Leaf(value);
    }
    Ok(match root.into_json() {
        Value::Object(m) => m,
        Value::Array(items) => items.into_iter().enumerate().map(|(i, v)| (i.to_string(), v)).collect(),
        _ => Params::new(),
    })
}

/// Merges `body` over `query`: a key in both takes the body's value (spec §1.2).
pub fn merge(mut query: Params, body: Params) -> Params {
    for (k, v) in body {
        query.insert(k, v);
    }
    query
}

/// The value of a top-level key, matched without regard to case (spec §6.4).
pub fn get_ci<'a>(params: &'a Params, key: &str) -> Option<&'a Value> {
    params.get(key).or_else(|| params.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v))
}

/// A lenient boolean: JSON `true`/`false`, numbers, and the words clients send (`Y`/`N`,
/// `1`/`0`, `true`/`false`, `True`/`False`, `on`/`off`, empty). `None` for anything else.
pub fn as_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Null => Some(false),
        Value::Number(n) => n.as_f64().map(|f| f != 0.0),
        Value::String(s) => {
            let s = s.trim();
            if ["y", "1", "true", "on", "yes"].iter().any(|w| s.eq_ignore_ascii_case(w)) {
                Some(true)
            } else if s.is_empty()
                || ["n", "0", "false", "off", "no", "none"].iter().any(|w| s.eq_ignore_ascii_case(w))
            {
                Some(false)
            } else {
                None
            }
        }
        _ => None,
    }
}

/// A lenient integer: a JSON integer, or a string of one.
pub fn as_int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A scalar as text (numbers and booleans too); `None` for arrays and objects.
pub fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "Y" } else { "N" }.to_string()),
        Value::Null => Some(String::new()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn php_brackets_raw_and_encoded() {
        let raw = parse_query("FILTER[NAME]=Ann&FILTER[>ID]=10&UF_DEPARTMENT[]=1&UF_DEPARTMENT[]=5&select[]=ID&fields[PHONE][0][VALUE]=1").unwrap();
        assert_eq!(
            Value::Object(raw.clone()),
            json!({"FILTER":{"NAME":"Ann",">ID":"10"},"UF_DEPARTMENT":["1","5"],"select":["ID"],"fields":{"PHONE":[{"VALUE":"1"}]}})
        );
        let encoded = parse_query("FILTER%5BNAME%5D=Ann&FILTER%5B%3EID%5D=10&UF_DEPARTMENT%5B%5D=1&UF_DEPARTMENT%5B%5D=5&select%5B%5D=ID&fields%5BPHONE%5D%5B0%5D%5BVALUE%5D=1").unwrap();
        assert_eq!(raw, encoded);
    }

    #[test]
    fn plus_is_space_and_oddities() {
        let p = parse_query("NAME=Ann+Lee&a=%2B1&&empty=&novalue&x[=1&k[a]=1&k[a]=2&").unwrap();
        assert_eq!(
            Value::Object(p),
            json!({"NAME":"Ann Lee","a":"+1","empty":"","novalue":"","x[":"1","k":{"a":"2"}})
        );
        // Explicit and appended indexes mix as in PHP.
        let p = parse_query("l[3]=a&l[]=b").unwrap();
        assert_eq!(Value::Object(p), json!({"l":{"3":"a","4":"b"}}));
        let p = parse_query("l[0]=a&l[]=b").unwrap();
        assert_eq!(Value::Object(p), json!({"l":["a","b"]}));
    }

    #[test]
    fn deep_nesting_is_dropped_not_followed() {
        let deep = format!("a{}=1&b=2", "[x]".repeat(100_000));
        assert_eq!(Value::Object(parse_query(&deep).unwrap()), json!({"b": "2"}));
        let ok = format!("a{}=1", "[x]".repeat(MAX_NESTING));
        assert!(parse_query(&ok).unwrap().contains_key("a"));
        let many = "a[]=1&".repeat(MAX_PAIRS + 1);
        assert!(parse_query(&many).is_err());
        let huge = format!("k[{}]=a&k[]=b", u64::MAX);
        assert!(parse_query(&huge).is_ok(), "no overflow");
    }

    #[test]
    fn merge_body_wins_and_keys_ignore_case() {
        let m = merge(parse_query("a=1&b=2").unwrap(), parse_query("b=3").unwrap());
        assert_eq!(Value::Object(m.clone()), json!({"a":"1","b":"3"}));
        assert_eq!(get_ci(&m, "A"), Some(&json!("1")));
        assert_eq!(get_ci(&m, "c"), None);
    }

    #[test]
    fn lenient_values() {
        for t in [json!(true), json!(1), json!("Y"), json!("y"), json!("1"), json!("True"), json!("true")] {
            assert_eq!(as_bool(&t), Some(true), "{t}");
        }
        for f in [
            json!(false),
            json!(0),
            json!("N"),
            json!("0"),
            json!("False"),
            json!(""),
            json!(null),
            json!("None"),
        ] {
            assert_eq!(as_bool(&f), Some(false), "{f}");
        }
        assert_eq!(as_bool(&json!("maybe")), None);
        assert_eq!(as_bool(&json!([1])), None);
        assert_eq!(as_int(&json!("42")), Some(42));
        assert_eq!(as_int(&json!(42)), Some(42));
        assert_eq!(as_int(&json!(4.0)), Some(4));
        assert_eq!(as_int(&json!("4x")), None);
    }
}
