//! The outbox: every message Cardfile has to send (invitations, generated passwords,
//! confirmation codes, notices), written in the same transaction as the change that caused it.
//! A delivery worker (SMTP, an SMS gateway) claims due messages with a lease, sends them and
//! settles each (`usecase::queue`); without one, an administrator reads them (`cardfile outbox`).

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
    /// An invitation with its link; its source is the invitation.
    Invitation,
    /// A generated password (direct registration).
    GeneratedPassword,
    /// A code confirming an address (a new contact, a new login, a registration); its source is
    /// the code.
    ConfirmationCode,
    /// A code resetting a password; its source is the code.
    ResetCode,
    /// A registration through the account's link was received and waits for approval.
    RegistrationReceived,
    /// A registration was approved.
    RegistrationApproved,
    /// A registration was rejected.
    RegistrationRejected,
    /// The login of a network profile changed (sent to the old login).
    LoginChanged,
    /// The password of a network profile changed.
    PasswordChanged,
    /// A test of a transport (`cardfile outbox test`), sent at once and never queued.
    Test,
}

const KINDS: [MessageKind; 10] = [
    MessageKind::Invitation,
    MessageKind::GeneratedPassword,
    MessageKind::ConfirmationCode,
    MessageKind::ResetCode,
    MessageKind::RegistrationReceived,
    MessageKind::RegistrationApproved,
    MessageKind::RegistrationRejected,
    MessageKind::LoginChanged,
    MessageKind::PasswordChanged,
    MessageKind::Test,
];

impl MessageKind {
    /// A stable code for storage and the CLI.
    pub fn code(self) -> &'static str {
        match self {
            MessageKind::Invitation => "invitation",
            MessageKind::GeneratedPassword => "generated_password",
            MessageKind::ConfirmationCode => "confirmation_code",
            MessageKind::ResetCode => "reset_code",
            MessageKind::RegistrationReceived => "registration_received",
            MessageKind::RegistrationApproved => "registration_approved",
            MessageKind::RegistrationRejected => "registration_rejected",
            MessageKind::LoginChanged => "login_changed",
            MessageKind::PasswordChanged => "password_changed",
            MessageKind::Test => "test",
        }
    }

    /// Parses [`MessageKind::code`] (and `notice`, which approvals were stored as before
    /// schema 11).
    pub fn from_code(code: &str) -> Option<MessageKind> {
        if code == "notice" {
            return Some(MessageKind::RegistrationApproved);
        }
        KINDS.into_iter().find(|k| k.code() == code)
    }
}

/// Where a message is in its delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageState {
    /// Waiting to be sent (perhaps after a failed attempt, or leased to a worker right now).
    Pending,
    /// Accepted by the transport (or passed on by hand).
    Sent,
    /// Refused for good (a permanent answer, or retried until the give-up time); listed for
    /// administrators, who may retry it.
    Failed,
    /// No longer worth sending: its invitation or code was revoked, used or has expired.
    Obsolete,
}

impl MessageState {
    /// A stable code for storage and the CLI.
    pub fn code(self) -> &'static str {
        match self {
            MessageState::Pending => "pending",
            MessageState::Sent => "sent",
            MessageState::Failed => "failed",
            MessageState::Obsolete => "obsolete",
        }
    }

    /// Parses [`MessageState::code`].
    pub fn from_code(code: &str) -> Option<MessageState> {
        [MessageState::Pending, MessageState::Sent, MessageState::Failed, MessageState::Obsolete]
            .into_iter()
            .find(|s| s.code() == code)
    }
}

/// The changing part of a queued item: what the delivery queue (`usecase::queue`) reads and
/// writes. The outbox's messages carry one; so will every other queue (event deliveries).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Where it is.
    pub state: MessageState,
    /// Attempts settled so far (a claim lost to a crash is not counted).
    pub attempts: u32,
    /// Not claimed before this time (backoff after a temporary failure).
    pub not_before: DateTime<Utc>,
    /// A worker holds it until then; after it, any worker may claim it again.
    pub lease_until: Option<DateTime<Utc>>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When the transport accepted it (the first time).
    pub sent_at: Option<DateTime<Utc>>,
}

impl Delivery {
    /// A new item, due at once.
    pub fn due_at(now: DateTime<Utc>) -> Delivery {
        Delivery {
            state: MessageState::Pending,
            attempts: 0,
            not_before: now,
            lease_until: None,
            last_error: None,
            sent_at: None,
        }
    }
}

/// A changed delivery, as a queue's store writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryUpdate {
    /// The item.
    pub id: Uuid,
    /// Its delivery from now on.
    pub delivery: Delivery,
    /// Whether to drop its body (sent, obsolete, or failed past its use).
    pub drop_body: bool,
}

/// One message to send. Its text is final: rendered from the catalogue when it was queued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Its identifier (also the stable part of an e-mail's `Message-ID`).
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
    /// The plain text (the SMS itself, or the e-mail's text part).
    pub body: String,
    /// The e-mail's HTML part (empty for SMS).
    pub html: String,
    /// Queued.
    pub created_at: DateTime<Utc>,
    /// After this the message is useless (its link or code has expired): it is never sent, and
    /// its body is dropped.
    pub expires_at: Option<DateTime<Utc>>,
    /// The invitation or code it delivers ([`MessageKind`] says which); once that is used or
    /// revoked, the message is obsolete.
    pub source: Option<Uuid>,
    /// Its delivery.
    pub delivery: Delivery,
}

impl Message {
    /// Whether the body is gone (sent, obsolete, or failed past its expiry).
    pub fn body_dropped(&self) -> bool {
        self.body.is_empty() && self.html.is_empty()
    }
}
