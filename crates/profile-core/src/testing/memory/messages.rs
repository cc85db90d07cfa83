//! The outbox, web sessions and server settings of [`MemoryDb`](super::MemoryDb): the
//! reference semantics of the delivery queue's ports (whole seconds, as the stores keep time).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{oldest_before, MemTx};
use crate::error::StoreError;
use crate::ids::AccountId;
use crate::model::identity::IdentityId;
use crate::model::message::{Channel, DeliveryUpdate, Message, MessageState};
use crate::model::session::{Session, SessionId};
use crate::ports::{OutboxStore, SessionStore, SettingsStore, StoreResult};
use crate::secret::SecretHash;

impl OutboxStore for MemTx<'_> {
    fn enqueue(&mut self, message: &Message) -> StoreResult<()> {
        self.writable()?;
        self.state.outbox.push(message.clone());
        Ok(())
    }

    fn messages(&self, account: Option<AccountId>) -> StoreResult<Vec<Message>> {
        Ok(self.state.outbox.iter().filter(|m| account.is_none() || m.account == account).cloned().collect())
    }

    fn message(&self, id: Uuid) -> StoreResult<Option<Message>> {
        Ok(self.state.outbox.iter().find(|m| m.id == id).cloned())
    }

    fn due_messages(&self, channel: Channel, now: DateTime<Utc>, limit: usize) -> StoreResult<Vec<Message>> {
        let now = now.timestamp();
        let mut due: Vec<(i64, usize)> = self
            .state
            .outbox
            .iter()
            .enumerate()
            .filter(|(_, m)| m.channel == channel && m.delivery.state == MessageState::Pending)
            .filter(|(_, m)| m.delivery.not_before.timestamp() <= now)
            .filter(|(_, m)| m.delivery.lease_until.is_none_or(|t| t.timestamp() <= now))
            .map(|(i, m)| (m.delivery.not_before.timestamp(), i))
            .collect();
        due.sort_unstable();
        Ok(due.into_iter().take(limit).map(|(_, i)| self.state.outbox[i].clone()).collect())
    }

    fn update_deliveries(&mut self, updates: &[DeliveryUpdate]) -> StoreResult<()> {
        self.writable()?;
        for u in updates {
            let Some(m) = self.state.outbox.iter_mut().find(|m| m.id == u.id) else { continue };
            if m.delivery.state == MessageState::Sent {
                continue;
            }
            // Stored as the stores store it: in whole seconds.
            let secs = |t: DateTime<Utc>| DateTime::from_timestamp(t.timestamp(), 0).unwrap_or(t);
            m.delivery = u.delivery.clone();
            m.delivery.not_before = secs(m.delivery.not_before);
            m.delivery.lease_until = m.delivery.lease_until.map(secs);
            m.delivery.sent_at = m.delivery.sent_at.map(secs);
            if u.drop_body {
                m.body.clear();
                m.html.clear();
            }
        }
        Ok(())
    }

    fn drop_expired_bodies(&mut self, now: DateTime<Utc>, limit: usize) -> StoreResult<u64> {
        self.writable()?;
        let mut n = 0;
        for m in &mut self.state.outbox {
            if n == limit as u64 {
                break;
            }
            let live = matches!(m.delivery.state, MessageState::Pending | MessageState::Failed);
            if live && !m.body_dropped() && m.expires_at.is_some_and(|t| t.timestamp() <= now.timestamp()) {
                m.body.clear();
                m.html.clear();
                if m.delivery.state == MessageState::Pending {
                    m.delivery.state = MessageState::Obsolete;
                    m.delivery.lease_until = None;
                }
                n += 1;
            }
        }
        Ok(n)
    }

    fn purge_sent(&mut self, sent_before: DateTime<Utc>, limit: usize) -> StoreResult<u64> {
        self.writable()?;
        // Earliest sent first; the outbox is in insertion order, which breaks ties.
        let sent =
            self.state.outbox.iter().enumerate().filter_map(|(i, m)| m.delivery.sent_at.map(|at| (at, i)));
        let mut gone = oldest_before(sent, sent_before, limit);
        gone.sort_unstable();
        for i in gone.iter().rev() {
            self.state.outbox.remove(*i);
        }
        Ok(gone.len() as u64)
    }
}

impl SessionStore for MemTx<'_> {
    fn insert_session(&mut self, session: &Session) -> StoreResult<()> {
        self.writable()?;
        if self.state.sessions.iter().any(|s| s.id == session.id || s.hash == session.hash) {
            return Err(StoreError::UniqueViolation { what: "session".into() });
        }
        let secs = |t: DateTime<Utc>| DateTime::from_timestamp(t.timestamp(), 0).unwrap_or(t);
        self.state.sessions.push(Session {
            created_at: secs(session.created_at),
            last_seen: secs(session.last_seen),
            ..session.clone()
        });
        Ok(())
    }

    fn session_by_token(&self, hash: &SecretHash) -> StoreResult<Option<Session>> {
        Ok(self.state.sessions.iter().find(|s| s.hash == *hash).cloned())
    }

    fn sessions_of(&self, identity: IdentityId) -> StoreResult<Vec<Session>> {
        let mut mine: Vec<Session> =
            self.state.sessions.iter().filter(|s| s.identity == identity).cloned().collect();
        mine.sort_by_key(|s| (s.created_at, s.id));
        Ok(mine)
    }

    fn touch_session(&mut self, id: SessionId, last_seen: DateTime<Utc>) -> StoreResult<()> {
        self.writable()?;
        if let Some(s) = self.state.sessions.iter_mut().find(|s| s.id == id) {
            s.last_seen = DateTime::from_timestamp(last_seen.timestamp(), 0).unwrap_or(last_seen);
        }
        Ok(())
    }

    fn delete_session(&mut self, id: SessionId) -> StoreResult<()> {
        self.writable()?;
        self.state.sessions.retain(|s| s.id != id);
        Ok(())
    }

    fn delete_sessions_of(&mut self, identity: IdentityId) -> StoreResult<u64> {
        self.writable()?;
        let before = self.state.sessions.len();
        self.state.sessions.retain(|s| s.identity != identity);
        Ok((before - self.state.sessions.len()) as u64)
    }

    fn purge_sessions(
        &mut self,
        seen_before: DateTime<Utc>,
        created_before: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<u64> {
        self.writable()?;
        let (seen, created) = (seen_before.timestamp(), created_before.timestamp());
        let mut n = 0;
        self.state.sessions.retain(|s| {
            let gone = n < limit && (s.last_seen.timestamp() < seen || s.created_at.timestamp() < created);
            if gone {
                n += 1;
            }
            !gone
        });
        Ok(n as u64)
    }
}

impl SettingsStore for MemTx<'_> {
    fn setting(&self, key: &str) -> StoreResult<Option<String>> {
        Ok(self.state.settings.get(key).cloned())
    }

    fn set_setting(&mut self, key: &str, value: &str) -> StoreResult<()> {
        self.writable()?;
        self.state.settings.insert(key.to_string(), value.to_string());
        Ok(())
    }
}
