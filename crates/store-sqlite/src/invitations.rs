//! Invitations, quick-registration links and registration requests.

use chrono::{DateTime, Utc};
use profile_core::ids::{AccountId, UserId};
use profile_core::model::identity::{IdentityId, Login};
use profile_core::model::invitation::{
    Invitation, InvitationId, InvitationState, RegistrationLink, RegistrationRequest, RequestState,
};
use profile_core::ports::{InvitationStore, StoreResult};
use profile_core::secret::SecretHash;
use rusqlite::{params, OptionalExtension, Row};
use uuid::Uuid;

use crate::codec::{self, bytes};
use crate::error::backend;
use crate::SqliteTx;

const INVITATION_SELECT: &str =
    "SELECT a.id, i.id, i.user_id, i.address, i.hash, i.invited_by, i.created_at, \
     i.expires_at, i.state, i.state_at, i.identity FROM invitations i JOIN accounts a ON a.no = i.account_no";

fn invitation_row(r: &Row<'_>) -> rusqlite::Result<Invitation> {
    let state = match r.get::<_, i64>(8)? {
        0 => InvitationState::Pending,
        1 => InvitationState::Accepted {
            at: codec::time(r, 9)?,
            identity: IdentityId(codec::opt_uuid(r, 10)?.unwrap_or_default()),
        },
        2 => InvitationState::Revoked { at: codec::time(r, 9)? },
        _ => InvitationState::Expired,
    };
    Ok(Invitation {
        account: AccountId(codec::uuid(r, 0)?),
        id: InvitationId(codec::uuid(r, 1)?),
        user: UserId(r.get(2)?),
        address: codec::login(r, 3)?,
        hash: codec::hash(r, 4)?,
        invited_by: r.get::<_, Option<u32>>(5)?.map(UserId),
        created_at: codec::time(r, 6)?,
        expires_at: codec::time(r, 7)?,
        state,
    })
}

fn state_parts(s: InvitationState) -> (i64, Option<i64>, Option<Uuid>) {
    match s {
        InvitationState::Pending => (0, None, None),
        InvitationState::Accepted { at, identity } => (1, Some(at.timestamp()), Some(identity.0)),
        InvitationState::Revoked { at } => (2, Some(at.timestamp()), None),
        InvitationState::Expired => (3, None, None),
    }
}

const REQUEST_SELECT: &str = "SELECT a.id, r.id, r.email, r.name, r.last_name, r.password, r.identity, r.state, \
     r.user_id, r.created_at, r.link_hash FROM registration_requests r JOIN accounts a ON a.no = r.account_no";

fn request_row(r: &Row<'_>) -> rusqlite::Result<RegistrationRequest> {
    let state = match r.get::<_, i64>(7)? {
        0 => RequestState::Unconfirmed,
        1 => RequestState::Pending,
        2 => RequestState::Approved { user: UserId(r.get::<_, Option<u32>>(8)?.unwrap_or_default()) },
        _ => RequestState::Rejected,
    };
    Ok(RegistrationRequest {
        account: AccountId(codec::uuid(r, 0)?),
        id: codec::uuid(r, 1)?,
        email: r.get(2)?,
        name: r.get(3)?,
        last_name: r.get(4)?,
        password: r.get(5)?,
        identity: codec::opt_uuid(r, 6)?.map(IdentityId),
        state,
        created_at: codec::time(r, 9)?,
        // Requests older than schema 3 carry no link: no link matches them.
        link: match r.get::<_, Option<Vec<u8>>>(10)? {
            Some(_) => codec::hash(r, 10)?,
            None => SecretHash([0; 32]),
        },
    })
}

fn request_state_parts(s: RequestState) -> (i64, Option<u32>) {
    match s {
        RequestState::Unconfirmed => (0, None),
        RequestState::Pending => (1, None),
        RequestState::Approved { user } => (2, Some(user.0)),
        RequestState::Rejected => (3, None),
    }
}

impl SqliteTx<'_> {
    fn invitations_where(&self, clause: &str, p: impl rusqlite::Params) -> StoreResult<Vec<Invitation>> {
        self.conn()
            .prepare_cached(&format!("{INVITATION_SELECT} WHERE {clause} ORDER BY i.seq"))
            .and_then(|mut s| s.query_map(p, invitation_row)?.collect())
            .map_err(backend)
    }
}

