//! The outbox's messages and their delivery, and the server-wide settings.

use chrono::{DateTime, Utc};
use profile_core::ids::AccountId;
use profile_core::model::message::{Channel, Delivery, DeliveryUpdate, Message, MessageKind, MessageState};
use profile_core::ports::{OutboxStore, SettingsStore, StoreResult};
use tokio_postgres::Row;
use uuid::Uuid;

use crate::codec::{self, bytes, get};
use crate::error::bad;
use crate::PgTx;

/// The statement that reads messages, in [`message_row`]'s order, followed by `$tail`.
macro_rules! message_select {
    ($tail:literal) => {
        concat!(
            "SELECT m.id, a.id, m.kind, m.channel, m.recipient, m.subject, m.body, m.html, m.created_at, \
             m.expires_at, m.source, m.state, m.attempts, m.not_before, m.lease_until, m.last_error, m.sent_at \
             FROM messages m LEFT JOIN accounts a ON a.no = m.account_no ",
            $tail
        )
    };
}

fn message_row(r: &Row) -> StoreResult<Message> {
    Ok(Message {
        id: codec::uuid(r, 0)?,
        account: codec::opt_uuid(r, 1)?.map(AccountId),
        kind: MessageKind::from_code(get(r, 2)?).ok_or_else(|| bad("unknown message kind"))?,
        channel: Channel::from_code(get(r, 3)?).ok_or_else(|| bad("unknown channel"))?,
        recipient: get(r, 4)?,
        subject: get(r, 5)?,
        body: get(r, 6)?,
        html: get(r, 7)?,
        created_at: codec::time(r, 8)?,
        expires_at: codec::opt_time(r, 9)?,
        source: codec::opt_uuid(r, 10)?,
        delivery: Delivery {
            state: MessageState::from_code(get(r, 11)?).ok_or_else(|| bad("unknown message state"))?,
            attempts: u32::try_from(get::<i64>(r, 12)?).map_err(|_| bad("attempts out of range"))?,
            not_before: codec::time(r, 13)?,
            lease_until: codec::opt_time(r, 14)?,
            last_error: get(r, 15)?,
            sent_at: codec::opt_time(r, 16)?,
        },
    })
}

