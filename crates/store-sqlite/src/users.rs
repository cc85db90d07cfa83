//! Users: row mapping, writes (keeping department memberships and the search index in step),
//! and the bulk-load path.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use profile_core::access::Audience;
use profile_core::field::UserField;
use profile_core::ids::{AccountId, DepartmentId, UserId};
use profile_core::model::user::{PresenceStatus, Role, User};
use profile_core::ports::{DepartmentStore, StoreResult, UserStore};
use profile_core::query::{Page, UserQuery};
use rusqlite::types::{ToSqlOutput, Value as Sql, ValueRef};
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row, ToSql};

pub(crate) use store_common::keys::{bounds, column, id_of, role_code, uid};
use store_common::keys::{date, days, time};

use crate::error::backend;
use crate::search::{self, Deltas};
use crate::tx::Held;
use crate::{user_pages, user_query, SqliteTx};

/// Reads a stored role; an unknown code is an error, never silently some role.
fn role_from(code: i64) -> rusqlite::Result<Role> {
    store_common::keys::role_of(code).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            1,
            rusqlite::types::Type::Integer,
            format!("unknown role {code}").into(),
        )
    })
}

const FIXED: &str = "u.uid, u.role, u.active, u.departments, u.birthday, u.employment_date, \
                     u.registered_at, u.last_login, u.last_activity, u.updated_at";

/// The columns every user read selects, in [`from_row`]'s order.
pub(crate) fn select_columns() -> &'static str {
    static COLS: OnceLock<String> = OnceLock::new();
    COLS.get_or_init(|| {
        let text: Vec<String> = UserField::text_fields().map(|f| format!("u.{}", column(f))).collect();
        format!("{FIXED}, {}", text.join(", "))
    })
}

/// Rows per statement when a load inserts many: a statement opens a cursor on its table and on
/// each of its indexes (~45 for `users`) and closes them at its end, which for one row at a time
/// was a third of the cost of inserting a user.
///
/// A statement of many rows that sets the rowid (`uid`) may fail halfway, so SQLite gives it a
/// statement journal. Outside a savepoint that is cheap; inside one, closing the statement walks
/// the in-memory journal of everything the savepoint has copied, which ate the gain. So rows
/// go one at a time inside savepoints (batch units, group members), many at a time otherwise.
const ROWS_PER_INSERT: usize = 32;

/// An `INSERT` of one row and of [`ROWS_PER_INSERT`] rows.
struct Grouped {
    one: String,
    many: String,
    /// Which of each row's values the statement binds, in order.
    take: Vec<usize>,
}

impl Grouped {
    /// `head` is the statement up to `VALUES`; each row has `width` values.
    fn new(head: &str, width: usize) -> Grouped {
        let row = format!("({})", vec!["?"; width].join(", "));
        Grouped {
            one: format!("{head} VALUES {row}"),
            many: format!("{head} VALUES {}", vec![row; ROWS_PER_INSERT].join(", ")),
            take: (0..width).collect(),
        }
    }

    /// The values of `row` the statement binds.
    fn values<'r, V>(&'r self, row: &'r [V]) -> impl Iterator<Item = &'r V> + 'r {
        self.take.iter().map(move |&i| &row[i])
    }

    /// Inserts `rows`: with `many`, [`ROWS_PER_INSERT`] a statement and the rest one by one;
    /// else all one by one.
    fn insert<R: AsRef<[V]>, V: ToSql>(&self, conn: &Connection, rows: &[R], many: bool) -> StoreResult<()> {
        let mut groups = rows.chunks_exact(if many { ROWS_PER_INSERT } else { rows.len() + 1 });
        if groups.len() > 0 {
            let mut many = conn.prepare_cached(&self.many).map_err(backend)?;
            for group in groups.by_ref() {
                many.execute(params_from_iter(group.iter().flat_map(|r| self.values(r.as_ref()))))
                    .map_err(backend)?;
            }
        }
        if !groups.remainder().is_empty() {
            let mut one = conn.prepare_cached(&self.one).map_err(backend)?;
            for row in groups.remainder() {
                one.execute(params_from_iter(self.values(row.as_ref()))).map_err(backend)?;
            }
        }
        Ok(())
    }
}

