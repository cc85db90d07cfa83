//! Delivery in the CLI: the `--smtp-*`/`--sms-*` options of `serve` (and of `outbox test`),
//! the workers `serve` runs, and the test message.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use delivery::settings::{parse_duration, SmtpUrl};
use delivery::sms::{SmsGateway, SmsOptions};
use delivery::smtp::{Smtp, SmtpOptions};
use delivery::worker::{Worker, WorkerOptions};
use delivery::Transport;
use profile_core::model::message::{Channel, Delivery, Message, MessageKind};
use profile_core::ports::Database;
use profile_core::usecase::identities::parse_login;
use profile_core::usecase::queue::{Outcome, RetryPolicy};

/// How messages leave: an SMTP server for e-mail, an HTTP gateway for SMS. A channel without
/// a transport keeps its messages in the outbox for `cardfile outbox`.
#[derive(Args, Debug, Clone)]
pub(crate) struct DeliveryArgs {
    /// The SMTP server: `smtp://[user@]host[:port]` (STARTTLS when offered; always with a
    /// user), `?tls=required` (STARTTLS or fail), `?tls=none` (plain, even with a user), or
    /// `smtps://[user@]host[:port]` (implicit TLS). The password: CARDFILE_SMTP_PASSWORD or
    /// --smtp-password-file.
    #[arg(long, env = "CARDFILE_SMTP_URL", value_parser = SmtpUrl::parse)]
    pub smtp_url: Option<SmtpUrl>,
    /// A file holding the SMTP password (its first line).
    #[arg(long, env = "CARDFILE_SMTP_PASSWORD_FILE")]
    pub smtp_password_file: Option<PathBuf>,
    /// The sender of every e-mail, `"Name <address>"` (required with --smtp-url).
    #[arg(long, env = "CARDFILE_MAIL_FROM")]
    pub mail_from: Option<String>,
    /// A PEM CA certificate to trust for the SMTP server (a private CA).
    #[arg(long, env = "CARDFILE_SMTP_CA")]
    pub smtp_ca: Option<PathBuf>,
    /// The SMS gateway: each SMS is `POST URL` with JSON {"to", "text", "id"}
    /// (docs/delivery.md).
    #[arg(long, env = "CARDFILE_SMS_URL")]
    pub sms_url: Option<String>,
    /// A file holding the gateway's bearer token (else CARDFILE_SMS_TOKEN).
    #[arg(long, env = "CARDFILE_SMS_TOKEN_FILE")]
    pub sms_token_file: Option<PathBuf>,
    /// The wait after a message's first temporary failure; it doubles with each one.
    #[arg(long, env = "CARDFILE_RETRY_FIRST", default_value = "30s", value_parser = parse_duration)]
    pub retry_first: Duration,
    /// The longest wait between attempts.
    #[arg(long, env = "CARDFILE_RETRY_MAX", default_value = "1h", value_parser = parse_duration)]
    pub retry_max: Duration,
    /// A message still failing this long after it was queued is failed.
    #[arg(long, env = "CARDFILE_GIVE_UP_AFTER", default_value = "48h", value_parser = parse_duration)]
    pub give_up_after: Duration,
    /// How long a worker holds the messages it claimed; another `serve` takes them over after
    /// it (a worker that died).
    #[arg(long, env = "CARDFILE_DELIVERY_LEASE", default_value = "2m", value_parser = parse_duration)]
    pub delivery_lease: Duration,
}

/// `cardfile outbox test ADDRESS`.
#[derive(Args, Debug, Clone)]
pub(crate) struct TestArgs {
    /// An email address or a phone number.
    pub address: String,
    #[command(flatten)]
    pub delivery: DeliveryArgs,
}

const TIMEOUT: Duration = Duration::from_secs(30);

fn secret_from(file: Option<&PathBuf>, var: &str) -> Result<Option<String>, String> {
    match file {
        Some(f) => crate::read_password(f).map(Some),
        None => Ok(std::env::var(var).ok().filter(|v| !v.is_empty())),
    }
}

