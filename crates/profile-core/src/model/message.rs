//! The outbox: every message Cardfile has to send (invitations, generated passwords,
//! confirmation codes), written in the same transaction as the change that caused it. A
//! delivery worker (SMTP, an SMS gateway) sends them later; until one is configured, an
//! administrator can read them (`cardfile outbox`).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::ids::AccountId;

/// How a message travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    /// Email.
    Email,
    /// SMS.
    Sms,
}

impl Channel {
    /// A stable code for storage and the CLI.
    pub fn code(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
        }
    }

    /// Parses [`Channel::code`].
    pub fn from_code(code: &str) -> Option<Channel> {
        [Channel::Email, Channel::Sms].into_iter().find(|c| c.code() == code)
    }
}

/// Why a message is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// An invitation with its link.
    Invitation,
    /// A generated password (direct registration).
    GeneratedPassword,
    /// A confirmation code.
    ConfirmationCode,
    /// A note that a registration was approved or an existing profile was added to an account.
    Notice,
}

impl MessageKind {
    /// A stable code for storage and the CLI.
    pub fn code(self) -> &'static str {
        match self {
            MessageKind::Invitation => "invitation",
            MessageKind::GeneratedPassword => "generated_password",
            MessageKind::ConfirmationCode => "confirmation_code",
            MessageKind::Notice => "notice",
        }
    }

    /// Parses [`MessageKind::code`].
    pub fn from_code(code: &str) -> Option<MessageKind> {
        [
            MessageKind::Invitation,
            MessageKind::GeneratedPassword,
            MessageKind::ConfirmationCode,
            MessageKind::Notice,
        ]
        .into_iter()
        .find(|k| k.code() == code)
    }
}

/// One message to send. Its text is final: rendered when it was queued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Its identifier.
    pub id: Uuid,
    /// The account it concerns; `None` for identity messages (codes, resets).
    pub account: Option<AccountId>,
    /// Why it is sent.
    pub kind: MessageKind,
    /// Email or SMS.
    pub channel: Channel,
    /// The address or phone number.
    pub recipient: String,
    /// The subject (empty for SMS).
    pub subject: String,
    /// The text.
    pub body: String,
    /// Queued.
    pub created_at: DateTime<Utc>,
    /// Handed to the transport, once it has been.
    pub sent_at: Option<DateTime<Utc>>,
}