/// The `INSERT` of a load's users, naming only the columns that some of `rows` fills: no
/// column of `users` has a default, so the others are NULL either way, and a user fills ~13 of
/// 63 (binding the other ~50 as NULL, one call each, cost ~1.5 s of a 1M load). `OR FAIL`: a
/// statement of many rows that fails keeps the rows before the failing one instead of undoing
/// them itself; the load's transaction (or batch unit) is rolled back on any failure anyway.
fn load_users(rows: &[Vec<ToSqlOutput<'_>>]) -> Arc<Grouped> {
    /// Statements by the columns they name; cleared when full (loads rarely vary).
    static MADE: OnceLock<Mutex<HashMap<Vec<bool>, Arc<Grouped>>>> = OnceLock::new();
    const KEPT: usize = 16;
    let cols = insert_columns();
    let mut named = vec![false; cols.len()];
    for row in rows {
        for (n, v) in named.iter_mut().zip(row) {
            *n |= !is_null(v);
        }
    }
    let mut made = MADE.get_or_init(Mutex::default).lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(g) = made.get(&named) {
        return Arc::clone(g);
    }
    let take: Vec<usize> = (0..cols.len()).filter(|&i| named[i]).collect();
    let names: Vec<&str> = take.iter().map(|&i| cols[i].as_str()).collect();
    let mut grouped = Grouped::new(&format!("INSERT OR FAIL INTO users ({})", names.join(", ")), take.len());
    grouped.take = take;
    let grouped = Arc::new(grouped);
    if made.len() >= KEPT {
        made.clear();
    }
    made.insert(named, Arc::clone(&grouped));
    grouped
}

fn is_null(v: &ToSqlOutput<'_>) -> bool {
    matches!(v, ToSqlOutput::Borrowed(ValueRef::Null) | ToSqlOutput::Owned(Sql::Null))
}

/// The department memberships of a load.
fn load_memberships() -> &'static Grouped {
    static SQL: OnceLock<Grouped> = OnceLock::new();
    SQL.get_or_init(|| Grouped::new(MEMBERSHIP_HEAD, 5))
}

const MEMBERSHIP_HEAD: &str =
    "INSERT OR IGNORE INTO department_members (account_no, department, last_name, uid, role)";

/// The columns a user row has, in the order of [`row_params`].
fn insert_columns() -> &'static [String] {
    static COLS: OnceLock<Vec<String>> = OnceLock::new();
    COLS.get_or_init(|| {
        std::iter::once("account_no".to_string())
            .chain(select_columns().replace("u.", "").split(", ").map(str::to_string))
            .collect()
    })
}

fn update_sql() -> &'static str {
    static SQL: OnceLock<String> = OnceLock::new();
    SQL.get_or_init(|| {
        let cols = select_columns().replace("u.", "");
        let sets: Vec<String> =
            cols.split(", ").enumerate().skip(1).map(|(i, c)| format!("{c} = ?{}", i + 2)).collect();
        format!("UPDATE users SET {} WHERE uid = ?2", sets.join(", "))
    })
}

fn departments_text(user: &User) -> Option<String> {
    (!user.departments.is_empty())
        .then(|| user.departments.iter().map(|d| d.0.to_string()).collect::<Vec<_>>().join(","))
}

/// The parameters of [`load_users`]/[`update_sql`]: account number, then [`select_columns`].
/// Texts are bound from the user, not copied (a load binds millions).
fn row_params(no: i64, user: &User) -> Vec<ToSqlOutput<'_>> {
    let int = |v: i64| ToSqlOutput::Borrowed(ValueRef::Integer(v));
    const NULL: ToSqlOutput<'static> = ToSqlOutput::Borrowed(ValueRef::Null);
    let opt_i = |v: Option<i64>| v.map_or(NULL, int);
    let mut p = Vec::with_capacity(insert_columns().len());
    p.extend([
        int(no),
        int(uid(no, user.id)),
        int(role_code(user.role)),
        int(i64::from(user.active)),
        departments_text(user).map_or(NULL, |t| ToSqlOutput::Owned(Sql::Text(t))),
        opt_i(days(user.birthday)),
        opt_i(days(user.employment_date)),
        int(user.registered_at.timestamp()),
        opt_i(user.last_login.map(|t| t.timestamp())),
        opt_i(user.last_activity.map(|t| t.timestamp())),
        int(user.updated_at.timestamp()),
    ]);
    let fixed = p.len();
    p.resize(insert_columns().len(), NULL);
    // A user has a few texts of ~50 fields: place those, instead of looking up every field.
    for (f, s) in &user.text {
        if let Some(Some(at)) = text_slots().get(*f as usize).filter(|_| !s.is_empty()) {
            p[fixed + at] = ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes()));
        }
    }
    p
}