impl InvitationStore for SqliteTx<'_> {
    fn insert_invitation(&mut self, i: &Invitation) -> StoreResult<()> {
        let no = self.no_for_write(i.account)?;
        let (state, at, identity) = state_parts(i.state);
        self.conn()
            .prepare_cached(
                "INSERT INTO invitations (id, account_no, user_id, address, hash, invited_by, created_at, expires_at, state, state_at, identity) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    bytes(&i.id.0),
                    no,
                    i.user.0,
                    i.address.as_str(),
                    i.hash.0.as_slice(),
                    i.invited_by.map(|u| u.0),
                    i.created_at.timestamp(),
                    i.expires_at.timestamp(),
                    state,
                    at,
                    identity.as_ref().map(bytes)
                ])
            })
            .map_err(backend)?;
        Ok(())
    }

    fn invitation(&self, account: AccountId, id: InvitationId) -> StoreResult<Option<Invitation>> {
        let Some(no) = self.no(account)? else {
            return Ok(None);
        };
        Ok(self.invitations_where("i.account_no = ?1 AND i.id = ?2", params![no, bytes(&id.0)])?.pop())
    }

    fn invitation_by_token(&self, hash: &SecretHash) -> StoreResult<Option<Invitation>> {
        Ok(self.invitations_where("i.hash = ?1", [hash.0.as_slice()])?.pop())
    }

    fn invitations(&self, account: AccountId) -> StoreResult<Vec<Invitation>> {
        let Some(no) = self.no(account)? else {
            return Ok(Vec::new());
        };
        self.invitations_where("i.account_no = ?1", [no])
    }

    fn invitations_to(&self, account: AccountId, address: &Login) -> StoreResult<Vec<Invitation>> {
        let Some(no) = self.no(account)? else {
            return Ok(Vec::new());
        };
        self.invitations_where("i.account_no = ?1 AND i.address = ?2", params![no, address.as_str()])
    }

    fn invitation_times_by(
        &self,
        account: AccountId,
        inviter: UserId,
        since: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<Vec<DateTime<Utc>>> {
        let Some(no) = self.no(account)? else {
            return Ok(Vec::new());
        };
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.conn()
            .prepare_cached(
                "SELECT created_at FROM invitations WHERE account_no = ?1 AND invited_by = ?2 \
                 AND created_at >= ?3 ORDER BY created_at LIMIT ?4",
            )
            .and_then(|mut s| {
                s.query_map(params![no, inviter.0, since.timestamp(), limit], |r| codec::time(r, 0))?
                    .collect()
            })
            .map_err(backend)
    }

    fn invitations_expiring(&self, at: DateTime<Utc>) -> StoreResult<Vec<Invitation>> {
        self.invitations_where("i.state = 0 AND i.expires_at <= ?1", [at.timestamp()])
    }

    fn update_invitation(&mut self, i: &Invitation) -> StoreResult<()> {
        self.writable()?;
        let (state, at, identity) = state_parts(i.state);
        self.conn()
            .prepare_cached("UPDATE invitations SET state = ?2, state_at = ?3, identity = ?4 WHERE id = ?1")
            .and_then(|mut s| s.execute(params![bytes(&i.id.0), state, at, identity.as_ref().map(bytes)]))
            .map_err(backend)?;
        Ok(())
    }

    fn registration_link(&self, account: AccountId) -> StoreResult<Option<RegistrationLink>> {
        let Some(no) = self.no(account)? else {
            return Ok(None);
        };
        self.conn()
            .prepare_cached("SELECT hash, created_at FROM registration_links WHERE account_no = ?1")
            .and_then(|mut s| {
                s.query_row([no], |r| {
                    Ok(RegistrationLink { account, hash: codec::hash(r, 0)?, created_at: codec::time(r, 1)? })
                })
                .optional()
            })
            .map_err(backend)
    }

    fn registration_link_by_token(&self, hash: &SecretHash) -> StoreResult<Option<RegistrationLink>> {
        self.conn()
            .prepare_cached(
                "SELECT a.id, l.created_at FROM registration_links l JOIN accounts a ON a.no = l.account_no \
                 WHERE l.hash = ?1",
            )
            .and_then(|mut s| {
                s.query_row([hash.0.as_slice()], |r| {
                    Ok(RegistrationLink {
                        account: AccountId(codec::uuid(r, 0)?),
                        hash: *hash,
                        created_at: codec::time(r, 1)?,
                    })
                })
                .optional()
            })
            .map_err(backend)
    }

    fn set_registration_link(&mut self, link: &RegistrationLink) -> StoreResult<()> {
        let no = self.no_for_write(link.account)?;
        self.conn()
            .prepare_cached(
                "INSERT INTO registration_links (account_no, hash, created_at) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (account_no) DO UPDATE SET hash = excluded.hash, created_at = excluded.created_at",
            )
            .and_then(|mut s| s.execute(params![no, link.hash.0.as_slice(), link.created_at.timestamp()]))
            .map_err(backend)?;
        Ok(())
    }

    fn insert_request(&mut self, r: &RegistrationRequest) -> StoreResult<()> {
        let no = self.no_for_write(r.account)?;
        let (state, user) = request_state_parts(r.state);
        self.conn()
            .prepare_cached(
                "INSERT INTO registration_requests (id, account_no, email, name, last_name, password, identity, state, user_id, created_at, link_hash) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    bytes(&r.id),
                    no,
                    r.email,
                    r.name,
                    r.last_name,
                    r.password,
                    r.identity.as_ref().map(|i| bytes(&i.0)),
                    state,
                    user,
                    r.created_at.timestamp(),
                    r.link.0.as_slice()
                ])
            })
            .map_err(backend)?;
        Ok(())
    }

    fn request(&self, id: Uuid) -> StoreResult<Option<RegistrationRequest>> {
        self.conn()
            .prepare_cached(&format!("{REQUEST_SELECT} WHERE r.id = ?1"))
            .and_then(|mut s| s.query_row([bytes(&id)], request_row).optional())
            .map_err(backend)
    }

    fn requests(&self, account: AccountId) -> StoreResult<Vec<RegistrationRequest>> {
        let Some(no) = self.no(account)? else {
            return Ok(Vec::new());
        };
        self.conn()
            .prepare_cached(&format!("{REQUEST_SELECT} WHERE r.account_no = ?1 ORDER BY r.seq"))
            .and_then(|mut s| s.query_map([no], request_row)?.collect())
            .map_err(backend)
    }

    fn update_request(&mut self, r: &RegistrationRequest) -> StoreResult<()> {
        self.writable()?;
        let (state, user) = request_state_parts(r.state);
        self.conn()
            .prepare_cached(
                "UPDATE registration_requests SET password = ?2, identity = ?3, state = ?4, user_id = ?5 WHERE id = ?1",
            )
            .and_then(|mut s| {
                s.execute(params![bytes(&r.id), r.password, r.identity.as_ref().map(|i| bytes(&i.0)), state, user])
            })
            .map_err(backend)?;
        Ok(())
    }
}
