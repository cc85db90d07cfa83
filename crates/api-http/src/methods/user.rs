//! `user.*` methods (spec §2).

use profile_core::access::{Select, SELECT_MAX};
use profile_core::field::UserField;
use profile_core::ids::{UserId, WorkgroupId};
use profile_core::model::image::{ImagePurpose, ImageSize};
use profile_core::model::user::UserPatch;
use profile_core::query::{
    Condition, FilterKey, FilterTarget, Op, PageRequest, SortKey, UserFilter, UserQuery, COUNTED_PREFIX_MAX,
};
use profile_core::usecase::custom::CustomSelect;
use profile_core::usecase::images::{self, PhotoChange};
use profile_core::usecase::invitations::{self, Invite};
use profile_core::usecase::users;
use profile_core::Value as CoreValue;
use serde_json::{json, Value};

use super::{card, optional_bool, required_int, start, Call};
use crate::params::{self, Params};
use crate::reply::{ApiError, Reply};
use crate::wire;

/// A JSON value as a core value for filters and writes.
fn core_value(key: &str, v: &Value) -> Result<CoreValue, ApiError> {
    let scalar = |v: &Value| -> Option<String> { params::as_text(v) };
    Ok(match v {
        Value::Null => CoreValue::Null,
        Value::Bool(b) => CoreValue::Bool(*b),
        Value::Number(n) => n.as_i64().map_or_else(|| CoreValue::Text(n.to_string()), CoreValue::Int),
        Value::String(s) => CoreValue::Text(s.clone()),
        Value::Array(items) => list(key, items.iter(), scalar)?,
        // A PHP list that arrived with explicit keys (`a[3]=x`) is still a list of values.
        Value::Object(m) => list(key, m.values(), scalar)?,
    })
}

fn list<'a>(
    key: &str,
    items: impl Iterator<Item = &'a Value>,
    scalar: impl Fn(&Value) -> Option<String>,
) -> Result<CoreValue, ApiError> {
    let items: Vec<&Value> = items.collect();
    if items.iter().all(|v| v.as_i64().is_some()) {
        return Ok(CoreValue::IntList(items.iter().filter_map(|v| v.as_i64()).collect()));
    }
    items
        .iter()
        .map(|v| scalar(v).ok_or_else(|| ApiError::argument(key, "expected a list of values")))
        .collect::<Result<Vec<_>, _>>()
        .map(CoreValue::TextList)
}

