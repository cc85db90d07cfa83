//! REST credentials (decisions.md "Credentials"): incoming webhooks and static application
//! tokens. Both are 32-character random tokens, shown once and stored as SHA-256; a token alone
//! names its account.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::access::ScopeSet;
use crate::ids::{AccountId, UserId};
use crate::secret::SecretHash;

/// A credential's identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CredentialId(pub Uuid);

impl std::fmt::Display for CredentialId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Which kind of credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CredentialKind {
    /// An incoming webhook: `/rest/{owner}/{token}/{method}`.
    Webhook,
    /// A static application token: `auth`, `access_token` or `Authorization: Bearer`.
    AppToken,
}

impl CredentialKind {
    /// A stable code for storage and the CLI.
    pub fn code(self) -> &'static str {
        match self {
            CredentialKind::Webhook => "webhook",
            CredentialKind::AppToken => "app_token",
        }
    }

    /// Parses [`CredentialKind::code`].
    pub fn from_code(code: &str) -> Option<CredentialKind> {
        [CredentialKind::Webhook, CredentialKind::AppToken].into_iter().find(|k| k.code() == code)
    }
}

/// A credential. It acts as its owner, limited to its scopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    /// Its identifier.
    pub id: CredentialId,
    /// The account it belongs to.
    pub account: AccountId,
    /// Webhook or application token.
    pub kind: CredentialKind,
    /// A name for people: the application's name for tokens.
    pub name: String,
    /// The user it acts as (for application tokens, the administrator who created it).
    pub owner: UserId,
    /// What it may do.
    pub scopes: ScopeSet,
    /// SHA-256 of the token.
    pub hash: SecretHash,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// It stops working at this moment, if set.
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
}
