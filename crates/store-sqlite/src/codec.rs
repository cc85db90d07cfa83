//! Column codecs shared by the stores of schema 2: UUIDs as 16-byte blobs, secret hashes as
//! 32-byte blobs, times as Unix seconds.

use chrono::{DateTime, Utc};
use profile_core::secret::SecretHash;
use rusqlite::types::FromSqlError;
use rusqlite::Row;
use uuid::Uuid;

pub(crate) fn bad(i: usize, what: &str) -> rusqlite::Error {
    FromSqlError::Other(what.into()).into_column(i)
}

trait IntoColumn {
    fn into_column(self, i: usize) -> rusqlite::Error;
}

impl IntoColumn for FromSqlError {
    fn into_column(self, i: usize) -> rusqlite::Error {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Blob, Box::new(self))
    }
}

pub(crate) fn uuid(r: &Row<'_>, i: usize) -> rusqlite::Result<Uuid> {
    let b: Vec<u8> = r.get(i)?;
    Uuid::from_slice(&b).map_err(|_| bad(i, "not a UUID"))
}

pub(crate) fn opt_uuid(r: &Row<'_>, i: usize) -> rusqlite::Result<Option<Uuid>> {
    match r.get::<_, Option<Vec<u8>>>(i)? {
        Some(b) => Uuid::from_slice(&b).map(Some).map_err(|_| bad(i, "not a UUID")),
        None => Ok(None),
    }
}

pub(crate) fn hash(r: &Row<'_>, i: usize) -> rusqlite::Result<SecretHash> {
    let b: Vec<u8> = r.get(i)?;
    <[u8; 32]>::try_from(b.as_slice()).map(SecretHash).map_err(|_| bad(i, "not a SHA-256"))
}

pub(crate) fn time(r: &Row<'_>, i: usize) -> rusqlite::Result<DateTime<Utc>> {
    DateTime::from_timestamp(r.get(i)?, 0).ok_or_else(|| bad(i, "time out of range"))
}

pub(crate) fn opt_time(r: &Row<'_>, i: usize) -> rusqlite::Result<Option<DateTime<Utc>>> {
    r.get::<_, Option<i64>>(i)?
        .map(|s| DateTime::from_timestamp(s, 0).ok_or_else(|| bad(i, "time out of range")))
        .transpose()
}

pub(crate) fn login(r: &Row<'_>, i: usize) -> rusqlite::Result<profile_core::model::identity::Login> {
    let s: String = r.get(i)?;
    profile_core::model::identity::Login::from_stored(&s).ok_or_else(|| bad(i, "not a login"))
}

pub(crate) fn bytes(u: &Uuid) -> &[u8] {
    u.as_bytes().as_slice()
}