/// Each field's place among the text columns of [`select_columns`], by `UserField as usize`.
fn text_slots() -> &'static [Option<usize>] {
    static SLOTS: OnceLock<Vec<Option<usize>>> = OnceLock::new();
    SLOTS.get_or_init(|| {
        let mut slots = vec![None; UserField::ALL.len()];
        for (i, f) in UserField::text_fields().enumerate() {
            slots[f as usize] = Some(i);
        }
        slots
    })
}

/// Maps a row selected with [`select_columns`].
pub(crate) fn from_row(account: AccountId, r: &Row<'_>) -> rusqlite::Result<User> {
    let deps: Option<String> = r.get(3)?;
    let mut user = User {
        account,
        id: id_of(r.get(0)?),
        role: role_from(r.get(1)?)?,
        active: r.get(2)?,
        departments: deps
            .iter()
            .flat_map(|s| s.split(','))
            .filter_map(|d| d.parse().ok().map(DepartmentId))
            .collect(),
        text: Default::default(),
        birthday: date(r.get(4)?),
        employment_date: date(r.get(5)?),
        registered_at: time(r.get(6)?).unwrap_or_default(),
        last_login: time(r.get(7)?),
        last_activity: time(r.get(8)?),
        updated_at: time(r.get(9)?).unwrap_or_default(),
    };
    // Columns come in field order: the map is built in one pass from sorted pairs instead of
    // by one tree insertion each.
    let mut texts = Vec::with_capacity(16);
    for (i, f) in UserField::text_fields().enumerate() {
        if let Some(s) = r.get::<_, Option<String>>(10 + i)? {
            texts.push((f, s));
        }
    }
    user.text = texts.into_iter().collect();
    Ok(user)
}

/// Up to `limit` users of the account numbered `no` after `after`, by ID.
pub(crate) fn read_after(
    conn: &Connection,
    account: AccountId,
    no: i64,
    after: UserId,
    limit: u32,
) -> StoreResult<Vec<User>> {
    let sql = format!(
        "SELECT {} FROM users u WHERE u.uid > ?1 AND u.uid <= ?2 ORDER BY u.uid LIMIT ?3",
        select_columns()
    );
    conn.prepare_cached(&sql)
        .and_then(|mut s| {
            s.query_map(params![uid(no, after), bounds(no).1, limit], |r| from_row(account, r))?
                .collect::<rusqlite::Result<Vec<_>>>()
        })
        .map_err(backend)
}

pub(crate) fn members(conn: &Connection, no: i64, department: DepartmentId) -> StoreResult<Vec<UserId>> {
    conn.prepare_cached(
        "SELECT uid FROM department_members WHERE account_no = ?1 AND department = ?2 ORDER BY uid",
    )
    .and_then(|mut s| s.query_map(params![no, department.0], |r| r.get::<_, i64>(0).map(id_of))?.collect())
    .map_err(backend)
}

fn write_memberships(conn: &Connection, no: i64, user: &User) -> StoreResult<()> {
    load_memberships().insert(conn, &membership_rows(no, std::slice::from_ref(user)), false)
}

/// The `department_members` rows of `users`.
fn membership_rows(no: i64, users: &[User]) -> Vec<[Sql; 5]> {
    users
        .iter()
        .flat_map(|user| {
            let last_name = user.text(UserField::LastName);
            user.departments.iter().map(move |d| {
                [
                    Sql::Integer(no),
                    Sql::Integer(i64::from(d.0)),
                    Sql::Text(last_name.to_string()),
                    Sql::Integer(uid(no, user.id)),
                    Sql::Integer(role_code(user.role)),
                ]
            })
        })
        .collect()
}

