//! Bulk loads: a transaction that inserts many users builds their indexes once, at its commit.
//!
//! Keeping ~10 secondary indexes up to date row by row costs a B-tree descent per index per row,
//! at random places once the tables are large: at 1M users that was most of a load's time, and
//! each commit rewrote the index pages it had touched all over the file. `CREATE INDEX` instead
//! sorts the keys and writes the B-tree once, in order. So when a transaction's bulk inserts
//! (`insert_users`) reach [`crate::Options::bulk_defer_rows`] and a quarter of the users the
//! table held, the non-unique indexes those rows would write to at random places are dropped for
//! the rest of the transaction and created again, with their planner statistics, just before it
//! commits. An index the rows reach in key order (by ID, by registration time, by role in a load
//! of one role) is cheap to keep up to date — every insert lands on the same last page — and
//! rebuilding it would cost a scan and a sort, so it stays.
//!
//! What keeps this safe:
//! - It all happens inside the transaction: readers keep their snapshot (indexes included), a
//!   rollback or a crash brings the indexes back with everything else, and the commit that makes
//!   the rows visible makes the indexes visible too.
//! - A unique index (the email's) is set aside only with a [`UniqueGuard`] standing in for it:
//!   every write to `users` is checked against it before anything is written, so a taken email
//!   is refused as the index would refuse it, and found by `user_by_email` without a scan. The
//!   index built again at the commit is the last word: a duplicate would fail the commit.
//! - Reads inside the transaction stay correct (the planner simply has fewer indexes).
//! - Recreating only what is missing makes the commit step idempotent: a batch unit that dropped
//!   an index and then rolled back to its savepoint brought that index back itself.

use std::cmp::Ordering;
use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, Hasher};

use rusqlite::types::{ToSqlOutput, Value as SqlValue, ValueRef};
use rusqlite::{params, Connection, OptionalExtension};

use profile_core::ids::DepartmentId;
use profile_core::model::department::Department;
use profile_core::ports::StoreResult;

use crate::error::{backend, unique_violation};

/// The tables whose indexes a bulk load of users writes to.
const TABLES: &str = "'users', 'department_members'";

/// The writer's page cache while a bulk load runs (KiB, as `PRAGMA cache_size` takes it).
pub(crate) const LOAD_CACHE: i64 = -262_144;

/// The user rows about to be inserted, as bound to the `INSERT` (one value per column).
pub(crate) struct LoadRows<'a> {
    /// The names of the `users` columns, in the order of each row's values.
    pub(crate) columns: &'a [String],
    pub(crate) rows: &'a [Vec<ToSqlOutput<'a>>],
}

/// The value a parameter binds.
fn value<'v>(v: &'v ToSqlOutput<'_>) -> ValueRef<'v> {
    match v {
        ToSqlOutput::Borrowed(r) => *r,
        ToSqlOutput::Owned(o) => ValueRef::from(o),
        _ => ValueRef::Null,
    }
}

impl LoadRows<'_> {
    /// Rows [`LoadRows::fills`] and [`LoadRows::in_order`] look at. Which indexes are deferred
    /// only decides speed, never results (a kept index is kept up to date, a dropped one is
    /// rebuilt), so the first rows of a load stand for it: checking all of them cost 0.8 s of
    /// a 1M load.
    const SAMPLE: usize = 1_000;

    fn sample(&self) -> &[Vec<ToSqlOutput<'_>>] {
        &self.rows[..self.rows.len().min(Self::SAMPLE)]
    }

    fn position(&self, column: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == column)
    }

    /// Whether any row (of the sample) has a value (not NULL) in `column`.
    fn fills(&self, column: &str) -> bool {
        self.position(column).is_some_and(|i| {
            self.sample().iter().any(|r| r.get(i).is_some_and(|v| value(v) != ValueRef::Null))
        })
    }

    /// Whether the rows (of the sample) come in non-decreasing order of these columns, as an
    /// index on them would sort them. A column of another table counts when `users` has one of
    /// that name with the same value (`uid` of the memberships, written in the users' order).
    fn in_order(&self, columns: &[String]) -> bool {
        let Some(at) = columns.iter().map(|c| self.position(c)).collect::<Option<Vec<_>>>() else {
            return false;
        };
        self.sample().windows(2).all(|w| {
            at.iter()
                .map(|&i| compare(value(&w[0][i]), value(&w[1][i])))
                .find(|o| *o != Ordering::Equal)
                .is_none_or(|o| o == Ordering::Less)
        })
    }
}

/// SQLite's order of values in an index with the default (binary) collation: NULL, numbers,
/// text, blobs.
fn compare(a: ValueRef<'_>, b: ValueRef<'_>) -> Ordering {
    use ValueRef::{Blob, Integer, Null, Real, Text};
    let rank = |v: ValueRef<'_>| match v {
        Null => 0,
        Integer(_) | Real(_) => 1,
        Text(_) => 2,
        Blob(_) => 3,
    };
    match (a, b) {
        (Integer(x), Integer(y)) => x.cmp(&y),
        (Integer(x), Real(y)) => (x as f64).total_cmp(&y),
        (Real(x), Integer(y)) => x.total_cmp(&(y as f64)),
        (Real(x), Real(y)) => x.total_cmp(&y),
        (Text(x), Text(y)) | (Blob(x), Blob(y)) => x.cmp(y),
        _ => rank(a).cmp(&rank(b)),
    }
}

/// Sets the connection's page cache (`PRAGMA cache_size`: negative = KiB).
pub(crate) fn set_cache(conn: &Connection, size: i64) -> StoreResult<()> {
    conn.execute_batch(&format!("PRAGMA cache_size={size}")).map_err(backend)
}

/// How `CREATE INDEX` sorts while a load's indexes are built. With the load's large page cache
/// and temporary files in memory (the store's default), SQLite sorts all of an index's keys in
/// memory on the calling thread. With a small cache and temporary files on disk it sorts runs
/// of about the cache's size on a helper thread, writes them out and merges them: measured on
/// a 1M-user file, 0.6–0.9 s an index instead of 1.0–1.4 s.
struct SortInRuns {
    on: bool,
}

