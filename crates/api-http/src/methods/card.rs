//! The card's images over REST: `PERSONAL_PHOTO` as Bitrix24 clients upload it, and the
//! `cardfile.user.background.*` and `cardfile.background.list` methods (docs/rest-vendor.md).

use base64::Engine as _;
use profile_core::ids::UserId;
use profile_core::model::image::BUILTIN_BACKGROUNDS;
use profile_core::usecase::images::{self, BackgroundChange, PhotoChange};
use serde_json::{json, Value};

use super::{optional_bool, required_int, Call};
use crate::params::{self, Params};
use crate::reply::{ApiError, Reply};

/// A file parameter as Bitrix24 takes it (spec §1): `[name, base64]`, the same inside
/// `{"fileData": …}`, or (from a multipart body) the file part; `""`, `false` or
/// `{"remove": "Y"}` removes the file. `Ok(None)` when the parameter is absent.
pub(crate) fn file_input(p: &Params, key: &str) -> Result<Option<FileInput>, ApiError> {
    match params::get_ci(p, key) {
        None => Ok(None),
        Some(v) => file_value(key, v).map(Some),
    }
}

/// What a file parameter asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FileInput {
    /// A file's bytes.
    Upload(Vec<u8>),
    /// No file any more.
    Remove,
    /// A plain text (a background's built-in name).
    Text(String),
}

fn file_value(key: &str, v: &Value) -> Result<FileInput, ApiError> {
    let expected = || ApiError::argument(key, "expected a file as [file name, base64 content]");
    match v {
        Value::Null | Value::Bool(false) => Ok(FileInput::Remove),
        Value::String(s) if s.is_empty() || s.eq_ignore_ascii_case("false") => Ok(FileInput::Remove),
        Value::String(s) => Ok(FileInput::Text(s.clone())),
        Value::Object(m) => {
            if let Some(inner) = params::get_ci(m, "fileData") {
                return file_value(key, inner);
            }
            if params::get_ci(m, "remove").and_then(params::as_bool) == Some(true) {
                return Ok(FileInput::Remove);
            }
            // A PHP list that arrived with explicit keys (`PERSONAL_PHOTO[0]=…&…[1]=…`).
            match (m.get("0"), m.get("1")) {
                (Some(name), Some(content)) => upload(key, name, content),
                _ => Err(expected()),
            }
        }
        Value::Array(items) => match items.as_slice() {
            [name, content, ..] => upload(key, name, content),
            _ => Err(expected()),
        },
        Value::Bool(true) | Value::Number(_) => Err(expected()),
    }
}

fn upload(key: &str, name: &Value, content: &Value) -> Result<FileInput, ApiError> {
    let (Some(_), Some(content)) = (name.as_str(), content.as_str()) else {
        return Err(ApiError::argument(key, "expected a file as [file name, base64 content]"));
    };
    // Some clients send a data URL; the payload after its comma is the base64.
    let payload = match content.split_once(";base64,") {
        Some((prefix, rest)) if prefix.starts_with("data:") => rest,
        _ => content,
    };
    let compact: String = payload.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .map(FileInput::Upload)
        .map_err(|_| ApiError::argument(key, "the file's content is not base64"))
}

/// `PERSONAL_PHOTO` of `user.add`/`user.update` as a photo change; a plain text is refused
/// (Bitrix24 takes no URL there).
pub(crate) fn photo_input(p: &Params) -> Result<Option<PhotoChange>, ApiError> {
    Ok(match file_input(p, "PERSONAL_PHOTO")? {
        None => None,
        Some(FileInput::Upload(bytes)) => Some(PhotoChange::Upload(bytes)),
        Some(FileInput::Remove) => Some(PhotoChange::Remove),
        Some(FileInput::Text(_)) => {
            return Err(ApiError::argument(
                "PERSONAL_PHOTO",
                "expected a file as [file name, base64 content]",
            ))
        }
    })
}

fn user_id(p: &Params) -> Result<UserId, ApiError> {
    u32::try_from(required_int(p, "ID")?)
        .ok()
        .filter(|i| *i > 0)
        .map(UserId)
        .ok_or_else(|| ApiError::argument("ID", "expected a user ID"))
}

/// `cardfile.user.background.get {ID}`.
pub fn background_get(call: &Call<'_>) -> Result<Reply, ApiError> {
    let id = user_id(call.params)?;
    let admin_mode = optional_bool(call.params, "ADMIN_MODE")?.unwrap_or(false);
    let b = images::background(call.ctx, call.actor, id, admin_mode)?;
    Ok(Reply::of(crate::wire::background(b)))
}

/// `cardfile.user.background.set {ID, BACKGROUND}`: a built-in's name, an uploaded file, or
/// a removal; the result is the background as `get` shows it.
pub fn background_set(call: &Call<'_>) -> Result<Reply, ApiError> {
    let id = user_id(call.params)?;
    let change = match file_input(call.params, "BACKGROUND")? {
        None => return Err(ApiError::argument("BACKGROUND", "required: a built-in name, a file, or \"\"")),
        Some(FileInput::Upload(bytes)) => BackgroundChange::Upload(bytes),
        Some(FileInput::Remove) => BackgroundChange::Remove,
        Some(FileInput::Text(name)) => BackgroundChange::Builtin(name),
    };
    let b = images::set_background(call.ctx, call.actor, id, &change)?;
    Ok(Reply::of(crate::wire::background(b)))
}

/// `cardfile.background.list`: the built-in backgrounds, in a picker's order.
pub fn background_list(_: &Call<'_>) -> Result<Reply, ApiError> {
    let list = BUILTIN_BACKGROUNDS.iter().map(|b| json!({ "NAME": b.name, "COLORS": b.colours })).collect();
    Ok(Reply::of(Value::Array(list)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: Value) -> Result<FileInput, ApiError> {
        file_value("PERSONAL_PHOTO", &v)
    }

    #[test]
    fn every_file_shape_bitrix_clients_send() {
        let png = base64::engine::general_purpose::STANDARD.encode(b"\x89PNG");
        let up = Ok(FileInput::Upload(b"\x89PNG".to_vec()));
        assert_eq!(parse(json!(["me.png", png])), up);
        assert_eq!(parse(json!({ "fileData": ["me.png", png] })), up);
        assert_eq!(parse(json!({ "0": "me.png", "1": png })), up);
        assert_eq!(parse(json!(["me.png", format!("data:image/png;base64,{png}")])), up);
        for removal in [json!(""), json!(false), json!("false"), json!(null), json!({ "remove": "Y" })] {
            assert_eq!(parse(removal.clone()), Ok(FileInput::Remove), "{removal}");
        }
        assert_eq!(parse(json!("sea")), Ok(FileInput::Text("sea".into())));
        for bad in [
            json!(["me.png"]),
            json!(["me.png", "***"]),
            json!(true),
            json!(5),
            json!({ "x": 1 }),
            json!([1, 2]),
        ] {
            assert!(parse(bad.clone()).is_err(), "{bad}");
        }
    }
}
