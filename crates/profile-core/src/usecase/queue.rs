//! A delivery queue, written once for every kind of item that leaves Cardfile (outbox messages
//! now, event deliveries later): workers claim due items with a lease, send them outside any
//! transaction, and settle each outcome, in batches. Everything about a claim is in the store,
//! so several `serve` processes on one database share a queue without sending an item twice at
//! the same time, and a worker that dies (even by `kill -9`) only delays its items until its
//! leases run out: delivery is at least once.
//!
//! Retries back off exponentially with jitter; an item still failing at its give-up time, or
//! answered permanently, is failed. A transport that is down (authentication, TLS, connection)
//! is the transport's fault, not the item's: the worker pauses and its items are released
//! unchanged.

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use crate::error::CoreError;
use crate::model::message::{Delivery, DeliveryUpdate, MessageState};
use crate::ports::{StoreResult, Tx};
use crate::usecase::Ctx;

/// How a queue retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The wait after the first temporary failure.
    pub first_retry: Duration,
    /// The longest wait between attempts (the doubling stops there).
    pub max_retry: Duration,
    /// After this long since it was queued, an item that still fails is failed.
    pub give_up_after: Duration,
    /// How long a claim holds an item; a worker settles well within it.
    pub lease: Duration,
}

impl Default for RetryPolicy {
    /// 30 s, doubling to 1 h, failed after 48 h; leases of 2 minutes.
    fn default() -> RetryPolicy {
        RetryPolicy {
            first_retry: Duration::seconds(30),
            max_retry: Duration::hours(1),
            give_up_after: Duration::hours(48),
            lease: Duration::minutes(2),
        }
    }
}

impl RetryPolicy {
    /// The wait before the attempt after `attempts` failed ones: `first_retry` doubled each
    /// time up to `max_retry`, then drawn in its upper half by `jitter` (0 to 1), so that
    /// items failed together do not come back together.
    pub fn backoff(&self, attempts: u32, jitter: f64) -> Duration {
        let doublings = attempts.saturating_sub(1).min(30);
        let full = self
            .first_retry
            .num_milliseconds()
            .saturating_mul(1 << doublings)
            .min(self.max_retry.num_milliseconds());
        let jitter = jitter.clamp(0.0, 1.0);
        #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
        let ms = (full as f64 * (0.5 + jitter / 2.0)) as i64;
        Duration::milliseconds(ms.max(1))
    }
}

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The transport accepted it.
    Delivered,
    /// A temporary failure of this item: retry later.
    Temporary(String),
    /// A permanent answer about this item (an invalid address, a refusal): fail it.
    Permanent(String),
    /// The transport is unusable (down, wrong credentials, TLS): not this item's fault. It is
    /// released as it was, and the worker pauses.
    Paused(String),
    /// Not attempted (the worker stopped, or its lease is running out): released as it was.
    Released,
}

/// An item of a queue, as the queue's store hands it out.
pub trait Queued {
    /// Its identifier.
    fn id(&self) -> Uuid;
    /// When it was queued.
    fn queued_at(&self) -> DateTime<Utc>;
    /// After this it is useless.
    fn usable_until(&self) -> Option<DateTime<Utc>>;
    /// Its delivery.
    fn delivery(&self) -> &Delivery;
    /// Its delivery, to change.
    fn delivery_mut(&mut self) -> &mut Delivery;
}

/// The store side of one queue.
pub trait Queue {
    /// Its items.
    type Item: Queued;
    /// Pending items due at `now` (backoff passed, no running lease), earliest due first.
    ///
    /// # Errors
    /// [`crate::StoreError`].
    fn due(&self, tx: &dyn Tx, now: DateTime<Utc>, limit: usize) -> StoreResult<Vec<Self::Item>>;
    /// Whether the item is no longer worth sending (what it delivers was used or revoked).
    ///
    /// # Errors
    /// [`crate::StoreError`].
    fn is_obsolete(&self, tx: &dyn Tx, item: &Self::Item, now: DateTime<Utc>) -> StoreResult<bool>;
    /// Writes changed deliveries; an item already sent stays sent.
    ///
    /// # Errors
    /// [`crate::StoreError`].
    fn update(&self, tx: &mut dyn Tx, updates: &[DeliveryUpdate]) -> StoreResult<()>;
}

/// Whether anything is due at all, in a read (a worker's idle poll never writes).
///
/// # Errors
/// [`CoreError::Storage`].
pub fn has_due<Q: Queue>(ctx: Ctx<'_>, queue: &Q) -> Result<bool, CoreError> {
    let tx = ctx.db.read()?;
    Ok(!queue.due(&*tx, ctx.clock.now(), 1)?.is_empty())
}

