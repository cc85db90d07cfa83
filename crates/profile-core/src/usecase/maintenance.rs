//! Housekeeping the server runs on a timer: records that no rule reads any more are deleted, so
//! that tables written on every login attempt, code and message do not grow without end.

use chrono::Duration;

use crate::error::CoreError;
use crate::model::identity::LockoutPolicy;
use crate::model::session::SessionPolicy;
use crate::ports::{StoreResult, Tx};
use crate::usecase::Ctx;

/// How long a confirmation code is kept after it expired. No rule accepts an expired code; the
/// hour only keeps purges clear of codes expiring right now.
pub const EXPIRED_CODES_KEPT: Duration = Duration::hours(1);

/// How long a sent message stays in the outbox listing (its body is already gone).
pub const SENT_MESSAGES_KEPT: Duration = Duration::days(30);

/// Records deleted per write transaction, so a purge never holds the write lock long.
pub const PURGE_CHUNK: usize = 1_000;

/// What one purge deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    /// Confirmation codes expired more than [`EXPIRED_CODES_KEPT`] ago.
    pub codes: u64,
    /// Failed-login records old enough to be forgiven under the lockout policy
    /// ([`LockoutPolicy::forget_after`]): the lockout ignores them already.
    pub login_failures: u64,
    /// Messages sent more than [`SENT_MESSAGES_KEPT`] ago.
    pub sent_messages: u64,
    /// Unsent messages whose link or code expired: their bodies were dropped, and the pending
    /// ones became obsolete (a transport configured later never sends dead links).
    pub expired_bodies: u64,
    /// Web sessions ended by idleness or age more than
    /// [`crate::usecase::sessions::EXPIRED_SESSIONS_KEPT`] ago.
    pub sessions: u64,
    /// Values of deleted custom fields (never read since the field went).
    pub custom_values: u64,
}

/// Deletes the records no rule reads any more (see [`Purged`]); unsent messages, live codes,
/// failures that still count under `policy` (the one logins are checked with) and sessions
/// live under `sessions` are kept. Each
/// kind goes in write transactions of at most [`PURGE_CHUNK`] records.
///
/// # Errors
/// [`CoreError::Storage`]; what earlier transactions deleted stays deleted.
pub fn purge_stale_records(
    ctx: Ctx<'_>,
    policy: &LockoutPolicy,
    sessions: &SessionPolicy,
) -> Result<Purged, CoreError> {
    purge_stale_records_paced(ctx, policy, sessions, &|| {})
}

/// [`purge_stale_records`], calling `pause` after every full chunk (when more may follow): the
/// server sleeps there, so that a large purge (the values of a deleted custom field of every
/// user) takes a small share of a core instead of one whole.
///
/// # Errors
/// As [`purge_stale_records`].
pub fn purge_stale_records_paced(
    ctx: Ctx<'_>,
    policy: &LockoutPolicy,
    sessions: &SessionPolicy,
    pause: &dyn Fn(),
) -> Result<Purged, CoreError> {
    let now = ctx.clock.now();
    let kept = crate::usecase::sessions::EXPIRED_SESSIONS_KEPT;
    let chunks = |purge: &dyn Fn(&mut dyn Tx) -> StoreResult<u64>| in_chunks(ctx, purge, pause);
    Ok(Purged {
        codes: chunks(&|tx| tx.purge_codes(now - EXPIRED_CODES_KEPT, PURGE_CHUNK))?,
        login_failures: chunks(&|tx| tx.purge_login_failures(now - policy.forget_after, PURGE_CHUNK))?,
        sent_messages: chunks(&|tx| tx.purge_sent(now - SENT_MESSAGES_KEPT, PURGE_CHUNK))?,
        expired_bodies: chunks(&|tx| tx.drop_expired_bodies(now, PURGE_CHUNK))?,
        sessions: chunks(&|tx| {
            tx.purge_sessions(now - sessions.idle - kept, now - sessions.absolute - kept, PURGE_CHUNK)
        })?,
        custom_values: chunks(&|tx| tx.purge_custom_values(PURGE_CHUNK))?,
    })
}

/// Runs `purge` (which deletes at most [`PURGE_CHUNK`] records) in write transactions until it
/// deletes fewer, with `pause` between them; returns the total.
fn in_chunks(
    ctx: Ctx<'_>,
    purge: &dyn Fn(&mut dyn Tx) -> StoreResult<u64>,
    pause: &dyn Fn(),
) -> Result<u64, CoreError> {
    let mut total = 0;
    // Bounded: a million records a run at most; the next run takes the rest.
    for _ in 0..1_000 {
        let mut tx = ctx.db.write()?;
        let n = purge(&mut *tx)?;
        tx.commit()?;
        total += n;
        if n < PURGE_CHUNK as u64 {
            break;
        }
        pause();
    }
    Ok(total)
}