impl SortInRuns {
    /// The page cache (KiB, negative) that sets the size of the runs. Runs of 1 MiB, which fit
    /// a core's L2 cache, made a 1M load faster than runs of 4 MiB in 5 of 5 alternating pairs
    /// (0.3–30%); 256 and 512 KiB measured alike.
    const CACHE: i64 = -1024;

    /// Switches to sorting in runs. SQLite refuses to change where temporary files go while a
    /// temporary database is open in a transaction: then nothing changes.
    fn begin(conn: &Connection) -> SortInRuns {
        let on = conn.execute_batch("PRAGMA temp_store=FILE").is_ok();
        if on {
            // Failing, these only leave the sort as it was.
            let _ = conn.execute_batch(&format!("PRAGMA threads=1; PRAGMA cache_size={}", Self::CACHE));
        }
        SortInRuns { on }
    }

    /// Back to the store's settings; the page cache is [`BulkLoad::end`]'s to reset.
    fn end(self, conn: &Connection) -> StoreResult<()> {
        if !self.on {
            return Ok(());
        }
        conn.execute_batch("PRAGMA threads=0; PRAGMA temp_store=MEMORY").map_err(backend)
    }
}

/// What one transaction's bulk loads have done so far.
#[derive(Default)]
pub(crate) struct BulkLoad {
    /// Users inserted by bulk inserts in this transaction.
    loaded: u64,
    /// Rows in `users` when this transaction's bulk inserts reached the size that counts.
    before: Option<u64>,
    /// Whether indexes are being deferred (and the writer's cache is enlarged).
    deferring: bool,
    /// The indexes dropped, to create again before the commit.
    dropped: Vec<Dropped>,
    /// Departments read once this transaction has loaded users, by (account number, ID): a
    /// load of 1M users into 5,000 teams checks and names ~4,000 departments in each of its
    /// 100 calls. Forgotten on any department write and on a batch unit's rollback.
    departments: HashMap<(i64, u32), Option<Department>>,
    /// What stands in for the unique indexes dropped.
    guards: Vec<UniqueGuard>,
}

/// An index dropped for the rest of the transaction.
struct Dropped {
    name: String,
    sql: String,
    /// Its rows of `sqlite_stat1` and `sqlite_stat4`, which `DROP INDEX` deletes.
    stat1: Vec<Vec<SqlValue>>,
    stat4: Vec<Vec<SqlValue>>,
}

impl BulkLoad {
    /// A department this transaction's loads have read, if they have.
    pub(crate) fn department(&self, no: i64, id: DepartmentId) -> Option<Option<Department>> {
        self.departments.get(&(no, id.0)).cloned()
    }

    /// Remembers a department read (only once the transaction has loaded users).
    pub(crate) fn remember_department(&mut self, no: i64, id: DepartmentId, found: &Option<Department>) {
        if self.loaded > 0 {
            self.departments.insert((no, id.0), found.clone());
        }
    }

    /// Departments changed, or a unit that may have changed them rolled back.
    pub(crate) fn forget_departments(&mut self) {
        self.departments.clear();
    }

    /// Whether unique indexes are set aside (writes to `users` must then be [`BulkLoad::claim`]ed).
    pub(crate) fn guarding(&self) -> bool {
        !self.guards.is_empty()
    }

    /// Before rows of `users` are written (inserted, or with `updating` rewritten in place):
    /// while unique indexes are set aside, refuses them as those indexes would — a key another
    /// row holds, or one they repeat among themselves — with nothing written, and else records
    /// their keys. `load` has every key column and `uid`.
    pub(crate) fn claim(
        &mut self,
        conn: &Connection,
        load: &LoadRows<'_>,
        updating: bool,
    ) -> StoreResult<()> {
        if self.guards.is_empty() {
            return Ok(());
        }
        let missing = || profile_core::StoreError::Backend("a write to users without its key columns".into());
        let uid_at = load.position("uid").ok_or_else(missing)?;
        for guard in &mut self.guards {
            let at = guard
                .columns
                .iter()
                .map(|c| load.position(c))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(missing)?;
            let key_of = |row| key_in(row, &at);
            // Each row's (hash, uid), checked first and recorded only once all are.
            let mut claimed: Vec<Option<(u64, i64)>> = Vec::with_capacity(load.rows.len());
            let mut here: foldhash::HashSet<u64> = foldhash::HashSet::default();
            for (i, row) in load.rows.iter().enumerate() {
                let key = key_of(row);
                let Some(hash) = guard.hash(&key) else {
                    claimed.push(None);
                    continue;
                };
                let uid = match value(&row[uid_at]) {
                    ValueRef::Integer(uid) => uid,
                    _ => return Err(missing()),
                };
                if guard.holder(conn, hash, &key, updating.then_some(uid))?.is_some() {
                    return Err(guard.violation());
                }
                if !here.insert(hash) {
                    // A hash seen among these rows: compare with each earlier row that has it.
                    let repeated = claimed[..i].iter().enumerate().any(|(j, c)| {
                        c.is_some_and(|(h, _)| h == hash)
                            && key_of(&load.rows[j])
                                .iter()
                                .zip(&key)
                                .all(|(a, b)| compare(*a, *b) == Ordering::Equal)
                    });
                    if repeated {
                        return Err(guard.violation());
                    }
                }
                claimed.push(Some((hash, uid)));
            }
            for (hash, uid) in claimed.into_iter().flatten() {
                guard.record(hash, uid);
            }
        }
        Ok(())
    }

