//! Web sessions: a signed-in browser. The cookie holds a random token; the store keeps only its
//! hash, so a copy of the database signs nobody in. One session serves every account of its
//! identity (decisions.md, "Web pages and sessions").

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use crate::model::identity::IdentityId;
use crate::secret::SecretHash;

/// A session's identifier (shown in session lists; never a credential).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SessionId(pub Uuid);

/// One signed-in browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Its identifier.
    pub id: SessionId,
    /// Who signed in.
    pub identity: IdentityId,
    /// The SHA-256 of the cookie's token.
    pub hash: SecretHash,
    /// The browser, as its `User-Agent` said (cut to 200 characters), for session lists.
    pub device: String,
    /// Signed in.
    pub created_at: DateTime<Utc>,
    /// Last used, written at most once a minute ([`SessionPolicy::touch_every`]).
    pub last_seen: DateTime<Utc>,
}

/// How long sessions last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    /// A session unused this long has ended.
    pub idle: Duration,
    /// A session this old has ended, used or not.
    pub absolute: Duration,
    /// "Last seen" is written again only when it is at least this old.
    pub touch_every: Duration,
}

impl Default for SessionPolicy {
    /// 12 hours idle, 14 days at most, last seen once a minute.
    fn default() -> SessionPolicy {
        SessionPolicy {
            idle: Duration::hours(12),
            absolute: Duration::days(14),
            touch_every: Duration::minutes(1),
        }
    }
}

impl SessionPolicy {
    /// Whether the session is still good at `now`.
    pub fn is_live(&self, s: &Session, now: DateTime<Utc>) -> bool {
        now < s.last_seen + self.idle && now < s.created_at + self.absolute
    }

    /// Whether "last seen" should be written again at `now`.
    pub fn needs_touch(&self, s: &Session, now: DateTime<Utc>) -> bool {
        now - s.last_seen >= self.touch_every
    }
}
