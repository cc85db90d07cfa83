//! The card's content over REST (docs/rest-vendor.md): `cardfile.absence.*`,
//! `cardfile.profile.*`, `cardfile.interest.list`, `cardfile.appreciation.*` and
//! `cardfile.layout.*`, with Bitrix24's envelope, errors and paging.

use chrono::{Duration, NaiveDate};
use profile_core::ids::{DepartmentId, UserId};
use profile_core::model::absence::AbsenceKind;
use profile_core::model::appreciation::Appreciation;
use profile_core::query::PageRequest;
use profile_core::usecase::about::{self, ProfileContent};
use profile_core::usecase::absences::{self, AbsenceFilter, AbsenceSpec, AbsenceView};
use profile_core::usecase::{appreciations, layout};
use serde_json::{json, Value};

use super::{optional_int, required_int, start, Call};
use crate::params::{self, Params};
use crate::reply::{ApiError, Reply};

fn id_param(p: &Params, key: &str) -> Result<u32, ApiError> {
    u32::try_from(required_int(p, key)?)
        .ok()
        .filter(|i| *i > 0)
        .ok_or_else(|| ApiError::argument(key, "expected a positive ID"))
}

fn user_param(p: &Params, key: &str) -> Result<UserId, ApiError> {
    id_param(p, key).map(UserId)
}

fn text_param(p: &Params, key: &str) -> Result<Option<String>, ApiError> {
    match params::get_ci(p, key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => params::as_text(v).map(Some).ok_or_else(|| ApiError::argument(key, "expected text")),
    }
}

fn date_param(p: &Params, key: &str) -> Result<Option<NaiveDate>, ApiError> {
    match text_param(p, key)? {
        None => Ok(None),
        Some(t) if t.trim().is_empty() => Ok(None),
        Some(t) => {
            // A datetime's day is taken too (`2026-12-04T00:00:00+00:00`).
            let day = t.trim().get(..10).unwrap_or("");
            use chrono::Datelike;
            NaiveDate::parse_from_str(day, "%Y-%m-%d")
                .ok()
                .filter(|d| (1..=9999).contains(&d.year()))
                .map(Some)
                .ok_or_else(|| ApiError::argument(key, "expected a date as YYYY-MM-DD"))
        }
    }
}

fn day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn page(p: &Params) -> Result<PageRequest, ApiError> {
    Ok(PageRequest::from_start(start(p)?)?)
}

fn spec(p: &Params) -> Result<AbsenceSpec, ApiError> {
    let kind = match text_param(p, "KIND")? {
        None => None,
        Some(k) => Some(AbsenceKind::from_code(&k).ok_or_else(|| {
            let kinds: Vec<&str> = AbsenceKind::ALL.iter().map(|k| k.code()).collect();
            ApiError::argument("KIND", format!("expected one of {}", kinds.join(", ")))
        })?),
    };
    Ok(AbsenceSpec {
        kind,
        from: date_param(p, "DATE_FROM")?,
        to: date_param(p, "DATE_TO")?,
        note: text_param(p, "NOTE")?,
    })
}

fn absence_view(a: &AbsenceView) -> Value {
    let mut v = json!({
        "ID": a.id,
        "USER_ID": a.user.0,
        "DATE_FROM": day(a.from),
        "DATE_TO": day(a.to),
    });
    if let (Some(kind), Some(note)) = (a.kind, &a.note) {
        v["KIND"] = json!(kind.code());
        v["NOTE"] = json!(note);
    }
    v
}

/// `cardfile.absence.add {USER_ID, KIND, DATE_FROM, DATE_TO, NOTE}` → the new absence's ID.
pub fn absence_add(call: &Call<'_>) -> Result<Reply, ApiError> {
    let user = user_param(call.params, "USER_ID")?;
    let a = absences::add_absence(call.ctx, call.actor, user, spec(call.params)?)?;
    Ok(Reply::of(json!(a.id)))
}

/// `cardfile.absence.update {ID, KIND?, DATE_FROM?, DATE_TO?, NOTE?}` → `true`.
pub fn absence_update(call: &Call<'_>) -> Result<Reply, ApiError> {
    let id = id_param(call.params, "ID")?;
    absences::update_absence(call.ctx, call.actor, id, spec(call.params)?)?;
    Ok(Reply::of(Value::Bool(true)))
}

