//! Which failure counts an attempt checks and adds to. Without a client address (the CLI, a
//! surface that does not know it) an attempt counts against its login alone. With one (the web
//! pages: [`Ctx::client`]) it counts against the login *from that address*, so one client that
//! guesses locks only itself out, and against the address across every login, so it cannot
//! spread its guesses either; the login's own count then only stops guessing from many addresses
//! at once ([`LockoutPolicy::ceiling`]).

use chrono::{DateTime, Utc};

use crate::error::CoreError;
use crate::model::identity::{LockoutPolicy, LoginFailures};
use crate::ports::Tx;
use crate::usecase::Ctx;

/// Joins a login and a client address in a key (a control character no login contains).
const FROM: char = '\u{1f}';
/// Starts the key of a client address.
const ADDRESS: char = '\u{1e}';

/// The counts one attempt checks and adds to, with their policies.
pub(crate) struct Guard {
    keys: Vec<(String, LockoutPolicy)>,
}

impl Guard {
    /// For an attempt at `handle` (a normalised login, or the text as typed when it does not
    /// parse) from [`Ctx::client`], with the login's `policy`.
    pub(crate) fn login(ctx: Ctx<'_>, handle: &str, policy: &LockoutPolicy) -> Guard {
        let keys = match ctx.client {
            None => vec![(handle.to_string(), *policy)],
            Some(client) => vec![
                (format!("{handle}{FROM}{client}"), *policy),
                (handle.to_string(), policy.ceiling()),
                (format!("{ADDRESS}{client}"), LockoutPolicy::per_address()),
            ],
        };
        Guard { keys }
    }

    /// For a request that costs a message but has no login to guess (a reset code): the client's
    /// address only, when it is known.
    pub(crate) fn client(ctx: Ctx<'_>) -> Guard {
        Guard {
            keys: ctx
                .client
                .map(|c| (format!("{ADDRESS}{c}"), LockoutPolicy::per_address()))
                .into_iter()
                .collect(),
        }
    }

    /// Refuses while any count says wait; otherwise counts the attempt as a failure everywhere,
    /// before the caller checks anything (so parallel guesses cannot outrun the lockout).
    ///
    /// # Errors
    /// [`CoreError::TooManyAttempts`] with the longest wait.
    pub(crate) fn count(&self, tx: &mut dyn Tx, now: DateTime<Utc>) -> Result<(), CoreError> {
        self.wait(tx, now)?;
        self.fail(tx, now)
    }

    /// Refuses while any count says wait.
    ///
    /// # Errors
    /// [`CoreError::TooManyAttempts`] with the longest wait.
    pub(crate) fn wait(&self, tx: &dyn Tx, now: DateTime<Utc>) -> Result<(), CoreError> {
        let mut wait = None;
        for (key, policy) in &self.keys {
            wait = wait.max(policy.wait(tx.login_failures(key)?, now));
        }
        match wait {
            Some(wait) => Err(CoreError::TooManyAttempts { retry_after_secs: wait.num_seconds().max(1) }),
            None => Ok(()),
        }
    }

    /// Counts one failure everywhere.
    pub(crate) fn fail(&self, tx: &mut dyn Tx, now: DateTime<Utc>) -> Result<(), CoreError> {
        for (key, policy) in &self.keys {
            let failures = tx.login_failures(key)?;
            tx.set_login_failures(key, Some(policy.failed(failures, now)))?;
        }
        Ok(())
    }

    /// Takes back the attempt just counted: the password was right (the second factor follows)
    /// or the attempt succeeded.
    pub(crate) fn take_back(&self, tx: &mut dyn Tx) -> Result<(), CoreError> {
        for (key, _) in &self.keys {
            let back = tx.login_failures(key)?.and_then(|f| {
                f.count.checked_sub(1).filter(|&c| c > 0).map(|count| LoginFailures { count, ..f })
            });
            tx.set_login_failures(key, back)?;
        }
        Ok(())
    }

    /// After a success: the login's counts go (from this address and overall); the address's
    /// count only loses this attempt, so a success does not forgive guesses at other logins.
    pub(crate) fn succeeded(&self, tx: &mut dyn Tx) -> Result<(), CoreError> {
        for (key, _) in &self.keys {
            if key.starts_with(ADDRESS) {
                Guard { keys: vec![(key.clone(), LockoutPolicy::per_address())] }.take_back(tx)?;
            } else {
                tx.set_login_failures(key, None)?;
            }
        }
        Ok(())
    }
}

/// Lifts every lock of a login: its own count and its counts from every address.
pub(crate) fn unlock(tx: &mut dyn Tx, handle: &str) -> Result<(), CoreError> {
    tx.set_login_failures(handle, None)?;
    tx.clear_login_failures_under(&format!("{handle}{FROM}"))?;
    Ok(())
}
