//! Mapping rusqlite errors onto the ports' [`StoreError`].

use profile_core::StoreError;

/// Any rusqlite error, with uniqueness violations named by the field they protect.
pub(crate) fn backend(e: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(f, Some(msg)) = &e {
        if f.code == rusqlite::ErrorCode::ConstraintViolation && msg.contains("UNIQUE") {
            return unique_violation(msg);
        }
    }
    StoreError::Backend(e.to_string())
}

/// A uniqueness violation, from SQLite's message ("UNIQUE constraint failed: users.account_no,
/// users.email"), named by the field it protects.
pub(crate) fn unique_violation(msg: &str) -> StoreError {
    let what = if msg.contains("identity_handles") {
        "LOGIN"
    } else if msg.contains("identity_socials") {
        "SOCIAL"
    } else if msg.contains("identity_users") {
        "USER"
    } else if msg.contains("credentials.hash") {
        "TOKEN"
    } else if msg.contains("email") {
        "EMAIL"
    } else if msg.contains("slug") {
        "slug"
    } else if msg.contains("users.uid") {
        "ID"
    } else {
        "key"
    };
    StoreError::UniqueViolation { what: what.into() }
}
