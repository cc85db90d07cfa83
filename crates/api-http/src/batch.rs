//! `batch` (spec §1.7, sdk-wire-notes 8): up to 50 commands `method?query`, run in order, with
//! `$result[key][...]` references to earlier results, `halt`, and the five `result_*` maps always
//! present; the batch itself answers 200 whatever its commands do.

use std::time::{Instant, SystemTime};

use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use profile_core::usecase::credentials::Authenticated;
use profile_core::usecase::Ctx;
use profile_core::CoreError;
use serde_json::{Map, Value};

use crate::methods;
use crate::params::{self, Params};
use crate::reply::{self, ApiError, Reply};
use crate::transport;
use crate::AppState;

/// At most this many commands.
pub const MAX_COMMANDS: usize = 50;

/// The commands, keyed as given (a list gets the keys `0..n`).
fn commands(p: &Params) -> Result<Vec<(String, String)>, ApiError> {
    let text = |k: &str, v: &Value| {
        params::as_text(v)
            .ok_or_else(|| ApiError::argument(&format!("cmd[{k}]"), "expected \"method?query\""))
    };
    match params::get_ci(p, "cmd") {
        Some(Value::Object(m)) => m.iter().map(|(k, v)| Ok((k.clone(), text(k, v)?))).collect(),
        Some(Value::Array(a)) => {
            a.iter().enumerate().map(|(i, v)| Ok((i.to_string(), text(&i.to_string(), v)?))).collect()
        }
        Some(_) => Err(ApiError::argument("cmd", "expected a list or an object of commands")),
        None => Err(ApiError::argument("cmd", "is required")),
    }
}

/// Whether any command may be a long read ([`methods::may_be_long`]): then the batch waits
/// for a long-read slot as such a read alone does. Commands that cannot parse are not long.
pub(crate) fn may_be_long(p: &Params) -> bool {
    let Ok(cmds) = commands(p) else { return false };
    cmds.iter().any(|(_, command)| {
        let (method, query) = command.split_once('?').unwrap_or((command.as_str(), ""));
        let method = method.trim().to_ascii_lowercase();
        // A reference may put anything in a key or a value: judged before substitution, a
        // command holding one counts as long.
        if query.contains("$result") {
            return true;
        }
        match method.as_str() {
            // Whether these are long depends on their parameters; a batch's FIND is counted
            // as long whatever the store.
            "user.get" | "user.search" => {
                params::parse_query(query).is_ok_and(|sub| methods::may_be_long(&method, &sub, false))
            }
            m => methods::may_be_long(m, &Params::new(), false),
        }
    })
}

/// A map as PHP's `json_encode` writes an array: `[]` when empty, a list when the keys are
/// exactly `0..n-1`, an object otherwise.
fn php_map(entries: Vec<(String, Value)>) -> Value {
    if entries.iter().enumerate().all(|(i, (k, _))| *k == i.to_string()) {
        Value::Array(entries.into_iter().map(|(_, v)| v).collect())
    } else {
        Value::Object(entries.into_iter().collect())
    }
}

/// Follows `[a][b]...` from `$result` into the earlier results.
fn resolve<'a>(results: &'a Map<String, Value>, path: &[String]) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    let mut v = results.get(first)?;
    for seg in rest {
        v = match v {
            Value::Array(a) => a.get(seg.parse::<usize>().ok()?)?,
            Value::Object(m) => m.get(seg)?,
            _ => return None,
        };
    }
    Some(v)
}

/// Finds `$result[..][..]` references in `s`: (start, end, path).
fn references(s: &str) -> Vec<(usize, usize, Vec<String>)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(at) = s[from..].find("$result[").map(|i| from + i) {
        let mut path = Vec::new();
        let mut pos = at + "$result".len();
        while s[pos..].starts_with('[') {
            let Some(close) = s[pos..].find(']') else { break };
            path.push(s[pos + 1..pos + close].to_string());
            pos += close + 1;
        }
        if path.is_empty() {
            from = at + 1;
            continue;
        }
        out.push((at, pos, path));
        from = pos;
    }
    out
}