/// The filter of `user.get`/`user.search`: `FILTER` (any case) when given; otherwise the
/// top-level keys that name a filterable field (others are clients' own and ignored).
fn filter(p: &Params) -> Result<UserFilter, ApiError> {
    let (entries, explicit): (Vec<(&String, &Value)>, bool) = match params::get_ci(p, "FILTER") {
        Some(Value::Object(m)) => (m.iter().collect(), true),
        Some(Value::Array(a)) if a.is_empty() => (Vec::new(), true),
        Some(Value::String(s)) if s.is_empty() => (Vec::new(), true),
        Some(_) => return Err(ApiError::argument("FILTER", "expected an object of conditions")),
        None => (p.iter().collect(), false),
    };
    let mut filter = UserFilter::default();
    for (key, raw) in entries {
        let (op, rest) = profile_core::query::split_prefix(key);
        let name = rest.to_ascii_uppercase();
        if name.starts_with(profile_core::model::custom::PREFIX) {
            let value = core_value(key, raw)?;
            filter.custom.push(profile_core::query::CustomCondition { name, op, value });
            continue;
        }
        match name.as_str() {
            "CARDFILE_ABSENT_ON" => {
                let text = params::as_text(raw).unwrap_or_default();
                let day =
                    text.trim().get(..10).and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
                filter.absent_on = Some(day.ok_or_else(|| {
                    ApiError::argument("CARDFILE_ABSENT_ON", "expected a date as YYYY-MM-DD")
                })?);
                continue;
            }
            "CARDFILE_STATUS" => {
                let codes: Vec<String> = match raw {
                    Value::Array(items) => items.iter().filter_map(params::as_text).collect(),
                    v => params::as_text(v).into_iter().collect(),
                };
                let statuses = codes
                    .iter()
                    .map(|c| profile_core::model::user::PresenceStatus::from_code(c.trim()))
                    .collect::<Option<Vec<_>>>()
                    .filter(|s| !s.is_empty())
                    .ok_or_else(|| {
                        ApiError::argument("CARDFILE_STATUS", "expected online, dnd, away or break")
                    })?;
                filter.statuses = statuses;
                continue;
            }
            _ => {}
        }
        let Some(k) = FilterKey::parse(key) else {
            if explicit {
                return Err(ApiError::argument(&format!("FILTER[{key}]"), "no such filter field"));
            }
            continue;
        };
        match k.target {
            FilterTarget::Find => {
                let text = params::as_text(raw).ok_or_else(|| ApiError::argument("FIND", "expected text"))?;
                filter = filter.with_find(&text)?;
            }
            FilterTarget::DepartmentName => {
                let words =
                    params::as_text(raw).map(|t| profile_core::query::search_words(&t)).unwrap_or_default();
                if words.is_empty() || words.len() > profile_core::query::FIND_MAX_WORDS {
                    return Err(ApiError::argument(
                        "UF_DEPARTMENT_NAME",
                        "expected a department name (at most 8 words)",
                    ));
                }
                filter.department_name = words;
            }
            // `UF_INTERESTS=#tag`: the holders of the tag (a list: of any of them).
            FilterTarget::Field(UserField::UfInterests)
                if matches!(k.op, Op::Eq | Op::In)
                    && params::as_text(raw).is_none_or(|t| !t.trim().is_empty()) =>
            {
                filter = filter.with_interests(&core_value(key, raw)?)?;
            }
            FilterTarget::Field(field) => {
                filter = filter.and(Condition::parse(field, k.op, &core_value(key, raw)?)?);
            }
        }
    }
    Ok(filter)
}

fn direction(key: &str, v: &Value) -> Result<bool, ApiError> {
    match params::as_text(v).map(|s| s.trim().to_ascii_uppercase()).as_deref() {
        Some("ASC") | Some("") => Ok(false),
        Some("DESC") => Ok(true),
        _ => Err(ApiError::argument(key, "expected ASC or DESC")),
    }
}

fn sort_field(key: &str, name: &str) -> Result<UserField, ApiError> {
    UserField::from_code(name.trim()).ok_or_else(|| ApiError::argument(key, format!("no such field {name}")))
}

/// `sort` + `order` strings (any case), or an `order` object `{"ID": "ASC"}`.
fn sort(call: &Call<'_>, p: &Params) -> Result<Vec<SortKey>, ApiError> {
    // A custom field's name (`UF_USR_*`) sorts by its values; any other names a standard field.
    let key = |param: &str, name: &str, desc: bool| -> Result<SortKey, ApiError> {
        if name.trim().to_ascii_uppercase().starts_with(profile_core::model::custom::PREFIX) {
            return Ok(profile_core::usecase::custom::sort_key(call.ctx, call.actor, name, desc)?);
        }
        Ok(SortKey::new(sort_field(param, name)?, desc)?)
    };
    if let Some(Value::Object(m)) = params::get_ci(p, "order") {
        return m.iter().map(|(f, d)| key("order", f, direction("order", d)?)).collect();
    }
    let Some(field) = params::get_ci(p, "sort") else {
        return Ok(Vec::new());
    };
    let name = params::as_text(field).ok_or_else(|| ApiError::argument("sort", "expected a field name"))?;
    if name.trim().is_empty() {
        return Ok(Vec::new());
    }
    let desc = match params::get_ci(p, "order") {
        Some(d) => direction("order", d)?,
        None => false,
    };
    Ok(vec![key("sort", &name, desc)?])
}

