//! Invitations, quick-registration links and registration requests.

use chrono::{DateTime, Utc};
use profile_core::ids::{AccountId, UserId};
use profile_core::model::identity::{IdentityId, Login};
use profile_core::model::invitation::{
    Invitation, InvitationId, InvitationState, RegistrationLink, RegistrationRequest, RequestState,
};
use profile_core::ports::{InvitationStore, StoreResult};
use profile_core::secret::SecretHash;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;
use uuid::Uuid;

use crate::codec::{self, bytes, get};
use crate::PgTx;

/// The statement that reads invitations, in [`invitation_row`]'s order, followed by `$tail`.
macro_rules! invitation_select {
    ($tail:literal) => {
        concat!(
            "SELECT a.id, i.id, i.user_id, i.address, i.hash, i.invited_by, i.created_at, i.expires_at, \
             i.state, i.state_at, i.identity FROM invitations i JOIN accounts a ON a.no = i.account_no ",
            $tail
        )
    };
}

fn invitation_row(r: &Row) -> StoreResult<Invitation> {
    let state = match get::<i64>(r, 8)? {
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
        user: UserId(codec::id32(r, 2)?),
        address: codec::login(r, 3)?,
        hash: codec::hash(r, 4)?,
        invited_by: codec::opt_id32(r, 5)?.map(UserId),
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

/// The statement that reads registration requests, in [`request_row`]'s order, followed by
/// `$tail`.
macro_rules! request_select {
    ($tail:literal) => {
        concat!(
            "SELECT a.id, r.id, r.email, r.name, r.last_name, r.password, r.identity, r.state, r.user_id, \
             r.created_at, r.link_hash FROM registration_requests r JOIN accounts a ON a.no = r.account_no ",
            $tail
        )
    };
}

fn request_row(r: &Row) -> StoreResult<RegistrationRequest> {
    let state = match get::<i64>(r, 7)? {
        0 => RequestState::Unconfirmed,
        1 => RequestState::Pending,
        2 => RequestState::Approved { user: UserId(codec::opt_id32(r, 8)?.unwrap_or_default()) },
        _ => RequestState::Rejected,
    };
    Ok(RegistrationRequest {
        account: AccountId(codec::uuid(r, 0)?),
        id: codec::uuid(r, 1)?,
        email: get(r, 2)?,
        name: get(r, 3)?,
        last_name: get(r, 4)?,
        password: get(r, 5)?,
        identity: codec::opt_uuid(r, 6)?.map(IdentityId),
        state,
        created_at: codec::time(r, 9)?,
        // Requests older than SQLite's schema 3 carry no link: no link matches them.
        link: match get::<Option<&[u8]>>(r, 10)? {
            Some(_) => codec::hash(r, 10)?,
            None => SecretHash([0; 32]),
        },
    })
}

fn request_state_parts(s: RequestState) -> (i64, Option<i64>) {
    match s {
        RequestState::Unconfirmed => (0, None),
        RequestState::Pending => (1, None),
        RequestState::Approved { user } => (2, Some(i64::from(user.0))),
        RequestState::Rejected => (3, None),
    }
}

impl PgTx<'_> {
    fn invitations_where(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> StoreResult<Vec<Invitation>> {
        self.query(sql, params)?.iter().map(invitation_row).collect()
    }
}

impl InvitationStore for PgTx<'_> {
    fn insert_invitation(&mut self, i: &Invitation) -> StoreResult<()> {
        let no = self.no_for_write(i.account)?;
        let (state, at, identity) = state_parts(i.state);
        self.execute(
            "INSERT INTO invitations (id, account_no, user_id, address, hash, invited_by, created_at, expires_at, state, state_at, identity) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            &[
                &bytes(&i.id.0),
                &no,
                &i64::from(i.user.0),
                &i.address.as_str(),
                &i.hash.0.as_slice(),
                &i.invited_by.map(|u| i64::from(u.0)),
                &i.created_at.timestamp(),
                &i.expires_at.timestamp(),
                &state,
                &at,
                &identity.as_ref().map(bytes),
            ],
        )?;
        Ok(())
    }

    fn invitation(&self, account: AccountId, id: InvitationId) -> StoreResult<Option<Invitation>> {
        let Some(no) = self.no(account)? else {
            return Ok(None);
        };
        Ok(self
            .invitations_where(
                invitation_select!("WHERE i.account_no = $1 AND i.id = $2 ORDER BY i.seq"),
                &[&no, &bytes(&id.0)],
            )?
            .pop())
    }

    fn invitation_by_token(&self, hash: &SecretHash) -> StoreResult<Option<Invitation>> {
        Ok(self
            .invitations_where(invitation_select!("WHERE i.hash = $1 ORDER BY i.seq"), &[&hash.0.as_slice()])?
            .pop())
    }

    fn invitations(&self, account: AccountId) -> StoreResult<Vec<Invitation>> {
        let Some(no) = self.no(account)? else {
            return Ok(Vec::new());
        };
        self.invitations_where(invitation_select!("WHERE i.account_no = $1 ORDER BY i.seq"), &[&no])
    }

    fn invitations_to(&self, account: AccountId, address: &Login) -> StoreResult<Vec<Invitation>> {
        let Some(no) = self.no(account)? else {
            return Ok(Vec::new());
        };
        self.invitations_where(
            invitation_select!("WHERE i.account_no = $1 AND i.address = $2 ORDER BY i.seq"),
            &[&no, &address.as_str()],
        )
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
        let rows = self.query(
            "SELECT created_at FROM invitations WHERE account_no = $1 AND invited_by = $2 \
             AND created_at >= $3 ORDER BY created_at LIMIT $4",
            &[&no, &i64::from(inviter.0), &since.timestamp(), &limit],
        )?;
        rows.iter().map(|r| codec::time(r, 0)).collect()
    }

    fn invitations_expiring(&self, at: DateTime<Utc>) -> StoreResult<Vec<Invitation>> {
        self.invitations_where(
            invitation_select!("WHERE i.state = 0 AND i.expires_at <= $1 ORDER BY i.seq"),
            &[&at.timestamp()],
        )
    }

    fn update_invitation(&mut self, i: &Invitation) -> StoreResult<()> {
        let (state, at, identity) = state_parts(i.state);
        self.execute(
            "UPDATE invitations SET state = $2, state_at = $3, identity = $4 WHERE id = $1",
            &[&bytes(&i.id.0), &state, &at, &identity.as_ref().map(bytes)],
        )?;
        Ok(())
    }

    fn registration_link(&self, account: AccountId) -> StoreResult<Option<RegistrationLink>> {
        let Some(no) = self.no(account)? else {
            return Ok(None);
        };
        self.query_opt("SELECT hash, created_at FROM registration_links WHERE account_no = $1", &[&no])?
            .map(|r| {
                Ok(RegistrationLink { account, hash: codec::hash(&r, 0)?, created_at: codec::time(&r, 1)? })
            })
            .transpose()
    }

    fn registration_link_by_token(&self, hash: &SecretHash) -> StoreResult<Option<RegistrationLink>> {
        self.query_opt(
            "SELECT a.id, l.created_at FROM registration_links l JOIN accounts a ON a.no = l.account_no \
             WHERE l.hash = $1",
            &[&hash.0.as_slice()],
        )?
        .map(|r| {
            Ok(RegistrationLink {
                account: AccountId(codec::uuid(&r, 0)?),
                hash: *hash,
                created_at: codec::time(&r, 1)?,
            })
        })
        .transpose()
    }

    fn set_registration_link(&mut self, link: &RegistrationLink) -> StoreResult<()> {
        let no = self.no_for_write(link.account)?;
        self.execute(
            "INSERT INTO registration_links (account_no, hash, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (account_no) DO UPDATE SET hash = EXCLUDED.hash, created_at = EXCLUDED.created_at",
            &[&no, &link.hash.0.as_slice(), &link.created_at.timestamp()],
        )?;
        Ok(())
    }

    fn insert_request(&mut self, r: &RegistrationRequest) -> StoreResult<()> {
        let no = self.no_for_write(r.account)?;
        let (state, user) = request_state_parts(r.state);
        self.execute(
            "INSERT INTO registration_requests (id, account_no, email, name, last_name, password, identity, state, user_id, created_at, link_hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            &[
                &bytes(&r.id),
                &no,
                &r.email,
                &r.name,
                &r.last_name,
                &r.password,
                &r.identity.as_ref().map(|i| bytes(&i.0)),
                &state,
                &user,
                &r.created_at.timestamp(),
                &r.link.0.as_slice(),
            ],
        )?;
        Ok(())
    }

    fn request(&self, id: Uuid) -> StoreResult<Option<RegistrationRequest>> {
        self.query_opt(request_select!("WHERE r.id = $1"), &[&bytes(&id)])?
            .as_ref()
            .map(request_row)
            .transpose()
    }

    fn requests(&self, account: AccountId) -> StoreResult<Vec<RegistrationRequest>> {
        let Some(no) = self.no(account)? else {
            return Ok(Vec::new());
        };
        self.query(request_select!("WHERE r.account_no = $1 ORDER BY r.seq"), &[&no])?
            .iter()
            .map(request_row)
            .collect()
    }

    fn update_request(&mut self, r: &RegistrationRequest) -> StoreResult<()> {
        let (state, user) = request_state_parts(r.state);
        self.execute(
            "UPDATE registration_requests SET password = $2, identity = $3, state = $4, user_id = $5 WHERE id = $1",
            &[&bytes(&r.id), &r.password, &r.identity.as_ref().map(|i| bytes(&i.0)), &state, &user],
        )?;
        Ok(())
    }
}
