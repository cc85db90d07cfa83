//! Bulk loads, a speed path (`Speed::bulk_defer`): a transaction that inserts many users builds
//! their indexes once, at its commit.
//!
//! Keeping ~10 secondary indexes up to date row by row costs a B-tree descent per index per row,
//! at random places once the tables are large: at 1M users that was most of a load's time, and
//! each commit rewrote the index pages it had touched all over the file. `CREATE INDEX` instead
//! sorts the keys and writes the B-tree once, in order. So when a transaction's bulk inserts
//! (`insert_users`) reach the threshold, the non-unique indexes those rows would write to at
//! random places are dropped for the rest of the transaction and created again just before it
//! commits. An index the rows reach in key order (by ID, by registration time, by role in a load
//! of one role) is cheap to keep up to date — every insert lands on the same last page — and
//! rebuilding it would cost a scan and a sort, so it stays. Unique indexes always stay: they are
//! what refuses a taken email.
//!
//! What keeps this safe:
//! - It all happens inside the transaction: readers keep their snapshot (indexes included), a
//!   rollback or a crash brings the indexes back with everything else, and the commit that makes
//!   the rows visible makes the indexes visible too.
//! - Reads inside the transaction stay correct (the planner simply has fewer indexes).
//! - Recreating only what is missing makes the commit step idempotent: a batch unit that dropped
//!   an index and then rolled back to its savepoint brought that index back itself.
//! - A rebuilt index of a file whose statistics were gathered is analyzed again (`ANALYZE`, with
//!   a sample limit), since dropping an index drops its statistics.

use std::cmp::Ordering;
use std::collections::HashMap;

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OptionalExtension};

use profile_core::ids::DepartmentId;
use profile_core::model::department::Department;
use profile_core::ports::StoreResult;

use crate::error::backend;
use crate::BulkDefer;

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
    /// A read session's: every department read is remembered (its snapshot never changes).
    session: bool,
}

/// An index dropped for the rest of the transaction.
struct Dropped {
    name: String,
    sql: String,
}

impl BulkLoad {
    /// A department this transaction's loads have read, if they have.
    pub(crate) fn department(&self, no: i64, id: DepartmentId) -> Option<Option<Department>> {
        self.departments.get(&(no, id.0)).cloned()
    }

    /// The departments' memory of a read session (which loads nothing).
    pub(crate) fn for_session() -> BulkLoad {
        BulkLoad { session: true, ..BulkLoad::default() }
    }

    /// Remembers a department read (only once the transaction has loaded users, or in a read
    /// session).
    pub(crate) fn remember_department(&mut self, no: i64, id: DepartmentId, found: &Option<Department>) {
        if self.loaded > 0 || self.session {
            self.departments.insert((no, id.0), found.clone());
        }
    }

    /// Departments changed, or a unit that may have changed them rolled back.
    pub(crate) fn forget_departments(&mut self) {
        self.departments.clear();
    }

