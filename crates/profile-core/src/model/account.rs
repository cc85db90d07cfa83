//! Accounts (tenants): a company's portal. One server hosts many; none sees another's data.

use chrono::{DateTime, Utc};

use crate::ids::AccountId;

/// Who may invite new people into the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InvitePolicy {
    /// Only administrators (the default).
    #[default]
    AdminsOnly,
    /// Every intranet user.
    Everyone,
}

/// How self-registration through the quick-registration link works.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RegistrationType {
    /// New users wait for an administrator's approval (the default), unless their email domain
    /// is whitelisted.
    #[default]
    Moderated,
    /// Anyone with the link joins at once.
    Public,
}

/// The settings an administrator changes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AccountSettings {
    /// Who may invite.
    pub invite_policy: InvitePolicy,
    /// How the quick-registration link behaves.
    pub registration: RegistrationType,
    /// Email domains (lower-case, e.g. `example.com`) whose owners skip approval.
    pub whitelisted_domains: Vec<String>,
    /// The greeting shown on the registration page.
    pub greeting: String,
}

/// An account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Its identifier.
    pub id: AccountId,
    /// Unique on the server: lower-case letters, digits and `-`.
    pub slug: String,
    /// The company's name.
    pub name: String,
    /// Whether the one rename an administrator is allowed has been used.
    pub renamed: bool,
    /// The settings.
    pub settings: AccountSettings,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}
