//! What an operator configures: the SMTP URL and the SMS gateway, parsed and checked before
//! anything connects.

use std::time::Duration;

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// `smtps://`: TLS from the first byte.
    Implicit,
    /// `smtp://…?tls=required`, or `smtp://` with a user: STARTTLS, or fail.
    StartTlsRequired,
    /// `smtp://` without a user: STARTTLS when the server offers it.
    StartTlsOpportunistic,
    /// `smtp://…?tls=none`: plain text, credentials included (a trusted local relay only).
    None,
}

/// A parsed `--smtp-url`.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpUrl {
    /// The server's host name or address.
    pub host: String,
    /// Its port (default 465 for `smtps`, 587 with a user, else 25).
    pub port: u16,
    /// The user to authenticate as.
    pub user: Option<String>,
    /// How the connection is secured.
    pub security: SmtpSecurity,
}

impl std::fmt::Debug for SmtpUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self}")
    }
}

impl std::fmt::Display for SmtpUrl {
    /// The URL as given, never with a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = if self.security == SmtpSecurity::Implicit { "smtps" } else { "smtp" };
        let user = self.user.as_ref().map(|u| format!("{u}@")).unwrap_or_default();
        let query = match self.security {
            SmtpSecurity::StartTlsRequired if self.user.is_none() => "?tls=required",
            SmtpSecurity::None => "?tls=none",
            _ => "",
        };
        write!(f, "{scheme}://{user}{}:{}{query}", self.host, self.port)
    }
}

impl SmtpUrl {
    /// Parses `smtp://[user@]host[:port][?tls=required|none]` or `smtps://[user@]host[:port]`.
    /// A password in the URL is refused: it would show in `ps` and in logs.
    ///
    /// # Errors
    /// A message naming what is wrong.
    pub fn parse(url: &str) -> Result<SmtpUrl, String> {
        let url = url.trim();
        let (implicit, rest) = if let Some(r) = url.strip_prefix("smtps://") {
            (true, r)
        } else if let Some(r) = url.strip_prefix("smtp://") {
            (false, r)
        } else {
            return Err(format!("{url:?}: an SMTP URL starts with smtp:// or smtps://"));
        };
        let (authority, query) = rest.split_once('?').unwrap_or((rest, ""));
        let authority = authority.trim_end_matches('/');
        let (user, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        if let Some(u) = user {
            if u.contains(':') {
                return Err(
                    "put the SMTP password in CARDFILE_SMTP_PASSWORD or --smtp-password-file, not in the URL"
                        .into(),
                );
            }
            if u.is_empty() {
                return Err("the SMTP URL has an empty user".into());
            }
        }
        let user = user.map(percent_decode).transpose()?;
        let (host, port) = split_port(hostport)?;
        if host.is_empty() {
            return Err("the SMTP URL has no host".into());
        }
        let mut tls = None;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("tls", v @ ("required" | "none"))) => tls = Some(v),
                _ => return Err(format!("unknown SMTP URL option {pair:?} (known: tls=required, tls=none)")),
            }
        }
        let security = match (implicit, tls) {
            (true, None) => SmtpSecurity::Implicit,
            (true, Some(_)) => return Err("smtps:// is always TLS: drop the tls= option".into()),
            (false, Some("none")) => SmtpSecurity::None,
            (false, Some(_)) => SmtpSecurity::StartTlsRequired,
            // Credentials are never sent in the clear unless asked for with tls=none.
            (false, None) if user.is_some() => SmtpSecurity::StartTlsRequired,
            (false, None) => SmtpSecurity::StartTlsOpportunistic,
        };
        let port = port.unwrap_or(match (implicit, &user) {
            (true, _) => 465,
            (false, Some(_)) => 587,
            (false, None) => 25,
        });
        Ok(SmtpUrl { host: host.to_string(), port, user, security })
    }
}

fn split_port(hostport: &str) -> Result<(&str, Option<u16>), String> {
    let bad = |p: &str| format!("{p:?} is not a port number");
    if let Some(rest) = hostport.strip_prefix('[') {
        // An IPv6 literal.
        let (host, after) = rest.split_once(']').ok_or("an IPv6 host needs its closing ]")?;
        return match after.strip_prefix(':') {
            Some(p) => Ok((host, Some(p.parse().map_err(|_| bad(p))?))),
            None if after.is_empty() => Ok((host, None)),
            None => Err(format!("unexpected {after:?} after the host")),
        };
    }
    match hostport.rsplit_once(':') {
        Some((h, p)) => Ok((h, Some(p.parse().map_err(|_| bad(p))?))),
        None => Ok((hostport, None)),
    }
}

fn percent_decode(s: &str) -> Result<String, String> {
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hex: Vec<u8> = bytes.by_ref().take(2).collect();
            let text = std::str::from_utf8(&hex).map_err(|_| "a bad %-escape in the SMTP user")?;
            out.push(u8::from_str_radix(text, 16).map_err(|_| "a bad %-escape in the SMTP user")?);
        } else {
            out.push(b);
        }
    }
    String::from_utf8(out).map_err(|_| "the SMTP user is not UTF-8".into())
}

/// Parses a duration: a number with `ms`, `s`, `m`, `h` or `d` (`30s`, `1h`, `48h`).
///
/// # Errors
/// A message naming the value.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: u64 = n.parse().map_err(|_| format!("{s:?}: expected a number and a unit, e.g. 30s, 5m, 1h"))?;
    let secs = match unit {
        "ms" => return Ok(Duration::from_millis(n)),
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => return Err(format!("{s:?}: the unit is one of ms, s, m, h, d")),
    };
    if n == 0 {
        return Err(format!("{s:?}: must be more than nothing"));
    }
    Ok(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(url: &str) -> (String, u16, Option<String>, SmtpSecurity) {
        let u = SmtpUrl::parse(url).unwrap();
        (u.host, u.port, u.user, u.security)
    }

    #[test]
    fn smtp_urls() {
        use SmtpSecurity as S;
        assert_eq!(
            parsed("smtp://mail.example.com"),
            ("mail.example.com".into(), 25, None, S::StartTlsOpportunistic)
        );
        assert_eq!(
            parsed("smtp://127.0.0.1:2525?tls=required"),
            ("127.0.0.1".into(), 2525, None, S::StartTlsRequired)
        );
        assert_eq!(
            parsed("smtp://bot%40x@mail:2525"),
            ("mail".into(), 2525, Some("bot@x".into()), S::StartTlsRequired)
        );
        assert_eq!(parsed("smtp://bot@mail?tls=none"), ("mail".into(), 587, Some("bot".into()), S::None));
        assert_eq!(parsed("smtp://bot@mail").1, 587);
        assert_eq!(parsed("smtps://bot@mail"), ("mail".into(), 465, Some("bot".into()), S::Implicit));
        assert_eq!(parsed("smtp://[::1]:2525").0, "::1");
        for bad in [
            "http://x",
            "smtp://",
            "smtp://u:p@x",
            "smtp://x:port",
            "smtp://x?tls=maybe",
            "smtps://x?tls=none",
            "smtp://@x",
        ] {
            assert!(SmtpUrl::parse(bad).is_err(), "{bad}");
        }
        let shown = SmtpUrl::parse("smtp://bot@mail:2525").unwrap().to_string();
        assert_eq!(shown, "smtp://bot@mail:2525");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("1h").unwrap(), Duration::from_secs(3600));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        for bad in ["", "s", "10", "0s", "5y", "-1s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
