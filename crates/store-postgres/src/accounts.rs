//! Accounts and their ID sequences.

use chrono::DateTime;
use profile_core::ids::{AccountId, Sequence};
use profile_core::model::account::{Account, AccountSettings, InvitePolicy, RegistrationType};
use profile_core::ports::{AccountStore, StoreResult};
use profile_core::StoreError;
use tokio_postgres::Row;

use crate::codec::{bytes, get, uuid};
use crate::PgTx;

/// The statement that reads accounts, in [`from_row`]'s order, followed by `$tail`.
macro_rules! select {
    ($tail:literal) => {
        concat!(
            "SELECT id, slug, name, renamed, invite_policy, registration, whitelisted_domains, greeting, \
             created_at FROM accounts ",
            $tail
        )
    };
}

pub(crate) fn lookup_no(tx: &PgTx<'_>, account: AccountId) -> StoreResult<Option<i64>> {
    tx.query_opt("SELECT no FROM accounts WHERE id = $1", &[&bytes(&account.0)])?
        .map(|r| get(&r, 0))
        .transpose()
}

fn from_row(r: &Row) -> StoreResult<Account> {
    let domains: &str = get(r, 6)?;
    Ok(Account {
        id: AccountId(uuid(r, 0)?),
        slug: get(r, 1)?,
        name: get(r, 2)?,
        renamed: get::<i64>(r, 3)? != 0,
        settings: AccountSettings {
            invite_policy: if get::<i64>(r, 4)? == 1 {
                InvitePolicy::Everyone
            } else {
                InvitePolicy::AdminsOnly
            },
            registration: if get::<i64>(r, 5)? == 1 {
                RegistrationType::Public
            } else {
                RegistrationType::Moderated
            },
            whitelisted_domains: domains.lines().map(str::to_string).collect(),
            greeting: get(r, 7)?,
        },
        created_at: DateTime::from_timestamp(get(r, 8)?, 0).unwrap_or_default(),
    })
}

fn settings_params(a: &Account) -> (i64, i64, String) {
    (
        i64::from(a.settings.invite_policy == InvitePolicy::Everyone),
        i64::from(a.settings.registration == RegistrationType::Public),
        a.settings.whitelisted_domains.join("\n"),
    )
}

impl AccountStore for PgTx<'_> {
    fn account(&self, id: AccountId) -> StoreResult<Option<Account>> {
        self.query_opt(select!("WHERE id = $1"), &[&bytes(&id.0)])?.as_ref().map(from_row).transpose()
    }

    fn account_by_slug(&self, slug: &str) -> StoreResult<Option<Account>> {
        self.query_opt(select!("WHERE slug = $1"), &[&slug])?.as_ref().map(from_row).transpose()
    }

    fn accounts(&self) -> StoreResult<Vec<Account>> {
        self.query(select!("ORDER BY no"), &[])?.iter().map(from_row).collect()
    }

    fn insert_account(&mut self, a: &Account) -> StoreResult<()> {
        let (invite, registration, domains) = settings_params(a);
        // A taken slug is refused and the transaction goes on, as on SQLite; a failed
        // statement would abort a PostgreSQL transaction, so it runs in a savepoint.
        self.in_savepoint(|tx| {
            tx.execute(
                "INSERT INTO accounts (id, slug, name, renamed, invite_policy, registration, \
                 whitelisted_domains, greeting, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                &[
                    &bytes(&a.id.0),
                    &a.slug,
                    &a.name,
                    &i64::from(a.renamed),
                    &invite,
                    &registration,
                    &domains,
                    &a.settings.greeting,
                    &a.created_at.timestamp(),
                ],
            )
        })?;
        Ok(())
    }

    fn update_account(&mut self, a: &Account) -> StoreResult<()> {
        let (invite, registration, domains) = settings_params(a);
        self.execute(
            "UPDATE accounts SET name = $2, renamed = $3, invite_policy = $4, registration = $5, \
             whitelisted_domains = $6, greeting = $7 WHERE id = $1",
            &[
                &bytes(&a.id.0),
                &a.name,
                &i64::from(a.renamed),
                &invite,
                &registration,
                &domains,
                &a.settings.greeting,
            ],
        )?;
        Ok(())
    }

    fn next_ids(&mut self, account: AccountId, sequence: Sequence, count: u32) -> StoreResult<u32> {
        let no = self.no_for_write(account)?;
        // One round trip (SQLite avoids RETURNING for its cost there; here it costs nothing).
        let (column, sql) = match sequence {
            Sequence::User => {
                ("next_user", "UPDATE accounts SET next_user = next_user + $2 WHERE no = $1 RETURNING next_user")
            }
            Sequence::Department => (
                "next_department",
                "UPDATE accounts SET next_department = next_department + $2 WHERE no = $1 RETURNING next_department",
            ),
            Sequence::Workgroup => (
                "next_workgroup",
                "UPDATE accounts SET next_workgroup = next_workgroup + $2 WHERE no = $1 RETURNING next_workgroup",
            ),
            Sequence::CustomField => (
                "next_custom_field",
                "UPDATE accounts SET next_custom_field = next_custom_field + $2 WHERE no = $1 RETURNING next_custom_field",
            ),
            Sequence::Absence => (
                "next_absence",
                "UPDATE accounts SET next_absence = next_absence + $2 WHERE no = $1 RETURNING next_absence",
            ),
            Sequence::Appreciation => (
                "next_appreciation",
                "UPDATE accounts SET next_appreciation = next_appreciation + $2 WHERE no = $1 RETURNING next_appreciation",
            ),
        };
        let last: i64 = get(&self.query_one(sql, &[&no, &i64::from(count)])?, 0)?;
        // The block is last - count + 1 ..= last; every ID of it must fit a u32.
        let first = last - i64::from(count) + 1;
        match (u32::try_from(last), u32::try_from(first)) {
            (Ok(_), Ok(first)) if count > 0 && first > 0 => Ok(first),
            _ if count == 0 => Err(StoreError::Backend("asked for no IDs".into())),
            _ => Err(StoreError::Backend(format!("{column} exhausted"))),
        }
    }
}
