//! The limits of spec §1.6, counted as Bitrix24 counts them: a leaky bucket per credential and
//! one per client address (every request adds 1, the level drains at a constant rate, above the
//! burst requests get `QUERY_LIMIT_EXCEEDED`), so that bad tokens are limited as well as good
//! ones; and an operating-time budget per credential and method (each call's time summed over
//! ten one-minute buckets; past the budget, that method gets `OPERATION_TIME_LIMIT` until the
//! oldest bucket drops out; `batch` itself is not counted, its commands are).
//!
//! The counts are this process's: with several `serve` processes on one database each counts
//! its own share (issue 29 merges them through the store).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use profile_core::model::credential::CredentialId;

/// A leaky bucket's limit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// How many requests may come at once.
    pub burst: f64,
    /// How many the bucket drains each second.
    pub per_second: f64,
}

impl RateLimit {
    /// The default per credential: bursts of 1,000 requests, 50 a second after that (Bitrix24
    /// Enterprise allows 250 and 5): a company's own integrations, paging or writing in `batch`
    /// commands, stay well inside it.
    pub const PER_CREDENTIAL: RateLimit = RateLimit { burst: 1000.0, per_second: 50.0 };
    /// The default per client address (an IPv4 address or an IPv6 /64), whatever credential
    /// it sends, valid or not: twice the credential's.
    pub const PER_ADDRESS: RateLimit = RateLimit { burst: 2000.0, per_second: 100.0 };
}

/// Past this many buckets, drained ones are dropped (an attacker with many addresses cannot
/// grow the map without bound).
const PRUNE_AT: usize = 50_000;

/// Leaky buckets by key.
#[derive(Debug)]
pub(crate) struct Buckets<K>(Mutex<HashMap<K, (f64, Instant)>>);

impl<K> Default for Buckets<K> {
    fn default() -> Self {
        Buckets(Mutex::new(HashMap::new()))
    }
}

impl<K: Hash + Eq> Buckets<K> {
    /// Adds a request; false when it overflows (the request is then not counted).
    pub(crate) fn admit(&self, limit: RateLimit, key: K, now: Instant) -> bool {
        let Ok(mut map) = self.0.lock() else { return true };
        if map.len() >= PRUNE_AT {
            map.retain(|_, (level, at)| {
                *level - now.duration_since(*at).as_secs_f64() * limit.per_second > 0.0
            });
        }
        let (level, at) = map.entry(key).or_insert((0.0, now));
        let drained = (*level - now.duration_since(*at).as_secs_f64() * limit.per_second).max(0.0);
        *at = now;
        if drained + 1.0 > limit.burst {
            *level = drained;
            false
        } else {
            *level = drained + 1.0;
            true
        }
    }
}

/// The rate-limit buckets of the server: per credential and per client address (REST calls,
/// and apart from them the photos a client fetches, so that a page of photos costs no calls).
#[derive(Debug, Default)]
pub(crate) struct Limits {
    pub(crate) credentials: Buckets<CredentialId>,
    pub(crate) addresses: Buckets<String>,
    pub(crate) photos: Buckets<String>,
    pub(crate) operating: Operating,
}

/// The default operating-time budget: 420 s of one method's time per 10 minutes, per
/// credential (on-premise Bitrix24's value once switched on).
pub const OPERATING_BUDGET: Duration = Duration::from_secs(420);

/// Ten one-minute buckets: the minute (unix minutes) and the seconds spent in it.
type Minutes = [(i64, f64); 10];

/// Seconds spent per credential and method.
#[derive(Debug, Default)]
pub(crate) struct Operating(Mutex<HashMap<(CredentialId, String), Minutes>>);

/// Where a method stands against its budget.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Standing {
    /// Seconds it used in the last ten minutes.
    pub(crate) used: f64,
    /// When (unix seconds) the oldest bucket that counts drops out.
    pub(crate) reset_at: i64,
}

impl Operating {
    /// The method's standing at `now` (unix seconds).
    pub(crate) fn standing(&self, credential: CredentialId, method: &str, now: i64) -> Standing {
        let minute = now.div_euclid(60);
        let Ok(map) = self.0.lock() else { return Standing { used: 0.0, reset_at: now + 600 } };
        let Some(slots) = map.get(&(credential, method.to_string())) else {
            return Standing { used: 0.0, reset_at: now + 600 };
        };
        let live = slots.iter().filter(|(m, secs)| *m > minute - 10 && *secs > 0.0);
        let used = live.clone().map(|(_, s)| s).sum();
        let oldest = live.map(|(m, _)| *m).min().unwrap_or(minute);
        Standing { used, reset_at: (oldest + 10) * 60 }
    }

    /// Adds a call's time.
    pub(crate) fn spent(&self, credential: CredentialId, method: &str, now: i64, secs: f64) {
        let minute = now.div_euclid(60);
        let Ok(mut map) = self.0.lock() else { return };
        let slots = map.entry((credential, method.to_string())).or_insert([(i64::MIN, 0.0); 10]);
        let slot = &mut slots[minute.rem_euclid(10) as usize];
        if slot.0 != minute {
            *slot = (minute, 0.0);
        }
        slot.1 += secs;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn bursts_then_drains() {
        let b = Buckets::default();
        let limit = RateLimit { burst: 3.0, per_second: 2.0 };
        let c = CredentialId(Uuid::nil());
        let t0 = Instant::now();
        assert!(b.admit(limit, c, t0));
        assert!(b.admit(limit, c, t0));
        assert!(b.admit(limit, c, t0));
        assert!(!b.admit(limit, c, t0));
        assert!(b.admit(limit, c, t0 + Duration::from_millis(500)), "one drained");
        assert!(!b.admit(limit, c, t0 + Duration::from_millis(500)));
        let other = CredentialId(Uuid::from_u128(1));
        assert!(b.admit(limit, other, t0), "buckets are per credential");
    }

    #[test]
    fn operating_time_sums_ten_minutes() {
        let o = Operating::default();
        let c = CredentialId(Uuid::nil());
        let t0 = 1_000_020; // 20 s into a minute
        o.spent(c, "user.get", t0, 100.0);
        o.spent(c, "user.get", t0 + 120, 50.0);
        o.spent(c, "user.add", t0, 7.0);
        let s = o.standing(c, "user.get", t0 + 130);
        assert!((s.used - 150.0).abs() < 1e-9, "{s:?}");
        assert_eq!(s.reset_at, (t0 / 60 + 10) * 60, "the oldest bucket's minute, ten minutes on");
        // Ten minutes after the first call its bucket no longer counts.
        let later = o.standing(c, "user.get", (t0 / 60 + 10) * 60);
        assert!((later.used - 50.0).abs() < 1e-9, "{later:?}");
        assert!((o.standing(c, "user.add", t0).used - 7.0).abs() < 1e-9, "per method");
    }
}
