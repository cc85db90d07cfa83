//! Users: row mapping and writes, keeping department memberships and search words in step.

use std::collections::HashMap;
use std::sync::OnceLock;

use profile_core::access::Audience;
use profile_core::field::UserField;
use profile_core::ids::{AccountId, DepartmentId, UserId};
use profile_core::model::user::{PresenceStatus, Role, User};
use profile_core::ports::{DepartmentStore, StoreResult, UserStore};
use profile_core::query::{Page, UserQuery};
use profile_core::StoreError;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use crate::codec::get;
pub(crate) use store_common::keys::{bounds, column, id_of, role_code, uid};
use store_common::keys::{date, days, time};

use crate::error::bad;
use crate::{search, user_pages, user_query, PgTx};

fn role_from(code: i64) -> StoreResult<Role> {
    store_common::keys::role_of(code).ok_or_else(|| bad(format!("unknown role {code}")))
}

/// The integer columns of `users`, in [`from_row`]'s order after `uid`.
const FIXED: [&str; 10] = [
    "uid",
    "role",
    "active",
    "departments",
    "birthday",
    "employment_date",
    "registered_at",
    "last_login",
    "last_activity",
    "updated_at",
];

/// The columns every user read selects, in [`from_row`]'s order.
pub(crate) fn select_columns() -> &'static str {
    static COLS: OnceLock<String> = OnceLock::new();
    COLS.get_or_init(|| {
        FIXED
            .iter()
            .map(|c| format!("u.{c}"))
            .chain(UserField::text_fields().map(|f| format!("u.{}", column(f))))
            .collect::<Vec<_>>()
            .join(", ")
    })
}

/// Rows per `INSERT`: each column goes as one array, so a statement's size is its rows'.
const ROWS_PER_INSERT: usize = 1000;

/// `INSERT INTO users … SELECT … FROM unnest(<one array per column>)`: any number of users in
/// one statement and one round trip, bound in binary.
fn insert_sql() -> &'static str {
    static SQL: OnceLock<String> = OnceLock::new();
    SQL.get_or_init(|| {
        let texts: Vec<String> = UserField::text_fields().map(column).collect();
        let mut cols: Vec<&str> = vec!["account_no"];
        cols.extend(FIXED);
        cols.extend(texts.iter().map(String::as_str));
        let types: Vec<String> = cols
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let ty = if *c == "departments" || i > FIXED.len() { "text" } else { "bigint" };
                format!("${}::{ty}[]", i + 1)
            })
            .collect();
        format!(
            "INSERT INTO users ({cols}, words) SELECT {cols}, array_to_tsvector(string_to_array(w, ' ')) \
             FROM unnest({types}, ${w}::text[]) AS t({cols}, w)",
            cols = cols.join(", "),
            types = types.join(", "),
            w = cols.len() + 1
        )
    })
}

fn update_sql() -> &'static str {
    static SQL: OnceLock<String> = OnceLock::new();
    SQL.get_or_init(|| {
        let cols: Vec<String> =
            FIXED[1..].iter().map(|c| c.to_string()).chain(UserField::text_fields().map(column)).collect();
        let sets: Vec<String> = cols.iter().enumerate().map(|(i, c)| format!("{c} = ${}", i + 2)).collect();
        format!(
            "UPDATE users SET {}, words = array_to_tsvector(string_to_array(${}, ' ')) WHERE uid = $1",
            sets.join(", "),
            cols.len() + 2
        )
    })
}

fn departments_text(user: &User) -> Option<String> {
    (!user.departments.is_empty())
        .then(|| user.departments.iter().map(|d| d.0.to_string()).collect::<Vec<_>>().join(","))
}

/// The integer values of a user's row, in [`FIXED`]'s order (`departments` is `None` here:
/// it is text).
fn fixed_values(no: i64, user: &User) -> [Option<i64>; 10] {
    [
        Some(uid(no, user.id)),
        Some(role_code(user.role)),
        Some(i64::from(user.active)),
        None,
        days(user.birthday),
        days(user.employment_date),
        Some(user.registered_at.timestamp()),
        user.last_login.map(|t| t.timestamp()),
        user.last_activity.map(|t| t.timestamp()),
        Some(user.updated_at.timestamp()),
    ]
}

/// A user's text columns in [`UserField::text_fields`] order, empty as `None`.
fn text_values(user: &User) -> Vec<Option<&str>> {
    UserField::text_fields().map(|f| Some(user.text(f)).filter(|s| !s.is_empty())).collect()
}

/// Maps a row selected with [`select_columns`].
pub(crate) fn from_row(account: AccountId, r: &Row) -> StoreResult<User> {
    from_row_at(account, r, 0)
}