fn clear_memberships(conn: &Connection, no: i64, old: &User) -> StoreResult<()> {
    conn.prepare_cached("DELETE FROM department_members WHERE uid = ?1")
        .and_then(|mut s| s.execute([uid(no, old.id)]))
        .map_err(backend)?;
    Ok(())
}

/// The search documents of `users` (uid, words); the prefix-count changes they make are added
/// to `deltas`.
fn documents(
    no: i64,
    users: &[User],
    names: &HashMap<DepartmentId, String>,
    deltas: &mut Deltas,
) -> Vec<(i64, String)> {
    users
        .iter()
        .map(|user| {
            let words = profile_core::query::user_search_words(
                user,
                user.departments.iter().filter_map(|d| names.get(d)).map(String::as_str),
            );
            deltas.add(search::class(user.role), &words, 1);
            (uid(no, user.id), words.join(" "))
        })
        .collect()
}

impl SqliteTx<'_> {
    /// Inserts users of the account numbered `no` (their `rows` as [`row_params`] gives them),
    /// their memberships and their search documents.
    fn insert_batch(&mut self, no: i64, users: &[User], rows: &[Vec<ToSqlOutput<'_>>]) -> StoreResult<()> {
        let Some(first) = users.first() else {
            return Ok(());
        };
        if users.iter().any(|u| u.account != first.account) {
            return Err(profile_core::StoreError::Backend("one batch, one account".into()));
        }
        self.changed(no);
        let mut names: HashMap<DepartmentId, String> = HashMap::new();
        for d in users.iter().flat_map(|u| &u.departments) {
            if !names.contains_key(d) {
                names.insert(*d, self.department(first.account, *d)?.map(|d| d.name).unwrap_or_default());
            }
        }
        let conn = self.conn();
        let many = !self.savepoint_open();
        let statement = load_users(rows);
        statement.insert(conn, rows, many)?;
        load_memberships().insert(conn, &membership_rows(no, users), many)?;
        let mut deltas = Deltas::default();
        for (u, document) in documents(no, users, &names, &mut deltas) {
            search::index(conn, u, &document)?;
        }
        self.count_later(no, deltas);
        Ok(())
    }
}

