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
use uuid::Uuid;

use crate::codec::{self, bytes, get};
use crate::error::bad;
use crate::PgTx;

impl PgTx<'_> {
    fn load_identity(&self, id: Uuid) -> StoreResult<Option<Identity>> {
        let Some(r) = self.query_opt(
            "SELECT password, name, last_name, photo, totp_secret, totp_enabled, totp_last_step, \
             totp_recovery, created_at FROM identities WHERE id = $1",
            &[&bytes(&id)],
        )?
        else {
            return Ok(None);
        };
        let totp = match get::<Option<Vec<u8>>>(&r, 4)? {
            Some(secret) => Some(Totp {
                secret,
                enabled: get::<i64>(&r, 5)? != 0,
                last_step: get(&r, 6)?,
                recovery: get::<&str>(&r, 7)?.split_whitespace().filter_map(SecretHash::from_hex).collect(),
            }),
            None => None,
        };
        let handles = self
            .query(
                "SELECT handle FROM identity_handles WHERE identity = $1 ORDER BY position",
                &[&bytes(&id)],
            )?
            .iter()
            .map(|r| codec::login(r, 0))
            .collect::<StoreResult<Vec<Login>>>()?;
        let mut handles = handles.into_iter();
        let Some(login) = handles.next() else {
            return Err(StoreError::Backend(format!("identity {id} has no login")));
        };
        let socials = self
            .query(
                "SELECT provider, subject FROM identity_socials WHERE identity = $1 ORDER BY position",
                &[&bytes(&id)],
            )?
            .iter()
            .map(|r| Ok(SocialLink { provider: get(r, 0)?, subject: get(r, 1)? }))
            .collect::<StoreResult<_>>()?;
        let app_passwords = self
            .query(
                "SELECT id, name, hash, created_at FROM app_passwords WHERE identity = $1 ORDER BY position",
                &[&bytes(&id)],
            )?
            .iter()
            .map(|r| {
                Ok(AppPassword {
                    id: codec::uuid(r, 0)?,
                    name: get(r, 1)?,
                    hash: codec::hash(r, 2)?,
                    created_at: codec::time(r, 3)?,
                })
            })
            .collect::<StoreResult<_>>()?;
        Ok(Some(Identity {
            id: IdentityId(id),
            login,
            contacts: handles.collect(),
            password: get(&r, 0)?,
            name: get(&r, 1)?,
            last_name: get(&r, 2)?,
            photo: get(&r, 3)?,
            socials,
            app_passwords,
            totp,
            created_at: codec::time(&r, 8)?,
        }))
    }

    fn write_identity(&self, i: &Identity, insert: bool) -> StoreResult<()> {
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
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        } else {
            "UPDATE identities SET password = $2, name = $3, last_name = $4, photo = $5, totp_secret = $6, \
             totp_enabled = $7, totp_last_step = $8, totp_recovery = $9, created_at = $10 WHERE id = $1"
        };
        let n = self.execute(
            sql,
            &[
                &id,
                &i.password,
                &i.name,
                &i.last_name,
                &i.photo,
                &secret,
                &i64::from(enabled),
                &last_step,
                &recovery,
                &i.created_at.timestamp(),
            ],
        )?;
        if n != 1 {
            return Err(StoreError::Backend(format!("no identity {}", i.id)));
        }
        for sql in [
            "DELETE FROM identity_handles WHERE identity = $1",
            "DELETE FROM identity_socials WHERE identity = $1",
            "DELETE FROM app_passwords WHERE identity = $1",
        ] {
            self.execute(sql, &[&id])?;
        }
        for (pos, h) in i.handles().enumerate() {
            self.execute(
                "INSERT INTO identity_handles (handle, identity, position) VALUES ($1, $2, $3)",
                &[&h.as_str(), &id, &(pos as i64)],
            )?;
        }
        for (pos, s) in i.socials.iter().enumerate() {
            self.execute(
                "INSERT INTO identity_socials (provider, subject, identity, position) VALUES ($1, $2, $3, $4)",
                &[&s.provider, &s.subject, &id, &(pos as i64)],
            )?;
        }
        for (pos, p) in i.app_passwords.iter().enumerate() {
            self.execute(
                "INSERT INTO app_passwords (id, identity, name, hash, created_at, position) VALUES ($1, $2, $3, $4, $5, $6)",
                &[&bytes(&p.id), &id, &p.name, &p.hash.0.as_slice(), &p.created_at.timestamp(), &(pos as i64)],
            )?;
        }
        Ok(())
    }

    /// Runs `sql`, a DELETE whose `$1` is a time in seconds and `$2` a row limit; returns how
    /// many rows went.
    pub(crate) fn delete_before(&self, sql: &str, before: DateTime<Utc>, limit: usize) -> StoreResult<u64> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.execute(sql, &[&before.timestamp(), &limit])
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