    /// Called before `load` is inserted: decides whether to defer and drops the indexes those
    /// rows would write to out of order. Returns whether the load is deferring (the caller then
    /// leaves the page cache alone).
    pub(crate) fn before_insert(
        &mut self,
        conn: &Connection,
        load: &LoadRows<'_>,
        defer: Option<BulkDefer>,
    ) -> StoreResult<bool> {
        let rows = load.rows.len() as u64;
        self.loaded += rows;
        let Some(defer) = defer else { return Ok(false) };
        if !self.deferring {
            if self.loaded < defer.rows.max(1) {
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
            if defer.of_table > 0 && self.loaded.saturating_mul(defer.of_table) < before {
                return Ok(false);
            }
            set_cache(conn, LOAD_CACHE)?;
            self.deferring = true;
        }
        for (name, sql) in droppable(conn, load)? {
            if self.dropped.iter().any(|d| d.name == name) {
                continue;
            }
            conn.execute_batch(&format!("DROP INDEX \"{name}\"")).map_err(backend)?;
            self.dropped.push(Dropped { name, sql });
        }
        Ok(true)
    }

    /// Before the commit: creates every dropped index that is missing, analyzes it again when
    /// the file has statistics, and restores the writer's page cache. Everything stays inside
    /// the transaction, so a failure here leaves it to roll back.
    pub(crate) fn finish(&mut self, conn: &Connection) -> StoreResult<()> {
        if !self.deferring {
            return Ok(());
        }
        let sorting = SortInRuns::begin(conn);
        let rebuilt = self.rebuild(conn);
        // Settings first, so that a failed rebuild leaves none behind.
        let restored = sorting.end(conn);
        let analyzed = match rebuilt {
            Ok(names) => analyze(conn, &names),
            Err(e) => Err(e),
        };
        restored.and(analyzed)?;
        self.end(conn)
    }

    /// Creates every dropped index that is missing; returns their names.
    fn rebuild(&self, conn: &Connection) -> StoreResult<Vec<&str>> {
        let mut rebuilt = Vec::new();
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
            rebuilt.push(d.name.as_str());
        }
        Ok(rebuilt)
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

/// Gathers the planner's statistics of rebuilt indexes again, on a sample, when the file has
/// any (`DROP INDEX` took theirs; a file never analyzed stays so).
fn analyze(conn: &Connection, names: &[&str]) -> StoreResult<()> {
    if names.is_empty() {
        return Ok(());
    }
    let analyzed = conn
        .query_row("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'sqlite_stat1'", [], |_| {
            Ok(())
        })
        .optional()
        .map_err(backend)?
        .is_some();
    if !analyzed {
        return Ok(());
    }
    let mut sql = String::from("PRAGMA analysis_limit=1000;");
    for name in names {
        sql.push_str(&format!(" ANALYZE \"{name}\";"));
    }
    sql.push_str(" PRAGMA analysis_limit=0;");
    conn.execute_batch(&sql).map_err(backend)
}

/// The indexes of the user tables that these rows write to out of key order: every full,
/// non-unique index and each partial index `WHERE col IS NOT NULL` whose column they fill,
/// unless the rows come in its key order. A partial index with any other condition, and every
/// unique index, is left in place (kept up to date row by row).
fn droppable(conn: &Connection, load: &LoadRows<'_>) -> StoreResult<Vec<(String, String)>> {
    let mut stmt = conn
        .prepare(&format!(
            "SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND tbl_name IN ({TABLES}) \
             AND sql IS NOT NULL ORDER BY name"
        ))
        .map_err(backend)?;
    let all = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .and_then(Iterator::collect::<rusqlite::Result<Vec<_>>>)
        .map_err(backend)?;
    let mut out = Vec::new();
    for (name, sql) in all {
        if is_unique(&sql)
            || !written_by(&sql, |c| load.fills(c))
            || load.in_order(&index_columns(conn, &name)?)
        {
            continue;
        }
        out.push((name, sql));
    }
    Ok(out)
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

/// The key columns of an index, in order.
fn index_columns(conn: &Connection, index: &str) -> StoreResult<Vec<String>> {
    let mut stmt = conn.prepare("SELECT name FROM pragma_index_info(?1) ORDER BY seqno").map_err(backend)?;
    stmt.query_map([index], |r| r.get::<_, Option<String>>(0))
        .and_then(Iterator::collect::<rusqlite::Result<Vec<_>>>)
        .map(|cols| cols.into_iter().map(Option::unwrap_or_default).collect())
        .map_err(backend)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Options, SqliteBatch, SqliteDb};
    use profile_core::field::UserField;
    use profile_core::model::user::{Role, UserPatch};
    use profile_core::ports::{Batch, Clock, Database};
    use profile_core::query::{Condition, Op, PageRequest, SortKey, UserFilter, UserQuery};
    use profile_core::testing::contract::Fixture;
    use profile_core::usecase::users::{self, NewUser};
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

    /// Every index of the file with its definition, and which indexes have statistics.
    fn schema_and_stats(conn: &Connection) -> (Pairs, Vec<String>) {
        let mut s = conn
            .prepare(
                "SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL ORDER BY name",
            )
            .unwrap();
        let schema = s.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect();
        let mut s = conn
            .prepare("SELECT DISTINCT tbl || '.' || coalesce(idx, '') FROM sqlite_stat1 ORDER BY 1")
            .unwrap();
        (schema, s.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect())
    }

    /// A new database whose loads defer their indexes from `defer_at` users on (`None`: never).
    fn open_deferring(dir: &std::path::Path, name: &str, defer_at: Option<u64>) -> SqliteDb {
        let bulk_defer = defer_at.map(|rows| BulkDefer { rows, of_table: 4 });
        let speed = crate::Speed { bulk_defer, ..crate::Speed::default() };
        SqliteDb::open_with(dir.join(name), Options { speed, ..Options::default() }).unwrap()
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
            sort: vec![SortKey { field: UserField::LastName, descending: false, custom: None }],
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
    /// rolls back after dropping indexes) and one more. Indexes come back exactly, analyzed
    /// again; the email index is never dropped; reads answer as on a database loaded row by row.
    #[test]
    fn a_bulk_load_builds_its_indexes_at_the_commit() {
        let dir = tempfile::tempdir().unwrap();
        let loaded = |defer_at: Option<u64>, name: &str| {
            let db = open_deferring(dir.path(), name, defer_at);
            let f = Fixture::new(&db);
            let dept = f.dept("Team", 1);
            db.writer().execute_batch("ANALYZE").unwrap();
            let before = schema_and_stats(&db.writer());
            let batch = SqliteBatch::begin(&db, true).unwrap();
            let ctx = profile_core::usecase::Ctx { db: &batch, ..f.ctx() };
            users::create_users_bulk(ctx, &f.admin, rows(0, 30, dept.0.into())).unwrap();
            assert!(has_index(batch.conn(), "users_last_name"), "below the threshold: nothing deferred");
            users::create_users_bulk(ctx, &f.admin, rows(30, 30, dept.0.into())).unwrap();
            let deferring = !has_index(batch.conn(), "users_last_name");
            assert!(has_index(batch.conn(), "users_email"), "a unique index stays");
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
        let (deferred, fast) = loaded(Some(40), "deferred.db");
        let (plain, slow) = loaded(None, "plain.db");
        assert!(deferred && !plain, "the threshold decides");
        assert_eq!(fast, slow);
        assert_eq!(fast[0].len(), 50, "a full first page");
        assert!(fast.iter().all(|ids| !ids.is_empty()));
    }

    /// A load written many rows a statement answers every read as the same users loaded in
    /// small pieces one row a statement, down to each prefix count; one refused on insert
    /// halfway (an email already stored) names the row and keeps nothing.
    #[test]
    fn a_load_of_many_rows_a_statement_indexes_as_one_row_a_statement() {
        const N: usize = 2_500;
        let dir = tempfile::tempdir().unwrap();
        let open = |name: &str| {
            let speed = crate::Speed { bulk_defer: None, ..crate::Speed::default() };
            SqliteDb::open_with(dir.path().join(name), Options { speed, ..Options::default() }).unwrap()
        };
        // In small pieces, inside a batch's savepoints: rows go one a statement there, many a
        // statement otherwise.
        let load = |name: &str, piece: usize| {
            let db = open(name);
            let f = Fixture::new(&db);
            let dept = f.dept("Team", 1);
            let batch = SqliteBatch::begin(&db, piece < N).unwrap();
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
            let documents: i64 =
                conn.query_row("SELECT count(*) FROM user_fts_docsize", [], |r| r.get(0)).unwrap();
            drop(conn);
            (answers(&f, dept.0.into()), counts, documents)
        };
        let whole = load("whole.db", N);
        assert_eq!(whole, load("pieces.db", 100));
        assert!(whole.1.len() > 100 && whole.2 > N as i64);

        let db = open("refused.db");
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
        // on insert.
        let mut clash = rows(100, N, dept.0.into());
        clash[1_500] = rows(3, 1, dept.0.into()).remove(0);
        let refused = users::create_users_bulk(f.ctx(), &f.admin, clash).unwrap_err();
        assert!(
            matches!(refused.row(), (Some(1500), profile_core::CoreError::Conflict { field, .. }) if field == "EMAIL"),
            "{refused:?}"
        );
        assert_eq!(total(), before, "nothing of the refused load is kept");
        users::create_users_bulk(f.ctx(), &f.admin, rows(100, N, dept.0.into())).unwrap();
        assert_eq!(total(), before.map(|n| n + N as u64));
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
        let batch = SqliteBatch::begin(&db, true).unwrap();
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

    /// A load whose transaction is not committed leaves no row and every index in place.
    #[test]
    fn an_abandoned_bulk_load_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let db = open_deferring(dir.path(), "a.db", Some(10));
        let f = Fixture::new(&db);
        let dept = f.dept("Team", 1);
        db.writer().execute_batch("ANALYZE").unwrap();
        let before = schema_and_stats(&db.writer());
        for in_batch in [false, true] {
            let batch = SqliteBatch::begin(&db, true).unwrap();
            let ctx = profile_core::usecase::Ctx { db: &batch, ..f.ctx() };
            if in_batch {
                users::create_users_bulk(ctx, &f.admin, rows(0, 20, dept.0.into())).unwrap();
                assert!(!has_index(batch.conn(), "users_last_name"), "deferring");
                assert_eq!(cache_size(batch.conn()), LOAD_CACHE);
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
        assert!(is_unique(unique), "and never dropped");
        assert!(written_by(
            "CREATE INDEX w ON users(account_no, work_city) WHERE work_city IS NOT NULL",
            fills
        ));
        assert!(!written_by("CREATE INDEX z ON users(account_no, uf_zoom) WHERE uf_zoom IS NOT NULL", fills));
        // Any other condition: kept and maintained row by row.
        assert!(!written_by("CREATE INDEX d ON users(account_no) WHERE active = 0", fills));
        assert!(!written_by("CREATE INDEX x ON users(a) WHERE last_name IS NOT NULL AND x = 1", fills));
    }

    #[test]
    fn rows_in_key_order() {
        let columns: Vec<String> = ["uid", "role", "name"].iter().map(|c| c.to_string()).collect();
        let t = |s: &'static str| ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes()));
        let i = |n: i64| ToSqlOutput::Owned(rusqlite::types::Value::Integer(n));
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
