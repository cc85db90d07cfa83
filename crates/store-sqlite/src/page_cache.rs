//! Deep offset pages without re-skipping and recounting: per read connection, where the pages of
//! recent ID-ordered queries ended and how many rows matched, valid while the connection's
//! `PRAGMA data_version` is unchanged (it changes when any other connection, in this process or
//! another, commits). Paging through 100k users with `start` offsets spent ~10 ms a page skipping
//! and counting; with this, page N+1 seeks past the last ID of page N.

use std::collections::HashMap;

/// Queries remembered per connection; beyond, the cache starts over.
const MAX_QUERIES: usize = 32;
/// Page ends remembered per query (100k users are 2,000 pages).
const MAX_CURSORS: usize = 50_000;

#[derive(Debug, Default)]
struct Entry {
    total: Option<u64>,
    /// Offset → the uid of the row just before it.
    cursors: HashMap<u64, i64>,
}

/// See the module documentation.
#[derive(Debug, Default)]
pub(crate) struct PageCache {
    version: Option<i64>,
    queries: HashMap<String, Entry>,
}

impl PageCache {
    /// Forgets everything unless the database is at `version`, as it was when it was filled.
    pub(crate) fn sync(&mut self, version: i64) {
        if self.version != Some(version) {
            self.queries.clear();
            self.version = Some(version);
        }
    }

    pub(crate) fn total(&self, query: &str) -> Option<u64> {
        self.queries.get(query).and_then(|e| e.total)
    }

    /// The uid just before offset `start`, if a page ended there.
    pub(crate) fn cursor(&self, query: &str, start: u64) -> Option<i64> {
        self.queries.get(query).and_then(|e| e.cursors.get(&start).copied())
    }

    /// Records that the row before offset `next` has `uid`, and the total when known.
    pub(crate) fn remember(&mut self, query: &str, next: Option<(u64, i64)>, total: Option<u64>) {
        if !self.queries.contains_key(query) && self.queries.len() >= MAX_QUERIES {
            self.queries.clear();
        }
        let e = self.queries.entry(query.to_string()).or_default();
        if total.is_some() {
            e.total = total;
        }
        if let Some((offset, uid)) = next {
            if e.cursors.len() >= MAX_CURSORS {
                e.cursors.clear();
            }
            e.cursors.insert(offset, uid);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_version_forgets_everything() {
        let mut c = PageCache::default();
        c.sync(1);
        c.remember("q", Some((50, 77)), Some(120));
        assert_eq!((c.cursor("q", 50), c.total("q")), (Some(77), Some(120)));
        assert_eq!(c.cursor("q", 100), None);
        c.sync(1);
        assert_eq!(c.cursor("q", 50), Some(77));
        c.sync(2);
        assert_eq!((c.cursor("q", 50), c.total("q")), (None, None));
    }

    #[test]
    fn bounded() {
        let mut c = PageCache::default();
        c.sync(1);
        for i in 0..=MAX_QUERIES {
            c.remember(&format!("q{i}"), Some((50, 1)), None);
        }
        assert!(c.queries.len() <= MAX_QUERIES);
    }
}
