//! Delivery: the outbox leaves Cardfile. A [`worker`] thread per channel claims due messages
//! from the store (profile-core's delivery queue: leases, backoff and settlements live in the
//! database, so several `serve` processes share one outbox), hands each to its [`Transport`]
//! — [`smtp`] for e-mail, [`sms`] for an HTTP gateway — and settles what the transport
//! answered, in batches.
//!
//! What it never does: decide what a message says (the catalogue in profile-core did, when the
//! message was queued), keep a claim in memory, or log a credential. Key decision: plain threads
//! and blocking clients (its own small SMTP client over one reused session, ureq for the
//! gateway), since the store's ports are synchronous and a worker sends one message at a time.

pub mod settings;
pub mod sms;
pub mod smtp;
pub mod worker;

use profile_core::model::message::{Channel, Message};
use profile_core::usecase::queue::Outcome;

/// Something that sends messages of one channel.
pub trait Transport: Send {
    /// The channel it sends.
    fn channel(&self) -> Channel;
    /// Sends one message; the outcome says whether the server accepted it, refused it for
    /// good, failed for now, or could not be used at all.
    fn send(&mut self, message: &Message) -> Outcome;
    /// Connects (and authenticates) without sending, to warn early of a bad configuration.
    ///
    /// # Errors
    /// What went wrong, without any credential.
    fn check(&mut self) -> Result<(), String>;
    /// Where it sends, for logs (no credential).
    fn describe(&self) -> String;
}

/// Whether a header value would break out of its line (CR or LF): such a message is refused.
pub(crate) fn breaks_header(value: &str) -> bool {
    value.contains(['\r', '\n'])
}
