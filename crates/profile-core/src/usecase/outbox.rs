//! The outbox: queued by the use cases whose changes cause a message, read and retried by
//! administrators, and drained by delivery workers through [`OutboxQueue`].

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::access::{Actor, Scope};
use crate::error::CoreError;
use crate::ids::AccountId;
use crate::model::identity::Login;
use crate::model::invitation::{InvitationId, InvitationState};
use crate::model::message::{Channel, Delivery, DeliveryUpdate, Message, MessageKind, MessageState};
use crate::ports::{StoreResult, Tx};
use crate::templates::{Composed, ENGLISH};
use crate::usecase::queue::{Queue, Queued};
use crate::usecase::Ctx;

/// The messages of the actor's account, oldest first. With `everything`, the server's operator
/// also sees the messages of every account and those of no account (confirmation codes).
/// Administrators only: messages carry invitation links and generated passwords.
///
/// # Errors
/// [`CoreError::Forbidden`] for non-administrators, or `everything` from anyone but the operator.
pub fn list_messages(ctx: Ctx<'_>, actor: &Actor, everything: bool) -> Result<Vec<Message>, CoreError> {
    check_reader(actor, everything)?;
    let tx = ctx.db.read()?;
    Ok(tx.messages(if everything { None } else { Some(actor.account) })?)
}

fn check_reader(actor: &Actor, everything: bool) -> Result<(), CoreError> {
    actor.require(Scope::User)?;
    actor.require_admin()?;
    if everything && actor.user.is_some() {
        return Err(CoreError::forbidden("only the server's operator reads every account's messages"));
    }
    Ok(())
}

/// A message the actor may read (their account's; any, for the operator with `everything`).
fn readable(tx: &dyn Tx, actor: &Actor, everything: bool, id: Uuid) -> Result<Message, CoreError> {
    check_reader(actor, everything)?;
    tx.message(id)?
        .filter(|m| everything || m.account == Some(actor.account))
        .ok_or_else(|| CoreError::not_found("message", id))
}

/// Records that a message was passed on by hand: it is sent, and its body is dropped.
///
/// # Errors
/// As [`list_messages`]; [`CoreError::NotFound`] for a message the actor cannot read.
pub fn mark_sent(ctx: Ctx<'_>, actor: &Actor, everything: bool, id: Uuid) -> Result<Message, CoreError> {
    let mut tx = ctx.db.write()?;
    let mut m = readable(&*tx, actor, everything, id)?;
    if m.delivery.state != MessageState::Sent {
        m.delivery.state = MessageState::Sent;
        m.delivery.sent_at.get_or_insert(ctx.clock.now());
        m.delivery.lease_until = None;
        tx.update_deliveries(&[DeliveryUpdate { id, delivery: m.delivery.clone(), drop_body: true }])?;
        m.body.clear();
        m.html.clear();
    }
    tx.commit()?;
    Ok(m)
}

/// Puts a failed message back in the queue, due at once with its attempts counted afresh.
///
/// # Errors
/// As [`mark_sent`]; [`CoreError::Conflict`] on `state` when the message did not fail, or its
/// body was dropped because what it delivered has expired (then a new invitation or code is
/// needed).
pub fn retry_message(ctx: Ctx<'_>, actor: &Actor, everything: bool, id: Uuid) -> Result<Message, CoreError> {
    let mut tx = ctx.db.write()?;
    let mut m = readable(&*tx, actor, everything, id)?;
    if m.delivery.state != MessageState::Failed {
        return Err(CoreError::conflict(
            "state",
            format!("the message is {}, not failed", m.delivery.state.code()),
        ));
    }
    let now = ctx.clock.now();
    if m.body_dropped() || m.expires_at.is_some_and(|t| t <= now) {
        return Err(CoreError::conflict("state", "the message has expired: send a new invitation or code"));
    }
    m.delivery =
        Delivery { last_error: m.delivery.last_error.take(), sent_at: None, ..Delivery::due_at(now) };
    tx.update_deliveries(&[DeliveryUpdate { id, delivery: m.delivery.clone(), drop_body: false }])?;
    tx.commit()?;
    Ok(m)
}

