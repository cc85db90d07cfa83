//! E-mail over SMTP, with lettre: one pooled connection reused for many messages, STARTTLS or
//! implicit TLS, AUTH PLAIN/LOGIN, and `multipart/alternative` messages with a stable
//! `Message-ID`.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::{PoolConfig, SmtpTransport};
use lettre::Transport as _;
use profile_core::model::message::{Channel, Message};
use profile_core::usecase::queue::Outcome;

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
    /// How long one SMTP command may take.
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

/// The SMTP transport.
pub struct Smtp {
    transport: SmtpTransport,
    from: Mailbox,
    /// The right-hand side of every `Message-ID`: the sender's domain.
    domain: String,
    url: SmtpUrl,
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
        let tls_parameters = || {
            let mut b = TlsParameters::builder(url.host.clone());
            if let Some(pem) = &options.ca_pem {
                let cert = Certificate::from_pem(pem)
                    .map_err(|e| format!("--smtp-ca is not a PEM certificate: {e}"))?;
                b = b.add_root_certificate(cert);
            }
            b.build_rustls().map_err(|e| format!("cannot set up TLS for SMTP: {e}"))
        };
        let tls = match url.security {
            SmtpSecurity::Implicit => Tls::Wrapper(tls_parameters()?),
            SmtpSecurity::StartTlsRequired => Tls::Required(tls_parameters()?),
            SmtpSecurity::StartTlsOpportunistic => Tls::Opportunistic(tls_parameters()?),
            SmtpSecurity::None => Tls::None,
        };
        let mut builder = SmtpTransport::builder_dangerous(url.host.clone())
            .port(url.port)
            .tls(tls)
            .timeout(Some(options.timeout))
            .pool_config(PoolConfig::new().max_size(4).idle_timeout(Duration::from_secs(60)));
        if let Some(user) = &url.user {
            let password = options.password.clone().ok_or(
                "the SMTP URL names a user: give the password in CARDFILE_SMTP_PASSWORD or --smtp-password-file",
            )?;
            builder = builder
                .credentials(Credentials::new(user.clone(), password))
                .authentication(vec![Mechanism::Plain, Mechanism::Login]);
        }
        Ok(Smtp { transport: builder.build(), from, domain, url: url.clone() })
    }

    /// The e-mail of a message, or why it cannot be one (a permanent failure).
    fn email(&self, m: &Message) -> Result<lettre::Message, String> {
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
        lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(m.subject.clone())
            // Stable per message: a resend after a crash is recognisably the same mail.
            .message_id(Some(format!("<{}@{}>", m.id, self.domain)))
            .multipart(body)
            .map_err(|e| format!("cannot build the e-mail: {e}"))
    }
}

impl Transport for Smtp {
    fn channel(&self) -> Channel {
        Channel::Email
    }

    fn send(&mut self, m: &Message) -> Outcome {
        let email = match self.email(m) {
            Ok(e) => e,
            Err(why) => return Outcome::Permanent(why),
        };
        match self.transport.send(&email) {
            Ok(_) => Outcome::Delivered,
            Err(e) => classify(&e),
        }
    }

    fn check(&mut self) -> Result<(), String> {
        match self.transport.test_connection() {
            Ok(true) => Ok(()),
            Ok(false) => Err("the server did not answer".into()),
            Err(e) => Err(e.to_string()),
        }
    }

    fn describe(&self) -> String {
        self.url.to_string()
    }
}

/// What an SMTP error means for the message: the server's verdict on it, or a transport that
/// cannot be used right now.
fn classify(e: &lettre::transport::smtp::Error) -> Outcome {
    let code = e.status().map(|c| c.to_string().parse::<u16>().unwrap_or(0));
    let why = e.to_string();
    match code {
        // Authentication required, too weak, refused; TLS or AUTH temporarily unavailable;
        // the service closing: the transport, not this message.
        Some(530 | 534 | 535 | 538 | 454 | 432 | 421) => Outcome::Paused(why),
        Some(c) if e.is_permanent() || (500..600).contains(&c) => Outcome::Permanent(why),
        Some(_) => Outcome::Temporary(why),
        // No reply at all: connection, TLS, timeout, or a protocol error.
        None if e.is_response() => Outcome::Temporary(why),
        None => Outcome::Paused(why),
    }
}
