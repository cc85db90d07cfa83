//! Column codecs, the same as the SQLite store's: UUIDs as 16 bytes, secret hashes as 32,
//! times as Unix seconds.

use chrono::{DateTime, Utc};
use profile_core::model::identity::Login;
use profile_core::ports::StoreResult;
use profile_core::secret::SecretHash;
use tokio_postgres::Row;
use uuid::Uuid;

use crate::error::{backend, bad};

/// Column `i` of `r`, as `T`.
pub(crate) fn get<'a, T: tokio_postgres::types::FromSql<'a>>(r: &'a Row, i: usize) -> StoreResult<T> {
    r.try_get(i).map_err(backend)
}

pub(crate) fn uuid(r: &Row, i: usize) -> StoreResult<Uuid> {
    Uuid::from_slice(get::<&[u8]>(r, i)?).map_err(|_| bad("not a UUID"))
}

pub(crate) fn opt_uuid(r: &Row, i: usize) -> StoreResult<Option<Uuid>> {
    get::<Option<&[u8]>>(r, i)?.map(|b| Uuid::from_slice(b).map_err(|_| bad("not a UUID"))).transpose()
}

pub(crate) fn hash(r: &Row, i: usize) -> StoreResult<SecretHash> {
    <[u8; 32]>::try_from(get::<&[u8]>(r, i)?).map(SecretHash).map_err(|_| bad("not a SHA-256"))
}

pub(crate) fn time(r: &Row, i: usize) -> StoreResult<DateTime<Utc>> {
    DateTime::from_timestamp(get(r, i)?, 0).ok_or_else(|| bad("time out of range"))
}

pub(crate) fn opt_time(r: &Row, i: usize) -> StoreResult<Option<DateTime<Utc>>> {
    get::<Option<i64>>(r, i)?
        .map(|s| DateTime::from_timestamp(s, 0).ok_or_else(|| bad("time out of range")))
        .transpose()
}

pub(crate) fn login(r: &Row, i: usize) -> StoreResult<Login> {
    Login::from_stored(get(r, i)?).ok_or_else(|| bad("not a login"))
}

pub(crate) fn bytes(u: &Uuid) -> &[u8] {
    u.as_bytes().as_slice()
}

/// An ID stored as BIGINT, as the `u32` the ports use.
pub(crate) fn id32(r: &Row, i: usize) -> StoreResult<u32> {
    u32::try_from(get::<i64>(r, i)?).map_err(|_| bad("ID out of range"))
}

pub(crate) fn opt_id32(r: &Row, i: usize) -> StoreResult<Option<u32>> {
    get::<Option<i64>>(r, i)?.map(|v| u32::try_from(v).map_err(|_| bad("ID out of range"))).transpose()
}