impl DeliveryArgs {
    /// The configured transports (none, one or both).
    fn transports(&self) -> Result<Vec<Box<dyn Transport>>, String> {
        let mut out: Vec<Box<dyn Transport>> = Vec::new();
        if let Some(url) = &self.smtp_url {
            let from = self.mail_from.clone().ok_or("--smtp-url needs --mail-from \"Name <address>\"")?;
            let ca_pem = match &self.smtp_ca {
                Some(f) => Some(std::fs::read(f).map_err(|e| format!("cannot read {}: {e}", f.display()))?),
                None => None,
            };
            let password = secret_from(self.smtp_password_file.as_ref(), "CARDFILE_SMTP_PASSWORD")?;
            out.push(Box::new(Smtp::new(&SmtpOptions {
                url: url.clone(),
                password,
                from,
                ca_pem,
                timeout: TIMEOUT,
            })?));
        }
        if let Some(url) = &self.sms_url {
            let token = secret_from(self.sms_token_file.as_ref(), "CARDFILE_SMS_TOKEN")?;
            out.push(Box::new(SmsGateway::new(SmsOptions { url: url.clone(), token, timeout: TIMEOUT })?));
        }
        Ok(out)
    }

    fn policy(&self) -> Result<RetryPolicy, String> {
        let d = |v: Duration| chrono::Duration::from_std(v).map_err(|_| "a duration is too long".to_string());
        Ok(RetryPolicy {
            first_retry: d(self.retry_first)?,
            max_retry: d(self.retry_max)?,
            give_up_after: d(self.give_up_after)?,
            lease: d(self.delivery_lease)?,
        })
    }
}

/// Starts a worker for each configured transport (each checks its connection first, on its own
/// thread, and only warns when it fails: `serve` never waits for, or refuses over, a transport).
pub(crate) fn start(
    db: &Arc<crate::store::Store>,
    base_url: &str,
    args: &DeliveryArgs,
) -> Result<Vec<Worker>, String> {
    let options = WorkerOptions { policy: args.policy()?, ..WorkerOptions::default() };
    let mut workers = Vec::new();
    for transport in args.transports()? {
        let db: Arc<dyn Database + Send + Sync> = Arc::clone(db) as Arc<dyn Database + Send + Sync>;
        workers.push(Worker::spawn(db, base_url.to_string(), transport, options)?);
    }
    if workers.is_empty() {
        tracing::info!("no delivery transport configured: messages stay in the outbox (`cardfile outbox`)");
    }
    Ok(workers)
}

/// Sends one test message through the transport of ADDRESS's channel.
pub(crate) fn send_test(args: &TestArgs, json: bool) -> Result<(), String> {
    let to = parse_login("ADDRESS", &args.address).map_err(|e| e.to_string())?;
    let channel = if to.is_phone() { Channel::Sms } else { Channel::Email };
    let mut transport =
        args.delivery.transports()?.into_iter().find(|t| t.channel() == channel).ok_or_else(|| {
            format!(
                "no {} transport is configured (--{}-url)",
                channel.code(),
                if channel == Channel::Sms { "sms" } else { "smtp" }
            )
        })?;
    let now = profile_core::ports::Clock::now(&profile_core::ports::SystemClock);
    let text = "This is a test message from Cardfile: the transport works.";
    let message = Message {
        id: uuid::Uuid::now_v7(),
        account: None,
        kind: MessageKind::Test,
        channel,
        recipient: to.as_str().to_string(),
        subject: if channel == Channel::Sms { String::new() } else { "Cardfile test message".into() },
        body: text.into(),
        html: if channel == Channel::Sms { String::new() } else { format!("<p>{text}</p>") },
        created_at: now,
        expires_at: None,
        source: None,
        delivery: Delivery::due_at(now),
    };
    match transport.send(&message) {
        Outcome::Delivered => {
            if json {
                out!(
                    "{}",
                    serde_json::json!({"sent": true, "id": message.id.to_string(), "via": transport.describe()})
                );
            } else {
                out!(
                    "sent a test message to {} via {} (Message-ID {})",
                    to.as_str(),
                    transport.describe(),
                    message.id
                );
            }
            Ok(())
        }
        Outcome::Temporary(e) | Outcome::Permanent(e) | Outcome::Paused(e) => {
            Err(format!("the test message was not sent via {}: {e}", transport.describe()))
        }
        Outcome::Released => Err("the test message was not sent".into()),
    }
}
