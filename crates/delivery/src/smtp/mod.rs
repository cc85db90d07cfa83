//! E-mail over SMTP: one session reused for many messages ([`client`]), STARTTLS or implicit
//! TLS, AUTH PLAIN/LOGIN, and `multipart/alternative` messages (built with lettre's MIME
//! builder, which gets header encoding right) with a stable `Message-ID`.

pub mod client;

use std::sync::Arc;
use std::time::{Duration, Instant};

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use profile_core::model::message::{Channel, Message};
use profile_core::usecase::queue::Outcome;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;

use self::client::{Dial, Session, SmtpError, Step};
use crate::settings::{SmtpSecurity, SmtpUrl};
use crate::{breaks_header, Transport};

/// How to reach the SMTP server.
#[derive(Clone)]
pub struct SmtpOptions {
    /// The server.
    pub url: SmtpUrl,
    /// The password of the URL's user.
    pub password: Option<String>,
    /// The sender, `Name <address>` or `address`.
    pub from: String,
    /// A PEM CA certificate to trust besides the public roots (a private CA, or a test's
    /// self-signed certificate).
    pub ca_pem: Option<Vec<u8>>,
    /// How long connecting and each reply may take.
    pub timeout: Duration,
}

impl std::fmt::Debug for SmtpOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpOptions")
            .field("url", &self.url)
            .field("password", &self.password.as_ref().map(|_| "…"))
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

/// A session idle longer than this is checked with `NOOP` before it is used again (servers
/// close idle connections).
const IDLE_CHECK: Duration = Duration::from_secs(20);

/// The SMTP transport.
pub struct Smtp {
    dial: Dial,
    from: Mailbox,
    /// The right-hand side of every `Message-ID`: the sender's domain.
    domain: String,
    url: SmtpUrl,
    session: Option<(Session, Instant)>,
}

impl Smtp {
    /// Builds the transport (nothing connects yet).
    ///
    /// # Errors
    /// A bad sender, an unreadable CA certificate, or a user without a password.
    pub fn new(options: &SmtpOptions) -> Result<Smtp, String> {
        if breaks_header(&options.from) {
            return Err("--mail-from must be one line".into());
        }
        let from: Mailbox = options.from.parse().map_err(|e| {
            format!("--mail-from {:?} is not a mailbox (Name <address> or address): {e}", options.from)
        })?;
        let domain = from.email.domain().to_string();
        let url = &options.url;
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        if let Some(pem) = &options.ca_pem {
            for cert in CertificateDer::pem_slice_iter(pem) {
                let cert = cert.map_err(|e| format!("--smtp-ca is not a PEM certificate: {e}"))?;
                roots.add(cert).map_err(|e| format!("--smtp-ca: {e}"))?;
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("cannot set up TLS for SMTP: {e}"))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let credentials = match &url.user {
            Some(user) => Some((
                user.clone(),
                options.password.clone().ok_or(
                    "the SMTP URL names a user: give the password in CARDFILE_SMTP_PASSWORD or --smtp-password-file",
                )?,
            )),
            None => None,
        };
        let dial = Dial {
            host: url.host.clone(),
            port: url.port,
            implicit_tls: url.security == SmtpSecurity::Implicit,
            starttls: match url.security {
                SmtpSecurity::StartTlsRequired => Some(true),
                SmtpSecurity::StartTlsOpportunistic => Some(false),
                SmtpSecurity::Implicit | SmtpSecurity::None => None,
            },
            credentials,
            hello: domain.clone(),
            tls: Arc::new(tls),
            timeout: options.timeout,
        };
        Ok(Smtp { dial, from, domain, url: url.clone(), session: None })
    }

    /// The e-mail of a message, or why it cannot be one (a permanent failure).
    fn email(&self, m: &Message) -> Result<(String, Vec<u8>), String> {
        if breaks_header(&m.recipient) || breaks_header(&m.subject) {
            return Err("a header would contain a line break".into());
        }
        let to: Mailbox =
            m.recipient.parse().map_err(|e| format!("invalid address {:?}: {e}", m.recipient))?;
        let body = if m.html.is_empty() {
            MultiPart::mixed()
                .singlepart(SinglePart::builder().header(ContentType::TEXT_PLAIN).body(m.body.clone()))
        } else {
            MultiPart::alternative_plain_html(m.body.clone(), m.html.clone())
        };
        let email = lettre::Message::builder()
            .from(self.from.clone())
            .to(to.clone())
            .subject(m.subject.clone())
            // Stable per message: a resend after a crash is recognisably the same mail.
            .message_id(Some(format!("<{}@{}>", m.id, self.domain)))
            .multipart(body)
            .map_err(|e| format!("cannot build the e-mail: {e}"))?;
        Ok((to.email.to_string(), email.formatted()))
    }

    /// The open session, checked if it was idle a while, or a new one.
    fn session(&mut self) -> Result<&mut Session, SmtpError> {
        let stale = self.session.as_mut().is_some_and(|(s, used)| used.elapsed() > IDLE_CHECK && !s.alive());
        if stale || self.session.is_none() {
            self.session = Some((Session::open(&self.dial)?, Instant::now()));
        }
        match self.session.as_mut() {
            Some((s, used)) => {
                *used = Instant::now();
                Ok(s)
            }
            None => Err(SmtpError::Connection("no session".into())),
        }
    }

    fn deliver(&mut self, to: &str, content: &[u8]) -> Result<(), SmtpError> {
        let from = self.from.email.to_string();
        let reused = self.session.is_some();
        let result = self.session()?.send(&from, to, content);
        match result {
            // A reused connection the server had dropped: once more on a new one (nothing was
            // accepted on the old one).
            Err(SmtpError::Connection(_)) if reused => {
                self.session = None;
                self.session()?.send(&from, to, content)
            }
            other => other,
        }
        .inspect_err(|e| {
            if matches!(e, SmtpError::Connection(_)) {
                self.session = None;
            }
        })
    }
}

impl Transport for Smtp {
    fn channel(&self) -> Channel {
        Channel::Email
    }

