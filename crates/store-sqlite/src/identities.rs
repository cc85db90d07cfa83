//! Identities with their handles, social links and application passwords; links to user
//! records; login failures; confirmation codes.

use chrono::{DateTime, Utc};
use profile_core::ids::{AccountId, UserId};
use profile_core::model::identity::{
    AppPassword, CodePurpose, ConfirmationCode, Identity, IdentityId, Login, LoginFailures, Membership,
    SocialLink, Totp,
};
use profile_core::ports::{IdentityStore, StoreResult};
use profile_core::secret::SecretHash;
use profile_core::StoreError;
use rusqlite::{params, OptionalExtension};
use uuid::Uuid;

use crate::codec::{self, bytes};
use crate::error::backend;
use crate::SqliteTx;

const IDENTITY_COLUMNS: &str = "id, password, name, last_name, photo, totp_secret, totp_enabled, totp_last_step, totp_recovery, created_at";

impl SqliteTx<'_> {
    fn load_identity(&self, id: Uuid) -> StoreResult<Option<Identity>> {
        let conn = self.conn();
        let row = conn
            .prepare_cached(&format!("SELECT {IDENTITY_COLUMNS} FROM identities WHERE id = ?1"))
            .and_then(|mut s| {
                s.query_row([bytes(&id)], |r| {
                    let secret: Option<Vec<u8>> = r.get(5)?;
                    let recovery: String = r.get(8)?;
                    let totp = secret.map(|secret| -> rusqlite::Result<Totp> {
                        Ok(Totp {
                            secret,
                            enabled: r.get(6)?,
                            last_step: r.get(7)?,
                            recovery: recovery.split_whitespace().filter_map(SecretHash::from_hex).collect(),
                        })
                    });
                    Ok((
                        r.get::<_, Option<String>>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                        totp.transpose()?,
                        codec::time(r, 9)?,
                    ))
                })
                .optional()
            })
            .map_err(backend)?;
        let Some((password, name, last_name, photo, totp, created_at)) = row else {
            return Ok(None);
        };
        let handles: Vec<Login> = conn
            .prepare_cached("SELECT handle FROM identity_handles WHERE identity = ?1 ORDER BY position")
            .and_then(|mut s| s.query_map([bytes(&id)], |r| codec::login(r, 0))?.collect())
            .map_err(backend)?;
        let mut handles = handles.into_iter();
        let Some(login) = handles.next() else {
            return Err(StoreError::Backend(format!("identity {id} has no login")));
        };
        let socials = conn
            .prepare_cached(
                "SELECT provider, subject FROM identity_socials WHERE identity = ?1 ORDER BY position",
            )
            .and_then(|mut s| {
                s.query_map([bytes(&id)], |r| Ok(SocialLink { provider: r.get(0)?, subject: r.get(1)? }))?
                    .collect()
            })
            .map_err(backend)?;
        let app_passwords = conn
            .prepare_cached(
                "SELECT id, name, hash, created_at FROM app_passwords WHERE identity = ?1 ORDER BY position",
            )
            .and_then(|mut s| {
                s.query_map([bytes(&id)], |r| {
                    Ok(AppPassword {
                        id: codec::uuid(r, 0)?,
                        name: r.get(1)?,
                        hash: codec::hash(r, 2)?,
                        created_at: codec::time(r, 3)?,
                    })
                })?
                .collect()
            })
            .map_err(backend)?;
        Ok(Some(Identity {
            id: IdentityId(id),
            login,
            contacts: handles.collect(),
            password,
            name,
            last_name,
            photo,
            socials,
            app_passwords,
            totp,
            created_at,
        }))
    }

    fn write_identity(&mut self, i: &Identity, insert: bool) -> StoreResult<()> {
        self.writable()?;
        let conn = self.conn();
        let id = bytes(&i.id.0);
        let (secret, enabled, last_step, recovery) = match &i.totp {
            Some(t) => (
                Some(t.secret.as_slice()),
                t.enabled,
                t.last_step,
                t.recovery.iter().map(SecretHash::to_hex).collect::<Vec<_>>().join(" "),
            ),
            None => (None, false, None, String::new()),
        };
        let sql = if insert {
            "INSERT INTO identities (id, password, name, last_name, photo, totp_secret, totp_enabled, totp_last_step, totp_recovery, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
        } else {
            "UPDATE identities SET password = ?2, name = ?3, last_name = ?4, photo = ?5, totp_secret = ?6, \
             totp_enabled = ?7, totp_last_step = ?8, totp_recovery = ?9, created_at = ?10 WHERE id = ?1"
        };
        let n = conn
            .prepare_cached(sql)
            .and_then(|mut s| {
                s.execute(params![
                    id,
                    i.password,
                    i.name,
                    i.last_name,
                    i.photo,
                    secret,
                    enabled,
                    last_step,
                    recovery,
                    i.created_at.timestamp()
                ])
            })
            .map_err(backend)?;
        if n != 1 {
            return Err(StoreError::Backend(format!("no identity {}", i.id)));
        }
        for table in ["identity_handles", "identity_socials", "app_passwords"] {
            conn.prepare_cached(&format!("DELETE FROM {table} WHERE identity = ?1"))
                .and_then(|mut s| s.execute([id]))
                .map_err(backend)?;
        }
        let mut add = conn
            .prepare_cached("INSERT INTO identity_handles (handle, identity, position) VALUES (?1, ?2, ?3)")
            .map_err(backend)?;
        for (pos, h) in i.handles().enumerate() {
            add.execute(params![h.as_str(), id, pos as i64]).map_err(backend)?;
        }
        let mut add = conn
            .prepare_cached(
                "INSERT INTO identity_socials (provider, subject, identity, position) VALUES (?1, ?2, ?3, ?4)",
            )
            .map_err(backend)?;
        for (pos, s) in i.socials.iter().enumerate() {
            add.execute(params![s.provider, s.subject, id, pos as i64]).map_err(backend)?;
        }
        let mut add = conn
            .prepare_cached(
                "INSERT INTO app_passwords (id, identity, name, hash, created_at, position) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .map_err(backend)?;
        for (pos, p) in i.app_passwords.iter().enumerate() {
            add.execute(params![
                bytes(&p.id),
                id,
                p.name,
                p.hash.0.as_slice(),
                p.created_at.timestamp(),
                pos as i64
            ])
            .map_err(backend)?;
        }
        Ok(())
    }
}