/// [`from_row`] of the columns from `at` on (a row that selected others first).
pub(crate) fn from_row_at(account: AccountId, r: &Row, at: usize) -> StoreResult<User> {
    let deps: Option<&str> = get(r, at + 3)?;
    let mut user = User {
        account,
        id: id_of(get(r, at)?),
        role: role_from(get(r, at + 1)?)?,
        active: get::<i64>(r, at + 2)? != 0,
        departments: deps
            .iter()
            .flat_map(|s| s.split(','))
            .filter_map(|d| d.parse().ok().map(DepartmentId))
            .collect(),
        text: Default::default(),
        birthday: date(get(r, at + 4)?),
        employment_date: date(get(r, at + 5)?),
        registered_at: time(get(r, at + 6)?).unwrap_or_default(),
        last_login: time(get(r, at + 7)?),
        last_activity: time(get(r, at + 8)?),
        updated_at: time(get(r, at + 9)?).unwrap_or_default(),
    };
    let mut texts = Vec::with_capacity(16);
    for (i, f) in UserField::text_fields().enumerate() {
        if let Some(s) = get::<Option<String>>(r, at + FIXED.len() + i)? {
            texts.push((f, s));
        }
    }
    user.text = texts.into_iter().collect();
    Ok(user)
}

/// A user from a copied row (`cardfile migrate`): `row` holds values for `columns`, the
/// table's column names. The account is left nil: only the fields matter there.
pub(crate) fn from_columns(columns: &[String], row: &[crate::Column]) -> StoreResult<User> {
    use crate::Column;
    let at =
        |name: &str| columns.iter().position(|c| c == name).and_then(|i| row.get(i)).unwrap_or(&Column::Null);
    let int = |name: &str| match at(name) {
        Column::Int(i) => Some(*i),
        _ => None,
    };
    let text = |name: &str| match at(name) {
        Column::Text(s) => Some(s.as_str()),
        _ => None,
    };
    let mut user = User {
        account: AccountId(uuid::Uuid::nil()),
        id: id_of(int("uid").ok_or_else(|| bad("a user without uid"))?),
        role: role_from(int("role").ok_or_else(|| bad("a user without role"))?)?,
        active: int("active") != Some(0),
        departments: text("departments")
            .iter()
            .flat_map(|s| s.split(','))
            .filter_map(|d| d.parse().ok().map(DepartmentId))
            .collect(),
        text: Default::default(),
        birthday: date(int("birthday")),
        employment_date: date(int("employment_date")),
        registered_at: time(int("registered_at")).unwrap_or_default(),
        last_login: time(int("last_login")),
        last_activity: time(int("last_activity")),
        updated_at: time(int("updated_at")).unwrap_or_default(),
    };
    user.text = UserField::text_fields().filter_map(|f| Some((f, text(&column(f))?.to_string()))).collect();
    Ok(user)
}

/// Up to `limit` users of the account numbered `no` after `after`, by ID.
pub(crate) fn read_after(
    tx: &PgTx<'_>,
    account: AccountId,
    no: i64,
    after: UserId,
    limit: u32,
) -> StoreResult<Vec<User>> {
    static SQL: OnceLock<String> = OnceLock::new();
    let sql = SQL.get_or_init(|| {
        format!(
            "SELECT {} FROM users u WHERE u.uid > $1 AND u.uid <= $2 ORDER BY u.uid LIMIT $3",
            select_columns()
        )
    });
    tx.query(sql, &[&uid(no, after), &bounds(no).1, &i64::from(limit)])?
        .iter()
        .map(|r| from_row(account, r))
        .collect()
}

pub(crate) fn members(tx: &PgTx<'_>, no: i64, department: DepartmentId) -> StoreResult<Vec<UserId>> {
    tx.query(
        "SELECT uid FROM department_members WHERE account_no = $1 AND department = $2 ORDER BY uid",
        &[&no, &i64::from(department.0)],
    )?
    .iter()
    .map(|r| get::<i64>(r, 0).map(id_of))
    .collect()
}

/// Writes the `department_members` rows of `users`.
fn write_memberships(tx: &PgTx<'_>, no: i64, users: &[User]) -> StoreResult<()> {
    let (mut deps, mut names, mut uids, mut roles) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for user in users {
        for d in &user.departments {
            deps.push(i64::from(d.0));
            names.push(user.text(UserField::LastName));
            uids.push(uid(no, user.id));
            roles.push(role_code(user.role));
        }
    }
    if deps.is_empty() {
        return Ok(());
    }
    tx.execute(
        "INSERT INTO department_members (account_no, department, last_name, uid, role) \
         SELECT $1, d, n, u, r FROM unnest($2::bigint[], $3::text[], $4::bigint[], $5::bigint[]) AS t(d, n, u, r) \
         ON CONFLICT DO NOTHING",
        &[&no, &deps, &names, &uids, &roles],
    )?;
    Ok(())
}