    fn send(&mut self, m: &Message) -> Outcome {
        let (to, content) = match self.email(m) {
            Ok(e) => e,
            Err(why) => return Outcome::Permanent(why),
        };
        match self.deliver(&to, &content) {
            Ok(()) => Outcome::Delivered,
            Err(e) => classify(&e),
        }
    }

    fn check(&mut self) -> Result<(), String> {
        self.session().map(|_| ()).map_err(|e| e.to_string())
    }

    fn describe(&self) -> String {
        self.url.to_string()
    }
}

/// What an SMTP failure means for the message: the server's verdict on it, or a transport that
/// cannot be used right now.
fn classify(e: &SmtpError) -> Outcome {
    let why = e.to_string();
    match e {
        // The recipient or the content refused: this message's fate.
        SmtpError::Reply { step: Step::Rcpt | Step::Data, code: 500..=599, .. } => Outcome::Permanent(why),
        // The service closing, or a refusal of the session, the login or the sender: every
        // message would meet it, so the transport waits.
        SmtpError::Reply { code: 421, .. }
        | SmtpError::Reply { step: Step::Session | Step::Auth | Step::Mail, .. }
        | SmtpError::Connection(_)
        | SmtpError::NoStartTls => Outcome::Paused(why),
        SmtpError::Reply { .. } => Outcome::Temporary(why),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(step: Step, code: u16) -> Outcome {
        classify(&SmtpError::Reply { step, code, text: String::new() })
    }

    fn smtp() -> Smtp {
        let url = SmtpUrl::parse("smtp://127.0.0.1:1").unwrap();
        let options = SmtpOptions {
            url,
            password: None,
            from: "Équipe <a@example.com>".into(),
            ca_pem: None,
            timeout: Duration::from_secs(1),
        };
        Smtp::new(&options).unwrap()
    }

    fn message(recipient: &str, subject: &str) -> Message {
        let now = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        Message {
            id: uuid::Uuid::from_u128(7),
            account: None,
            kind: profile_core::model::message::MessageKind::Test,
            channel: Channel::Email,
            recipient: recipient.into(),
            subject: subject.into(),
            body: "text".into(),
            html: "<p>text</p>".into(),
            created_at: now,
            expires_at: None,
            source: None,
            delivery: profile_core::model::message::Delivery::due_at(now),
        }
    }

    #[test]
    fn no_header_can_be_injected() {
        let s = smtp();
        for (to, subject) in
            [("a@example.com", "Hi\r\nBcc: x@evil.example"), ("a@example.com\nBcc: x@evil.example", "Hi")]
        {
            assert!(s.email(&message(to, subject)).is_err(), "{to:?} {subject:?}");
        }
        let (to, bytes) = s.email(&message("a@example.com", "Grüße")).unwrap();
        assert_eq!(to, "a@example.com");
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.contains("Message-ID: <00000000-0000-0000-0000-000000000007@example.com>"), "{text}");
        assert!(!text.contains("Grüße"), "a UTF-8 subject is an encoded word: {text}");
        for bad in ["a\r\n@example.com", "Name\n <a@example.com>"] {
            let options = SmtpOptions {
                from: bad.into(),
                ..SmtpOptions {
                    url: SmtpUrl::parse("smtp://x").unwrap(),
                    password: None,
                    from: String::new(),
                    ca_pem: None,
                    timeout: Duration::from_secs(1),
                }
            };
            assert!(Smtp::new(&options).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn refusals_are_the_messages_or_the_transports() {
        assert!(matches!(reply(Step::Rcpt, 550), Outcome::Permanent(_)));
        assert!(matches!(reply(Step::Data, 554), Outcome::Permanent(_)));
        assert!(matches!(reply(Step::Rcpt, 450), Outcome::Temporary(_)));
        assert!(matches!(reply(Step::Data, 451), Outcome::Temporary(_)));
        assert!(matches!(reply(Step::Rcpt, 421), Outcome::Paused(_)));
        assert!(matches!(reply(Step::Auth, 535), Outcome::Paused(_)));
        assert!(matches!(reply(Step::Mail, 553), Outcome::Paused(_)));
        assert!(matches!(reply(Step::Session, 554), Outcome::Paused(_)));
        assert!(matches!(classify(&SmtpError::NoStartTls), Outcome::Paused(_)));
    }
}
