//! SMS through an HTTP gateway: each message is one `POST` of
//! `{"to": …, "text": …, "id": …}`, with a bearer token when one is configured. Any 2xx is
//! accepted.

use std::time::Duration;

use profile_core::model::message::{Channel, Message};
use profile_core::usecase::queue::Outcome;

use crate::Transport;

/// How to reach the gateway.
#[derive(Clone)]
pub struct SmsOptions {
    /// The URL each message is posted to.
    pub url: String,
    /// The bearer token.
    pub token: Option<String>,
    /// How long one request may take.
    pub timeout: Duration,
}

impl std::fmt::Debug for SmsOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmsOptions")
            .field("url", &self.url)
            .field("token", &self.token.as_ref().map(|_| "…"))
            .finish()
    }
}

/// The SMS gateway transport.
pub struct SmsGateway {
    agent: ureq::Agent,
    options: SmsOptions,
}

impl SmsGateway {
    /// Builds the client.
    ///
    /// # Errors
    /// A URL that is not `http://` or `https://`, or a token with a line break.
    pub fn new(options: SmsOptions) -> Result<SmsGateway, String> {
        if !(options.url.starts_with("http://") || options.url.starts_with("https://")) {
            return Err(format!("--sms-url {:?} must start with http:// or https://", options.url));
        }
        if options.token.as_deref().is_some_and(crate::breaks_header) {
            return Err("the SMS token must be one line".into());
        }
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(options.timeout))
            .http_status_as_error(false)
            .build();
        Ok(SmsGateway { agent: config.into(), options })
    }

    fn post(&self, body: &str) -> Result<u16, ureq::Error> {
        let mut request = self.agent.post(&self.options.url).header("Content-Type", "application/json");
        if let Some(token) = &self.options.token {
            request = request.header("Authorization", &format!("Bearer {token}"));
        }
        let response = request.send(body)?;
        Ok(response.status().as_u16())
    }
}

impl Transport for SmsGateway {
    fn channel(&self) -> Channel {
        Channel::Sms
    }

    fn send(&mut self, m: &Message) -> Outcome {
        let body = serde_json::json!({"to": m.recipient, "text": m.body, "id": m.id.to_string()}).to_string();
        match self.post(&body) {
            Ok(200..=299) => Outcome::Delivered,
            // The gateway refuses us, not the message: wrong token, or slow down.
            Ok(status @ (401 | 403 | 429)) => Outcome::Paused(format!("the SMS gateway answered {status}")),
            Ok(status @ 400..=499) => {
                Outcome::Permanent(format!("the SMS gateway refused the message: {status}"))
            }
            Ok(status) => Outcome::Temporary(format!("the SMS gateway answered {status}")),
            Err(e) => Outcome::Paused(format!("cannot reach the SMS gateway: {e}")),
        }
    }

    fn check(&mut self) -> Result<(), String> {
        // A gateway has no side-effect-free request in common: check that it answers at all.
        match self.agent.head(&self.options.url).call() {
            Ok(_) => Ok(()),
            Err(e) => Err(format!("cannot reach the SMS gateway: {e}")),
        }
    }

    fn describe(&self) -> String {
        self.options.url.split('?').next().unwrap_or_default().to_string()
    }
}
