//! Activity (decisions.md "Writes that reads cause"): a page view of a signed-in member, or a
//! call by an application token, moves the user's `LAST_ACTIVITY_DATE`, at most once a minute
//! per user and process. A request only notes it in memory; `serve` writes what was noted every [`FLUSH_EVERY`], in one
//! unit of work, off every request's path. Webhook calls do not count: a sync script must not
//! keep its owner online.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use profile_core::ids::{AccountId, UserId};
use profile_core::model::credential::CredentialKind;
use profile_core::usecase::credentials::Authenticated;
use profile_core::usecase::users;

use crate::AppState;

/// Past this many users remembered, all are forgotten (at worst one more write each in the
/// next interval), and past this many noted, more are dropped until the next flush.
const REMEMBERED: usize = 50_000;

/// How often `serve` writes the activity calls noted.
pub(crate) const FLUSH_EVERY: Duration = Duration::from_secs(5);

/// When each user's activity was last noted by this process, and what is still to be written.
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    written: Mutex<HashMap<(AccountId, UserId), Instant>>,
    pending: Mutex<Vec<(AccountId, UserId)>>,
}

impl Recorder {
    /// Whether the user's activity is due to be written at `now` (then it counts as written).
    fn due(&self, key: (AccountId, UserId), now: Instant, interval: Duration) -> bool {
        let mut written = self.written.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if written.get(&key).is_some_and(|at| now.duration_since(*at) < interval) {
            return false;
        }
        if written.len() >= REMEMBERED {
            written.clear();
        }
        written.insert(key, now);
        true
    }
}

/// Notes the caller's activity when its credential acts as a user and it is due.
pub(crate) fn note(state: &AppState, auth: &Authenticated) {
    if auth.credential.kind != CredentialKind::AppToken {
        return;
    }
    if let Some(user) = auth.actor.user {
        note_user(state, auth.actor.account, user);
    }
}

/// Notes a user's activity (a page view, a token's call) when it is due.
pub(crate) fn note_user(state: &AppState, account: AccountId, user: UserId) {
    let interval = profile_core::model::user::ACTIVITY_INTERVAL.to_std().unwrap_or(Duration::from_secs(60));
    let key = (account, user);
    if state.activity.due(key, Instant::now(), interval) {
        let mut pending = state.activity.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // Without `serve`'s flush (the router alone, in tests) nothing is written: bounded.
        if pending.len() < REMEMBERED {
            pending.push(key);
        }
    }
}

/// Writes what was noted, every [`FLUSH_EVERY`], for as long as the server runs.
pub(crate) async fn flush_every(state: Arc<AppState>) {
    let mut tick = tokio::time::interval(FLUSH_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let noted = std::mem::take(
            &mut *state.activity.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        if noted.is_empty() {
            continue;
        }
        let s = Arc::clone(&state);
        let written = tokio::task::spawn_blocking(move || users::record_activity(s.ctx(), &noted)).await;
        if let Ok(Err(e)) = written {
            tracing::warn!(error = %e, "could not record users' activity");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn once_an_interval_per_user() {
        let r = Recorder::default();
        let (a, b) = ((AccountId(uuid::Uuid::nil()), UserId(1)), (AccountId(uuid::Uuid::nil()), UserId(2)));
        let t = Instant::now();
        let minute = Duration::from_secs(60);
        assert!(r.due(a, t, minute));
        assert!(!r.due(a, t + Duration::from_secs(59), minute));
        assert!(r.due(b, t + Duration::from_secs(59), minute));
        assert!(r.due(a, t + minute, minute));
    }
}
