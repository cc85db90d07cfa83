//! Workgroups: named groups of users. A group becomes external once an extranet user joins it,
//! and stays so (its history of shared content was visible to outsiders).

use chrono::{DateTime, Utc};

use crate::ids::{AccountId, WorkgroupId};

/// A workgroup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workgroup {
    /// The account it belongs to.
    pub account: AccountId,
    /// Its ID within the account.
    pub id: WorkgroupId,
    /// Its name (1 to 255 characters).
    pub name: String,
    /// Whether extranet users have ever been members.
    pub external: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}
