//! The use cases: plain functions that check access, validate input, and run on the ports in
//! one unit of work. Adapters (REST, CLI) call these and nothing below them.

pub mod about;
pub mod absences;
pub mod accounts;
pub mod appreciations;
pub mod credentials;
pub mod custom;
pub mod departments;
pub mod hr;
pub mod identities;
pub mod images;
pub mod invitations;
pub mod layout;
pub mod maintenance;
pub mod messenger;
pub mod outbox;
pub mod presence;
pub mod queue;
pub mod sessions;
pub mod settings;
pub mod users;
pub mod workgroups;

use crate::error::CoreError;
use crate::ports::{Clock, Database, IdGen};
use crate::secret::PasswordHasher;

/// What every use case runs with.
#[derive(Clone, Copy)]
pub struct Ctx<'a> {
    /// The database.
    pub db: &'a dyn Database,
    /// The clock.
    pub clock: &'a dyn Clock,
    /// The UUID and randomness source.
    pub ids: &'a dyn IdGen,
    /// The password hasher (argon2id at production cost, cheaper in tests).
    pub passwords: &'a dyn PasswordHasher,
    /// The image codec that uploads go through (`ports::NoImages` where none are taken).
    pub images: &'a dyn crate::ports::ImageCodec,
    /// The public base URL that links in messages start with (`https://cardfile.example.com`,
    /// no trailing `/`).
    pub base_url: &'a str,
    /// How many invitations one user may send in an hour (0: no limit). The server's operator
    /// (the CLI) is never limited.
    pub invitations_per_hour: u32,
    /// The address of the client the call comes from, when a network surface knows it (an
    /// IPv4 address, or an IPv6 /64): login and reset attempts count per address with it
    /// (`usecase::identities`), so one client cannot lock others out.
    pub client: Option<&'a str>,
}

/// Runs `read` (use cases that only read) on one snapshot of the store where it has read
/// sessions ([`crate::ports::Database::read_session`]): what a page shows is then consistent,
/// and its dozen reads cost one transaction. A write inside is refused.
///
/// # Errors
/// What `read` returns; [`CoreError::Storage`] when no snapshot can be taken.
pub fn reading<T>(ctx: Ctx<'_>, read: impl FnOnce(Ctx<'_>) -> Result<T, CoreError>) -> Result<T, CoreError> {
    match ctx.db.read_session() {
        Some(session) => {
            let db = session?;
            read(Ctx { db: &*db, ..ctx })
        }
        None => read(ctx),
    }
}

/// The default of [`Ctx::invitations_per_hour`]: no allowance, like the REST rate limit, for a
/// self-hosted directory whose integrations add users in bulk (`batch` of `user.add`: thousands
/// a second); an operator whose inviters are not all trusted sets one.
pub const INVITATIONS_PER_HOUR: u32 = 0;

impl std::fmt::Debug for Ctx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Ctx")
    }
}

/// Checks a required, length-limited name.
pub(crate) fn check_name(field: &str, name: &str, max: usize) -> Result<String, crate::CoreError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(crate::CoreError::invalid(field, "must not be empty"));
    }
    if name.chars().count() > max {
        return Err(crate::CoreError::invalid(field, format!("longer than {max} characters")));
    }
    if name.chars().any(char::is_control) {
        return Err(crate::CoreError::invalid(field, "contains control characters"));
    }
    Ok(name.to_string())
}
