//! Invitations and registration (seed 003): by email, by SMS, through the quick-registration
//! link (public, moderated, or whitelisted domains), and direct registration by an
//! administrator.

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use crate::ids::{AccountId, UserId};
use crate::model::identity::{IdentityId, Login};
use crate::secret::SecretHash;

/// How long an invitation stays valid.
pub const INVITATION_LIFETIME: Duration = Duration::days(14);

/// An invitation's identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InvitationId(pub Uuid);

impl std::fmt::Display for InvitationId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Where an invitation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvitationState {
    /// Sent, waiting.
    Pending,
    /// Accepted by an identity.
    Accepted {
        /// When.
        at: DateTime<Utc>,
        /// By whom.
        identity: IdentityId,
    },
    /// Revoked by an administrator (the user record is deactivated).
    Revoked {
        /// When.
        at: DateTime<Utc>,
    },
    /// Not accepted in time (the user record is deactivated).
    Expired,
}

impl InvitationState {
    /// A stable code for storage and the CLI.
    pub fn code(&self) -> &'static str {
        match self {
            InvitationState::Pending => "pending",
            InvitationState::Accepted { .. } => "accepted",
            InvitationState::Revoked { .. } => "revoked",
            InvitationState::Expired => "expired",
        }
    }
}

/// An invitation by email or SMS. The invited user exists as a user record from the moment of
/// invitation (decisions.md "Users, invitations"); accepting links it to an identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    /// Its identifier.
    pub id: InvitationId,
    /// The account.
    pub account: AccountId,
    /// The invited user record.
    pub user: UserId,
    /// Where it went: an email address, or a phone number (which becomes the login).
    pub address: Login,
    /// SHA-256 of the token in the link.
    pub hash: SecretHash,
    /// Who invited (`None`: the operator).
    pub invited_by: Option<UserId>,
    /// Sent.
    pub created_at: DateTime<Utc>,
    /// Valid until.
    pub expires_at: DateTime<Utc>,
    /// Where it stands.
    pub state: InvitationState,
}

impl Invitation {
    /// The state as of `now`: a pending invitation past its expiry counts as expired.
    pub fn state_at(&self, now: DateTime<Utc>) -> InvitationState {
        match self.state {
            InvitationState::Pending if now >= self.expires_at => InvitationState::Expired,
            s => s,
        }
    }
}

/// Where a registration through the quick-registration link stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestState {
    /// Waiting for the registrant to confirm their address with the code sent to it.
    Unconfirmed,
    /// Confirmed; waiting for an administrator (moderated registration).
    Pending,
    /// Joined the account.
    Approved {
        /// The user record created.
        user: UserId,
    },
    /// Refused by an administrator.
    Rejected,
}

impl RequestState {
    /// A stable code for storage and the CLI.
    pub fn code(&self) -> &'static str {
        match self {
            RequestState::Unconfirmed => "unconfirmed",
            RequestState::Pending => "pending",
            RequestState::Approved { .. } => "approved",
            RequestState::Rejected => "rejected",
        }
    }
}

/// A registration through an account's quick-registration link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationRequest {
    /// Its identifier.
    pub id: Uuid,
    /// The account.
    pub account: AccountId,
    /// The link it came through: once the account's link is replaced or switched off, the
    /// registration can no longer complete.
    pub link: SecretHash,
    /// The registrant's email (lower-case): their login and contact email.
    pub email: String,
    /// First name.
    pub name: String,
    /// Last name.
    pub last_name: String,
    /// The password hash for a new identity, kept until the address is confirmed.
    pub password: Option<String>,
    /// The identity, once the address is confirmed.
    pub identity: Option<IdentityId>,
    /// Where it stands.
    pub state: RequestState,
    /// Submitted.
    pub created_at: DateTime<Utc>,
}

/// An account's quick-registration link: one token at a time, replaced when regenerated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegistrationLink {
    /// The account.
    pub account: AccountId,
    /// SHA-256 of the link's token.
    pub hash: SecretHash,
    /// Created.
    pub created_at: DateTime<Utc>,
}