/// Inserts users of the account numbered `no` with their memberships and search words.
fn insert_all(tx: &PgTx<'_>, no: i64, users: &[User]) -> StoreResult<()> {
    let Some(first) = users.first() else { return Ok(()) };
    if users.iter().any(|u| u.account != first.account) {
        return Err(StoreError::Backend("one batch, one account".into()));
    }
    tx.changed(no);
    let mut names: HashMap<DepartmentId, String> = HashMap::new();
    for d in users.iter().flat_map(|u| &u.departments) {
        if !names.contains_key(d) {
            names.insert(*d, tx.department(first.account, *d)?.map(|d| d.name).unwrap_or_default());
        }
    }
    for chunk in users.chunks(ROWS_PER_INSERT) {
        let mut fixed: Vec<Vec<Option<i64>>> = vec![Vec::with_capacity(chunk.len()); FIXED.len()];
        let mut texts: Vec<Vec<Option<&str>>> =
            vec![Vec::with_capacity(chunk.len()); UserField::text_fields().count()];
        let mut departments = Vec::with_capacity(chunk.len());
        let mut words = Vec::with_capacity(chunk.len());
        for user in chunk {
            for (col, v) in fixed.iter_mut().zip(fixed_values(no, user)) {
                col.push(v);
            }
            for (col, v) in texts.iter_mut().zip(text_values(user)) {
                col.push(v);
            }
            departments.push(departments_text(user));
            let w = profile_core::query::user_search_words(
                user,
                user.departments.iter().filter_map(|d| names.get(d)).map(String::as_str),
            );
            words.push(search::document(&w));
        }
        let accounts = vec![no; chunk.len()];
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&accounts];
        for (i, col) in fixed.iter().enumerate() {
            params.push(if i == 3 { &departments } else { col });
        }
        params.extend(texts.iter().map(|c| c as &(dyn ToSql + Sync)));
        params.push(&words);
        tx.execute(insert_sql(), &params)?;
        write_memberships(tx, no, chunk)?;
    }
    Ok(())
}