impl SqliteTx<'_> {
    /// Runs several statements as one: a failure (a taken handle, say) undoes all of them and
    /// leaves the transaction as it was, as a port method promises.
    pub(crate) fn in_savepoint(&mut self, f: impl FnOnce(&mut Self) -> StoreResult<()>) -> StoreResult<()> {
        self.writable()?;
        self.conn().execute_batch("SAVEPOINT port_call").map_err(backend)?;
        let result = f(self);
        let end =
            if result.is_ok() { "RELEASE port_call" } else { "ROLLBACK TO port_call; RELEASE port_call" };
        let ended = self.conn().execute_batch(end).map_err(backend);
        result.and(ended)
    }
}

fn purpose_parts(p: CodePurpose) -> (i64, Uuid) {
    match p {
        CodePurpose::AddContact(i) => (0, i.0),
        CodePurpose::ChangeLogin(i) => (1, i.0),
        CodePurpose::ResetPassword(i) => (2, i.0),
        CodePurpose::Registration(r) => (3, r),
    }
}

fn purpose_from(kind: i64, subject: Uuid) -> Option<CodePurpose> {
    Some(match kind {
        0 => CodePurpose::AddContact(IdentityId(subject)),
        1 => CodePurpose::ChangeLogin(IdentityId(subject)),
        2 => CodePurpose::ResetPassword(IdentityId(subject)),
        3 => CodePurpose::Registration(subject),
        _ => return None,
    })
}