impl UserStore for SqliteTx<'_> {
    fn user(&self, account: AccountId, id: UserId) -> StoreResult<Option<User>> {
        let session = match &self.held {
            Held::Shared(s) => Some(&s.users),
            _ => None,
        };
        if let Some(known) = session.and_then(|users| users.borrow().get(&(account, id)).cloned()) {
            return Ok(known);
        }
        let Some(no) = self.no(account)? else {
            return Ok(None);
        };
        let found = self
            .conn()
            .prepare_cached(&format!("SELECT {} FROM users u WHERE u.uid = ?1", select_columns()))
            .and_then(|mut s| s.query_row([uid(no, id)], |r| from_row(account, r)).optional())
            .map_err(backend)?;
        if let Some(users) = session {
            users.borrow_mut().insert((account, id), found.clone());
        }
        Ok(found)
    }

    fn users_after(&self, account: AccountId, after: UserId, limit: u32) -> StoreResult<Vec<User>> {
        let Some(no) = self.no(account)? else {
            return Ok(Vec::new());
        };
        read_after(self.conn(), account, no, after, limit)
    }

    fn user_by_email(&self, account: AccountId, email: &str) -> StoreResult<Option<UserId>> {
        let Some(no) = self.no(account)? else {
            return Ok(None);
        };
        self.conn()
            .prepare_cached("SELECT uid FROM users WHERE account_no = ?1 AND email = ?2")
            .and_then(|mut s| s.query_row(params![no, email], |r| r.get::<_, i64>(0).map(id_of)).optional())
            .map_err(backend)
    }

    fn query_users(
        &self,
        account: AccountId,
        query: &UserQuery,
        audience: Audience,
    ) -> StoreResult<Page<User>> {
        match self.no(account)? {
            Some(no) => user_pages::run(
                self.conn(),
                self.query_cache(),
                account,
                no,
                query,
                audience,
                &|class, tier, prefix| self.pending_count(no, class, tier, prefix),
            ),
            None => Ok(Page { items: Vec::new(), total: query.page.count_total.then_some(0) }),
        }
    }

    fn department_members(&self, account: AccountId, department: DepartmentId) -> StoreResult<Vec<UserId>> {
        match self.no(account)? {
            Some(no) => members(self.conn(), no, department),
            None => Ok(Vec::new()),
        }
    }

    fn department_member_counts(&self, account: AccountId) -> StoreResult<Vec<(DepartmentId, u64)>> {
        let Some(no) = self.no(account)? else { return Ok(Vec::new()) };
        // A reader keeps the counts in the query cache (the grouped scan of every membership
        // took ~10 ms at 100k users), as pairs, until the account's query data moves on.
        let Some(cache) = self.query_cache() else { return self.count_members(no) };
        let key = cache.key(no, &"department_member_counts");
        let version = crate::user_pages::version(self.conn(), no)?;
        let pairs = match cache.ids(key, version) {
            Some(pairs) => pairs,
            None => {
                let counted = self.count_members(no)?;
                let pairs: std::sync::Arc<[u32]> =
                    counted.iter().flat_map(|(d, n)| [d.0, u32::try_from(*n).unwrap_or(u32::MAX)]).collect();
                cache.remember_ids(key, version, std::sync::Arc::clone(&pairs));
                pairs
            }
        };
        Ok(pairs.chunks_exact(2).map(|p| (DepartmentId(p[0]), u64::from(p[1]))).collect())
    }

    fn visible_users(
        &self,
        account: AccountId,
        ids: &[UserId],
        audience: Audience,
    ) -> StoreResult<Vec<UserId>> {
        match self.no(account)? {
            Some(no) => user_query::visible(self.conn(), no, ids, audience),
            None => Ok(Vec::new()),
        }
    }

    fn count_active_admins(&self, account: AccountId) -> StoreResult<u64> {
        let Some(no) = self.no(account)? else {
            return Ok(0);
        };
        self.conn()
            .prepare_cached("SELECT count(*) FROM users WHERE account_no = ?1 AND role = ?2 AND active = 1")
            .and_then(|mut s| {
                s.query_row(params![no, role_code(Role::Administrator)], |r| r.get::<_, i64>(0))
            })
            .map(|n| n as u64)
            .map_err(backend)
    }

    fn insert_user(&mut self, user: &User) -> StoreResult<()> {
        let no = self.no_for_write(user.account)?;
        self.insert_batch(no, std::slice::from_ref(user), &[row_params(no, user)])
    }

    fn insert_users(&mut self, users: &[User]) -> StoreResult<()> {
        let Some(first) = users.first() else {
            return Ok(());
        };
        let no = self.no_for_write(first.account)?;
        let rows: Vec<Vec<ToSqlOutput<'_>>> = users.iter().map(|u| row_params(no, u)).collect();
        let load = crate::bulk::LoadRows { columns: insert_columns(), rows: &rows };
        let defer = self.db.options.speed.bulk_defer;
        let deferring = self.bulk().borrow_mut().before_insert(self.conn(), &load, defer)?;
        // A load too small to defer still touches index pages all over the file: give the
        // writer a larger page cache for it, then return to the normal one.
        let big = !deferring && users.len() >= 1000;
        if big {
            crate::bulk::set_cache(self.conn(), crate::bulk::LOAD_CACHE)?;
        }
        let result = self.insert_batch(no, users, &rows);
        let reset = if big { crate::bulk::set_cache(self.conn(), crate::WRITER_CACHE) } else { Ok(()) };
        // The insert's own error (an email conflict, say) matters more than the reset's.
        result.and(reset)
    }

    fn record_activity(
        &mut self,
        account: AccountId,
        user: UserId,
        at: chrono::DateTime<chrono::Utc>,
    ) -> StoreResult<()> {
        // Not `changed`: activity invalidates no query cache (decisions.md).
        let no = self.no_for_write(account)?;
        self.conn()
            .prepare_cached(
                "UPDATE users SET last_activity = ?2 WHERE uid = ?1 AND (last_activity IS NULL OR last_activity < ?2)",
            )
            .and_then(|mut s| s.execute(params![uid(no, user), at.timestamp()]))
            .map_err(backend)?;
        Ok(())
    }

    fn record_sign_in(
        &mut self,
        account: AccountId,
        user: UserId,
        at: chrono::DateTime<chrono::Utc>,
    ) -> StoreResult<()> {
        // Not `changed`, as for activity; rare enough for a second statement.
        let no = self.no_for_write(account)?;
        self.conn()
            .prepare_cached("UPDATE users SET last_login = ?2 WHERE uid = ?1")
            .and_then(|mut s| s.execute(params![uid(no, user), at.timestamp()]))
            .map_err(backend)?;
        self.record_activity(account, user, at)
    }

    fn user_status(&self, account: AccountId, user: UserId) -> StoreResult<Option<PresenceStatus>> {
        let Some(no) = self.no(account)? else { return Ok(None) };
        let code: Option<String> = self
            .conn()
            .prepare_cached("SELECT status FROM user_status WHERE uid = ?1")
            .and_then(|mut s| s.query_row(params![uid(no, user)], |r| r.get(0)).optional())
            .map_err(backend)?;
        Ok(code.as_deref().and_then(PresenceStatus::from_code))
    }

    fn set_user_status(
        &mut self,
        account: AccountId,
        user: UserId,
        status: PresenceStatus,
    ) -> StoreResult<()> {
        let no = self.no_for_write(account)?;
        self.conn()
            .prepare_cached(
                "INSERT INTO user_status (uid, status) VALUES (?1, ?2) ON CONFLICT (uid) DO UPDATE SET status = excluded.status",
            )
            .and_then(|mut s| s.execute(params![uid(no, user), status.code()]))
            .map_err(backend)?;
        Ok(())
    }

    fn update_user(&mut self, user: &User) -> StoreResult<()> {
        let no = self.no_for_write(user.account)?;
        self.changed(no);
        let Some(old) = self.user(user.account, user.id)? else {
            return Err(profile_core::StoreError::Backend(format!("no user {}", user.id)));
        };
        let old_words = search::words_of(self, no, &old)?;
        let conn = self.conn();
        let row = row_params(no, user);
        conn.prepare_cached(update_sql())
            .and_then(|mut s| s.execute(params_from_iter(row)))
            .map_err(backend)?;
        // Memberships carry the department list, the last name and the role.
        let membership = |u: &User| (u.departments.clone(), u.text(UserField::LastName).to_string(), u.role);
        if membership(&old) != membership(user) {
            clear_memberships(conn, no, &old)?;
            write_memberships(conn, no, user)?;
        }
        let new_words = search::words_of(self, no, user)?;
        search::replace(
            self,
            no,
            user.id,
            (search::class(old.role), &old_words),
            (search::class(user.role), &new_words),
        )
    }
}