/// Retries every failed message the actor may read that can still be used; returns them.
///
/// # Errors
/// As [`list_messages`].
pub fn retry_failed(ctx: Ctx<'_>, actor: &Actor, everything: bool) -> Result<Vec<Message>, CoreError> {
    let failed: Vec<Uuid> = list_messages(ctx, actor, everything)?
        .into_iter()
        .filter(|m| m.delivery.state == MessageState::Failed && !m.body_dropped())
        .map(|m| m.id)
        .collect();
    let mut retried = Vec::new();
    for id in failed {
        match retry_message(ctx, actor, everything, id) {
            Ok(m) => retried.push(m),
            // Expired or settled meanwhile: nothing to retry.
            Err(CoreError::Conflict { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(retried)
}

/// How long a notice (approved, changed, a generated password) is worth sending: one that
/// could not be delivered within it is dropped rather than sent weeks late.
pub(crate) const NOTICE_LIFETIME: chrono::Duration = chrono::Duration::days(7);

/// Queues a composed message to a login-shaped address, in the caller's unit of work: the SMS
/// text to a phone, the rendered e-mail to an address. `expires_at` and `source` make it
/// obsolete once what it delivers can no longer be used.
#[allow(clippy::too_many_arguments)]
pub(crate) fn queue_message(
    tx: &mut dyn Tx,
    ctx: Ctx<'_>,
    account: Option<AccountId>,
    kind: MessageKind,
    to: &Login,
    composed: &Composed,
    expires_at: Option<DateTime<Utc>>,
    source: Option<Uuid>,
) -> Result<(), CoreError> {
    let now = ctx.clock.now();
    let (channel, subject, body, html) = if to.is_phone() {
        (Channel::Sms, String::new(), composed.sms.clone(), String::new())
    } else {
        let r = composed.render(&ENGLISH, ctx.base_url);
        (Channel::Email, r.subject, r.text, r.html)
    };
    tx.enqueue(&Message {
        id: ctx.ids.uuid(),
        account,
        kind,
        channel,
        recipient: to.as_str().to_string(),
        subject,
        body,
        html,
        created_at: now,
        expires_at,
        source,
        delivery: Delivery::due_at(now),
    })?;
    Ok(())
}

/// The outbox of one channel, as a delivery queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutboxQueue {
    /// The channel its worker sends on.
    pub channel: Channel,
}

impl Queued for Message {
    fn id(&self) -> Uuid {
        self.id
    }
    fn queued_at(&self) -> DateTime<Utc> {
        self.created_at
    }
    fn usable_until(&self) -> Option<DateTime<Utc>> {
        self.expires_at
    }
    fn delivery(&self) -> &Delivery {
        &self.delivery
    }
    fn delivery_mut(&mut self) -> &mut Delivery {
        &mut self.delivery
    }
}

impl Queue for OutboxQueue {
    type Item = Message;

    fn due(&self, tx: &dyn Tx, now: DateTime<Utc>, limit: usize) -> StoreResult<Vec<Message>> {
        tx.due_messages(self.channel, now, limit)
    }

    fn is_obsolete(&self, tx: &dyn Tx, m: &Message, now: DateTime<Utc>) -> StoreResult<bool> {
        let Some(source) = m.source else { return Ok(false) };
        Ok(match m.kind {
            MessageKind::Invitation => match m.account {
                Some(account) => tx
                    .invitation(account, InvitationId(source))?
                    .is_none_or(|i| i.state_at(now) != InvitationState::Pending),
                None => false,
            },
            MessageKind::ConfirmationCode | MessageKind::ResetCode => {
                tx.code(source)?.is_none_or(|c| c.used || c.attempts_left == 0 || now >= c.expires_at)
            }
            _ => false,
        })
    }

    fn update(&self, tx: &mut dyn Tx, updates: &[DeliveryUpdate]) -> StoreResult<()> {
        tx.update_deliveries(updates)
    }
}
