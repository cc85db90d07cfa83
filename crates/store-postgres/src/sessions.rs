//! Web sessions: every replica finds every session.

use chrono::{DateTime, Utc};
use profile_core::model::identity::IdentityId;
use profile_core::model::session::{Session, SessionId};
use profile_core::ports::{SessionStore, StoreResult};
use profile_core::secret::SecretHash;
use tokio_postgres::Row;

use crate::codec::{self, bytes, get};
use crate::PgTx;

/// The statement that reads sessions, in [`session_row`]'s order, followed by `$tail`.
macro_rules! session_select {
    ($tail:literal) => {
        concat!("SELECT id, identity, hash, device, created_at, last_seen FROM sessions ", $tail)
    };
}

fn session_row(r: &Row) -> StoreResult<Session> {
    Ok(Session {
        id: SessionId(codec::uuid(r, 0)?),
        identity: IdentityId(codec::uuid(r, 1)?),
        hash: codec::hash(r, 2)?,
        device: get(r, 3)?,
        created_at: codec::time(r, 4)?,
        last_seen: codec::time(r, 5)?,
    })
}

impl SessionStore for PgTx<'_> {
    fn insert_session(&mut self, s: &Session) -> StoreResult<()> {
        self.execute(
            "INSERT INTO sessions (id, identity, hash, device, created_at, last_seen) VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &bytes(&s.id.0),
                &bytes(&s.identity.0),
                &s.hash.0.as_slice(),
                &s.device,
                &s.created_at.timestamp(),
                &s.last_seen.timestamp(),
            ],
        )?;
        Ok(())
    }

    fn session_by_token(&self, hash: &SecretHash) -> StoreResult<Option<Session>> {
        self.query_opt(session_select!("WHERE hash = $1"), &[&hash.0.as_slice()])?
            .as_ref()
            .map(session_row)
            .transpose()
    }

    fn sessions_of(&self, identity: IdentityId) -> StoreResult<Vec<Session>> {
        self.query(session_select!("WHERE identity = $1 ORDER BY created_at, id"), &[&bytes(&identity.0)])?
            .iter()
            .map(session_row)
            .collect()
    }

    fn touch_session(&mut self, id: SessionId, last_seen: DateTime<Utc>) -> StoreResult<()> {
        self.execute(
            "UPDATE sessions SET last_seen = $2 WHERE id = $1",
            &[&bytes(&id.0), &last_seen.timestamp()],
        )?;
        Ok(())
    }

    fn delete_session(&mut self, id: SessionId) -> StoreResult<()> {
        self.execute("DELETE FROM sessions WHERE id = $1", &[&bytes(&id.0)])?;
        Ok(())
    }

    fn delete_sessions_of(&mut self, identity: IdentityId) -> StoreResult<u64> {
        self.execute("DELETE FROM sessions WHERE identity = $1", &[&bytes(&identity.0)])
    }

    fn purge_sessions(
        &mut self,
        seen_before: DateTime<Utc>,
        created_before: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<u64> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.execute(
            "DELETE FROM sessions WHERE id IN (SELECT id FROM sessions WHERE last_seen < $1 OR created_at < $2 LIMIT $3)",
            &[&seen_before.timestamp(), &created_before.timestamp(), &limit],
        )
    }
}