fn count(r: &tokio_postgres::Row, i: usize) -> StoreResult<u32> {
    u32::try_from(get::<i64>(r, i)?).map_err(|_| bad("count out of range"))
}

impl IdentityStore for PgTx<'_> {
    fn identity(&self, id: IdentityId) -> StoreResult<Option<Identity>> {
        self.load_identity(id.0)
    }

    fn identity_by_handle(&self, handle: &Login) -> StoreResult<Option<Identity>> {
        let id = self
            .query_opt("SELECT identity FROM identity_handles WHERE handle = $1", &[&handle.as_str()])?
            .map(|r| codec::uuid(&r, 0))
            .transpose()?;
        id.map_or(Ok(None), |id| self.load_identity(id))
    }

    fn identity_by_social(&self, provider: &str, subject: &str) -> StoreResult<Option<Identity>> {
        let id = self
            .query_opt(
                "SELECT identity FROM identity_socials WHERE provider = $1 AND subject = $2",
                &[&provider, &subject],
            )?
            .map(|r| codec::uuid(&r, 0))
            .transpose()?;
        id.map_or(Ok(None), |id| self.load_identity(id))
    }

    fn insert_identity(&mut self, identity: &Identity) -> StoreResult<()> {
        self.in_savepoint(|tx| tx.write_identity(identity, true))
    }

    fn update_identity(&mut self, identity: &Identity) -> StoreResult<()> {
        self.in_savepoint(|tx| tx.write_identity(identity, false))
    }

    fn delete_identity(&mut self, id: IdentityId) -> StoreResult<()> {
        for sql in [
            "DELETE FROM identity_handles WHERE identity = $1",
            "DELETE FROM identity_socials WHERE identity = $1",
            "DELETE FROM app_passwords WHERE identity = $1",
            "DELETE FROM identity_users WHERE identity = $1",
            "DELETE FROM confirmation_codes WHERE subject = $1 AND purpose IN (0, 1, 2)",
            "DELETE FROM identities WHERE id = $1",
        ] {
            self.execute(sql, &[&bytes(&id.0)])?;
        }
        Ok(())
    }

    fn link_user(&mut self, identity: IdentityId, m: Membership) -> StoreResult<()> {
        let no = self.no_for_write(m.account)?;
        // The record's key is the table's only unique one: a conflict is a linked record, and
        // refusing it without a failed statement keeps the transaction usable, as on SQLite.
        let n = self.execute(
            "INSERT INTO identity_users (account_no, user_id, identity) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            &[&no, &i64::from(m.user.0), &bytes(&identity.0)],
        )?;
        if n == 0 {
            return Err(StoreError::UniqueViolation { what: "USER".into() });
        }
        Ok(())
    }

    fn identity_of_user(&self, account: AccountId, user: UserId) -> StoreResult<Option<IdentityId>> {
        let Some(no) = self.no(account)? else {
            return Ok(None);
        };
        self.query_opt(
            "SELECT identity FROM identity_users WHERE account_no = $1 AND user_id = $2",
            &[&no, &i64::from(user.0)],
        )?
        .map(|r| codec::uuid(&r, 0).map(IdentityId))
        .transpose()
    }

    fn memberships(&self, identity: IdentityId) -> StoreResult<Vec<Membership>> {
        let mut out = self
            .query(
                "SELECT a.id, iu.user_id FROM identity_users iu JOIN accounts a ON a.no = iu.account_no \
                 WHERE iu.identity = $1",
                &[&bytes(&identity.0)],
            )?
            .iter()
            .map(|r| {
                Ok(Membership { account: AccountId(codec::uuid(r, 0)?), user: UserId(codec::id32(r, 1)?) })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        out.sort();
        Ok(out)
    }

    fn login_failures(&self, handle: &str) -> StoreResult<Option<LoginFailures>> {
        self.query_opt("SELECT count, last FROM login_failures WHERE handle = $1", &[&handle])?
            .map(|r| Ok(LoginFailures { count: count(&r, 0)?, last: codec::time(&r, 1)? }))
            .transpose()
    }

    fn set_login_failures(&mut self, handle: &str, failures: Option<LoginFailures>) -> StoreResult<()> {
        match failures {
            Some(f) => self.execute(
                "INSERT INTO login_failures (handle, count, last) VALUES ($1, $2, $3) \
                 ON CONFLICT (handle) DO UPDATE SET count = EXCLUDED.count, last = EXCLUDED.last",
                &[&handle, &i64::from(f.count), &f.last.timestamp()],
            ),
            None => self.execute("DELETE FROM login_failures WHERE handle = $1", &[&handle]),
        }?;
        Ok(())
    }

    fn clear_login_failures_under(&mut self, prefix: &str) -> StoreResult<u64> {
        self.execute("DELETE FROM login_failures WHERE starts_with(handle, $1)", &[&prefix])
    }

    fn insert_code(&mut self, c: &ConfirmationCode) -> StoreResult<()> {
        let (kind, subject) = purpose_parts(c.purpose);
        self.execute(
            "INSERT INTO confirmation_codes (id, purpose, subject, target, hash, created_at, expires_at, attempts_left, used) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            &[
                &bytes(&c.id),
                &kind,
                &bytes(&subject),
                &c.target.as_str(),
                &c.hash.0.as_slice(),
                &c.created_at.timestamp(),
                &c.expires_at.timestamp(),
                &i64::from(c.attempts_left),
                &i64::from(c.used),
            ],
        )?;
        Ok(())
    }

    fn code(&self, id: Uuid) -> StoreResult<Option<ConfirmationCode>> {
        let Some(r) = self.query_opt(
            "SELECT purpose, subject, target, hash, created_at, expires_at, attempts_left, used \
             FROM confirmation_codes WHERE id = $1",
            &[&bytes(&id)],
        )?
        else {
            return Ok(None);
        };
        let kind: i64 = get(&r, 0)?;
        let purpose =
            purpose_from(kind, codec::uuid(&r, 1)?).ok_or_else(|| bad(format!("code purpose {kind}")))?;
        Ok(Some(ConfirmationCode {
            id,
            purpose,
            target: codec::login(&r, 2)?,
            hash: codec::hash(&r, 3)?,
            created_at: codec::time(&r, 4)?,
            expires_at: codec::time(&r, 5)?,
            attempts_left: count(&r, 6)?,
            used: get::<i64>(&r, 7)? != 0,
        }))
    }

    fn update_code(&mut self, c: &ConfirmationCode) -> StoreResult<()> {
        self.execute(
            "UPDATE confirmation_codes SET attempts_left = $2, used = $3 WHERE id = $1",
            &[&bytes(&c.id), &i64::from(c.attempts_left), &i64::from(c.used)],
        )?;
        Ok(())
    }

    fn purge_codes(&mut self, expired_before: DateTime<Utc>, limit: usize) -> StoreResult<u64> {
        self.delete_before(
            "DELETE FROM confirmation_codes WHERE id IN \
             (SELECT id FROM confirmation_codes WHERE expires_at < $1 ORDER BY expires_at LIMIT $2)",
            expired_before,
            limit,
        )
    }

    fn purge_login_failures(&mut self, last_before: DateTime<Utc>, limit: usize) -> StoreResult<u64> {
        self.delete_before(
            "DELETE FROM login_failures WHERE handle IN \
             (SELECT handle FROM login_failures WHERE last < $1 ORDER BY last LIMIT $2)",
            last_before,
            limit,
        )
    }
}