/// Claims up to `limit` due items for `policy.lease`, in one write. Items found obsolete on
/// the way are settled as such (their bodies dropped), and items past their give-up time are
/// failed; neither is returned.
///
/// # Errors
/// [`CoreError::Storage`].
pub fn claim<Q: Queue>(
    ctx: Ctx<'_>,
    queue: &Q,
    policy: &RetryPolicy,
    limit: usize,
) -> Result<Vec<Q::Item>, CoreError> {
    let now = ctx.clock.now();
    let mut tx = ctx.db.write()?;
    let mut claimed = Vec::new();
    let mut updates = Vec::new();
    for mut item in queue.due(&*tx, now, limit)? {
        let id = item.id();
        let mut d = item.delivery().clone();
        let expired = item.usable_until().is_some_and(|t| t <= now);
        let drop_body = if expired || queue.is_obsolete(&*tx, &item, now)? {
            d.state = MessageState::Obsolete;
            d.lease_until = None;
            true
        } else if now - item.queued_at() >= policy.give_up_after {
            d.state = MessageState::Failed;
            d.lease_until = None;
            d.last_error.get_or_insert_with(|| "gave up: never delivered".into());
            false
        } else {
            d.lease_until = Some(now + policy.lease);
            *item.delivery_mut() = d.clone();
            claimed.push(item);
            false
        };
        updates.push(DeliveryUpdate { id, delivery: d, drop_body });
    }
    queue.update(&mut *tx, &updates)?;
    tx.commit()?;
    Ok(claimed)
}

/// Settles the outcomes of sending claimed items, in one write.
///
/// # Errors
/// [`CoreError::Storage`].
pub fn settle<Q: Queue>(
    ctx: Ctx<'_>,
    queue: &Q,
    policy: &RetryPolicy,
    outcomes: &[(&Q::Item, Outcome)],
) -> Result<(), CoreError> {
    if outcomes.is_empty() {
        return Ok(());
    }
    let now = ctx.clock.now();
    let updates: Vec<DeliveryUpdate> =
        outcomes.iter().map(|(item, outcome)| settled(ctx, policy, *item, outcome, now)).collect();
    let mut tx = ctx.db.write()?;
    queue.update(&mut *tx, &updates)?;
    tx.commit()?;
    Ok(())
}

fn settled<I: Queued>(
    ctx: Ctx<'_>,
    policy: &RetryPolicy,
    item: &I,
    outcome: &Outcome,
    now: DateTime<Utc>,
) -> DeliveryUpdate {
    let mut d = item.delivery().clone();
    d.lease_until = None;
    let dead = item.usable_until().is_some_and(|t| t <= now);
    let drop_body = match outcome {
        Outcome::Delivered => {
            d.attempts += 1;
            d.state = MessageState::Sent;
            d.sent_at.get_or_insert(now);
            d.last_error = None;
            true
        }
        Outcome::Temporary(why) => {
            d.attempts += 1;
            d.last_error = Some(why.clone());
            if now - item.queued_at() >= policy.give_up_after {
                d.state = MessageState::Failed;
            } else {
                d.not_before = now + policy.backoff(d.attempts, jitter(ctx));
            }
            dead
        }
        Outcome::Permanent(why) => {
            d.attempts += 1;
            d.state = MessageState::Failed;
            d.last_error = Some(why.clone());
            dead
        }
        Outcome::Paused(why) => {
            d.last_error = Some(format!("transport paused: {why}"));
            false
        }
        Outcome::Released => false,
    };
    DeliveryUpdate { id: item.id(), delivery: d, drop_body }
}

fn jitter(ctx: Ctx<'_>) -> f64 {
    let mut b = [0u8; 2];
    ctx.ids.fill(&mut b);
    f64::from(u16::from_le_bytes(b)) / f64::from(u16::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_the_cap_within_its_upper_half() {
        let p = RetryPolicy::default();
        assert_eq!(p.backoff(1, 1.0), Duration::seconds(30));
        assert_eq!(p.backoff(1, 0.0), Duration::seconds(15));
        assert_eq!(p.backoff(2, 1.0), Duration::seconds(60));
        assert_eq!(p.backoff(8, 1.0), Duration::hours(1));
        assert_eq!(p.backoff(200, 1.0), Duration::hours(1));
        assert_eq!(p.backoff(0, 1.0), Duration::seconds(30));
    }
}
