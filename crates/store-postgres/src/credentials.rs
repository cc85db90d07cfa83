//! REST credentials.

use profile_core::access::{Scope, ScopeSet};
use profile_core::ids::{AccountId, UserId};
use profile_core::model::credential::{Credential, CredentialId, CredentialKind};
use profile_core::ports::{CredentialStore, StoreResult};
use profile_core::secret::SecretHash;
use tokio_postgres::Row;

use crate::codec::{self, bytes, get};
use crate::error::bad;
use crate::PgTx;

fn scope_codes(scopes: ScopeSet) -> String {
    scopes.iter().map(Scope::code).collect::<Vec<_>>().join(" ")
}

/// The statement that reads credentials, in [`credential_row`]'s order, followed by `$tail`.
macro_rules! credential_select {
    ($tail:literal) => {
        concat!(
            "SELECT a.id, c.id, c.kind, c.name, c.owner, c.scopes, c.hash, c.created_at, c.expires_at, \
             c.revoked_at FROM credentials c JOIN accounts a ON a.no = c.account_no ",
            $tail
        )
    };
}

/// The columns [`credential_row`] reads.
const CREDENTIAL_COLUMNS: usize = 10;

/// A credential by token hash with its owner's user row (NULLs when there is none).
fn credential_and_owner() -> &'static str {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SQL.get_or_init(|| {
        format!(
            "SELECT a.id, c.id, c.kind, c.name, c.owner, c.scopes, c.hash, c.created_at, c.expires_at, \
             c.revoked_at, {} FROM credentials c JOIN accounts a ON a.no = c.account_no \
             LEFT JOIN users u ON u.uid = (c.account_no << 32) | c.owner WHERE c.hash = $1",
            crate::users::select_columns()
        )
    })
}

fn credential_row(r: &Row) -> StoreResult<Credential> {
    let scopes: &str = get(r, 5)?;
    Ok(Credential {
        account: AccountId(codec::uuid(r, 0)?),
        id: CredentialId(codec::uuid(r, 1)?),
        kind: CredentialKind::from_code(get(r, 2)?).ok_or_else(|| bad("unknown credential kind"))?,
        name: get(r, 3)?,
        owner: UserId(codec::id32(r, 4)?),
        scopes: scopes.split_whitespace().filter_map(Scope::from_code).collect::<ScopeSet>(),
        hash: codec::hash(r, 6)?,
        created_at: codec::time(r, 7)?,
        expires_at: codec::opt_time(r, 8)?,
        revoked_at: codec::opt_time(r, 9)?,
    })
}

impl CredentialStore for PgTx<'_> {
    fn insert_credential(&mut self, c: &Credential) -> StoreResult<()> {
        let no = self.no_for_write(c.account)?;
        let scopes = scope_codes(c.scopes);
        // A token collision is refused and the transaction goes on, as on SQLite (see
        // `in_savepoint`).
        self.in_savepoint(|tx| {
            tx.execute(
                "INSERT INTO credentials (id, account_no, kind, name, owner, scopes, hash, created_at, expires_at, revoked_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                &[
                    &bytes(&c.id.0),
                    &no,
                    &c.kind.code(),
                    &c.name,
                    &i64::from(c.owner.0),
                    &scopes,
                    &c.hash.0.as_slice(),
                    &c.created_at.timestamp(),
                    &c.expires_at.map(|t| t.timestamp()),
                    &c.revoked_at.map(|t| t.timestamp()),
                ],
            )
        })?;
        Ok(())
    }

    fn credential(&self, account: AccountId, id: CredentialId) -> StoreResult<Option<Credential>> {
        let Some(no) = self.no(account)? else {
            return Ok(None);
        };
        self.query_opt(credential_select!("WHERE c.account_no = $1 AND c.id = $2"), &[&no, &bytes(&id.0)])?
            .as_ref()
            .map(credential_row)
            .transpose()
    }

    /// In a read, the owner's row comes in the same statement and answers the `user` call
    /// that authentication makes next (see `PgTx::remember_owner`).
    fn credential_by_token(&self, hash: &SecretHash) -> StoreResult<Option<Credential>> {
        if !self.is_reader() {
            return self
                .query_opt(credential_select!("WHERE c.hash = $1"), &[&hash.0.as_slice()])?
                .as_ref()
                .map(credential_row)
                .transpose();
        }
        let Some(r) = self.query_opt(credential_and_owner(), &[&hash.0.as_slice()])? else {
            return Ok(None);
        };
        let credential = credential_row(&r)?;
        let owner = match codec::get::<Option<i64>>(&r, CREDENTIAL_COLUMNS)? {
            Some(_) => Some(crate::users::from_row_at(credential.account, &r, CREDENTIAL_COLUMNS)?),
            None => None,
        };
        self.remember_owner(credential.account, credential.owner, owner);
        Ok(Some(credential))
    }

    fn credentials(&self, account: AccountId) -> StoreResult<Vec<Credential>> {
        let Some(no) = self.no(account)? else {
            return Ok(Vec::new());
        };
        self.query(credential_select!("WHERE c.account_no = $1 ORDER BY c.seq"), &[&no])?
            .iter()
            .map(credential_row)
            .collect()
    }

    fn update_credential(&mut self, c: &Credential) -> StoreResult<()> {
        self.execute(
            "UPDATE credentials SET kind = $2, name = $3, owner = $4, scopes = $5, hash = $6, \
             created_at = $7, expires_at = $8, revoked_at = $9 WHERE id = $1",
            &[
                &bytes(&c.id.0),
                &c.kind.code(),
                &c.name,
                &i64::from(c.owner.0),
                &scope_codes(c.scopes),
                &c.hash.0.as_slice(),
                &c.created_at.timestamp(),
                &c.expires_at.map(|t| t.timestamp()),
                &c.revoked_at.map(|t| t.timestamp()),
            ],
        )?;
        Ok(())
    }
}
