//! The outbox's messages and their delivery, and the server-wide settings.

use chrono::{DateTime, Utc};
use profile_core::ids::AccountId;
use profile_core::model::message::{Channel, Delivery, DeliveryUpdate, Message, MessageKind, MessageState};
use profile_core::ports::{OutboxStore, SettingsStore, StoreResult};
use rusqlite::{params, OptionalExtension, Row};
use uuid::Uuid;

use crate::codec::{self, bytes};
use crate::credentials::unknown;
use crate::error::backend;
use crate::SqliteTx;

const MESSAGE_SELECT: &str = "SELECT m.id, a.id, m.kind, m.channel, m.recipient, m.subject, m.body, m.html, \
     m.created_at, m.expires_at, m.source, m.state, m.attempts, m.not_before, m.lease_until, m.last_error, \
     m.sent_at FROM messages m LEFT JOIN accounts a ON a.no = m.account_no";

fn message_row(r: &Row<'_>) -> rusqlite::Result<Message> {
    let kind: String = r.get(2)?;
    let channel: String = r.get(3)?;
    let state: String = r.get(11)?;
    Ok(Message {
        id: codec::uuid(r, 0)?,
        account: codec::opt_uuid(r, 1)?.map(AccountId),
        kind: MessageKind::from_code(&kind).ok_or_else(|| unknown(2, "unknown message kind"))?,
        channel: Channel::from_code(&channel).ok_or_else(|| unknown(3, "unknown channel"))?,
        recipient: r.get(4)?,
        subject: r.get(5)?,
        body: r.get(6)?,
        html: r.get(7)?,
        created_at: codec::time(r, 8)?,
        expires_at: codec::opt_time(r, 9)?,
        source: codec::opt_uuid(r, 10)?,
        delivery: Delivery {
            state: MessageState::from_code(&state).ok_or_else(|| unknown(11, "unknown message state"))?,
            attempts: r.get(12)?,
            not_before: codec::time(r, 13)?,
            lease_until: codec::opt_time(r, 14)?,
            last_error: r.get(15)?,
            sent_at: codec::opt_time(r, 16)?,
        },
    })
}

impl OutboxStore for SqliteTx<'_> {
    fn enqueue(&mut self, m: &Message) -> StoreResult<()> {
        self.writable()?;
        let no = match m.account {
            Some(a) => Some(self.no_for_write(a)?),
            None => None,
        };
        let d = &m.delivery;
        self.conn()
            .prepare_cached(
                "INSERT INTO messages (id, account_no, kind, channel, recipient, subject, body, html, created_at, \
                 expires_at, source, state, attempts, not_before, lease_until, last_error, sent_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    bytes(&m.id),
                    no,
                    m.kind.code(),
                    m.channel.code(),
                    m.recipient,
                    m.subject,
                    m.body,
                    m.html,
                    m.created_at.timestamp(),
                    m.expires_at.map(|t| t.timestamp()),
                    m.source.as_ref().map(bytes),
                    d.state.code(),
                    d.attempts,
                    d.not_before.timestamp(),
                    d.lease_until.map(|t| t.timestamp()),
                    d.last_error,
                    d.sent_at.map(|t| t.timestamp())
                ])
            })
            .map_err(backend)?;
        Ok(())
    }

    fn messages(&self, account: Option<AccountId>) -> StoreResult<Vec<Message>> {
        let conn = self.conn();
        match account {
            None => conn
                .prepare_cached(&format!("{MESSAGE_SELECT} ORDER BY m.seq"))
                .and_then(|mut s| s.query_map([], message_row)?.collect()),
            Some(a) => {
                let Some(no) = self.no(a)? else {
                    return Ok(Vec::new());
                };
                conn.prepare_cached(&format!("{MESSAGE_SELECT} WHERE m.account_no = ?1 ORDER BY m.seq"))
                    .and_then(|mut s| s.query_map([no], message_row)?.collect())
            }
        }
        .map_err(backend)
    }

    fn message(&self, id: Uuid) -> StoreResult<Option<Message>> {
        self.conn()
            .prepare_cached(&format!("{MESSAGE_SELECT} WHERE m.id = ?1"))
            .and_then(|mut s| s.query_row([bytes(&id)], message_row).optional())
            .map_err(backend)
    }

    fn due_messages(&self, channel: Channel, now: DateTime<Utc>, limit: usize) -> StoreResult<Vec<Message>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.conn()
            .prepare_cached(&format!(
                "{MESSAGE_SELECT} WHERE m.state = 'pending' AND m.channel = ?1 AND m.not_before <= ?2 \
                 AND (m.lease_until IS NULL OR m.lease_until <= ?2) ORDER BY m.not_before, m.seq LIMIT ?3"
            ))
            .and_then(|mut s| {
                s.query_map(params![channel.code(), now.timestamp(), limit], message_row)?.collect()
            })
            .map_err(backend)
    }

    fn update_deliveries(&mut self, updates: &[DeliveryUpdate]) -> StoreResult<()> {
        self.writable()?;
        let mut s = self
            .conn()
            .prepare_cached(
                "UPDATE messages SET state = ?2, attempts = ?3, not_before = ?4, lease_until = ?5, \
                 last_error = ?6, sent_at = ?7, body = CASE WHEN ?8 THEN '' ELSE body END, \
                 html = CASE WHEN ?8 THEN '' ELSE html END WHERE id = ?1 AND state != 'sent'",
            )
            .map_err(backend)?;
        for u in updates {
            let d = &u.delivery;
            s.execute(params![
                bytes(&u.id),
                d.state.code(),
                d.attempts,
                d.not_before.timestamp(),
                d.lease_until.map(|t| t.timestamp()),
                d.last_error,
                d.sent_at.map(|t| t.timestamp()),
                u.drop_body
            ])
            .map_err(backend)?;
        }
        Ok(())
    }

    fn drop_expired_bodies(&mut self, now: DateTime<Utc>, limit: usize) -> StoreResult<u64> {
        self.delete_before(
            "UPDATE messages SET body = '', html = '', lease_until = NULL, \
             state = CASE state WHEN 'pending' THEN 'obsolete' ELSE state END WHERE seq IN \
             (SELECT seq FROM messages WHERE body != '' AND state IN ('pending', 'failed') \
              AND expires_at <= ?1 ORDER BY expires_at LIMIT ?2)",
            now,
            limit,
        )
    }

    fn purge_sent(&mut self, sent_before: DateTime<Utc>, limit: usize) -> StoreResult<u64> {
        self.delete_before(
            "DELETE FROM messages WHERE seq IN \
             (SELECT seq FROM messages WHERE sent_at < ?1 ORDER BY sent_at, seq LIMIT ?2)",
            sent_before,
            limit,
        )
    }
}

impl SettingsStore for SqliteTx<'_> {
    fn setting(&self, key: &str) -> StoreResult<Option<String>> {
        self.conn()
            .prepare_cached("SELECT value FROM settings WHERE key = ?1")
            .and_then(|mut s| s.query_row([key], |r| r.get(0)).optional())
            .map_err(backend)
    }

    fn set_setting(&mut self, key: &str, value: &str) -> StoreResult<()> {
        self.writable()?;
        self.conn()
            .prepare_cached("INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = ?2")
            .and_then(|mut s| s.execute([key, value]))
            .map_err(backend)?;
        Ok(())
    }
}