/// `select`: a list of at most [`SELECT_MAX`] field names.
fn select(p: &Params) -> Result<Select, ApiError> {
    let names: Vec<&str> = match params::get_ci(p, "select") {
        None => return Ok(Select::All),
        Some(Value::String(s)) => s.split(',').collect(),
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        Some(Value::Object(m)) => m.values().filter_map(Value::as_str).collect(),
        Some(_) => return Err(ApiError::argument("select", "expected a list of field names")),
    };
    if names.len() > SELECT_MAX {
        return Err(ApiError::argument("select", format!("at most {SELECT_MAX} field names")));
    }
    Ok(Select::parse(names))
}

/// The most IDs a query of users may name and still count as short ([`super::may_be_long`]).
const FEW_IDS: usize = 50;

/// Whether a query of users is short whatever the data: it names at most [`FEW_IDS`] users by
/// `ID` (plain equality) and has no `FIND`, so it reads at most that many rows; or, when the
/// store's index counts prefixes (`indexed_find`), it is a `FIND` of one term of at most
/// [`COUNTED_PREFIX_MAX`] characters (or `UF_INTERESTS` of one tag) alone, unsorted, on the
/// first page, which the index answers (the total from its prefix counts, the page from its
/// postings) without reading the users who do not match.
pub(crate) fn short_query(p: &Params, indexed_find: bool) -> bool {
    let filter = match params::get_ci(p, "FILTER") {
        Some(Value::Object(m)) => m,
        Some(_) => return false,
        None => p,
    };
    // A condition on a custom field, an absence or a status is resolved by reading its
    // matches: never short.
    let resolved = filter.keys().any(|k| {
        let name = profile_core::query::split_prefix(k).1.to_ascii_uppercase();
        name.starts_with(profile_core::model::custom::PREFIX) || name.starts_with("CARDFILE_")
    });
    if resolved {
        return false;
    }
    let keys: Vec<(FilterKey, &Value)> =
        filter.iter().filter_map(|(k, v)| FilterKey::parse(k).map(|key| (key, v))).collect();
    let find = keys.iter().find(|(k, _)| k.target == FilterTarget::Find).map(|(_, v)| *v);
    let ids = keys
        .iter()
        .find(|(k, _)| k.target == FilterTarget::Field(UserField::Id) && k.op == Op::Eq)
        .map(|(_, v)| *v);
    let few_ids = match ids {
        Some(Value::Array(a)) => !a.is_empty() && a.len() <= FEW_IDS,
        Some(Value::Object(m)) => !m.is_empty() && m.len() <= FEW_IDS,
        Some(v) => params::as_int(v).is_some(),
        None => false,
    };
    if few_ids && find.is_none() {
        return true;
    }
    let given = |k: &str| {
        params::get_ci(p, k).is_some_and(|v| params::as_text(v).is_none_or(|t| !t.trim().is_empty()))
    };
    let plain = !given("sort")
        && !given("order")
        && !given("cardfile.subdepartments")
        && params::get_ci(p, "start").and_then(params::as_int).is_none_or(|s| s <= 0);
    // One short term: its total comes from the index's prefix counts.
    let counted = find.and_then(params::as_text).is_some_and(|t| {
        profile_core::query::find_terms(&t).len() == 1 && t.trim().chars().count() <= COUNTED_PREFIX_MAX
    });
    // One interest tag: its holders' count is kept with the prefixes'.
    let one_tag = keys.iter().any(|(k, v)| {
        k.target == FilterTarget::Field(UserField::UfInterests)
            && k.op == Op::Eq
            && params::as_text(v)
                .is_some_and(|t| t.split([' ', ',', ';']).filter(|x| !x.is_empty()).count() == 1)
    });
    indexed_find && (counted || one_tag) && keys.len() == 1 && plain
}

/// Whether `method` is a user query with a `FIND` that [`short_query`] may take for short
/// because the index counts its matches (which it does not when the search also looks at
/// custom fields' words).
pub(crate) fn counted_find(method: &str, p: &Params) -> bool {
    if !matches!(method, "user.get" | "user.search") {
        return false;
    }
    let filter = match params::get_ci(p, "FILTER") {
        Some(Value::Object(m)) => m,
        _ => p,
    };
    filter.keys().filter_map(|k| FilterKey::parse(k)).any(|k| k.target == FilterTarget::Find)
}

