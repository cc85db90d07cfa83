//! Accounts and their ID sequences.

use chrono::DateTime;
use profile_core::ids::{AccountId, Sequence};
use profile_core::model::account::{Account, AccountSettings, InvitePolicy, RegistrationType};
use profile_core::ports::{AccountStore, StoreResult};
use profile_core::StoreError;
use rusqlite::types::FromSqlError;
use rusqlite::{params, Connection, OptionalExtension, Row};

/// A conversion failure on a column, as rusqlite reports one.
trait IntoColumn {
    fn into_column(self, i: usize) -> rusqlite::Error;
}

impl IntoColumn for FromSqlError {
    fn into_column(self, i: usize) -> rusqlite::Error {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Blob, Box::new(self))
    }
}
use uuid::Uuid;

use crate::error::backend;
use crate::SqliteTx;

const COLUMNS: &str =
    "id, slug, name, renamed, invite_policy, registration, whitelisted_domains, greeting, created_at";

pub(crate) fn lookup_no(conn: &Connection, account: AccountId) -> StoreResult<Option<i64>> {
    conn.prepare_cached("SELECT no FROM accounts WHERE id = ?1")
        .and_then(|mut s| s.query_row([account.0.as_bytes().as_slice()], |r| r.get(0)).optional())
        .map_err(backend)
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<Account> {
    let id: Vec<u8> = r.get(0)?;
    let domains: String = r.get(6)?;
    Ok(Account {
        id: AccountId(Uuid::from_slice(&id).map_err(|e| FromSqlError::Other(Box::new(e)).into_column(0))?),
        slug: r.get(1)?,
        name: r.get(2)?,
        renamed: r.get(3)?,
        settings: AccountSettings {
            invite_policy: if r.get::<_, i64>(4)? == 1 {
                InvitePolicy::Everyone
            } else {
                InvitePolicy::AdminsOnly
            },
            registration: if r.get::<_, i64>(5)? == 1 {
                RegistrationType::Public
            } else {
                RegistrationType::Moderated
            },
            whitelisted_domains: domains.lines().map(str::to_string).collect(),
            greeting: r.get(7)?,
        },
        created_at: DateTime::from_timestamp(r.get(8)?, 0).unwrap_or_default(),
    })
}

fn settings_params(a: &Account) -> (i64, i64, String) {
    (
        i64::from(a.settings.invite_policy == InvitePolicy::Everyone),
        i64::from(a.settings.registration == RegistrationType::Public),
        a.settings.whitelisted_domains.join("\n"),
    )
}

impl AccountStore for SqliteTx<'_> {
    fn account(&self, id: AccountId) -> StoreResult<Option<Account>> {
        self.conn()
            .prepare_cached(&format!("SELECT {COLUMNS} FROM accounts WHERE id = ?1"))
            .and_then(|mut s| s.query_row([id.0.as_bytes().as_slice()], from_row).optional())
            .map_err(backend)
    }

    fn account_by_slug(&self, slug: &str) -> StoreResult<Option<Account>> {
        self.conn()
            .prepare_cached(&format!("SELECT {COLUMNS} FROM accounts WHERE slug = ?1"))
            .and_then(|mut s| s.query_row([slug], from_row).optional())
            .map_err(backend)
    }

    fn accounts(&self) -> StoreResult<Vec<Account>> {
        self.conn()
            .prepare_cached(&format!("SELECT {COLUMNS} FROM accounts ORDER BY no"))
            .and_then(|mut s| s.query_map([], from_row)?.collect())
            .map_err(backend)
    }

    fn insert_account(&mut self, a: &Account) -> StoreResult<()> {
        self.writable()?;
        let (invite, registration, domains) = settings_params(a);
        self.conn()
            .prepare_cached(&format!(
                "INSERT INTO accounts ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
            ))
            .and_then(|mut s| {
                s.execute(params![
                    a.id.0.as_bytes().as_slice(),
                    a.slug,
                    a.name,
                    a.renamed,
                    invite,
                    registration,
                    domains,
                    a.settings.greeting,
                    a.created_at.timestamp()
                ])
            })
            .map_err(backend)?;
        Ok(())
    }

    fn update_account(&mut self, a: &Account) -> StoreResult<()> {
        self.writable()?;
        let (invite, registration, domains) = settings_params(a);
        self.conn()
            .prepare_cached(
                "UPDATE accounts SET name = ?2, renamed = ?3, invite_policy = ?4, registration = ?5, \
                 whitelisted_domains = ?6, greeting = ?7 WHERE id = ?1",
            )
            .and_then(|mut s| {
                s.execute(params![
                    a.id.0.as_bytes().as_slice(),
                    a.name,
                    a.renamed,
                    invite,
                    registration,
                    domains,
                    a.settings.greeting
                ])
            })
            .map_err(backend)?;
        Ok(())
    }

    fn next_ids(&mut self, account: AccountId, sequence: Sequence, count: u32) -> StoreResult<u32> {
        let no = self.no_for_write(account)?;
        // A read and a one-row update, not `UPDATE … RETURNING`: SQLite runs RETURNING as a
        // trigger, which costs an ephemeral table and a statement journal (8% of a `user.add`
        // in a batch). The transaction holds the write lock, so nobody writes in between.
        let (column, read, write) = match sequence {
            Sequence::User => (
                "next_user",
                "SELECT next_user FROM accounts WHERE no = ?1",
                "UPDATE accounts SET next_user = ?2 WHERE no = ?1",
            ),
            Sequence::Department => (
                "next_department",
                "SELECT next_department FROM accounts WHERE no = ?1",
                "UPDATE accounts SET next_department = ?2 WHERE no = ?1",
            ),
            Sequence::Workgroup => (
                "next_workgroup",
                "SELECT next_workgroup FROM accounts WHERE no = ?1",
                "UPDATE accounts SET next_workgroup = ?2 WHERE no = ?1",
            ),
            Sequence::CustomField => (
                "next_custom_field",
                "SELECT next_custom_field FROM accounts WHERE no = ?1",
                "UPDATE accounts SET next_custom_field = ?2 WHERE no = ?1",
            ),
            Sequence::Absence => (
                "next_absence",
                "SELECT next_absence FROM accounts WHERE no = ?1",
                "UPDATE accounts SET next_absence = ?2 WHERE no = ?1",
            ),
            Sequence::Appreciation => (
                "next_appreciation",
                "SELECT next_appreciation FROM accounts WHERE no = ?1",
                "UPDATE accounts SET next_appreciation = ?2 WHERE no = ?1",
            ),
        };
        let conn = self.conn();
        let current: i64 =
            conn.prepare_cached(read).and_then(|mut s| s.query_row([no], |r| r.get(0))).map_err(backend)?;
        let last = current + i64::from(count);
        conn.prepare_cached(write).and_then(|mut s| s.execute(params![no, last])).map_err(backend)?;
        // The block is last - count + 1 ..= last; every ID of it must fit a u32.
        let first = last - i64::from(count) + 1;
        match (u32::try_from(last), u32::try_from(first)) {
            (Ok(_), Ok(first)) if count > 0 && first > 0 => Ok(first),
            _ if count == 0 => Err(StoreError::Backend("asked for no IDs".into())),
            _ => Err(StoreError::Backend(format!("{column} exhausted"))),
        }
    }
}
