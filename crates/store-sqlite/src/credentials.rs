//! REST credentials.

use profile_core::access::{Scope, ScopeSet};
use profile_core::ids::{AccountId, UserId};
use profile_core::model::credential::{Credential, CredentialId, CredentialKind};
use profile_core::ports::{CredentialStore, StoreResult};
use profile_core::secret::SecretHash;
use rusqlite::types::FromSqlError;
use rusqlite::{params, OptionalExtension, Row};

use crate::codec::{self, bytes};
use crate::error::backend;
use crate::SqliteTx;

pub(crate) fn unknown(i: usize, what: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        i,
        rusqlite::types::Type::Text,
        Box::new(FromSqlError::Other(what.into())),
    )
}

fn scope_codes(scopes: ScopeSet) -> String {
    scopes.iter().map(Scope::code).collect::<Vec<_>>().join(" ")
}

const CREDENTIAL_SELECT: &str =
    "SELECT a.id, c.id, c.kind, c.name, c.owner, c.scopes, c.hash, c.created_at, \
     c.expires_at, c.revoked_at FROM credentials c JOIN accounts a ON a.no = c.account_no";

fn credential_row(r: &Row<'_>) -> rusqlite::Result<Credential> {
    let kind: String = r.get(2)?;
    let scopes: String = r.get(5)?;
    Ok(Credential {
        account: AccountId(codec::uuid(r, 0)?),
        id: CredentialId(codec::uuid(r, 1)?),
        kind: CredentialKind::from_code(&kind).ok_or_else(|| unknown(2, "unknown credential kind"))?,
        name: r.get(3)?,
        owner: UserId(r.get(4)?),
        scopes: scopes.split_whitespace().filter_map(Scope::from_code).collect::<ScopeSet>(),
        hash: codec::hash(r, 6)?,
        created_at: codec::time(r, 7)?,
        expires_at: codec::opt_time(r, 8)?,
        revoked_at: codec::opt_time(r, 9)?,
    })
}

impl CredentialStore for SqliteTx<'_> {
    fn insert_credential(&mut self, c: &Credential) -> StoreResult<()> {
        let no = self.no_for_write(c.account)?;
        let scopes = scope_codes(c.scopes);
        self.conn()
            .prepare_cached(
                "INSERT INTO credentials (id, account_no, kind, name, owner, scopes, hash, created_at, expires_at, revoked_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    bytes(&c.id.0),
                    no,
                    c.kind.code(),
                    c.name,
                    c.owner.0,
                    scopes,
                    c.hash.0.as_slice(),
                    c.created_at.timestamp(),
                    c.expires_at.map(|t| t.timestamp()),
                    c.revoked_at.map(|t| t.timestamp())
                ])
            })
            .map_err(backend)?;
        Ok(())
    }

    fn credential(&self, account: AccountId, id: CredentialId) -> StoreResult<Option<Credential>> {
        let Some(no) = self.no(account)? else {
            return Ok(None);
        };
        self.conn()
            .prepare_cached(&format!("{CREDENTIAL_SELECT} WHERE c.account_no = ?1 AND c.id = ?2"))
            .and_then(|mut s| s.query_row(params![no, bytes(&id.0)], credential_row).optional())
            .map_err(backend)
    }

    fn credential_by_token(&self, hash: &SecretHash) -> StoreResult<Option<Credential>> {
        self.conn()
            .prepare_cached(&format!("{CREDENTIAL_SELECT} WHERE c.hash = ?1"))
            .and_then(|mut s| s.query_row([hash.0.as_slice()], credential_row).optional())
            .map_err(backend)
    }

    fn credentials(&self, account: AccountId) -> StoreResult<Vec<Credential>> {
        let Some(no) = self.no(account)? else {
            return Ok(Vec::new());
        };
        self.conn()
            .prepare_cached(&format!("{CREDENTIAL_SELECT} WHERE c.account_no = ?1 ORDER BY c.seq"))
            .and_then(|mut s| s.query_map([no], credential_row)?.collect())
            .map_err(backend)
    }

    fn update_credential(&mut self, c: &Credential) -> StoreResult<()> {
        self.writable()?;
        self.conn()
            .prepare_cached(
                "UPDATE credentials SET kind = ?2, name = ?3, owner = ?4, scopes = ?5, hash = ?6, \
                 created_at = ?7, expires_at = ?8, revoked_at = ?9 WHERE id = ?1",
            )
            .and_then(|mut s| {
                s.execute(params![
                    bytes(&c.id.0),
                    c.kind.code(),
                    c.name,
                    c.owner.0,
                    scope_codes(c.scopes),
                    c.hash.0.as_slice(),
                    c.created_at.timestamp(),
                    c.expires_at.map(|t| t.timestamp()),
                    c.revoked_at.map(|t| t.timestamp())
                ])
            })
            .map_err(backend)?;
        Ok(())
    }
}
