//! Network identities: one person's login across accounts (MISSION.md "Network identity"), with
//! the confirmation codes and login-failure records that protect it.

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use crate::ids::{AccountId, UserId};
use crate::secret::SecretHash;
pub use crate::validate::Login;

/// An identity. Internal only: the wire shows users, never identities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IdentityId(pub Uuid);

impl std::fmt::Display for IdentityId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A person's network profile. Its login and every confirmed contact are unique on the server
/// and each of them logs in. The login is not a user's contact email (`EMAIL`) nor a mailbox:
/// only the owner changes it, after confirming the new address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Its identifier.
    pub id: IdentityId,
    /// The login: an email or a phone number.
    pub login: Login,
    /// Further confirmed emails and phones, usable to log in and to recover access.
    pub contacts: Vec<Login>,
    /// The argon2id hash of the password (PHC string); `None` until one is set (an identity made
    /// through a social login, say).
    pub password: Option<String>,
    /// First name, pushed to the accounts on request.
    pub name: String,
    /// Last name, pushed to the accounts on request.
    pub last_name: String,
    /// Photo reference, pushed to the accounts on request.
    pub photo: String,
    /// Linked social logins.
    pub socials: Vec<SocialLink>,
    /// Application passwords (for clients that cannot do two-step login).
    pub app_passwords: Vec<AppPassword>,
    /// Two-step authentication, once set up.
    pub totp: Option<Totp>,
    /// Created.
    pub created_at: DateTime<Utc>,
}

impl Identity {
    /// A new identity with only a login.
    pub fn new(id: IdentityId, login: Login, now: DateTime<Utc>) -> Identity {
        Identity {
            id,
            login,
            contacts: Vec::new(),
            password: None,
            name: String::new(),
            last_name: String::new(),
            photo: String::new(),
            socials: Vec::new(),
            app_passwords: Vec::new(),
            totp: None,
            created_at: now,
        }
    }

    /// The login and every confirmed contact: the handles that name this identity.
    pub fn handles(&self) -> impl Iterator<Item = &Login> {
        std::iter::once(&self.login).chain(&self.contacts)
    }

    /// Whether two-step login is switched on.
    pub fn has_second_factor(&self) -> bool {
        self.totp.as_ref().is_some_and(|t| t.enabled)
    }
}

/// A linked social login: the provider's name and the person's ID there.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SocialLink {
    /// `google`, `facebook`, `apple`, `office365`, `liveid`, `twitter` …
    pub provider: String,
    /// The person's stable ID at the provider.
    pub subject: String,
}

/// An application password: random, shown once, stored hashed, revocable by deleting it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppPassword {
    /// Its identifier.
    pub id: Uuid,
    /// What the owner called it ("phone mail app").
    pub name: String,
    /// SHA-256 of the password.
    pub hash: SecretHash,
    /// Created.
    pub created_at: DateTime<Utc>,
}

/// TOTP two-step authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Totp {
    /// The shared secret.
    pub secret: Vec<u8>,
    /// Off until the owner proves their app works by entering a code.
    pub enabled: bool,
    /// The last step a code was accepted for: no code works twice.
    pub last_step: Option<i64>,
    /// SHA-256 of each unused recovery code.
    pub recovery: Vec<SecretHash>,
}

/// A user record this identity is, in one account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Membership {
    /// The account.
    pub account: AccountId,
    /// The user in it.
    pub user: UserId,
}

/// Failed logins for one login handle, known or not (so a lock says nothing about whether the
/// login exists).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginFailures {
    /// Failures since the last success (or since they were forgiven).
    pub count: u32,
    /// The latest failure.
    pub last: DateTime<Utc>,
}

/// Lockout after failed logins: a few free attempts, then delays that double, then a
/// temporary lock. On by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    /// Failures allowed without any delay.
    pub free_attempts: u32,
    /// The first delay; each further failure doubles it.
    pub first_delay: Duration,
    /// After this many failures the login is locked for [`LockoutPolicy::lock_for`].
    pub lock_after: u32,
    /// How long a lock lasts.
    pub lock_for: Duration,
    /// Failures older than this are forgiven.
    pub forget_after: Duration,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        LockoutPolicy {
            free_attempts: 3,
            first_delay: Duration::seconds(2),
            lock_after: 10,
            lock_for: Duration::minutes(15),
            forget_after: Duration::hours(24),
        }
    }
}

