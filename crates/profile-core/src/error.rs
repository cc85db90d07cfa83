//! The one error type of the core, and the storage error the ports return.

use std::fmt;

/// Why a use case refused or failed. Every variant that concerns input names the field at fault,
/// so adapters can say exactly what was wrong (`ERROR_ARGUMENT` naming the key, for instance).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CoreError {
    /// The thing does not exist in the caller's account, or the caller may not see it. Both look
    /// the same on purpose, so that nobody learns about users they may not see.
    #[error("{entity} {id} not found")]
    NotFound {
        /// What was looked up (`user`, `department`, `workgroup`, `account`).
        entity: &'static str,
        /// The ID as given.
        id: String,
    },
    /// The actor's role, permissions or credential scope forbid the action.
    #[error("access denied: {reason}")]
    Forbidden {
        /// A short, human-readable reason.
        reason: String,
    },
    /// The credential lacks the scope the action needs.
    #[error("insufficient scope: {needed} required")]
    InsufficientScope {
        /// The scope code that would allow it.
        needed: &'static str,
    },
    /// A value is malformed: wrong type, too long, not an email …
    #[error("invalid {field}: {reason}")]
    Validation {
        /// The field or parameter at fault, as its wire code (`EMAIL`, `PARENT`, …).
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The input is well-formed but a domain rule refuses it (a cycle, a non-empty department, a
    /// duplicate email …).
    #[error("{field}: {reason}")]
    Conflict {
        /// The field the rule is about.
        field: String,
        /// Which rule refused it.
        reason: String,
    },
    /// Authentication failed: the credential, login or code is not good (see [`AuthFailure`]).
    #[error("not authorised: {failure}")]
    Unauthorized {
        /// Why.
        failure: AuthFailure,
    },
    /// Too many failed attempts: try again later.
    #[error("too many failed attempts; try again in {retry_after_secs} s")]
    TooManyAttempts {
        /// Seconds until the next attempt is checked.
        retry_after_secs: i64,
    },
    /// One row of a bulk operation was refused; nothing of the operation was kept.
    #[error("row {row}: {error}")]
    InRow {
        /// The row, 0-based, in the order given.
        row: usize,
        /// Why it was refused (never itself `InRow`).
        error: Box<CoreError>,
    },
    /// The storage failed. Nothing was changed.
    #[error("storage failure: {0}")]
    Storage(#[from] StoreError),
}

impl CoreError {
    /// Shorthand for [`CoreError::Validation`].
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        CoreError::Validation { field: field.into(), reason: reason.into() }
    }

    /// Shorthand for [`CoreError::Conflict`].
    pub fn conflict(field: impl Into<String>, reason: impl Into<String>) -> Self {
        CoreError::Conflict { field: field.into(), reason: reason.into() }
    }

    /// Shorthand for [`CoreError::Forbidden`].
    pub fn forbidden(reason: impl Into<String>) -> Self {
        CoreError::Forbidden { reason: reason.into() }
    }

    /// Shorthand for [`CoreError::Unauthorized`].
    pub fn unauthorized(failure: AuthFailure) -> Self {
        CoreError::Unauthorized { failure }
    }

    /// `self` as the error of row `row` of a bulk operation (see [`CoreError::InRow`]).
    pub fn in_row(self, row: usize) -> Self {
        match self {
            CoreError::InRow { .. } => self,
            e => CoreError::InRow { row, error: Box::new(e) },
        }
    }

    /// The row a bulk operation's error names, and the error itself.
    pub fn row(&self) -> (Option<usize>, &CoreError) {
        match self {
            CoreError::InRow { row, error } => (Some(*row), error),
            e => (None, e),
        }
    }

    /// Shorthand for [`CoreError::NotFound`].
    pub fn not_found(entity: &'static str, id: impl fmt::Display) -> Self {
        CoreError::NotFound { entity, id: id.to_string() }
    }
}

/// Why authentication failed. The kinds are what the REST error table tells apart; none of them
/// says whether a login exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    /// The token is unknown or revoked.
    UnknownCredential,
    /// A webhook URL names another user than the token's owner.
    WrongOwner,
    /// The credential has expired.
    Expired,
    /// The acting user is dismissed, or no longer exists: their credentials stop working at once.
    Dismissed,
    /// The login, password, second factor or code is wrong (which of them, is not said).
    BadLogin,
}

impl fmt::Display for AuthFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AuthFailure::UnknownCredential => "unknown or revoked credential",
            AuthFailure::WrongOwner => "the credential belongs to another user",
            AuthFailure::Expired => "the credential has expired",
            AuthFailure::Dismissed => "the user is dismissed",
            AuthFailure::BadLogin => "wrong login or password",
        })
    }
}

/// What a storage port can report. Adapters map their own errors onto these.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StoreError {
    /// A uniqueness constraint refused the write (`what` names it, e.g. `EMAIL`).
    #[error("{what} already exists")]
    UniqueViolation {
        /// The field whose value must be unique.
        what: String,
    },
    /// A write was attempted through a read-only transaction.
    #[error("read-only transaction")]
    ReadOnly,
    /// The database was created by another version of Cardfile and cannot be used as is.
    #[error("incompatible database: {0}")]
    Incompatible(String),
    /// The store could not serve the unit of work in time: a read ran past its time budget, or
    /// every read connection stayed busy. The request may be tried again later.
    #[error("overloaded: {0}")]
    Overloaded(String),
    /// Anything else the backend reported (I/O, corruption, busy …).
    #[error("{0}")]
    Backend(String),
}
