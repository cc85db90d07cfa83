//! The quick-search index: one FTS5 document per user, and per-prefix match counts.

use std::collections::HashMap;

use profile_core::ids::{DepartmentId, UserId};
use profile_core::model::user::{Role, User};
use profile_core::ports::StoreResult;
use profile_core::query::{
    add_custom_words, custom_word, interest_word, search_prefixes, user_search_words, FindTerm, ADDRESS_MARK,
    EMAIL_WORD_MARK, PHONE_MARK,
};
use profile_core::StoreError;
use rusqlite::{params, Connection, OptionalExtension};

use crate::error::backend;
use crate::users::uid;
use crate::SqliteTx;

/// The audience class a user's prefixes are counted in: 0 for those every intranet user sees
/// (administrators, employees), 1 for the rest.
pub(crate) fn class(role: Role) -> i64 {
    i64::from(!matches!(role, Role::Administrator | Role::Employee))
}

pub(crate) fn department_name(conn: &Connection, no: i64, id: DepartmentId) -> StoreResult<String> {
    conn.prepare_cached("SELECT name FROM departments WHERE account_no = ?1 AND id = ?2")
        .and_then(|mut s| s.query_row(params![no, id.0], |r| r.get::<_, String>(0)).optional())
        .map(Option::unwrap_or_default)
        .map_err(backend)
}

/// The words `user` is found by, with the current names of their departments and the values
/// of the account's string custom fields.
pub(crate) fn words_of(tx: &SqliteTx<'_>, no: i64, user: &User) -> StoreResult<Vec<String>> {
    let names = user
        .departments
        .iter()
        .map(|d| department_name(tx.conn(), no, *d))
        .collect::<StoreResult<Vec<_>>>()?;
    let mut words = user_search_words(user, names.iter().map(String::as_str));
    let custom = custom_texts(tx.conn(), no, uid(no, user.id))?;
    add_custom_words(&mut words, custom.iter().map(|(f, t)| (*f, t.as_str())));
    Ok(words)
}

