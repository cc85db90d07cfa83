//! Mapping driver errors onto the ports' [`StoreError`].

use profile_core::StoreError;
use tokio_postgres::error::SqlState;

/// Any driver error, with uniqueness violations named by the field they protect (the same
/// names as the SQLite store's).
pub(crate) fn backend(e: tokio_postgres::Error) -> StoreError {
    if e.code() == Some(&SqlState::UNIQUE_VIOLATION) {
        let constraint = e.as_db_error().and_then(|d| d.constraint()).unwrap_or_default();
        return unique_violation(constraint);
    }
    // Only reads have a `statement_timeout` (see `Options::read_budget`).
    if e.code() == Some(&SqlState::QUERY_CANCELED) {
        return StoreError::Overloaded("the read ran past its time budget".into());
    }
    match e.as_db_error() {
        // The server's own words, without the statement (which may hold values).
        Some(db) => StoreError::Backend(format!("PostgreSQL: {} ({})", db.message(), db.code().code())),
        None => StoreError::Backend(format!("PostgreSQL: {e}")),
    }
}

/// A uniqueness violation of the named constraint or index.
fn unique_violation(constraint: &str) -> StoreError {
    const NAMES: [(&str, &str); 8] = [
        ("identity_handles", "LOGIN"),
        ("identity_socials", "SOCIAL"),
        ("identity_users", "USER"),
        ("credentials_hash", "TOKEN"),
        ("email", "EMAIL"),
        ("slug", "slug"),
        ("users_pkey", "ID"),
        ("department_members_pkey", "ID"),
    ];
    let what = NAMES.iter().find(|(mark, _)| constraint.contains(mark)).map_or("key", |(_, what)| what);
    StoreError::UniqueViolation { what: what.into() }
}

/// A value read from a row that does not decode.
pub(crate) fn bad(what: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("PostgreSQL: a stored value does not read back: {what}"))
}
