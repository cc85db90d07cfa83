//! Web sessions.

use chrono::{DateTime, Utc};
use profile_core::model::identity::IdentityId;
use profile_core::model::session::{Session, SessionId};
use profile_core::ports::{SessionStore, StoreResult};
use profile_core::secret::SecretHash;
use rusqlite::{params, OptionalExtension, Row};

use crate::codec::{self, bytes};
use crate::error::backend;
use crate::SqliteTx;

const SESSION_SELECT: &str = "SELECT id, identity, hash, device, created_at, last_seen FROM sessions";

fn session_row(r: &Row<'_>) -> rusqlite::Result<Session> {
    Ok(Session {
        id: SessionId(codec::uuid(r, 0)?),
        identity: IdentityId(codec::uuid(r, 1)?),
        hash: codec::hash(r, 2)?,
        device: r.get(3)?,
        created_at: codec::time(r, 4)?,
        last_seen: codec::time(r, 5)?,
    })
}

impl SessionStore for SqliteTx<'_> {
    fn insert_session(&mut self, s: &Session) -> StoreResult<()> {
        self.writable()?;
        self.conn()
            .prepare_cached(
                "INSERT INTO sessions (id, identity, hash, device, created_at, last_seen) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .and_then(|mut st| {
                st.execute(params![
                    bytes(&s.id.0),
                    bytes(&s.identity.0),
                    s.hash.0.as_slice(),
                    s.device,
                    s.created_at.timestamp(),
                    s.last_seen.timestamp()
                ])
            })
            .map_err(backend)?;
        Ok(())
    }

    fn session_by_token(&self, hash: &SecretHash) -> StoreResult<Option<Session>> {
        self.conn()
            .prepare_cached(&format!("{SESSION_SELECT} WHERE hash = ?1"))
            .and_then(|mut s| s.query_row([hash.0.as_slice()], session_row).optional())
            .map_err(backend)
    }

    fn sessions_of(&self, identity: IdentityId) -> StoreResult<Vec<Session>> {
        self.conn()
            .prepare_cached(&format!("{SESSION_SELECT} WHERE identity = ?1 ORDER BY created_at, id"))
            .and_then(|mut s| s.query_map([bytes(&identity.0)], session_row)?.collect())
            .map_err(backend)
    }

    fn touch_session(&mut self, id: SessionId, last_seen: DateTime<Utc>) -> StoreResult<()> {
        self.writable()?;
        self.conn()
            .prepare_cached("UPDATE sessions SET last_seen = ?2 WHERE id = ?1")
            .and_then(|mut s| s.execute(params![bytes(&id.0), last_seen.timestamp()]))
            .map_err(backend)?;
        Ok(())
    }

    fn delete_session(&mut self, id: SessionId) -> StoreResult<()> {
        self.writable()?;
        self.conn()
            .prepare_cached("DELETE FROM sessions WHERE id = ?1")
            .and_then(|mut s| s.execute([bytes(&id.0)]))
            .map_err(backend)?;
        Ok(())
    }

    fn delete_sessions_of(&mut self, identity: IdentityId) -> StoreResult<u64> {
        self.writable()?;
        let n = self
            .conn()
            .prepare_cached("DELETE FROM sessions WHERE identity = ?1")
            .and_then(|mut s| s.execute([bytes(&identity.0)]))
            .map_err(backend)?;
        Ok(n as u64)
    }

    fn purge_sessions(
        &mut self,
        seen_before: DateTime<Utc>,
        created_before: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<u64> {
        self.writable()?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let n = self
            .conn()
            .prepare_cached(
                "DELETE FROM sessions WHERE id IN (SELECT id FROM sessions \
                 WHERE last_seen < ?1 OR created_at < ?2 LIMIT ?3)",
            )
            .and_then(|mut s| s.execute(params![seen_before.timestamp(), created_before.timestamp(), limit]))
            .map_err(backend)?;
        Ok(n as u64)
    }
}