impl IdentityStore for SqliteTx<'_> {
    fn identity(&self, id: IdentityId) -> StoreResult<Option<Identity>> {
        self.load_identity(id.0)
    }

    fn identity_by_handle(&self, handle: &Login) -> StoreResult<Option<Identity>> {
        let id = self
            .conn()
            .prepare_cached("SELECT identity FROM identity_handles WHERE handle = ?1")
            .and_then(|mut s| s.query_row([handle.as_str()], |r| codec::uuid(r, 0)).optional())
            .map_err(backend)?;
        id.map_or(Ok(None), |id| self.load_identity(id))
    }

    fn identity_by_social(&self, provider: &str, subject: &str) -> StoreResult<Option<Identity>> {
        let id = self
            .conn()
            .prepare_cached("SELECT identity FROM identity_socials WHERE provider = ?1 AND subject = ?2")
            .and_then(|mut s| s.query_row([provider, subject], |r| codec::uuid(r, 0)).optional())
            .map_err(backend)?;
        id.map_or(Ok(None), |id| self.load_identity(id))
    }

    fn insert_identity(&mut self, identity: &Identity) -> StoreResult<()> {
        self.in_savepoint(|tx| tx.write_identity(identity, true))
    }

    fn update_identity(&mut self, identity: &Identity) -> StoreResult<()> {
        self.in_savepoint(|tx| tx.write_identity(identity, false))
    }

    fn delete_identity(&mut self, id: IdentityId) -> StoreResult<()> {
        self.writable()?;
        let conn = self.conn();
        for sql in [
            "DELETE FROM identity_handles WHERE identity = ?1",
            "DELETE FROM identity_socials WHERE identity = ?1",
            "DELETE FROM app_passwords WHERE identity = ?1",
            "DELETE FROM identity_users WHERE identity = ?1",
            "DELETE FROM confirmation_codes WHERE subject = ?1 AND purpose IN (0, 1, 2)",
            "DELETE FROM identities WHERE id = ?1",
        ] {
            conn.prepare_cached(sql).and_then(|mut s| s.execute([bytes(&id.0)])).map_err(backend)?;
        }
        Ok(())
    }

    fn link_user(&mut self, identity: IdentityId, m: Membership) -> StoreResult<()> {
        let no = self.no_for_write(m.account)?;
        self.conn()
            .prepare_cached("INSERT INTO identity_users (account_no, user_id, identity) VALUES (?1, ?2, ?3)")
            .and_then(|mut s| s.execute(params![no, m.user.0, bytes(&identity.0)]))
            .map_err(backend)?;
        Ok(())
    }

    fn identity_of_user(&self, account: AccountId, user: UserId) -> StoreResult<Option<IdentityId>> {
        let Some(no) = self.no(account)? else {
            return Ok(None);
        };
        self.conn()
            .prepare_cached("SELECT identity FROM identity_users WHERE account_no = ?1 AND user_id = ?2")
            .and_then(|mut s| {
                s.query_row(params![no, user.0], |r| codec::uuid(r, 0).map(IdentityId)).optional()
            })
            .map_err(backend)
    }

    fn memberships(&self, identity: IdentityId) -> StoreResult<Vec<Membership>> {
        let mut out: Vec<Membership> = self
            .conn()
            .prepare_cached(
                "SELECT a.id, iu.user_id FROM identity_users iu JOIN accounts a ON a.no = iu.account_no \
                 WHERE iu.identity = ?1",
            )
            .and_then(|mut s| {
                s.query_map([bytes(&identity.0)], |r| {
                    Ok(Membership { account: AccountId(codec::uuid(r, 0)?), user: UserId(r.get(1)?) })
                })?
                .collect()
            })
            .map_err(backend)?;
        out.sort();
        Ok(out)
    }

    fn login_failures(&self, handle: &str) -> StoreResult<Option<LoginFailures>> {
        self.conn()
            .prepare_cached("SELECT count, last FROM login_failures WHERE handle = ?1")
            .and_then(|mut s| {
                s.query_row([handle], |r| Ok(LoginFailures { count: r.get(0)?, last: codec::time(r, 1)? }))
                    .optional()
            })
            .map_err(backend)
    }

    fn set_login_failures(&mut self, handle: &str, failures: Option<LoginFailures>) -> StoreResult<()> {
        self.writable()?;
        let conn = self.conn();
        match failures {
            Some(f) => conn
                .prepare_cached(
                    "INSERT INTO login_failures (handle, count, last) VALUES (?1, ?2, ?3) \
                     ON CONFLICT (handle) DO UPDATE SET count = excluded.count, last = excluded.last",
                )
                .and_then(|mut s| s.execute(params![handle, f.count, f.last.timestamp()])),
            None => conn
                .prepare_cached("DELETE FROM login_failures WHERE handle = ?1")
                .and_then(|mut s| s.execute([handle])),
        }
        .map_err(backend)?;
        Ok(())
    }

    fn clear_login_failures_under(&mut self, prefix: &str) -> StoreResult<u64> {
        self.writable()?;
        let n = self
            .conn()
            .prepare_cached("DELETE FROM login_failures WHERE substr(handle, 1, length(?1)) = ?1")
            .and_then(|mut s| s.execute([prefix]))
            .map_err(backend)?;
        Ok(n as u64)
    }

    fn insert_code(&mut self, c: &ConfirmationCode) -> StoreResult<()> {
        self.writable()?;
        let (kind, subject) = purpose_parts(c.purpose);
        self.conn()
            .prepare_cached(
                "INSERT INTO confirmation_codes (id, purpose, subject, target, hash, created_at, expires_at, attempts_left, used) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    bytes(&c.id),
                    kind,
                    bytes(&subject),
                    c.target.as_str(),
                    c.hash.0.as_slice(),
                    c.created_at.timestamp(),
                    c.expires_at.timestamp(),
                    c.attempts_left,
                    c.used
                ])
            })
            .map_err(backend)?;
        Ok(())
    }

    fn code(&self, id: Uuid) -> StoreResult<Option<ConfirmationCode>> {
        self.conn()
            .prepare_cached(
                "SELECT purpose, subject, target, hash, created_at, expires_at, attempts_left, used \
                 FROM confirmation_codes WHERE id = ?1",
            )
            .and_then(|mut s| {
                s.query_row([bytes(&id)], |r| {
                    let purpose = purpose_from(r.get(0)?, codec::uuid(r, 1)?).ok_or_else(|| {
                        rusqlite::Error::IntegralValueOutOfRange(0, r.get::<_, i64>(0).unwrap_or_default())
                    })?;
                    Ok(ConfirmationCode {
                        id,
                        purpose,
                        target: codec::login(r, 2)?,
                        hash: codec::hash(r, 3)?,
                        created_at: codec::time(r, 4)?,
                        expires_at: codec::time(r, 5)?,
                        attempts_left: r.get(6)?,
                        used: r.get(7)?,
                    })
                })
                .optional()
            })
            .map_err(backend)
    }

    fn update_code(&mut self, c: &ConfirmationCode) -> StoreResult<()> {
        self.writable()?;
        self.conn()
            .prepare_cached("UPDATE confirmation_codes SET attempts_left = ?2, used = ?3 WHERE id = ?1")
            .and_then(|mut s| s.execute(params![bytes(&c.id), c.attempts_left, c.used]))
            .map_err(backend)?;
        Ok(())
    }

    fn purge_codes(&mut self, expired_before: DateTime<Utc>, limit: usize) -> StoreResult<u64> {
        self.delete_before(
            "DELETE FROM confirmation_codes WHERE id IN \
             (SELECT id FROM confirmation_codes WHERE expires_at < ?1 ORDER BY expires_at LIMIT ?2)",
            expired_before,
            limit,
        )
    }

    fn purge_login_failures(&mut self, last_before: DateTime<Utc>, limit: usize) -> StoreResult<u64> {
        self.delete_before(
            "DELETE FROM login_failures WHERE handle IN \
             (SELECT handle FROM login_failures WHERE last < ?1 ORDER BY last LIMIT ?2)",
            last_before,
            limit,
        )
    }
}

impl SqliteTx<'_> {
    /// Runs `sql`, a DELETE whose `?1` is a time in seconds and `?2` a row limit; returns how
    /// many rows went.
    pub(crate) fn delete_before(
        &mut self,
        sql: &str,
        before: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<u64> {
        self.writable()?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let n = self
            .conn()
            .prepare_cached(sql)
            .and_then(|mut s| s.execute(params![before.timestamp(), limit]))
            .map_err(backend)?;
        Ok(n as u64)
    }
}