/// `user.get`.
pub fn get(call: &Call<'_>) -> Result<Reply, ApiError> {
    let p = call.params;
    let start = start(p)?;
    let page = PageRequest::from_start(start)?;
    let mut filter = filter(p)?;
    // Cardfile's own: `UF_DEPARTMENT` conditions take the sub-departments' members too.
    filter.subdepartments = optional_bool(p, "cardfile.subdepartments")?.unwrap_or(false);
    let query = UserQuery { filter, sort: sort(call, p)?, page, now: call.ctx.clock.now() };
    let admin_mode = optional_bool(p, "ADMIN_MODE")?.unwrap_or(false);
    let options = users::ReadOptions { admin_mode, photos: Some(image_resize(p)?), custom: custom_select(p) };
    let found = users::find_users_with(call.ctx, call.actor, &query, &select(p)?, &options)?;
    let next = found.next(page.start);
    Ok(Reply::raw(wire::users_raw(&found.items), found.total, next))
}

/// Which custom fields `select` asks for (`UF_*` or their names).
fn custom_select(p: &Params) -> CustomSelect {
    match params::get_ci(p, "select") {
        Some(Value::Array(names)) => CustomSelect::parse(names.iter().filter_map(Value::as_str)),
        Some(Value::Object(m)) => CustomSelect::parse(m.values().filter_map(Value::as_str)),
        Some(Value::String(s)) => CustomSelect::parse(s.split(',')),
        _ => CustomSelect::None,
    }
}

/// The custom fields' values among the top-level keys (`UF_USR_*`, any case).
fn custom_values(p: &Params) -> Result<Vec<(String, CoreValue)>, ApiError> {
    p.iter()
        .filter(|(k, _)| k.to_ascii_uppercase().starts_with(profile_core::model::custom::PREFIX))
        .map(|(k, v)| core_value(k, v).map(|v| (k.to_ascii_uppercase(), v)))
        .collect()
}

/// `IMAGE_RESIZE` (spec §2.5): which copy `PERSONAL_PHOTO` links to, the 1000 px one by default.
fn image_resize(p: &Params) -> Result<ImageSize, ApiError> {
    match params::get_ci(p, "IMAGE_RESIZE").and_then(params::as_text) {
        None => Ok(ImageSize::Large),
        Some(t) if t.is_empty() => Ok(ImageSize::Large),
        Some(t) => ImageSize::from_resize(&t)
            .ok_or_else(|| ApiError::argument("IMAGE_RESIZE", "expected small, medium or large")),
    }
}

/// `user.search`: the same handler (spec §2.6).
pub fn search(call: &Call<'_>) -> Result<Reply, ApiError> {
    get(call)
}

/// `user.current`.
pub fn current(call: &Call<'_>) -> Result<Reply, ApiError> {
    let options = users::ReadOptions { custom: custom_select(call.params), ..users::ReadOptions::default() };
    let me = users::current_user_with(call.ctx, call.actor, &Select::All, &options)?;
    Ok(Reply::raw(wire::user_raw(&me), None, None))
}

/// `user.fields`: every standard field the credential may read, with a label.
pub fn fields(call: &Call<'_>) -> Result<Reply, ApiError> {
    let tier = call.actor.user_read_tier()?;
    let labels = UserField::ALL
        .iter()
        .filter(|f| f.tier() <= tier)
        .map(|f| (f.code().to_string(), Value::String(label(f.code()))))
        .collect();
    Ok(Reply::of(Value::Object(labels)))
}

/// `LAST_NAME` → `Last name`.
fn label(code: &str) -> String {
    let words = code.replace('_', " ").to_lowercase();
    let mut chars = words.chars();
    chars.next().map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
}

/// The writable standard fields among the top-level keys, except those in `skip`; unknown keys
/// are clients' own and ignored.
fn patch(p: &Params, skip: &[UserField]) -> Result<UserPatch, ApiError> {
    let mut raw = Vec::new();
    for (key, v) in p {
        let Some(field) = UserField::from_code(key) else { continue };
        if skip.contains(&field) {
            continue;
        }
        raw.push((field, core_value(key, v)?));
    }
    Ok(UserPatch::parse(raw)?)
}

