//! Identifiers. Users, departments and workgroups carry integer IDs from a per-account sequence
//! (decisions.md "Identifiers"); accounts carry a UUID.

use std::fmt;

use uuid::Uuid;

/// An account (tenant). Internal only: the wire never shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountId(pub Uuid);

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

macro_rules! int_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub u32);

        impl $name {
            /// The raw integer, as it appears on the wire.
            pub fn get(self) -> u32 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

int_id!(
    /// A user of one account; the first administrator is user 1.
    UserId
);
int_id!(
    /// A department of one account; the root department is department 1.
    DepartmentId
);
int_id!(
    /// A workgroup of one account.
    WorkgroupId
);

/// The three per-account sequences. IDs are never reused, even after a department is deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sequence {
    /// [`UserId`]s.
    User,
    /// [`DepartmentId`]s.
    Department,
    /// [`WorkgroupId`]s.
    Workgroup,
    /// Custom fields' IDs and their options' IDs (`crate::model::custom`).
    CustomField,
    /// Absences' IDs (`crate::model::absence`).
    Absence,
    /// Appreciations' IDs (`crate::model::appreciation`).
    Appreciation,
}