/// References one command may resolve.
pub const MAX_REFERENCES: usize = 100;
/// Bytes (as JSON) that one command's references may expand to: each reference copies an
/// earlier result, so without a bound a short command could ask for gigabytes.
pub const MAX_EXPANSION: usize = 4 << 20;

/// What a command's references have cost so far.
#[derive(Default)]
struct Budget {
    references: usize,
    bytes: usize,
}

impl Budget {
    fn exceeded(&self) -> bool {
        self.references > MAX_REFERENCES || self.bytes > MAX_EXPANSION
    }

    /// Charges one reference to `v`; false once the budget is spent (nothing more is copied).
    fn charge(&mut self, v: &Value) -> bool {
        self.references += 1;
        if self.exceeded() {
            return false;
        }
        self.bytes += serde_json::to_vec(v).map_or(0, |b| b.len());
        !self.exceeded()
    }
}

/// Replaces references: a value that is one whole reference takes the referenced value (which
/// may be a list); references inside text are spliced in as text. Unresolved references become
/// empty, as PHP's nulls do. Stops copying once `budget` is spent.
fn substitute(v: &Value, results: &Map<String, Value>, budget: &mut Budget) -> Value {
    match v {
        Value::String(s) => {
            let refs = references(s);
            match refs.as_slice() {
                [] => v.clone(),
                [(0, end, path)] if *end == s.len() => match resolve(results, path) {
                    Some(r) if budget.charge(r) => r.clone(),
                    _ => Value::Null,
                },
                _ => {
                    let mut out = String::new();
                    let mut last = 0;
                    for (start, end, path) in &refs {
                        out.push_str(&s[last..*start]);
                        if let Some(r) = resolve(results, path).filter(|r| budget.charge(r)) {
                            out.push_str(&params::as_text(r).unwrap_or_default());
                        }
                        last = *end;
                    }
                    out.push_str(&s[last..]);
                    Value::String(out)
                }
            }
        }
        Value::Array(a) => Value::Array(a.iter().map(|x| substitute(x, results, budget)).collect()),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| (text_substitute(k, results, budget), substitute(x, results, budget)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn text_substitute(s: &str, results: &Map<String, Value>, budget: &mut Budget) -> String {
    match substitute(&Value::String(s.to_string()), results, budget) {
        Value::String(t) => t,
        other => params::as_text(&other).unwrap_or_default(),
    }
}

/// Runs a batch.
pub(crate) fn run(state: &AppState, auth: &Authenticated, p: &Params) -> Result<Reply, ApiError> {
    let cmds = commands(p)?;
    if cmds.len() > MAX_COMMANDS {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "ERROR_BATCH_LENGTH_EXCEEDED",
            format!("Max batch length exceeded: at most {MAX_COMMANDS} commands"),
        ));
    }
    let halt = match params::get_ci(p, "halt") {
        None => false,
        Some(v) => params::as_bool(v).ok_or_else(|| ApiError::argument("halt", "expected a boolean"))?,
    };
    // One transaction for the whole batch (decisions.md "Transport and durability"): a failing
    // command changes nothing, and the batch is acknowledged after one commit.
    // A batch of reads only (SDK bulk readers, the JS SDK's start-up batch) needs no write lock:
    // each command reads on its own.
    let writes = cmds.iter().any(|(_, c)| {
        let method = c.split_once('?').map_or(c.as_str(), |(m, _)| m).trim().to_ascii_lowercase();
        methods::find(&method).is_some_and(|m| m.writes)
    });
    if !writes {
        return Ok(execute(state, state.ctx(), auth, &cmds, halt, None).reply());
    }
    // First without a savepoint per command, which is most of what a small command costs. A
    // command fails before it writes (validation, access, conflicts) almost always; one that
    // failed after writing cannot be undone alone, so then the batch runs again from the start,
    // a savepoint per command. Nothing of the first run is kept or answered.
    for optimistic in [true, false] {
        let unit = if optimistic { state.db.optimistic_batch() } else { state.db.batch() }
            .map_err(|e| ApiError::from(CoreError::from(e)))?;
        let ctx = Ctx { db: unit.as_database(), ..state.ctx() };
        let done = execute(state, ctx, auth, &cmds, halt, Some(&*unit));
        if unit.must_rerun() {
            continue;
        }
        unit.commit().map_err(|e| ApiError::from(CoreError::from(e)))?;
        return Ok(done.reply());
    }
    Err(ApiError::from(CoreError::from(profile_core::StoreError::Backend(
        "the batch could not be run with a savepoint per command".into(),
    ))))
}

/// What the commands answered, as the five `result_*` maps.
#[derive(Default)]
struct Executed {
    ok: Vec<(String, Value)>,
    errors: Vec<(String, Value)>,
    totals: Vec<(String, Value)>,
    nexts: Vec<(String, Value)>,
    times: Vec<(String, Value)>,
}

impl Executed {
    fn reply(self) -> Reply {
        let mut out = Map::new();
        out.insert("result".into(), php_map(self.ok));
        out.insert("result_error".into(), php_map(self.errors));
        out.insert("result_total".into(), php_map(self.totals));
        out.insert("result_next".into(), php_map(self.nexts));
        out.insert("result_time".into(), php_map(self.times));
        Reply::of(Value::Object(out))
    }
}

/// Runs the commands in order; stops at the first error under `halt`, and as soon as `unit`
/// must run again.
fn execute(
    state: &AppState,
    ctx: Ctx<'_>,
    auth: &Authenticated,
    cmds: &[(String, String)],
    halt: bool,
    unit: Option<&dyn profile_core::ports::Batch>,
) -> Executed {
    let mut results = Map::new();
    let mut done = Executed::default();
    for (key, command) in cmds {
        let started = DateTime::<Utc>::from(SystemTime::now());
        let clock = Instant::now();
        let (method, query) = command.split_once('?').unwrap_or((command.as_str(), ""));
        let method = method.trim().to_ascii_lowercase();
        let outcome = if method == methods::BATCH {
            Err(ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "ERROR_BATCH_METHOD_NOT_ALLOWED",
                "Method is not allowed for batch usage",
            ))
        } else {
            match params::parse_query(query) {
                Err(e) => Err(ApiError::argument(&format!("cmd[{key}]"), e)),
                Ok(mut sub) => {
                    sub.shift_remove("auth");
                    sub.shift_remove("access_token");
                    let mut budget = Budget::default();
                    match substitute(&Value::Object(sub), &results, &mut budget) {
                        Value::Object(_) if budget.exceeded() => Err(ApiError::argument(
                            &format!("cmd[{key}]"),
                            format!(
                                "$result references may expand to at most {MAX_REFERENCES} values and {MAX_EXPANSION} bytes a command"
                            ),
                        )),
                        // A file would be decoded inside the batch's unit of work, holding the
                        // writers' lock: files go with the method itself.
                        Value::Object(sub) if takes_files(&method) && carries_file(&sub) => Err(ApiError::argument(
                            &format!("cmd[{key}]"),
                            "a batch takes no files; upload with the method itself",
                        )),
                        Value::Object(sub) => transport::metered_call(state, ctx, auth, &method, &sub),
                        _ => Err(ApiError::argument(&format!("cmd[{key}]"), "bad parameters")),
                    }
                }
            }
        };
        if unit.is_some_and(|u| u.must_rerun()) {
            break;
        }
        let finished = started + chrono::Duration::from_std(clock.elapsed()).unwrap_or_default();
        done.times.push((key.clone(), reply::time_object(started, finished)));
        match outcome {
            Ok(r) => {
                if let Some(t) = r.total {
                    done.totals.push((key.clone(), Value::from(t)));
                }
                if let Some(n) = r.next {
                    done.nexts.push((key.clone(), Value::from(n)));
                }
                let value = r.value();
                results.insert(key.clone(), value.clone());
                done.ok.push((key.clone(), value));
            }
            Err(e) => {
                done.errors.push((key.clone(), e.body()));
                if halt {
                    break;
                }
            }
        }
    }
    done
}