    /// The row holding `key` in a set-aside unique index over exactly `columns`, found without
    /// a scan; `None` when no such index is set aside (SQLite's own index answers).
    pub(crate) fn holder(
        &self,
        conn: &Connection,
        columns: &[&str],
        key: &[ValueRef<'_>],
    ) -> StoreResult<Option<Option<i64>>> {
        let Some(guard) =
            self.guards.iter().find(|g| g.columns.iter().map(String::as_str).eq(columns.iter().copied()))
        else {
            return Ok(None);
        };
        match guard.hash(key) {
            None => Ok(Some(None)),
            Some(hash) => guard.holder(conn, hash, key, None).map(Some),
        }
    }

    /// Called before `load` is inserted: decides whether to defer and drops the indexes those
    /// rows would write to out of order. Returns whether the load is deferring (the caller then
    /// leaves the page cache alone).
    pub(crate) fn before_insert(
        &mut self,
        conn: &Connection,
        load: &LoadRows<'_>,
        defer_at: u64,
    ) -> StoreResult<bool> {
        let rows = load.rows.len() as u64;
        self.loaded += rows;
        if !self.deferring {
            if self.loaded < defer_at.max(1) {
                return Ok(false);
            }
            let before = match self.before {
                Some(n) => n,
                None => {
                    let n: i64 =
                        conn.query_row("SELECT count(*) FROM users", [], |r| r.get(0)).map_err(backend)?;
                    let n = u64::try_from(n).unwrap_or(0).saturating_sub(self.loaded - rows);
                    *self.before.insert(n)
                }
            };
            if self.loaded.saturating_mul(4) < before {
                return Ok(false);
            }
            set_cache(conn, LOAD_CACHE)?;
            self.deferring = true;
        }
        for (name, sql) in droppable(conn, load)? {
            if self.dropped.iter().any(|d| d.name == name) {
                continue;
            }
            let stat1 = stat_rows(conn, "sqlite_stat1", &name)?;
            let stat4 = stat_rows(conn, "sqlite_stat4", &name)?;
            if is_unique(&sql) {
                self.guards.push(UniqueGuard::read(conn, &name, &sql)?);
            }
            conn.execute_batch(&format!("DROP INDEX \"{name}\"")).map_err(backend)?;
            self.dropped.push(Dropped { name, sql, stat1, stat4 });
        }
        Ok(true)
    }

    /// Before the commit: creates every dropped index that is missing, restores its statistics
    /// and the writer's page cache. Everything stays inside the transaction, so a failure here
    /// leaves it to roll back.
    pub(crate) fn finish(&mut self, conn: &Connection) -> StoreResult<()> {
        if !self.deferring {
            return Ok(());
        }
        let sorting = SortInRuns::begin(conn);
        let rebuilt = self.rebuild(conn);
        // Settings first, so that a failed rebuild leaves none behind.
        let restored = sorting.end(conn);
        if rebuilt? {
            // The planner reads statistics when it loads the schema: have it read them again.
            conn.execute_batch("ANALYZE sqlite_schema").map_err(backend)?;
        }
        restored?;
        self.end(conn)
    }

    /// Creates every dropped index that is missing, with its statistics. Returns whether it
    /// restored statistics.
    fn rebuild(&self, conn: &Connection) -> StoreResult<bool> {
        let mut restored_stats = false;
        for d in &self.dropped {
            let exists = conn
                .query_row(
                    "SELECT 1 FROM sqlite_schema WHERE type = 'index' AND name = ?1",
                    [&d.name],
                    |_| Ok(()),
                )
                .optional()
                .map_err(backend)?
                .is_some();
            if exists {
                continue;
            }
            conn.execute_batch(&d.sql).map_err(backend)?;
            for (table, rows) in [("sqlite_stat1", &d.stat1), ("sqlite_stat4", &d.stat4)] {
                for row in rows {
                    let marks = vec!["?"; row.len()].join(", ");
                    conn.execute(
                        &format!("INSERT INTO {table} VALUES ({marks})"),
                        rusqlite::params_from_iter(row),
                    )
                    .map_err(backend)?;
                    restored_stats = true;
                }
            }
        }
        Ok(restored_stats)
    }

    /// The transaction ends (committed or not): back to the writer's normal page cache.
    pub(crate) fn end(&mut self, conn: &Connection) -> StoreResult<()> {
        let was = std::mem::take(self);
        if was.deferring {
            set_cache(conn, crate::WRITER_CACHE)?;
        }
        Ok(())
    }
}

/// The indexes of the user tables that these rows write to out of key order: every full index
/// and each partial index `WHERE col IS NOT NULL` whose column they fill, unless the rows come in
/// its key order; a unique one only when a [`UniqueGuard`] can stand in for it. A partial index
/// with any other condition is left in place (kept up to date row by row).
fn droppable(conn: &Connection, load: &LoadRows<'_>) -> StoreResult<Vec<(String, String)>> {
    let mut stmt = conn
        .prepare(&format!(
            "SELECT name, sql, tbl_name FROM sqlite_schema WHERE type = 'index' AND tbl_name IN ({TABLES}) \
             AND sql IS NOT NULL ORDER BY name"
        ))
        .map_err(backend)?;
    let all = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)))
        .and_then(Iterator::collect::<rusqlite::Result<Vec<_>>>)
        .map_err(backend)?;
    let mut out = Vec::new();
    for (name, sql, table) in all {
        if !written_by(&sql, |c| load.fills(c)) || load.in_order(&index_columns(conn, &name)?) {
            continue;
        }
        if is_unique(&sql) && !UniqueGuard::can_guard(conn, &name, &table)? {
            continue;
        }
        out.push((name, sql));
    }
    Ok(out)
}