impl OutboxStore for PgTx<'_> {
    fn enqueue(&mut self, m: &Message) -> StoreResult<()> {
        self.writable()?;
        let no = match m.account {
            Some(a) => Some(self.no_for_write(a)?),
            None => None,
        };
        let d = &m.delivery;
        self.execute(
            "INSERT INTO messages (id, account_no, kind, channel, recipient, subject, body, html, created_at, \
             expires_at, source, state, attempts, not_before, lease_until, last_error, sent_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
            &[
                &bytes(&m.id),
                &no,
                &m.kind.code(),
                &m.channel.code(),
                &m.recipient,
                &m.subject,
                &m.body,
                &m.html,
                &m.created_at.timestamp(),
                &m.expires_at.map(|t| t.timestamp()),
                &m.source.as_ref().map(bytes),
                &d.state.code(),
                &i64::from(d.attempts),
                &d.not_before.timestamp(),
                &d.lease_until.map(|t| t.timestamp()),
                &d.last_error,
                &d.sent_at.map(|t| t.timestamp()),
            ],
        )?;
        Ok(())
    }

    fn messages(&self, account: Option<AccountId>) -> StoreResult<Vec<Message>> {
        let rows = match account {
            None => self.query(message_select!("ORDER BY m.seq"), &[])?,
            Some(a) => {
                let Some(no) = self.no(a)? else {
                    return Ok(Vec::new());
                };
                self.query(message_select!("WHERE m.account_no = $1 ORDER BY m.seq"), &[&no])?
            }
        };
        rows.iter().map(message_row).collect()
    }

    fn message(&self, id: Uuid) -> StoreResult<Option<Message>> {
        self.query_opt(message_select!("WHERE m.id = $1"), &[&bytes(&id)])?
            .as_ref()
            .map(message_row)
            .transpose()
    }

    fn due_messages(&self, channel: Channel, now: DateTime<Utc>, limit: usize) -> StoreResult<Vec<Message>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self.query(
            message_select!(
                "WHERE m.state = 'pending' AND m.channel = $1 AND m.not_before <= $2 \
                 AND (m.lease_until IS NULL OR m.lease_until <= $2) ORDER BY m.not_before, m.seq LIMIT $3"
            ),
            &[&channel.code(), &now.timestamp(), &limit],
        )?;
        rows.iter().map(message_row).collect()
    }

    fn update_deliveries(&mut self, updates: &[DeliveryUpdate]) -> StoreResult<()> {
        if updates.is_empty() {
            return self.writable();
        }
        // One statement for the whole batch: a worker settles many messages at once.
        let ids: Vec<&[u8]> = updates.iter().map(|u| bytes(&u.id)).collect();
        let states: Vec<&str> = updates.iter().map(|u| u.delivery.state.code()).collect();
        let attempts: Vec<i64> = updates.iter().map(|u| i64::from(u.delivery.attempts)).collect();
        let not_before: Vec<i64> = updates.iter().map(|u| u.delivery.not_before.timestamp()).collect();
        let leases: Vec<Option<i64>> =
            updates.iter().map(|u| u.delivery.lease_until.map(|t| t.timestamp())).collect();
        let errors: Vec<Option<&str>> = updates.iter().map(|u| u.delivery.last_error.as_deref()).collect();
        let sent: Vec<Option<i64>> =
            updates.iter().map(|u| u.delivery.sent_at.map(|t| t.timestamp())).collect();
        let drop: Vec<bool> = updates.iter().map(|u| u.drop_body).collect();
        self.execute(
            "UPDATE messages m SET state = u.state, attempts = u.attempts, not_before = u.not_before, \
             lease_until = u.lease_until, last_error = u.last_error, sent_at = u.sent_at, \
             body = CASE WHEN u.drop_body THEN '' ELSE m.body END, \
             html = CASE WHEN u.drop_body THEN '' ELSE m.html END \
             FROM unnest($1::bytea[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::text[], \
                         $7::bigint[], $8::bool[]) \
                  AS u(id, state, attempts, not_before, lease_until, last_error, sent_at, drop_body) \
             WHERE m.id = u.id AND m.state <> 'sent'",
            &[&ids, &states, &attempts, &not_before, &leases, &errors, &sent, &drop],
        )?;
        Ok(())
    }

    fn drop_expired_bodies(&mut self, now: DateTime<Utc>, limit: usize) -> StoreResult<u64> {
        self.delete_before(
            "UPDATE messages SET body = '', html = '', lease_until = NULL, \
             state = CASE state WHEN 'pending' THEN 'obsolete' ELSE state END WHERE seq IN \
             (SELECT seq FROM messages WHERE body <> '' AND state IN ('pending', 'failed') \
              AND expires_at <= $1 ORDER BY expires_at LIMIT $2)",
            now,
            limit,
        )
    }

    fn purge_sent(&mut self, sent_before: DateTime<Utc>, limit: usize) -> StoreResult<u64> {
        self.delete_before(
            "DELETE FROM messages WHERE seq IN \
             (SELECT seq FROM messages WHERE sent_at < $1 ORDER BY sent_at, seq LIMIT $2)",
            sent_before,
            limit,
        )
    }
}

impl SettingsStore for PgTx<'_> {
    fn setting(&self, key: &str) -> StoreResult<Option<String>> {
        self.query_opt("SELECT value FROM settings WHERE key = $1", &[&key])?.map(|r| get(&r, 0)).transpose()
    }

    fn set_setting(&mut self, key: &str, value: &str) -> StoreResult<()> {
        self.execute(
            "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = $2",
            &[&key, &value],
        )?;
        Ok(())
    }
}
