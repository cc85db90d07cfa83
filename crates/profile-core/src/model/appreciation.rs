//! Appreciations (seed 000): badges — like, star, trophy and the rest — that one colleague
//! gives another with a message. How many of each a person holds is visible to everyone who
//! can see them; the messages only to the recipient, and to each giver their own.

use chrono::{DateTime, Utc};

use crate::error::CoreError;
use crate::ids::{AccountId, UserId};

/// The longest message, in characters.
pub const APPRECIATION_MESSAGE_MAX: usize = 2_000;

/// The most badge kinds an account may add to the built-in ones.
pub const BADGES_ADDED_MAX: usize = 100;

/// The longest badge label, in characters.
pub const BADGE_LABEL_MAX: usize = 60;

/// A badge kind: its code (lower-case letters, digits and `_`) and label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Badge {
    /// The code appreciations name it by (`star`).
    pub code: String,
    /// What people read (`Star`).
    pub label: String,
    /// Whether it comes with Cardfile (else an administrator added it).
    pub builtin: bool,
}

/// The badges every account has.
pub const BUILTIN_BADGES: [(&str, &str); 8] = [
    ("like", "Like"),
    ("star", "Star"),
    ("trophy", "Trophy"),
    ("thank_you", "Thank you"),
    ("cup", "Cup"),
    ("flower", "Flower"),
    ("heart", "Heart"),
    ("rocket", "Rocket"),
];

/// The built-in badges as [`Badge`]s.
pub fn builtin_badges() -> Vec<Badge> {
    BUILTIN_BADGES
        .iter()
        .map(|(code, label)| Badge { code: (*code).to_string(), label: (*label).to_string(), builtin: true })
        .collect()
}

impl Badge {
    /// A badge an administrator adds, checked.
    ///
    /// # Errors
    /// [`CoreError::Validation`] on `CODE` (1–32 of `a-z`, `0-9`, `_`, starting with a letter)
    /// or `LABEL` (1–[`BADGE_LABEL_MAX`] characters).
    pub fn new(code: &str, label: &str) -> Result<Badge, CoreError> {
        let code = code.trim().to_ascii_lowercase();
        let good = (1..=32).contains(&code.len())
            && code.starts_with(|c: char| c.is_ascii_lowercase())
            && code.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !good {
            return Err(CoreError::invalid("CODE", "1–32 lower-case letters, digits or _, a letter first"));
        }
        let label = label.trim();
        if label.is_empty() || label.chars().count() > BADGE_LABEL_MAX || label.chars().any(char::is_control)
        {
            return Err(CoreError::invalid("LABEL", format!("1–{BADGE_LABEL_MAX} characters")));
        }
        Ok(Badge { code, label: label.to_string(), builtin: false })
    }
}

/// One appreciation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appreciation {
    /// The account.
    pub account: AccountId,
    /// Numbered per account.
    pub id: u32,
    /// Who receives it.
    pub recipient: UserId,
    /// Who gives it.
    pub giver: UserId,
    /// The badge's code.
    pub badge: String,
    /// The message.
    pub message: String,
    /// When it was given.
    pub at: DateTime<Utc>,
}

/// Checks a message.
///
/// # Errors
/// [`CoreError::Validation`] on `MESSAGE` when empty, too long or holding control characters.
pub fn check_message(message: &str) -> Result<String, CoreError> {
    let m = message.trim();
    if m.is_empty() {
        return Err(CoreError::invalid("MESSAGE", "is required"));
    }
    if m.chars().count() > APPRECIATION_MESSAGE_MAX {
        return Err(CoreError::invalid(
            "MESSAGE",
            format!("longer than {APPRECIATION_MESSAGE_MAX} characters"),
        ));
    }
    if m.chars().any(|c| c.is_control() && c != '\n') {
        return Err(CoreError::invalid("MESSAGE", "holds control characters"));
    }
    Ok(m.to_string())
}
