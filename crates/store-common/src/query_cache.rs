//! What recent user queries found, shared by every read connection of the process (and by both
//! of Cardfile's stores, which use it alike), so that offset paging costs each page its own rows instead of re-skipping and recounting every page
//! before it.
//!
//! An entry belongs to one account (the store's number for it), one query (filter, sort, audience, and for queries that
//! depend on the clock the second they are judged at) and one version of the account's query
//! data (`query_versions`, moved on in the transaction of every change to users, memberships,
//! departments or workgroup members, by any process). A reader uses an entry only when its own
//! snapshot shows the entry's version, so every page is exact for the snapshot it is read from;
//! a write between two pages makes the next page find the entry stale and start over once.
//!
//! An entry holds the total and either where pages ended (the last uid before an offset, for
//! queries in ID order that a rowid seek serves) or every match's ID in order (for the rest,
//! read once in the pass that counts them). Entries are keyed by a keyed 128-bit hash of the
//! query (the account number apart, so no collision can cross accounts), bounded in number and
//! in bytes, and dropped least recently used first.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};
use std::sync::{Arc, Mutex, PoisonError};

/// Entries kept at most.
const MAX_ENTRIES: usize = 1024;
/// Page ends remembered per query (1M users are 20,000 pages).
const MAX_CURSORS: usize = 50_000;
/// What one remembered page end costs, roughly (map slot, key, value).
const CURSOR_BYTES: usize = 32;

/// An entry's key: the account and a hash of the query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    no: i64,
    query: u128,
}

struct Entry {
    version: i64,
    total: Option<u64>,
    order: Order,
    /// When it was last used, by the cache's own clock.
    used: u64,
}

enum Order {
    /// Offset → the uid of the row just before it.
    Cursors(HashMap<u64, i64>),
    /// Every match's user ID, in the query's order.
    Ids(Arc<[u32]>),
}

impl Entry {
    fn bytes(&self) -> usize {
        64 + match &self.order {
            Order::Cursors(c) => c.len() * CURSOR_BYTES,
            Order::Ids(ids) => ids.len() * 4,
        }
    }
}

struct Inner {
    entries: HashMap<Key, Entry>,
    bytes: usize,
    clock: u64,
}

/// See the module documentation.
pub struct QueryCache {
    inner: Mutex<Inner>,
    hashers: (RandomState, RandomState),
    budget: usize,
}

impl QueryCache {
    /// A cache of at most `budget` bytes.
    pub fn new(budget: usize) -> QueryCache {
        QueryCache {
            inner: Mutex::new(Inner { entries: HashMap::new(), bytes: 0, clock: 0 }),
            hashers: (RandomState::new(), RandomState::new()),
            budget,
        }
    }

    /// The key of `query` in the account numbered `no`.
    pub fn key(&self, no: i64, query: &impl Hash) -> Key {
        let high = u128::from(self.hashers.0.hash_one(query));
        let low = u128::from(self.hashers.1.hash_one(query));
        Key { no, query: (high << 64) | low }
    }

