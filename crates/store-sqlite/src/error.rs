//! Mapping rusqlite errors onto the ports' [`StoreError`].

use profile_core::StoreError;

/// Any rusqlite error, with uniqueness violations named by the field they protect.
pub(crate) fn backend(e: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(f, msg) = &e {
        if f.code == rusqlite::ErrorCode::ConstraintViolation
            && msg.as_deref().is_some_and(|m| m.contains("UNIQUE"))
        {
            return unique_violation(msg.as_deref().unwrap_or_default());
        }
        // Only a read's progress handler interrupts (see `Options::read_budget`).
        if f.code == rusqlite::ErrorCode::OperationInterrupted {
            return StoreError::Overloaded("the read ran past its time budget".into());
        }
    }
    StoreError::Backend(e.to_string())
}

/// A uniqueness violation, from SQLite's message ("UNIQUE constraint failed: users.account_no,
/// users.email"), named by the field it protects: the first name whose mark the message holds.
pub(crate) fn unique_violation(msg: &str) -> StoreError {
    const NAMES: [(&str, &str); 7] = [
        ("identity_handles", "LOGIN"),
        ("identity_socials", "SOCIAL"),
        ("identity_users", "USER"),
        ("credentials.hash", "TOKEN"),
        ("email", "EMAIL"),
        ("slug", "slug"),
        ("users.uid", "ID"),
    ];
    let what = NAMES.iter().find(|(mark, _)| msg.contains(mark)).map_or("key", |(_, what)| what);
    StoreError::UniqueViolation { what: what.into() }
}