/// The values of a row at these positions.
fn key_in<'r>(row: &'r [ToSqlOutput<'_>], at: &[usize]) -> Vec<ValueRef<'r>> {
    at.iter().map(|&i| value(&row[i])).collect()
}

/// Whether an index with this definition is unique.
fn is_unique(sql: &str) -> bool {
    sql.to_ascii_uppercase().starts_with("CREATE UNIQUE")
}

/// The condition of a partial index (`None` for a full one).
fn condition(sql: &str) -> Option<&str> {
    sql.to_ascii_uppercase().find(" WHERE ").map(|at| sql[at + 7..].trim())
}

/// Whether rows write to an index with this definition; `fills` says whether the rows fill a
/// column. Known only for full indexes and `WHERE col IS NOT NULL` ones.
fn written_by(sql: &str, fills: impl Fn(&str) -> bool) -> bool {
    match condition(sql) {
        None => true,
        Some(condition) => match condition.strip_suffix(" IS NOT NULL") {
            Some(col) if col.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => fills(col),
            _ => false,
        },
    }
}

/// Stands in for a unique index of `users` dropped for the rest of a load's transaction: the
/// rowid of every row holding each key, by a hash of the key (keyed per process, so keys that
/// collide cannot be prepared in advance). Before rows are written ([`BulkLoad::claim`]), each
/// key is looked up; a hash seen before is checked against the row it names, read by rowid, so
/// a taken key is refused before anything is written, as the index would refuse it, and a key's
/// holder is found ([`BulkLoad::holder`]) without a scan.
///
/// Entries are never removed: one whose row has since changed or gone (an update, a unit rolled
/// back) fails that check and is passed over. Every write to `users` (insert or update) goes
/// through [`BulkLoad::claim`], so every row in the table has an entry for its current key.
/// At 1M users this costs ~36 bytes of memory a row; the index it replaces cost a load 5–6 s
/// of its ~37 (two descents to a random place per row).
struct UniqueGuard {
    /// The index's key columns, all columns of `users`.
    columns: Vec<String>,
    /// The first row seen holding each hash.
    first: foldhash::HashMap<u64, i64>,
    /// Other rows seen with a hash already taken (a collision, or a key that moved between rows).
    more: HashMap<u64, Vec<i64>>,
    hasher: RandomState,
}

impl UniqueGuard {
    /// Whether a unique index can be guarded: one of `users` over plain columns compared byte
    /// for byte (binary collation), as [`compare`] compares them.
    fn can_guard(conn: &Connection, index: &str, table: &str) -> StoreResult<bool> {
        if table != "users" {
            return Ok(false);
        }
        let mut stmt =
            conn.prepare("SELECT name, coll FROM pragma_index_xinfo(?1) WHERE key = 1").map_err(backend)?;
        let keys = stmt
            .query_map([index], |r| Ok((r.get::<_, Option<String>>(0)?, r.get::<_, Option<String>>(1)?)))
            .and_then(Iterator::collect::<rusqlite::Result<Vec<_>>>)
            .map_err(backend)?;
        Ok(!keys.is_empty()
            && keys.iter().all(|(name, coll)| name.is_some() && coll.as_deref() == Some("BINARY")))
    }

    /// The guard of index `name` (defined by `sql`), holding the keys of every row it indexes:
    /// read from the index itself, before it is dropped.
    fn read(conn: &Connection, name: &str, sql: &str) -> StoreResult<UniqueGuard> {
        let columns = index_columns(conn, name)?;
        let mut guard = UniqueGuard {
            columns,
            first: foldhash::HashMap::default(),
            more: HashMap::new(),
            hasher: RandomState::new(),
        };
        let filter = condition(sql).map(|c| format!(" WHERE {c}")).unwrap_or_default();
        let mut stmt = conn
            .prepare(&format!(
                "SELECT uid, {} FROM users INDEXED BY \"{name}\"{filter}",
                guard.columns.join(", ")
            ))
            .map_err(backend)?;
        let mut rows = stmt.query([]).map_err(backend)?;
        while let Some(row) = rows.next().map_err(backend)? {
            let key = (1..=guard.columns.len())
                .map(|i| row.get_ref(i))
                .collect::<Result<Vec<_>, _>>()
                .map_err(backend)?;
            if let Some(hash) = guard.hash(&key) {
                guard.record(hash, row.get(0).map_err(backend)?);
            }
        }
        Ok(guard)
    }

    /// The key's hash; `None` when a value is NULL (such a row takes no key: NULLs are distinct).
    fn hash(&self, key: &[ValueRef<'_>]) -> Option<u64> {
        let mut h = self.hasher.build_hasher();
        for v in key {
            match *v {
                ValueRef::Null => return None,
                // 2 and 2.0 are one key to an index.
                ValueRef::Integer(i) => (0u8, i).hash(&mut h),
                ValueRef::Real(f) if f.fract() == 0.0 && f.abs() < 9.0e18 => (0u8, f as i64).hash(&mut h),
                ValueRef::Real(f) => (1u8, f.to_bits()).hash(&mut h),
                ValueRef::Text(t) => (2u8, t).hash(&mut h),
                ValueRef::Blob(b) => (3u8, b).hash(&mut h),
            }
        }
        Some(h.finish())
    }

    fn record(&mut self, hash: u64, uid: i64) {
        use std::collections::hash_map::Entry;
        match self.first.entry(hash) {
            Entry::Vacant(v) => {
                v.insert(uid);
            }
            Entry::Occupied(o) if *o.get() == uid => {}
            Entry::Occupied(_) => {
                let more = self.more.entry(hash).or_default();
                if !more.contains(&uid) {
                    more.push(uid);
                }
            }
        }
    }

    /// The row other than `except` that holds `key` now.
    fn holder(
        &self,
        conn: &Connection,
        hash: u64,
        key: &[ValueRef<'_>],
        except: Option<i64>,
    ) -> StoreResult<Option<i64>> {
        let seen = self.first.get(&hash).into_iter().chain(self.more.get(&hash).into_iter().flatten());
        for &uid in seen {
            if Some(uid) != except && self.holds(conn, uid, key)? {
                return Ok(Some(uid));
            }
        }
        Ok(None)
    }

    /// Whether row `uid` holds `key` now.
    fn holds(&self, conn: &Connection, uid: i64, key: &[ValueRef<'_>]) -> StoreResult<bool> {
        let mut stmt = conn
            .prepare_cached(&format!("SELECT {} FROM users WHERE uid = ?1", self.columns.join(", ")))
            .map_err(backend)?;
        let mut rows = stmt.query([uid]).map_err(backend)?;
        let Some(row) = rows.next().map_err(backend)? else {
            return Ok(false);
        };
        for (i, want) in key.iter().enumerate() {
            if compare(row.get_ref(i).map_err(backend)?, *want) != Ordering::Equal {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// The error the index would have given.
    fn violation(&self) -> profile_core::StoreError {
        let columns: Vec<String> = self.columns.iter().map(|c| format!("users.{c}")).collect();
        unique_violation(&format!("UNIQUE constraint failed: {}", columns.join(", ")))
    }
}

/// The key columns of an index, in order.
fn index_columns(conn: &Connection, index: &str) -> StoreResult<Vec<String>> {
    let mut stmt = conn.prepare("SELECT name FROM pragma_index_info(?1) ORDER BY seqno").map_err(backend)?;
    stmt.query_map([index], |r| r.get::<_, Option<String>>(0))
        .and_then(Iterator::collect::<rusqlite::Result<Vec<_>>>)
        .map(|cols| cols.into_iter().map(Option::unwrap_or_default).collect())
        .map_err(backend)
}

/// An index's rows of a statistics table (none when the table does not exist).
fn stat_rows(conn: &Connection, table: &str, index: &str) -> StoreResult<Vec<Vec<SqlValue>>> {
    let exists = conn
        .query_row("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1", params![table], |_| {
            Ok(())
        })
        .optional()
        .map_err(backend)?
        .is_some();
    if !exists {
        return Ok(Vec::new());
    }
    let mut stmt = conn.prepare(&format!("SELECT * FROM {table} WHERE idx = ?1")).map_err(backend)?;
    let width = stmt.column_count();
    stmt.query_map([index], |r| (0..width).map(|i| r.get::<_, SqlValue>(i)).collect())
        .and_then(Iterator::collect::<rusqlite::Result<Vec<_>>>)
        .map_err(backend)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Options, SqliteDb};
    use profile_core::field::UserField;
    use profile_core::model::user::{Role, UserPatch};
    use profile_core::ports::{Batch, Clock, Database};
    use profile_core::query::{Condition, Op, PageRequest, SortKey, UserFilter, UserQuery};
    use profile_core::testing::contract::Fixture;
    use profile_core::usecase::users::{self, NewUser};
    use profile_core::StoreError;
    use profile_core::Value;

    const LAST: [&str; 5] = ["Zimmer", "Abel", "Moreau", "Lind", "Ortiz"];
    const CITY: [&str; 3] = ["Oslo", "Lyon", "Porto"];

    /// `n` users from number `from` on, in an order no index keeps: names and cities cycle.
    fn rows(from: usize, n: usize, dept: i64) -> Vec<NewUser> {
        (from..from + n)
            .map(|i| NewUser {
                role: Role::Employee,
                fields: UserPatch::parse([
                    (UserField::Name, Value::text(format!("N{}", (i * 7) % 13))),
                    (UserField::LastName, Value::text(LAST[i % LAST.len()])),
                    (UserField::Email, Value::text(format!("u{i}@bulk.test"))),
                    (UserField::PersonalCity, Value::text(CITY[i % CITY.len()])),
                    (UserField::UfDepartment, Value::IntList(vec![dept])),
                ])
                .unwrap(),
                workgroups: vec![],
            })
            .collect()
    }

    type Pairs = Vec<(String, String)>;

    /// Every index of the file with its definition, and the planner's statistics.
    fn schema_and_stats(conn: &Connection) -> (Pairs, Pairs) {
        let pairs = |sql: &str| -> Pairs {
            let mut s = conn.prepare(sql).unwrap();
            s.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect()
        };
        (
            pairs(
                "SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL ORDER BY name",
            ),
            pairs("SELECT tbl || '.' || coalesce(idx, ''), stat FROM sqlite_stat1 ORDER BY 1"),
        )
    }

    /// A new database whose loads defer their indexes from `defer_at` users on.
    fn open_deferring(dir: &std::path::Path, name: &str, defer_at: u64) -> SqliteDb {
        SqliteDb::open_with(dir.join(name), Options { bulk_defer_rows: defer_at, ..Options::default() })
            .unwrap()
    }

    fn has_index(conn: &Connection, name: &str) -> bool {
        conn.query_row("SELECT count(*) FROM sqlite_schema WHERE name = ?1", [name], |r| r.get::<_, i64>(0))
            .unwrap()
            == 1
    }

    fn cache_size(conn: &Connection) -> i64 {
        conn.query_row("PRAGMA cache_size", [], |r| r.get(0)).unwrap()
    }

    /// The same reads on two databases loaded with the same users must answer the same.
    fn answers(f: &Fixture<'_>, dept: i64) -> Vec<Vec<u32>> {
        let by =
            |field, value: Value| UserFilter::default().and(Condition::parse(field, Op::Eq, &value).unwrap());
        let sorted = |filter| UserQuery {
            filter,
            sort: vec![SortKey { field: UserField::LastName, descending: false }],
            page: PageRequest::default(),
            now: f.clock.now(),
        };
        let queries = [
            sorted(UserFilter::default()),
            f.query(by(UserField::PersonalCity, Value::text("Lyon"))),
            f.query(UserFilter::default().with_find("mor").unwrap()),
            f.query(UserFilter::default().with_find("n1 zim").unwrap()),
            f.query(UserFilter::default().with_find("team").unwrap()),
            sorted(by(UserField::UfDepartment, Value::Int(dept))),
        ];
        queries.iter().map(|q| f.ids_of(profile_core::access::Audience::Everyone, q)).collect()
    }

    /// A batch of four loads: two that reach the threshold, one refused on insert (its unit
    /// rolls back after dropping indexes) and one more. Indexes and statistics come back
    /// exactly; reads answer as on a database loaded row by row.
    #[test]
    fn a_bulk_load_builds_its_indexes_at_the_commit() {
        let dir = tempfile::tempdir().unwrap();
        let loaded = |defer_at: u64, name: &str| {
            let db = open_deferring(dir.path(), name, defer_at);
            let f = Fixture::new(&db);
            let dept = f.dept("Team", 1);
            db.writer().execute_batch("ANALYZE").unwrap();
            let before = schema_and_stats(&db.writer());
            let batch = db.begin_batch(true).unwrap();
            let ctx = profile_core::usecase::Ctx { db: &batch, ..f.ctx() };
            users::create_users_bulk(ctx, &f.admin, rows(0, 30, dept.0.into())).unwrap();
            assert!(has_index(&batch.guard, "users_last_name"), "below the threshold: nothing deferred");
            users::create_users_bulk(ctx, &f.admin, rows(30, 30, dept.0.into())).unwrap();
            let deferring = !has_index(&batch.guard, "users_last_name");
            // The third load repeats an email: refused on insert, after indexes were dropped.
            let mut clash = rows(60, 30, dept.0.into());
            clash[29] = rows(5, 1, dept.0.into()).remove(0);
            assert!(users::create_users_bulk(ctx, &f.admin, clash).is_err());
            users::create_users_bulk(ctx, &f.admin, rows(90, 30, dept.0.into())).unwrap();
            Box::new(batch).commit().unwrap();
            let conn = db.writer();
            assert_eq!(schema_and_stats(&conn), before, "every index and statistic is back");
            assert_eq!(cache_size(&conn), crate::WRITER_CACHE);
            let pragma =
                |name: &str| conn.query_row(&format!("PRAGMA {name}"), [], |r| r.get::<_, i64>(0)).unwrap();
            assert_eq!((pragma("temp_store"), pragma("threads")), (2, 0), "the store's own sort settings");
            let ok: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
            assert_eq!(ok, "ok");
            drop(conn);
            (deferring, answers(&f, dept.0.into()))
        };
        let (deferred, fast) = loaded(40, "deferred.db");
        let (plain, slow) = loaded(u64::MAX, "plain.db");
        assert!(deferred && !plain, "the threshold decides");
        assert_eq!(fast, slow);
        assert_eq!(fast[0].len(), 50, "a full first page");
        assert!(fast.iter().all(|ids| !ids.is_empty()));
    }

    /// A load big enough to compute its search documents on a second thread (and written many
    /// rows a statement) answers every read as the same users loaded in small pieces one row a
    /// statement, down to each prefix count; one refused on
    /// insert halfway (an email already stored) stops that thread, names the row and keeps
    /// nothing.
    #[test]
    fn a_parallel_load_indexes_as_a_sequential_one() {
        const N: usize = 2_500;
        let dir = tempfile::tempdir().unwrap();
        let open = |name: &str, side_index_docs: usize| {
            let options = Options { bulk_defer_rows: u64::MAX, side_index_docs, ..Options::default() };
            SqliteDb::open_with(dir.path().join(name), options).unwrap()
        };
        // In small pieces, inside a batch's savepoints: rows go one a statement there, many a
        // statement otherwise. The parallel load's search index is built on a second thread and
        // grafted in, the sequential one's written document by document.
        let load = |name: &str, piece: usize| {
            let db = open(name, if piece < N { usize::MAX } else { crate::side_index::SIDE_FROM });
            let f = Fixture::new(&db);
            let dept = f.dept("Team", 1);
            let batch = db.begin_batch(piece < N).unwrap();
            let ctx = profile_core::usecase::Ctx { db: &batch, ..f.ctx() };
            for start in (0..N).step_by(piece) {
                let n = piece.min(N - start);
                users::create_users_bulk(ctx, &f.admin, rows(start, n, dept.0.into())).unwrap();
            }
            Box::new(batch).commit().unwrap();
            let conn = db.writer();
            let counts: Vec<(i64, i64, String, i64)> = conn
                .prepare("SELECT class, tier, prefix, n FROM search_prefix_counts ORDER BY 1, 2, 3")
                .unwrap()
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
                .unwrap()
                .map(Result::unwrap)
                .collect();
            let documents: i64 = conn.query_row("SELECT count(*) FROM user_fts", [], |r| r.get(0)).unwrap();
            assert_eq!(crate::side_index::grafted_entries(&conn) >= N as u64, piece == N, "grafted or not");
            drop(conn);
            (answers(&f, dept.0.into()), counts, documents)
        };
        let parallel = load("parallel.db", N);
        const { assert!(N >= crate::users::PARALLEL_FROM, "the load takes the parallel path") };
        assert_eq!(parallel, load("sequential.db", 100));
        assert!(parallel.1.len() > 100 && parallel.2 > N as i64);

        let db = open("refused.db", crate::side_index::SIDE_FROM);
        let f = Fixture::new(&db);
        let dept = f.dept("Team", 1);
        users::create_users_bulk(f.ctx(), &f.admin, rows(0, 10, dept.0.into())).unwrap();
        let everyone = f.query(UserFilter::default());
        let total = || {
            let tx = db.read().unwrap();
            tx.query_users(f.account, &everyone, profile_core::access::Audience::Everyone).unwrap().total
        };
        let before = total();
        assert!(before.is_some_and(|n| n >= 10));
        // Row 1,500 repeats a stored email: the load passes its checks and the store refuses it
        // on insert, while the second thread is at work.
        let mut clash = rows(100, N, dept.0.into());
        clash[1_500] = rows(3, 1, dept.0.into()).remove(0);
        let refused = users::create_users_bulk(f.ctx(), &f.admin, clash).unwrap_err();
        assert!(
            matches!(&refused, profile_core::CoreError::Conflict { field, .. } if field == "row 1500: EMAIL"),
            "{refused:?}"
        );
        assert_eq!(total(), before, "nothing of the refused load is kept");
        users::create_users_bulk(f.ctx(), &f.admin, rows(100, N, dept.0.into())).unwrap();
        assert_eq!(total(), before.map(|n| n + N as u64));
    }

    /// A load in the account with the largest rowids is numbered by SQLite, one in another
    /// account is given its rowids; both store every user under its own ID, inside a batch's
    /// savepoints too.
    #[test]
    fn a_load_keeps_its_ids_however_it_is_numbered() {
        let dir = tempfile::tempdir().unwrap();
        let db = SqliteDb::open(dir.path().join("n.db")).unwrap();
        let (a, b) = (Fixture::with_slug(&db, "first"), Fixture::with_slug(&db, "second"));
        for (f, savepoints) in [(&a, false), (&b, false), (&a, true), (&b, true)] {
            let dept = f.dept("Team", 1);
            let batch = db.begin_batch(savepoints).unwrap();
            let ctx = profile_core::usecase::Ctx { db: &batch, ..f.ctx() };
            let at = if savepoints { 5_000 } else { 0 };
            let ids = users::create_users_bulk(ctx, &f.admin, rows(at, 2_100, dept.0.into())).unwrap();
            Box::new(batch).commit().unwrap();
            let tx = db.read().unwrap();
            for (i, id) in ids.iter().enumerate().step_by(97).chain([(2_099, &ids[2_099])]) {
                let user = tx.user(f.account, *id).unwrap().unwrap();
                assert_eq!(user.text(UserField::Email), format!("u{}@bulk.test", at + i));
                assert_eq!(user.departments, vec![dept]);
            }
        }
        let conn = db.writer();
        let per_account: Vec<i64> = conn
            .prepare("SELECT count(*) FROM users GROUP BY account_no ORDER BY account_no")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(per_account, [4_201, 4_201], "two loads and the administrator in each");
    }

    /// Loads in a batch remember the departments they read; a rename, and a rename rolled
    /// back, are seen by the next load's search words.
    #[test]
    fn loads_see_departments_renamed_between_them() {
        use profile_core::ports::Database as _;
        let dir = tempfile::tempdir().unwrap();
        let db = SqliteDb::open(dir.path().join("r.db")).unwrap();
        let f = Fixture::new(&db);
        let dept = f.dept("Alpha", 1);
        let batch = db.begin_batch(true).unwrap();
        let ctx = profile_core::usecase::Ctx { db: &batch, ..f.ctx() };
        let rename = |to: &str, keep: bool| {
            let mut tx = batch.write().unwrap();
            let mut d = tx.department(f.account, dept).unwrap().unwrap();
            d.name = to.into();
            tx.update_department(&d).unwrap();
            // Read again under its new name, as a use case checking its work would.
            assert_eq!(tx.department(f.account, dept).unwrap().unwrap().name, to);
            if keep {
                tx.commit().unwrap();
            }
        };
        for (at, step) in [(0, None), (40, None), (80, Some(("Beta", true))), (120, Some(("Gamma", false)))] {
            if let Some((to, keep)) = step {
                rename(to, keep);
            }
            users::create_users_bulk(ctx, &f.admin, rows(at, 40, dept.0.into())).unwrap();
        }
        Box::new(batch).commit().unwrap();
        let found = |word: &str| {
            let tx = db.read().unwrap();
            let q = f.query(UserFilter::default().with_find(word).unwrap());
            tx.query_users(f.account, &q, profile_core::access::Audience::Everyone).unwrap().total
        };
        assert_eq!(
            (found("alpha"), found("beta"), found("gamma")),
            (Some(0), Some(160), Some(0)),
            "every member under the name the department has"
        );
    }

    /// Once a load sets the email index aside, its stand-in refuses every taken email before
    /// anything is written (a stored one, one loaded earlier in the batch, one repeated among
    /// the rows, one an update takes) and finds emails without the index; emails freed by an
    /// update or a rolled-back unit can be taken again, and the index comes back at the commit.
    #[test]
    fn a_load_without_the_email_index_still_refuses_taken_emails() {
        use profile_core::ports::Database as _;
        let dir = tempfile::tempdir().unwrap();
        let db = open_deferring(dir.path(), "e.db", 40);
        let f = Fixture::new(&db);
        let dept = f.dept("Team", 1);
        let d = i64::from(dept.0);
        users::create_users_bulk(f.ctx(), &f.admin, rows(0, 10, d)).unwrap();
        db.writer().execute_batch("ANALYZE").unwrap();
        let before = schema_and_stats(&db.writer());
        let batch = db.begin_batch(true).unwrap();
        let ctx = profile_core::usecase::Ctx { db: &batch, ..f.ctx() };
        // Emails out of key order (in order, the index would be cheap to keep).
        users::create_users_bulk(ctx, &f.admin, rows(10, 50, d).into_iter().rev().collect()).unwrap();
        assert!(!has_index(&batch.guard, "users_email"), "set aside");
        let email = |i: usize| format!("u{i}@bulk.test");
        let holder = |e: &str| batch.read().unwrap().user_by_email(f.account, e).unwrap();
        let (stored, loaded) = (holder(&email(3)).unwrap(), holder(&email(30)).unwrap());
        assert_eq!(holder(&email(999)), None);

        let conflict = |e: profile_core::CoreError| match e {
            profile_core::CoreError::Conflict { field, .. } => field,
            e => panic!("{e:?}"),
        };
        let users_now = || {
            batch
                .read()
                .unwrap()
                .query_users(
                    f.account,
                    &f.query(UserFilter::default()),
                    profile_core::access::Audience::Everyone,
                )
                .unwrap()
                .total
        };
        let count = users_now();
        for taken in [3, 30] {
            let mut clash = rows(100, 20, d);
            clash[19] = rows(taken, 1, d).remove(0);
            assert_eq!(
                conflict(users::create_users_bulk(ctx, &f.admin, clash).unwrap_err()),
                "row 19: EMAIL"
            );
        }
        // Rows that repeat an email among themselves: the store refuses them, writing nothing.
        {
            let mut tx = batch.write().unwrap();
            let mut twins = vec![tx.user(f.account, loaded).unwrap().unwrap(); 2];
            for (i, u) in twins.iter_mut().enumerate() {
                u.id = profile_core::ids::UserId(500 + i as u32);
                u.text.insert(UserField::Email, email(700));
            }
            assert_eq!(tx.insert_users(&twins), Err(StoreError::UniqueViolation { what: "EMAIL".into() }));
            assert_eq!(tx.insert_user(&twins[0]), Ok(()), "one of them alone");
        }
        assert_eq!(users_now(), count, "the unit was not committed");

        // Updates: to a taken email refused; to its own, or a free one, taken.
        {
            let mut tx = batch.write().unwrap();
            let mut u = tx.user(f.account, loaded).unwrap().unwrap();
            u.text.insert(UserField::Email, email(3));
            assert_eq!(tx.update_user(&u), Err(StoreError::UniqueViolation { what: "EMAIL".into() }));
            u.text.insert(UserField::Email, email(30));
            assert_eq!(tx.update_user(&u), Ok(()));
            u.text.insert(UserField::Email, email(800));
            tx.update_user(&u).unwrap();
            tx.commit().unwrap();
        }
        assert_eq!((holder(&email(800)), holder(&email(30))), (Some(loaded), None));
        // The freed email, and those of a unit rolled back, can be taken.
        {
            let mut tx = batch.write().unwrap();
            let mut u = tx.user(f.account, stored).unwrap().unwrap();
            u.text.insert(UserField::Email, email(900));
            tx.update_user(&u).unwrap();
        }
        let mut again = rows(200, 20, d);
        again[0] = rows(30, 1, d).remove(0);
        again[1] = rows(900, 1, d).remove(0);
        users::create_users_bulk(ctx, &f.admin, again).unwrap();
        assert_eq!(holder(&email(3)), Some(stored), "the update was rolled back");
        Box::new(batch).commit().unwrap();

        let conn = db.writer();
        assert_eq!(schema_and_stats(&conn), before, "the index is back, with its statistics");
        let ok: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
        assert_eq!(ok, "ok");
        drop(conn);
        let tx = db.read().unwrap();
        for (e, holder) in [(email(3), Some(stored)), (email(800), Some(loaded)), (email(999), None)] {
            assert_eq!(tx.user_by_email(f.account, &e).unwrap(), holder);
        }
        assert!(tx.user_by_email(f.account, &email(30)).unwrap().is_some());
        assert!(tx.user_by_email(f.account, &email(900)).unwrap().is_some());
    }

    /// A load whose transaction is not committed leaves no row and every index in place.
    #[test]
    fn an_abandoned_bulk_load_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let db = open_deferring(dir.path(), "a.db", 10);
        let f = Fixture::new(&db);
        let dept = f.dept("Team", 1);
        db.writer().execute_batch("ANALYZE").unwrap();
        let before = schema_and_stats(&db.writer());
        for in_batch in [false, true] {
            let batch = db.begin_batch(true).unwrap();
            let ctx = profile_core::usecase::Ctx { db: &batch, ..f.ctx() };
            if in_batch {
                users::create_users_bulk(ctx, &f.admin, rows(0, 20, dept.0.into())).unwrap();
                assert!(!has_index(&batch.guard, "users_last_name"), "deferring");
                assert_eq!(cache_size(&batch.guard), LOAD_CACHE);
                drop(batch);
            } else {
                drop(batch);
                // A plain write transaction defers the same way; dropped, it rolls back.
                let mut tx = db.write().unwrap();
                let now = f.clock.now();
                let us: Vec<_> = (0..20u32)
                    .map(|i| {
                        let mut u = profile_core::model::user::User::new(
                            f.account,
                            profile_core::ids::UserId(100 + i),
                            Role::Employee,
                            now,
                        );
                        u.text.insert(UserField::LastName, LAST[i as usize % 5].into());
                        u.departments = vec![dept];
                        u
                    })
                    .collect();
                tx.insert_users(&us).unwrap();
                drop(tx);
            }
            let conn = db.writer();
            assert_eq!(schema_and_stats(&conn), before);
            assert_eq!(cache_size(&conn), crate::WRITER_CACHE);
            let n: i64 = conn.query_row("SELECT count(*) FROM users", [], |r| r.get(0)).unwrap();
            assert_eq!(n, 1, "only the administrator");
        }
    }

    #[test]
    fn which_indexes_a_load_writes_to() {
        let fills = |c: &str| ["last_name", "work_city"].contains(&c);
        assert!(written_by("CREATE INDEX a ON users(account_no, name)", fills));
        let unique = "CREATE UNIQUE INDEX e ON users(account_no, email) WHERE email IS NOT NULL";
        assert!(!written_by(unique, fills) && written_by(unique, |c| c == "email"));
        assert!(written_by(
            "CREATE INDEX w ON users(account_no, work_city) WHERE work_city IS NOT NULL",
            fills
        ));
        assert!(!written_by("CREATE INDEX z ON users(account_no, uf_zoom) WHERE uf_zoom IS NOT NULL", fills));
        // Any other condition: kept and maintained row by row.
        assert!(!written_by("CREATE INDEX d ON users(account_no) WHERE active = 0", fills));
        assert!(!written_by("CREATE INDEX x ON users(a) WHERE last_name IS NOT NULL AND x = 1", fills));
    }

    /// Only a unique index of `users` over plain columns with binary collation is set aside.
    #[test]
    fn which_unique_indexes_a_guard_stands_in_for() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE users (uid INTEGER PRIMARY KEY, account_no INTEGER, email TEXT, login TEXT); \
             CREATE UNIQUE INDEX e ON users(account_no, email) WHERE email IS NOT NULL; \
             CREATE UNIQUE INDEX n ON users(account_no, login COLLATE NOCASE); \
             CREATE UNIQUE INDEX x ON users(account_no, lower(email)); \
             CREATE TABLE other (a TEXT); CREATE UNIQUE INDEX o ON other(a);",
        )
        .unwrap();
        let can = |index, table| UniqueGuard::can_guard(&conn, index, table).unwrap();
        assert!(can("e", "users"));
        assert!(!can("n", "users") && !can("x", "users") && !can("o", "other"));
    }

    #[test]
    fn rows_in_key_order() {
        let columns: Vec<String> = ["uid", "role", "name"].iter().map(|c| c.to_string()).collect();
        let t = |s: &'static str| ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes()));
        let i = |n: i64| ToSqlOutput::Owned(SqlValue::Integer(n));
        let rows = vec![
            vec![i(1), i(2), t("b")],
            vec![i(2), i(2), t("a")],
            vec![i(3), i(2), ToSqlOutput::Borrowed(ValueRef::Null)],
        ];
        let load = LoadRows { columns: &columns, rows: &rows };
        let cols = |c: &[&str]| c.iter().map(|c| c.to_string()).collect::<Vec<_>>();
        assert!(load.in_order(&cols(&["uid"])));
        assert!(load.in_order(&cols(&["role", "uid"])), "equal roles, then ascending IDs");
        assert!(!load.in_order(&cols(&["name"])), "b before a");
        assert!(!load.in_order(&cols(&["role", "name"])), "a NULL sorts first");
        assert!(!load.in_order(&cols(&["department"])), "a column the rows do not have");
        assert!(load.fills("name") && !load.fills("department"));
        let t = |s: &'static str| ValueRef::Text(s.as_bytes());
        assert_eq!(compare(ValueRef::Integer(10), t("1")), Ordering::Less, "numbers before text");
        assert_eq!(compare(t("B"), t("a")), Ordering::Less, "binary collation");
    }
}