/// The values of a user's string custom fields (of fields not deleted), by field.
pub(crate) fn custom_texts(conn: &Connection, no: i64, uid: i64) -> StoreResult<Vec<(u32, String)>> {
    conn.prepare_cached(
        "SELECT v.field, v.txt FROM custom_values v JOIN custom_fields f ON f.account_no = ?1 AND f.id = v.field \
         WHERE v.uid = ?2 AND f.kind = 'string' AND v.txt IS NOT NULL",
    )
    .and_then(|mut s| s.query_map(params![no, uid], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
    .map_err(backend)
}

/// Writes one user's search document.
pub(crate) fn index(conn: &Connection, uid: i64, document: &str) -> StoreResult<()> {
    conn.prepare_cached("INSERT INTO user_fts (rowid, words) VALUES (?1, ?2)")
        .and_then(|mut s| s.execute(params![uid, document]))
        .map_err(backend)?;
    Ok(())
}

fn unindex(conn: &Connection, uid: i64) -> StoreResult<()> {
    conn.prepare_cached("DELETE FROM user_fts WHERE rowid = ?1")
        .and_then(|mut s| s.execute([uid]))
        .map_err(backend)?;
    Ok(())
}

/// Re-indexes a user whose words or class changed.
pub(crate) fn replace(
    tx: &SqliteTx<'_>,
    no: i64,
    id: UserId,
    old: (i64, &[String]),
    new: (i64, &[String]),
) -> StoreResult<()> {
    if old == new {
        return Ok(());
    }
    let u = uid(no, id);
    unindex(tx.conn(), u)?;
    index(tx.conn(), u, &new.1.join(" "))?;
    let mut deltas = Deltas::default();
    deltas.add(old.0, old.1, -1);
    deltas.add(new.0, new.1, 1);
    tx.count_later(no, deltas);
    Ok(())
}

/// Prefix-count changes a unit of work made and has not written yet, by account number. They
/// are written once, just before the transaction commits (for a `batch`: once for all its
/// units, which share most prefixes), and [`counted`] adds them in meanwhile. Writing them at
/// every user cost a sixth of a `batch` of `user.add`.
#[derive(Default)]
pub(crate) struct PendingCounts(HashMap<i64, Deltas>);

impl PendingCounts {
    pub(crate) fn add(&mut self, no: i64, deltas: Deltas) {
        match self.0.entry(no) {
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(deltas);
            }
            std::collections::hash_map::Entry::Occupied(mut o) => o.get_mut().merge(deltas),
        }
    }

    pub(crate) fn merge(&mut self, other: PendingCounts) {
        for (no, deltas) in other.0 {
            self.add(no, deltas);
        }
    }

    /// The pending change to one count.
    pub(crate) fn get(&self, no: i64, class: i64, tier: i64, prefix: &str) -> i64 {
        self.0.get(&no).map_or(0, |d| d.get(class, tier, prefix))
    }

    /// Writes every pending change and forgets them.
    pub(crate) fn flush(&mut self, conn: &Connection) -> StoreResult<()> {
        for (no, deltas) in std::mem::take(&mut self.0) {
            deltas.flush(conn, no)?;
        }
        Ok(())
    }
}

/// Changes to the prefix counts, summed before they are written: one map per class, each
/// prefix with its change in tier 0 and in tier 1. Every ordinary word's prefix counts in both
/// tiers, so one lookup serves both; with that and `foldhash` instead of SipHash, the counting
/// of a 1M-user load took 2.7 s of a helper thread's time instead of 5.4 s. (foldhash seeds
/// itself per process, so names chosen to collide cannot be prepared in advance.)
#[derive(Default)]
pub(crate) struct Deltas([foldhash::HashMap<String, [i64; 2]>; 2]);

impl Deltas {
    pub(crate) fn add(&mut self, class: i64, words: &[String], by: i64) {
        let (plain, email_only) = search_prefixes(words);
        let map = &mut self.0[usize::from(class != 0)];
        // Tier 0 counts ordinary words; tier 1 counts them and the email-only prefixes.
        for (prefixes, tiers) in [(&plain[..], [by, by]), (&email_only[..], [0, by])] {
            for &p in prefixes {
                // Most prefixes are already there: look up by &str, allocate only for new ones.
                match map.get_mut(p) {
                    Some(n) => {
                        n[0] += tiers[0];
                        n[1] += tiers[1];
                    }
                    None => {
                        map.insert(p.to_string(), tiers);
                    }
                }
            }
        }
    }

    /// The change to one count.
    fn get(&self, class: i64, tier: i64, prefix: &str) -> i64 {
        self.0[usize::from(class != 0)].get(prefix).map_or(0, |n| n[usize::from(tier != 0)])
    }

    /// Adds `other`'s changes to these, walking the smaller maps.
    fn merge(&mut self, other: Deltas) {
        for (mine, mut theirs) in self.0.iter_mut().zip(other.0) {
            if theirs.len() > mine.len() {
                std::mem::swap(mine, &mut theirs);
            }
            for (prefix, n) in theirs {
                let sum = mine.entry(prefix).or_insert([0, 0]);
                sum[0] += n[0];
                sum[1] += n[1];
            }
        }
    }

    fn flush(self, conn: &Connection, no: i64) -> StoreResult<()> {
        let mut upsert = conn
            .prepare_cached(
                "INSERT INTO search_prefix_counts (account_no, class, tier, prefix, n) VALUES (?1, ?2, ?3, ?4, ?5) \
                 ON CONFLICT (account_no, class, tier, prefix) DO UPDATE SET n = n + excluded.n",
            )
            .map_err(backend)?;
        for (class, map) in self.0.into_iter().enumerate() {
            for (prefix, n) in map {
                for (tier, n) in n.into_iter().enumerate() {
                    if n != 0 {
                        upsert.execute(params![no, class as i64, tier as i64, prefix, n]).map_err(backend)?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// How many users of the given classes match a one-word prefix of up to four characters, with
/// or without email words. `pending(class, tier, prefix)` is what the unit of work has changed
/// and not yet written.
pub(crate) fn counted(
    conn: &Connection,
    no: i64,
    classes: &[i64],
    with_email: bool,
    prefix: &str,
    pending: &dyn Fn(i64, i64, &str) -> i64,
) -> StoreResult<u64> {
    let mut total = 0;
    for &c in classes {
        let n: i64 = conn
            .prepare_cached(
                "SELECT n FROM search_prefix_counts WHERE account_no = ?1 AND class = ?2 AND tier = ?3 AND prefix = ?4",
            )
            .and_then(|mut s| s.query_row(params![no, c, i64::from(with_email), prefix], |r| r.get(0)).optional())
            .map_err(backend)?
            .unwrap_or(0)
            + pending(c, i64::from(with_email), prefix);
        total +=
            u64::try_from(n).map_err(|_| StoreError::Backend(format!("negative count for {prefix:?}")))?;
    }
    Ok(total)
}

/// The FTS5 query for quick-search terms (the reference is `profile_core::query::FindTerm`):
/// every term required; a word as a prefix, of an email word too with `contacts`; an address
/// as a prefix of the address word (with `contacts`, else nothing); a phone number as a
/// prefix of a phone word (with `contacts`) or as its words; a word also as a prefix of a word
/// of the `custom` fields.
pub(crate) fn match_expression(terms: &[FindTerm], contacts: bool, custom: &[u32]) -> String {
    let word = |w: &str| {
        let mut any = vec![format!("\"{w}\"*")];
        if contacts {
            any.push(format!("\"{EMAIL_WORD_MARK}{w}\"*"));
        }
        any.extend(custom.iter().map(|&f| format!("\"{}\"*", custom_word(f, w))));
        if any.len() == 1 {
            any.remove(0)
        } else {
            format!("({})", any.join(" OR "))
        }
    };
    let words = |ws: &[String]| ws.iter().map(|w| word(w)).collect::<Vec<_>>().join(" AND ");
    terms
        .iter()
        .map(|t| match t {
            FindTerm::Word(w) => word(w),
            FindTerm::Email(a) if contacts => format!("\"{ADDRESS_MARK}{a}\"*"),
            // A word no document holds.
            FindTerm::Email(_) => format!("\"{NOTHING}\""),
            FindTerm::Phone { digits, words: ws } if contacts => {
                format!("(\"{PHONE_MARK}{digits}\"* OR ({}))", words(ws))
            }
            FindTerm::Phone { words: ws, .. } => format!("({})", words(ws)),
            // Whole tokens: a tag is held exactly.
            FindTerm::Interest(tags) => format!(
                "({})",
                tags.iter().map(|t| format!("\"{}\"", interest_word(t))).collect::<Vec<_>>().join(" OR ")
            ),
        })
        .collect::<Vec<_>>()
        // FTS5 ANDs bare phrases implicitly, but not parenthesised groups.
        .join(" AND ")
}

/// A private-use character no search word starts with.
const NOTHING: char = '\u{E0FF}';

/// Rebuilds the quick-search index and the prefix counts of every account from the users
/// table (after a change to the words users are found by, or on demand); returns how many
/// users were indexed. Runs inside the caller's write transaction.
pub(crate) fn rebuild(conn: &Connection) -> StoreResult<u64> {
    conn.execute_batch(
        "INSERT INTO user_fts(user_fts) VALUES('delete-all'); DELETE FROM search_prefix_counts;",
    )
    .map_err(backend)?;
    let accounts: Vec<i64> = conn
        .prepare("SELECT no FROM accounts ORDER BY no")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .map_err(backend)?;
    let nobody = profile_core::ids::AccountId(uuid::Uuid::nil());
    let mut indexed = 0;
    for no in accounts {
        let names: HashMap<u32, String> = conn
            .prepare("SELECT id, name FROM departments WHERE account_no = ?1")
            .and_then(|mut s| s.query_map([no], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
            .map_err(backend)?;
        let mut after = UserId(0);
        let mut deltas = Deltas::default();
        // Bounded: each round reads the next 1,000 users of a range of 2^32.
        loop {
            let users = crate::users::read_after(conn, nobody, no, after, 1000)?;
            let Some(tail) = users.last() else { break };
            after = tail.id;
            for user in &users {
                let mut words = user_search_words(
                    user,
                    user.departments.iter().filter_map(|d| names.get(&d.0)).map(String::as_str),
                );
                let custom = custom_texts(conn, no, uid(no, user.id))?;
                add_custom_words(&mut words, custom.iter().map(|(f, t)| (*f, t.as_str())));
                deltas.add(class(user.role), &words, 1);
                index(conn, uid(no, user.id), &words.join(" "))?;
                indexed += 1;
            }
        }
        deltas.flush(conn, no)?;
    }
    conn.execute(
        "INSERT INTO query_versions (account_no, version) SELECT no, 1 FROM accounts WHERE true \
         ON CONFLICT (account_no) DO UPDATE SET version = version + 1",
        [],
    )
    .map_err(backend)?;
    Ok(indexed)
}
