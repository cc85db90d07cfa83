//! `department.*` methods (spec §3).

use profile_core::ids::{DepartmentId, UserId};
use profile_core::query::{PageRequest, FILTER_LIST_MAX};
use profile_core::usecase::departments::{
    self, DepartmentColumn, DepartmentPatch, DepartmentQuery, NewDepartment,
};
use serde_json::{json, Value};

use super::{optional_int, required_int, start, Call};
use crate::params::{self, Params};
use crate::reply::{ApiError, Reply};
use crate::wire;

fn id_of(key: &str, i: i64) -> Result<u32, ApiError> {
    u32::try_from(i).ok().filter(|&i| i > 0).ok_or_else(|| ApiError::argument(key, "expected a positive ID"))
}

/// The values of a `department.get` filter key: one, or a list (IN) of at most
/// [`FILTER_LIST_MAX`] values.
fn values(key: &str, v: &Value) -> Result<Vec<Value>, ApiError> {
    let values: Vec<Value> = match v {
        Value::Array(a) => a.clone(),
        Value::Object(m) => m.values().cloned().collect(),
        Value::Null => return Err(ApiError::argument(key, "expected a value")),
        v => vec![v.clone()],
    };
    if values.len() > FILTER_LIST_MAX {
        return Err(ApiError::argument(key, format!("at most {FILTER_LIST_MAX} values")));
    }
    Ok(values)
}

fn ints(key: &str, v: &Value) -> Result<Vec<i64>, ApiError> {
    values(key, v)?
        .iter()
        .map(|x| params::as_int(x).ok_or_else(|| ApiError::argument(key, "expected integers")))
        .collect()
}

fn ids(key: &str, v: &Value) -> Result<Vec<u32>, ApiError> {
    ints(key, v)?.into_iter().map(|i| id_of(key, i)).collect()
}

/// `department.get`: filters `ID`, `NAME`, `SORT`, `PARENT`, `UF_HEAD` at the top level or in
/// `FILTER`; `sort`/`order`; `start`/`START`; tree order by default.
pub fn get(call: &Call<'_>) -> Result<Reply, ApiError> {
    let p = call.params;
    let filter: &Params = match params::get_ci(p, "FILTER") {
        Some(Value::Object(m)) => m,
        _ => p,
    };
    let mut q = DepartmentQuery::default();
    // A `SORT` that names a column is the sort field; a numeric one filters (spec §3).
    let sort_name =
        params::get_ci(p, "sort").and_then(params::as_text).and_then(|s| DepartmentColumn::from_code(&s));
    for (key, v) in filter {
        match key.to_ascii_uppercase().as_str() {
            "ID" => q.ids = Some(ids(key, v)?.into_iter().map(DepartmentId).collect()),
            "NAME" => {
                q.names = Some(
                    values(key, v)?
                        .iter()
                        .map(|x| params::as_text(x).ok_or_else(|| ApiError::argument(key, "expected text")))
                        .collect::<Result<_, _>>()?,
                )
            }
            "SORT" if sort_name.is_none() => {
                q.sorts = Some(
                    ints(key, v)?
                        .into_iter()
                        .map(|i| i32::try_from(i).map_err(|_| ApiError::argument(key, "out of range")))
                        .collect::<Result<_, _>>()?,
                )
            }
            "PARENT" => q.parents = Some(ids(key, v)?.into_iter().map(DepartmentId).collect()),
            "UF_HEAD" => q.heads = Some(ids(key, v)?.into_iter().map(UserId).collect()),
            _ => {}
        }
    }
    if let Some(col) = sort_name {
        let desc = match params::get_ci(p, "order").and_then(params::as_text) {
            Some(o) if o.eq_ignore_ascii_case("DESC") => true,
            Some(o) if o.eq_ignore_ascii_case("ASC") || o.is_empty() => false,
            None => false,
            Some(_) => return Err(ApiError::argument("order", "expected ASC or DESC")),
        };
        q.sort = Some((col, desc));
    }
    let start = start(p)?;
    q.page = PageRequest::from_start(start)?;
    let page = departments::list_departments(call.ctx, call.actor, &q)?;
    let next = page.next(q.page.start);
    Ok(Reply {
        result: page.items.iter().map(wire::department).collect(),
        raw: None,
        total: page.total,
        next,
    })
}

/// `department.fields`.
pub fn fields(_call: &Call<'_>) -> Result<Reply, ApiError> {
    Ok(Reply::of(json!({
        "ID": "ID",
        "NAME": "Name",
        "SORT": "Sort order",
        "PARENT": "Parent department",
        "UF_HEAD": "Head",
    })))
}

fn name(p: &Params) -> Result<Option<String>, ApiError> {
    match params::get_ci(p, "NAME") {
        None => Ok(None),
        Some(v) => params::as_text(v).map(Some).ok_or_else(|| ApiError::argument("NAME", "expected text")),
    }
}

fn sort_value(p: &Params) -> Result<Option<i32>, ApiError> {
    optional_int(p, "SORT")?
        .map(|s| i32::try_from(s).map_err(|_| ApiError::argument("SORT", "out of range")))
        .transpose()
}

/// `UF_HEAD` (PHPSDK sends `HEAD`): a user ID, or `0`/empty for none.
fn head(p: &Params) -> Result<Option<Option<UserId>>, ApiError> {
    let key = if params::get_ci(p, "UF_HEAD").is_some() { "UF_HEAD" } else { "HEAD" };
    match params::get_ci(p, key) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(Some(None)),
        Some(v) => match params::as_int(v) {
            Some(0) => Ok(Some(None)),
            Some(i) => Ok(Some(Some(UserId(id_of(key, i)?)))),
            None => Err(ApiError::argument(key, "expected a user ID")),
        },
    }
}

/// `department.add`: the new department's ID.
pub fn add(call: &Call<'_>) -> Result<Reply, ApiError> {
    let p = call.params;
    let parent = optional_int(p, "PARENT")?.map(|i| id_of("PARENT", i)).transpose()?.map(DepartmentId);
    let new = NewDepartment {
        name: name(p)?.unwrap_or_default(),
        parent,
        sort: sort_value(p)?,
        head: head(p)?.flatten(),
    };
    let d = departments::add_department(call.ctx, call.actor, new)?;
    Ok(Reply::of(json!(d.id.get())))
}

/// `department.update`.
pub fn update(call: &Call<'_>) -> Result<Reply, ApiError> {
    let p = call.params;
    let id = id_of("ID", required_int(p, "ID")?)?;
    let patch = DepartmentPatch {
        name: name(p)?,
        sort: sort_value(p)?,
        parent: optional_int(p, "PARENT")?.map(|i| id_of("PARENT", i)).transpose()?.map(DepartmentId),
        head: head(p)?,
    };
    departments::update_department(call.ctx, call.actor, DepartmentId(id), patch)?;
    Ok(Reply::of(Value::Bool(true)))
}

/// `department.delete`.
pub fn delete(call: &Call<'_>) -> Result<Reply, ApiError> {
    let id = id_of("ID", required_int(call.params, "ID")?)?;
    departments::delete_department(call.ctx, call.actor, DepartmentId(id))?;
    Ok(Reply::of(Value::Bool(true)))
}