/// `cardfile.absence.delete {ID}` → `true`.
pub fn absence_delete(call: &Call<'_>) -> Result<Reply, ApiError> {
    absences::delete_absence(call.ctx, call.actor, id_param(call.params, "ID")?)?;
    Ok(Reply::of(Value::Bool(true)))
}

/// `cardfile.absence.list {FILTER: {USER_ID | UF_DEPARTMENT, DATE_FROM, DATE_TO}, start}`: the
/// absences over the period (today to 31 days on by default), by first day.
pub fn absence_list(call: &Call<'_>) -> Result<Reply, ApiError> {
    let p = call.params;
    let empty = Params::new();
    let f = match params::get_ci(p, "FILTER") {
        Some(Value::Object(m)) => m,
        None => &empty,
        Some(Value::Array(a)) if a.is_empty() => &empty,
        Some(_) => return Err(ApiError::argument("FILTER", "expected an object")),
    };
    if let Some(key) = f.keys().find(|k| {
        !["USER_ID", "UF_DEPARTMENT", "DATE_FROM", "DATE_TO"]
            .iter()
            .any(|known| k.eq_ignore_ascii_case(known))
    }) {
        return Err(ApiError::argument(&format!("FILTER[{key}]"), "no such filter field"));
    }
    let today = call.ctx.clock.now().date_naive();
    let from = date_param(f, "DATE_FROM")?.unwrap_or(today);
    let to = date_param(f, "DATE_TO")?.unwrap_or(from + Duration::days(31));
    let user = optional_int(f, "USER_ID")?
        .map(|i| u32::try_from(i).ok().filter(|i| *i > 0).map(UserId))
        .map(|u| u.ok_or_else(|| ApiError::argument("USER_ID", "expected a user ID")))
        .transpose()?;
    let department = optional_int(f, "UF_DEPARTMENT")?
        .map(|i| u32::try_from(i).ok().filter(|i| *i > 0).map(DepartmentId))
        .map(|d| d.ok_or_else(|| ApiError::argument("UF_DEPARTMENT", "expected a department ID")))
        .transpose()?;
    let request = page(p)?;
    let found = absences::list_absences(
        call.ctx,
        call.actor,
        &AbsenceFilter { user, department, from, to },
        request,
    )?;
    let next = found.next(request.start);
    Ok(Reply { result: found.items.iter().map(absence_view).collect(), raw: None, total: found.total, next })
}

fn content(c: &ProfileContent) -> Value {
    json!({
        "ID": c.user.0,
        "ABOUT": c.about,
        "ABOUT_HTML": c.about_html,
        "AWAY_UNTIL": c.away_until.map_or(Value::Bool(false), |d| json!(day(d))),
    })
}

/// `cardfile.profile.get {ID}`: "about me" (as written and as HTML) and "away until".
pub fn profile_get(call: &Call<'_>) -> Result<Reply, ApiError> {
    let user = user_param(call.params, "ID")?;
    Ok(Reply::of(content(&about::profile_content(call.ctx, call.actor, user)?)))
}

/// `cardfile.profile.set {ID, ABOUT}`: sets "about me" (`""` removes it).
pub fn profile_set(call: &Call<'_>) -> Result<Reply, ApiError> {
    let user = user_param(call.params, "ID")?;
    let text = text_param(call.params, "ABOUT")?.ok_or_else(|| ApiError::argument("ABOUT", "is required"))?;
    Ok(Reply::of(content(&about::set_about(call.ctx, call.actor, user, &text)?)))
}

/// `cardfile.interest.list {PREFIX?, LIMIT?}`: tags with how many hold each, most held first.
pub fn interest_list(call: &Call<'_>) -> Result<Reply, ApiError> {
    let prefix = text_param(call.params, "PREFIX")?.unwrap_or_default();
    let limit = optional_int(call.params, "LIMIT")?.unwrap_or(about::TAGS_LISTED_MAX as i64);
    let limit = usize::try_from(limit)
        .ok()
        .filter(|l| (1..=about::TAGS_LISTED_MAX).contains(l))
        .ok_or_else(|| ApiError::argument("LIMIT", format!("expected 1 to {}", about::TAGS_LISTED_MAX)))?;
    let tags = about::interest_tags(call.ctx, call.actor, &prefix, limit)?;
    Ok(Reply::of(tags.iter().map(|(tag, n)| json!({"TAG": format!("#{tag}"), "COUNT": n})).collect()))
}