impl SqliteTx<'_> {
    /// How many members each department of account `no` has, counted.
    fn count_members(&self, no: i64) -> StoreResult<Vec<(DepartmentId, u64)>> {
        self.conn()
            .prepare_cached(
                "SELECT department, count(*) FROM department_members WHERE account_no = ?1 GROUP BY department \
                 ORDER BY department",
            )
            .and_then(|mut s| {
                s.query_map([no], |r| Ok((DepartmentId(r.get(0)?), r.get::<_, i64>(1)? as u64)))?.collect()
            })
            .map_err(backend)
    }
}

#[cfg(test)]
mod tests {
    /// [`super::load_users`] leaves out the columns no row of a call fills, which is only right
    /// while a left-out column is NULL: a migration that gives a column of `users` a default
    /// must also make loads name it.
    #[test]
    fn no_column_of_users_has_a_default() {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::SqliteDb::open(dir.path().join("d.db")).unwrap();
        let conn = db.writer();
        let mut statement = conn.prepare("SELECT name, dflt_value FROM pragma_table_info('users')").unwrap();
        let columns: Vec<(String, Option<String>)> =
            statement.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect();
        let with_default: Vec<String> =
            columns.iter().filter_map(|(name, d)| d.as_ref().map(|d| format!("{name} = {d}"))).collect();
        assert_eq!(with_default, Vec::<String>::new());
        // And a load has a value for every column.
        let mut names: Vec<&str> = columns.iter().map(|(name, _)| name.as_str()).collect();
        let mut loaded: Vec<&str> = super::insert_columns().iter().map(String::as_str).collect();
        names.sort_unstable();
        loaded.sort_unstable();
        assert_eq!(names, loaded);
    }
}