    /// The most IDs one entry may hold: a larger result is paged without the cache.
    pub fn max_ids(&self) -> usize {
        self.budget / 2 / 4
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The entry of `key` at `version`, touched.
    fn with<T>(&self, key: Key, version: i64, f: impl FnOnce(&Entry) -> Option<T>) -> Option<T> {
        let mut inner = self.lock();
        inner.clock += 1;
        let now = inner.clock;
        let entry = inner.entries.get_mut(&key).filter(|e| e.version == version)?;
        entry.used = now;
        f(entry)
    }

    /// The total, if known at `version`.
    pub fn total(&self, key: Key, version: i64) -> Option<u64> {
        self.with(key, version, |e| e.total)
    }

    /// The uid just before offset `start`, if a page ended there at `version`.
    pub fn cursor(&self, key: Key, version: i64, start: u64) -> Option<i64> {
        self.with(key, version, |e| match &e.order {
            Order::Cursors(c) => c.get(&start).copied(),
            Order::Ids(_) => None,
        })
    }

    /// Every match's ID in order, if read at `version`.
    pub fn ids(&self, key: Key, version: i64) -> Option<Arc<[u32]>> {
        self.with(key, version, |e| match &e.order {
            Order::Ids(ids) => Some(Arc::clone(ids)),
            Order::Cursors(_) => None,
        })
    }

    /// Every match's ID in order and the version they were read at, whatever version that is:
    /// for a store that checks the version in the same round trip as it reads the page, and
    /// uses the page only if the version is the entry's.
    pub fn latest_ids(&self, key: Key) -> Option<(i64, Arc<[u32]>)> {
        let mut inner = self.lock();
        inner.clock += 1;
        let now = inner.clock;
        let entry = inner.entries.get_mut(&key)?;
        entry.used = now;
        match &entry.order {
            Order::Ids(ids) => Some((entry.version, Arc::clone(ids))),
            Order::Cursors(_) => None,
        }
    }

    /// Records that at `version` the row before offset `next` has `uid` (when a page ended
    /// there), and the total when known.
    pub fn remember_cursor(&self, key: Key, version: i64, next: Option<(u64, i64)>, total: Option<u64>) {
        let mut inner = self.lock();
        let Some(entry) = fresh_entry(&mut inner, key, version, || Order::Cursors(HashMap::new())) else {
            return;
        };
        if total.is_some() {
            entry.total = total;
        }
        let before = entry.bytes();
        if let (Some((offset, uid)), Order::Cursors(cursors)) = (next, &mut entry.order) {
            if cursors.len() >= MAX_CURSORS {
                cursors.clear();
            }
            cursors.insert(offset, uid);
        }
        let after = entry.bytes();
        inner.bytes = (inner.bytes + after).saturating_sub(before);
        self.evict(&mut inner, key);
    }

    /// Records every match's ID at `version`.
    pub fn remember_ids(&self, key: Key, version: i64, ids: Arc<[u32]>) {
        let mut inner = self.lock();
        let total = Some(ids.len() as u64);
        let Some(entry) = fresh_entry(&mut inner, key, version, || Order::Ids(Arc::clone(&ids))) else {
            return;
        };
        let before = entry.bytes();
        entry.order = Order::Ids(ids);
        entry.total = total;
        let after = entry.bytes();
        inner.bytes = (inner.bytes + after).saturating_sub(before);
        self.evict(&mut inner, key);
    }

    /// Drops the least recently used entries (never `keep`) until the cache fits its budget.
    fn evict(&self, inner: &mut Inner, keep: Key) {
        while inner.bytes > self.budget || inner.entries.len() > MAX_ENTRIES {
            let oldest = inner.entries.iter().filter(|(k, _)| **k != keep).min_by_key(|(_, e)| e.used);
            let Some(&oldest) = oldest.map(|(k, _)| k) else { break };
            if let Some(gone) = inner.entries.remove(&oldest) {
                inner.bytes = inner.bytes.saturating_sub(gone.bytes());
            }
        }
    }

    /// Bytes held (for tests).
    #[cfg(test)]
    fn held(&self) -> (usize, usize) {
        let inner = self.lock();
        (inner.entries.len(), inner.bytes)
    }
}

/// The entry of `key` to write at `version`: kept if it is at that version, started over if it
/// is older (or of the other kind), `None` if it is newer (a reader with an older snapshot
/// must not overwrite what a newer one found).
fn fresh_entry(
    inner: &mut Inner,
    key: Key,
    version: i64,
    order: impl FnOnce() -> Order,
) -> Option<&mut Entry> {
    inner.clock += 1;
    let now = inner.clock;
    let stale = match inner.entries.get(&key) {
        Some(e) if e.version > version => return None,
        Some(e) => e.version < version,
        None => true,
    };
    if stale {
        let entry = Entry { version, total: None, order: order(), used: now };
        let bytes = entry.bytes();
        if let Some(old) = inner.entries.insert(key, entry) {
            inner.bytes = inner.bytes.saturating_sub(old.bytes());
        }
        inner.bytes += bytes;
    }
    let entry = inner.entries.get_mut(&key)?;
    entry.used = now;
    Some(entry)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_serves_its_version_only() {
        let c = QueryCache::new(1 << 20);
        let k = c.key(1, &"q");
        c.remember_cursor(k, 3, Some((50, 77)), Some(120));
        assert_eq!((c.cursor(k, 3, 50), c.total(k, 3)), (Some(77), Some(120)));
        assert_eq!(c.cursor(k, 3, 100), None);
        assert_eq!((c.cursor(k, 4, 50), c.total(k, 4)), (None, None), "a newer version");
        c.remember_cursor(k, 2, Some((50, 1)), Some(1));
        assert_eq!(c.cursor(k, 3, 50), Some(77), "an older snapshot does not overwrite");
        c.remember_ids(k, 4, vec![5, 3, 9].into());
        assert_eq!(c.ids(k, 4).as_deref(), Some(&[5, 3, 9][..]));
        assert_eq!((c.total(k, 4), c.cursor(k, 4, 50)), (Some(3), None));
    }

    #[test]
    fn keys_keep_accounts_apart() {
        let c = QueryCache::new(1 << 20);
        let (a, b) = (c.key(1, &"q"), c.key(2, &"q"));
        assert_ne!(a, b);
        c.remember_ids(a, 0, vec![1].into());
        assert!(c.ids(b, 0).is_none());
    }

    #[test]
    fn bounded_by_bytes_least_recently_used_first() {
        let c = QueryCache::new(10_000);
        let ids: Arc<[u32]> = vec![0; 1_000].into();
        let keys: Vec<Key> = (0..4).map(|i| c.key(1, &i)).collect();
        c.remember_ids(keys[0], 0, Arc::clone(&ids));
        c.remember_ids(keys[1], 0, Arc::clone(&ids));
        assert!(c.ids(keys[0], 0).is_some(), "touch the first");
        c.remember_ids(keys[2], 0, Arc::clone(&ids));
        assert!(c.ids(keys[1], 0).is_none(), "the least recently used went");
        assert!(c.ids(keys[0], 0).is_some() && c.ids(keys[2], 0).is_some());
        let (n, bytes) = c.held();
        assert!(n == 2 && bytes <= 10_000, "{n} entries, {bytes} bytes");
    }
}