fn appreciation(a: &Appreciation) -> Value {
    json!({
        "ID": a.id,
        "USER_ID": a.recipient.0,
        "FROM_USER_ID": a.giver.0,
        "BADGE": a.badge,
        "MESSAGE": a.message,
        "DATE_CREATE": a.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
    })
}

/// `cardfile.appreciation.give {USER_ID, BADGE, MESSAGE}` → the appreciation's ID.
pub fn appreciation_give(call: &Call<'_>) -> Result<Reply, ApiError> {
    let p = call.params;
    let user = user_param(p, "USER_ID")?;
    let badge = text_param(p, "BADGE")?.ok_or_else(|| ApiError::argument("BADGE", "is required"))?;
    let message = text_param(p, "MESSAGE")?.unwrap_or_default();
    Ok(Reply::of(json!(appreciations::give(call.ctx, call.actor, user, &badge, &message)?.id)))
}

/// `cardfile.appreciation.counts {USER_ID}` → `{badge: count}`.
pub fn appreciation_counts(call: &Call<'_>) -> Result<Reply, ApiError> {
    let user = user_param(call.params, "USER_ID")?;
    let counts = appreciations::counts(call.ctx, call.actor, user)?;
    let map: serde_json::Map<String, Value> = counts.into_iter().map(|(b, n)| (b, json!(n))).collect();
    Ok(Reply::of(Value::Object(map)))
}

/// `cardfile.appreciation.list {USER_ID, start}`: the messages the caller may read, newest first.
pub fn appreciation_list(call: &Call<'_>) -> Result<Reply, ApiError> {
    let user = user_param(call.params, "USER_ID")?;
    let request = page(call.params)?;
    let found = appreciations::list(call.ctx, call.actor, user, request)?;
    let next = found.next(request.start);
    Ok(Reply { result: found.items.iter().map(appreciation).collect(), raw: None, total: found.total, next })
}

/// `cardfile.appreciation.badges` → every badge kind.
pub fn appreciation_badges(call: &Call<'_>) -> Result<Reply, ApiError> {
    let badges = appreciations::badges(call.ctx, call.actor)?;
    Ok(Reply::of(
        badges.iter().map(|b| json!({"CODE": b.code, "LABEL": b.label, "BUILTIN": b.builtin})).collect(),
    ))
}

/// `cardfile.appreciation.badge.add {CODE, LABEL}` (administrators) → `true`.
pub fn appreciation_badge_add(call: &Call<'_>) -> Result<Reply, ApiError> {
    let code = text_param(call.params, "CODE")?.unwrap_or_default();
    let label = text_param(call.params, "LABEL")?.unwrap_or_default();
    appreciations::add_badge(call.ctx, call.actor, &code, &label)?;
    Ok(Reply::of(Value::Bool(true)))
}

fn layout_reply(l: &profile_core::model::layout::Layout) -> Reply {
    Reply::of(json!({"FIELDS": l.fields, "OWN": l.own}))
}

/// `cardfile.layout.get` → `{FIELDS, OWN}`: the layout the caller sees cards in.
pub fn layout_get(call: &Call<'_>) -> Result<Reply, ApiError> {
    Ok(layout_reply(&layout::layout(call.ctx, call.actor)?))
}

/// `cardfile.layout.set {FIELDS, DEFAULT?}`: the caller's own layout, or (`DEFAULT: "Y"`,
/// administrators) the account's.
pub fn layout_set(call: &Call<'_>) -> Result<Reply, ApiError> {
    let p = call.params;
    let fields: Vec<String> = match params::get_ci(p, "FIELDS") {
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| params::as_text(v).ok_or_else(|| ApiError::argument("FIELDS", "expected field names")))
            .collect::<Result<_, _>>()?,
        Some(Value::Object(m)) => m
            .values()
            .map(|v| params::as_text(v).ok_or_else(|| ApiError::argument("FIELDS", "expected field names")))
            .collect::<Result<_, _>>()?,
        Some(Value::String(s)) => s.split(',').map(str::to_string).filter(|s| !s.trim().is_empty()).collect(),
        _ => return Err(ApiError::argument("FIELDS", "expected a list of field names")),
    };
    let default = super::optional_bool(p, "DEFAULT")?.unwrap_or(false);
    Ok(layout_reply(&layout::set_layout(call.ctx, call.actor, &fields, default)?))
}

/// `cardfile.layout.reset`: back to the account's default.
pub fn layout_reset(call: &Call<'_>) -> Result<Reply, ApiError> {
    Ok(layout_reply(&layout::reset_layout(call.ctx, call.actor)?))
}