/// Whether the method reads files at all (others ignore a parameter that looks like one, as
/// they do outside a batch).
fn takes_files(method: &str) -> bool {
    methods::UPLOADS.iter().any(|m| m.eq_ignore_ascii_case(method))
}

/// Whether a command's parameters upload a file (`PERSONAL_PHOTO` or `BACKGROUND` as a list or
/// an object other than a removal).
fn carries_file(p: &Params) -> bool {
    ["PERSONAL_PHOTO", "BACKGROUND"].iter().any(|k| match crate::params::get_ci(p, k) {
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(m)) => crate::params::get_ci(m, "remove").is_none(),
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn references_resolve_whole_and_spliced() {
        let results = json!({"me": {"ID": "7", "UF_DEPARTMENT": [3, 4]}, "list": [{"ID": "9"}]});
        let Value::Object(results) = results else { unreachable!() };
        let v = json!({
            "ID": "$result[me][ID]",
            "deps": "$result[me][UF_DEPARTMENT]",
            "text": "id=$result[list][0][ID]!",
            "$result[me][ID]": "key",
            "missing": "$result[nope][0]",
            "plain": "no refs [here]"
        });
        assert_eq!(
            substitute(&v, &results, &mut Budget::default()),
            json!({"ID": "7", "deps": [3, 4], "text": "id=9!", "7": "key", "missing": null, "plain": "no refs [here]"})
        );
    }

    #[test]
    fn a_batch_is_long_when_a_command_may_be() {
        let batch = |cmds: &[&str]| {
            let cmd: Map<String, Value> =
                cmds.iter().enumerate().map(|(i, c)| (format!("c{i}"), Value::String((*c).into()))).collect();
            let mut p = Params::new();
            p.insert("cmd".into(), Value::Object(cmd));
            may_be_long(&p)
        };
        assert!(!batch(&["user.add?EMAIL=a%40b.c", "user.get?ID=1", "server.time"]));
        assert!(batch(&["user.search?FIND=ann"]), "a batch's FIND is long");
        assert!(batch(&["user.add?EMAIL=a%40b.c", "user.get?FILTER[%25NAME]=a"]));
        assert!(batch(&["USER.SEARCH?FIND=ann%20bo"]), "two terms are intersected");
        assert!(batch(&["department.get"]));
        assert!(batch(&["user.get?ID=$result[c0]"]), "a reference is not a few IDs");
        assert!(batch(&["user.current", "user.add?EMAIL=a%40b.c&$result[c0][NAME]=x"]), "nor anything else");
        assert!(batch(&["cardfile.user.structure?ID=1"]));
    }

    #[test]
    fn references_have_a_budget() {
        let Value::Object(results) = json!({"a": ["x".repeat(1 << 20)]}) else { unreachable!() };
        let mut b = Budget::default();
        let few = json!({"x": ["$result[a]", "$result[a]"]});
        assert_ne!(substitute(&few, &results, &mut b), json!({"x": [null, null]}));
        assert!(!b.exceeded());
        let mut b = Budget::default();
        let many = Value::Array((0..10).map(|_| json!("$result[a]")).collect());
        let out = substitute(&many, &results, &mut b);
        assert!(b.exceeded(), "ten copies of 1 MB exceed the budget");
        assert!(out.as_array().unwrap().iter().filter(|v| v.is_null()).count() >= 6, "copying stops");
    }

    #[test]
    fn php_maps() {
        assert_eq!(php_map(vec![]), json!([]));
        assert_eq!(php_map(vec![("0".into(), json!(1)), ("1".into(), json!(2))]), json!([1, 2]));
        assert_eq!(php_map(vec![("1".into(), json!(2))]), json!({"1": 2}));
        assert_eq!(php_map(vec![("a".into(), json!(1))]), json!({"a": 1}));
    }
}