fn groups(p: &Params) -> Result<Vec<WorkgroupId>, ApiError> {
    let bad = || ApiError::argument("SONET_GROUP_ID", "expected workgroup IDs");
    let ids: Vec<i64> = match params::get_ci(p, "SONET_GROUP_ID") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => {
            a.iter().map(|v| params::as_int(v).ok_or_else(bad)).collect::<Result<_, _>>()?
        }
        Some(Value::Object(m)) => {
            m.values().map(|v| params::as_int(v).ok_or_else(bad)).collect::<Result<_, _>>()?
        }
        Some(v) => vec![params::as_int(v).ok_or_else(bad)?],
    };
    ids.into_iter().map(|i| u32::try_from(i).map(WorkgroupId).map_err(|_| bad())).collect()
}

/// `user.add`: invites by email (spec §2.7). The result is the new user's ID.
pub fn add(call: &Call<'_>) -> Result<Reply, ApiError> {
    let p = call.params;
    let email = params::get_ci(p, "EMAIL")
        .and_then(params::as_text)
        .filter(|e| !e.trim().is_empty())
        .ok_or_else(|| ApiError::argument("EMAIL", "wrong_email: an email address is required"))?;
    let extranet = optional_bool(p, "EXTRANET")?.unwrap_or(false);
    let text = match params::get_ci(p, "MESSAGE_TEXT") {
        None => None,
        Some(v) => {
            Some(params::as_text(v).ok_or_else(|| ApiError::argument("MESSAGE_TEXT", "expected text"))?)
        }
    };
    let invite = Invite {
        address: email,
        fields: patch(p, &[UserField::Id, UserField::Email, UserField::Active, UserField::PersonalPhoto])?,
        workgroups: groups(p)?,
        extranet,
        text,
    };
    let photo = match card::photo_input(p)? {
        Some(PhotoChange::Upload(bytes)) => {
            // Nobody has a file decoded for an invitation they may not send.
            invitations::check_may_invite(call.ctx, call.actor)?;
            Some(images::prepare(call.ctx, UserField::PersonalPhoto.code(), &bytes, ImagePurpose::Photo)?)
        }
        Some(PhotoChange::Remove) | None => None,
    };
    let custom = custom_values(p)?;
    let invited = invitations::invite_by_email_with(call.ctx, call.actor, invite, photo, Some(&custom))?;
    Ok(Reply::of(json!(invited.user.id.get())))
}

/// `user.update`: `ID` and the fields to change; `ACTIVE` dismisses and reinstates.
pub fn update(call: &Call<'_>) -> Result<Reply, ApiError> {
    let id = required_int(call.params, "ID")?;
    let id = u32::try_from(id).map_err(|_| ApiError::argument("ID", "expected a user ID"))?;
    let patch = patch(call.params, &[UserField::Id, UserField::PersonalPhoto])?;
    let photo = match card::photo_input(call.params)? {
        Some(change) => Some(images::prepare_photo_for(call.ctx, call.actor, UserId(id), &change)?),
        None => None,
    };
    let update = users::UserUpdate { fields: patch, photo, custom: custom_values(call.params)? };
    users::update_user_with(call.ctx, call.actor, UserId(id), update)?;
    Ok(Reply::of(Value::Bool(true)))
}

/// `cardfile.user.structure {ID}`: the user's role, supervisors, direct subordinates and the
/// path to each of their departments (docs/rest-vendor.md).
pub fn structure(call: &Call<'_>) -> Result<Reply, ApiError> {
    let id = u32::try_from(required_int(call.params, "ID")?)
        .ok()
        .filter(|i| *i > 0)
        .ok_or_else(|| ApiError::argument("ID", "expected a user ID"))?;
    let admin_mode = optional_bool(call.params, "ADMIN_MODE")?.unwrap_or(false);
    let s = users::structure(call.ctx, call.actor, UserId(id), admin_mode)?;
    Ok(Reply::of(wire::structure(&s)))
}