impl LockoutPolicy {
    /// The login's own count when every attempt also counts per client address: ten times the
    /// free attempts and the lock threshold, so that only guessing from many addresses at once
    /// (which no single client's count stops) reaches it.
    pub fn ceiling(&self) -> LockoutPolicy {
        LockoutPolicy {
            free_attempts: self.free_attempts.saturating_mul(10),
            lock_after: self.lock_after.saturating_mul(10),
            ..*self
        }
    }

    /// A client address's count across every login (and every reset code it asks for): 50
    /// failures an hour without delay, generous for an office behind one address; then 1 s,
    /// 2 s, 4 s … and after 200, 15 minutes.
    pub fn per_address() -> LockoutPolicy {
        LockoutPolicy {
            free_attempts: 50,
            first_delay: Duration::seconds(1),
            lock_after: 200,
            lock_for: Duration::minutes(15),
            forget_after: Duration::hours(1),
        }
    }

    /// How long to wait before the next attempt may be checked; `None` when it may be now.
    pub fn wait(&self, failures: Option<LoginFailures>, now: DateTime<Utc>) -> Option<Duration> {
        let f = failures.filter(|f| now - f.last < self.forget_after)?;
        let pause = if f.count >= self.lock_after {
            self.lock_for
        } else if f.count >= self.free_attempts {
            // 2 s, 4 s, 8 s … capped by the lock itself.
            let doublings = (f.count - self.free_attempts).min(20);
            (self.first_delay * 2i32.pow(doublings)).min(self.lock_for)
        } else {
            return None;
        };
        let until = f.last + pause;
        (until > now).then(|| until - now)
    }

    /// The record after one more failure at `now`.
    pub fn failed(&self, failures: Option<LoginFailures>, now: DateTime<Utc>) -> LoginFailures {
        let count = failures.filter(|f| now - f.last < self.forget_after).map_or(0, |f| f.count);
        LoginFailures { count: count.saturating_add(1), last: now }
    }
}

/// What a confirmation code confirms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodePurpose {
    /// Adding a contact (email or phone) to an identity.
    AddContact(IdentityId),
    /// Changing an identity's login.
    ChangeLogin(IdentityId),
    /// Resetting an identity's password.
    ResetPassword(IdentityId),
    /// Confirming the address of a registration through the quick-registration link.
    Registration(Uuid),
}

/// A 6-digit confirmation code sent to `target`: single use, expires, and allows a few attempts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfirmationCode {
    /// Its identifier: the client quotes it with the code.
    pub id: Uuid,
    /// What it confirms.
    pub purpose: CodePurpose,
    /// Where it was sent, and what it proves control of.
    pub target: Login,
    /// [`SecretHash::keyed`] by the ID.
    pub hash: SecretHash,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Useless after this.
    pub expires_at: DateTime<Utc>,
    /// Wrong codes still allowed.
    pub attempts_left: u32,
    /// Whether it has been used.
    pub used: bool,
}

/// How long a confirmation code lives.
pub const CODE_LIFETIME: Duration = Duration::minutes(15);
/// Wrong codes allowed before a code is dead.
pub const CODE_ATTEMPTS: u32 = 5;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lockout_steps_then_locks_then_forgets() {
        let p = LockoutPolicy::default();
        let t0 = DateTime::from_timestamp(1_000_000, 0).unwrap();
        let mut f = None;
        for _ in 0..3 {
            assert_eq!(p.wait(f, t0), None);
            f = Some(p.failed(f, t0));
        }
        assert_eq!(p.wait(f, t0), Some(Duration::seconds(2)));
        f = Some(p.failed(f, t0));
        assert_eq!(p.wait(f, t0), Some(Duration::seconds(4)));
        assert_eq!(p.wait(f, t0 + Duration::seconds(4)), None);
        for _ in 0..6 {
            f = Some(p.failed(f, t0));
        }
        assert_eq!(f.unwrap().count, 10);
        assert_eq!(p.wait(f, t0), Some(Duration::minutes(15)));
        assert_eq!(p.wait(f, t0 + Duration::minutes(15)), None);
        assert_eq!(p.failed(f, t0 + Duration::hours(25)).count, 1, "old failures are forgiven");
    }
}