impl UserStore for PgTx<'_> {
    fn user(&self, account: AccountId, id: UserId) -> StoreResult<Option<User>> {
        if let Some(owner) = self.remembered_owner(account, id) {
            return Ok(owner);
        }
        let Some(no) = self.no(account)? else {
            return Ok(None);
        };
        static SQL: OnceLock<String> = OnceLock::new();
        let sql = SQL.get_or_init(|| format!("SELECT {} FROM users u WHERE u.uid = $1", select_columns()));
        self.query_opt(sql, &[&uid(no, id)])?.map(|r| from_row(account, &r)).transpose()
    }

    fn users_after(&self, account: AccountId, after: UserId, limit: u32) -> StoreResult<Vec<User>> {
        let Some(no) = self.no(account)? else {
            return Ok(Vec::new());
        };
        read_after(self, account, no, after, limit)
    }

    fn user_by_email(&self, account: AccountId, email: &str) -> StoreResult<Option<UserId>> {
        let Some(no) = self.no(account)? else {
            return Ok(None);
        };
        self.query_opt("SELECT uid FROM users WHERE account_no = $1 AND email = $2", &[&no, &email])?
            .map(|r| get::<i64>(&r, 0).map(id_of))
            .transpose()
    }

    fn query_users(
        &self,
        account: AccountId,
        query: &UserQuery,
        audience: Audience,
    ) -> StoreResult<Page<User>> {
        match self.no(account)? {
            Some(no) => user_pages::run(self, account, no, query, audience),
            None => Ok(Page { items: Vec::new(), total: query.page.count_total.then_some(0) }),
        }
    }

    fn department_members(&self, account: AccountId, department: DepartmentId) -> StoreResult<Vec<UserId>> {
        match self.no(account)? {
            Some(no) => members(self, no, department),
            None => Ok(Vec::new()),
        }
    }

    fn department_member_counts(&self, account: AccountId) -> StoreResult<Vec<(DepartmentId, u64)>> {
        let Some(no) = self.no(account)? else { return Ok(Vec::new()) };
        // A reader keeps the counts in the query cache, as pairs, until the account's query
        // data moves on (as SQLite does).
        let Some(cache) = self.query_cache() else { return count_members(self, no) };
        let key = cache.key(no, &"department_member_counts");
        let version = crate::user_pages::version(self, no)?;
        let pairs = match cache.ids(key, version) {
            Some(pairs) => pairs,
            None => {
                let counted = count_members(self, no)?;
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
            Some(no) => user_query::visible(self, no, ids, audience),
            None => Ok(Vec::new()),
        }
    }

    fn count_active_admins(&self, account: AccountId) -> StoreResult<u64> {
        let Some(no) = self.no(account)? else {
            return Ok(0);
        };
        let r = self.query_one(
            "SELECT count(*) FROM users WHERE account_no = $1 AND role = $2 AND active = 1",
            &[&no, &role_code(Role::Administrator)],
        )?;
        Ok(get::<i64>(&r, 0)?.unsigned_abs())
    }

    fn insert_user(&mut self, user: &User) -> StoreResult<()> {
        let no = self.no_for_write(user.account)?;
        // A taken email fails the statement, which must leave the transaction usable.
        self.in_savepoint(|tx| insert_all(tx, no, std::slice::from_ref(user)))
    }

    fn insert_users(&mut self, users: &[User]) -> StoreResult<()> {
        let Some(first) = users.first() else {
            return Ok(());
        };
        let no = self.no_for_write(first.account)?;
        self.in_savepoint(|tx| insert_all(tx, no, users))
    }

    fn record_activity(
        &mut self,
        account: AccountId,
        user: UserId,
        at: chrono::DateTime<chrono::Utc>,
    ) -> StoreResult<()> {
        // Not `changed`: activity invalidates no query cache (decisions.md).
        let no = self.no_for_write(account)?;
        let at = at.timestamp();
        self.in_savepoint(|tx| {
            tx.execute(
                "UPDATE users SET last_activity = $2 WHERE uid = $1 AND (last_activity IS NULL OR last_activity < $2)",
                &[&uid(no, user), &at],
            )
        })?;
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
        let login = at.timestamp();
        self.in_savepoint(|tx| {
            tx.execute("UPDATE users SET last_login = $2 WHERE uid = $1", &[&uid(no, user), &login])
        })?;
        self.record_activity(account, user, at)
    }

    fn user_status(&self, account: AccountId, user: UserId) -> StoreResult<Option<PresenceStatus>> {
        let Some(no) = self.no(account)? else { return Ok(None) };
        let rows = self.query("SELECT status FROM user_status WHERE uid = $1", &[&uid(no, user)])?;
        let code: Option<String> = match rows.first() {
            Some(r) => Some(r.try_get(0).map_err(crate::backend)?),
            None => None,
        };
        Ok(code.as_deref().and_then(PresenceStatus::from_code))
    }

    fn set_user_status(
        &mut self,
        account: AccountId,
        user: UserId,
        status: PresenceStatus,
    ) -> StoreResult<()> {
        let no = self.no_for_write(account)?;
        self.in_savepoint(|tx| {
            tx.execute(
                "INSERT INTO user_status (uid, status) VALUES ($1, $2) ON CONFLICT (uid) DO UPDATE SET status = excluded.status",
                &[&uid(no, user), &status.code()],
            )
        })?;
        Ok(())
    }

    fn update_user(&mut self, user: &User) -> StoreResult<()> {
        let no = self.no_for_write(user.account)?;
        self.changed(no);
        let Some(old) = self.user(user.account, user.id)? else {
            return Err(StoreError::Backend(format!("no user {}", user.id)));
        };
        let words = search::document(&search::words_of(self, no, user)?);
        let fixed = fixed_values(no, user);
        let departments = departments_text(user);
        let texts = text_values(user);
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&fixed[0]];
        for (i, v) in fixed.iter().enumerate().skip(1) {
            params.push(if i == 3 { &departments } else { v });
        }
        params.extend(texts.iter().map(|t| t as &(dyn ToSql + Sync)));
        params.push(&words);
        self.in_savepoint(|tx| tx.execute(update_sql(), &params))?;
        // Memberships carry the department list, the last name and the role.
        let membership = |u: &User| (u.departments.clone(), u.text(UserField::LastName).to_string(), u.role);
        if membership(&old) != membership(user) {
            self.execute("DELETE FROM department_members WHERE uid = $1", &[&uid(no, old.id)])?;
            write_memberships(self, no, std::slice::from_ref(user))?;
        }
        Ok(())
    }
}
/// How many members each department of account `no` has, counted.
fn count_members(tx: &PgTx<'_>, no: i64) -> StoreResult<Vec<(DepartmentId, u64)>> {
    tx.query(
        "SELECT department, count(*) FROM department_members WHERE account_no = $1 GROUP BY department \
         ORDER BY department",
        &[&no],
    )?
    .iter()
    .map(|r| Ok((DepartmentId(crate::codec::id32(r, 0)?), u64::try_from(get::<i64>(r, 1)?).unwrap_or(0))))
    .collect()
}
