//! A leaky bucket per credential (spec §1.6): every request adds 1; the level drains at a
//! constant rate; above the burst, requests get `QUERY_LIMIT_EXCEEDED`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use profile_core::model::credential::CredentialId;

/// The limit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// How many requests may come at once.
    pub burst: f64,
    /// How many the bucket drains each second.
    pub per_second: f64,
}

/// The buckets, by credential.
#[derive(Debug, Default)]
pub(crate) struct Buckets(Mutex<HashMap<CredentialId, (f64, Instant)>>);

impl Buckets {
    /// Adds a request; false when it overflows (the request is then not counted).
    pub(crate) fn admit(&self, limit: RateLimit, credential: CredentialId, now: Instant) -> bool {
        let Ok(mut map) = self.0.lock() else { return true };
        let (level, at) = map.entry(credential).or_insert((0.0, now));
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
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
}
