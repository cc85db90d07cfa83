//! Format rules for the values users type: emails, phones, logins, slugs, dates.
//! Each check returns a short reason on failure, which callers attach to the field at fault.

use chrono::NaiveDate;

/// Checks an email address: one `@`, a non-empty local part, a domain with a dot, no spaces,
/// at most 255 bytes (64 for the local part), as SMTP counts them.
///
/// # Errors
/// A short reason when the address is malformed.
pub fn email(s: &str) -> Result<(), &'static str> {
    const REASON: &str = "not a valid email address";
    if s.len() > 255 {
        return Err("longer than 255 characters");
    }
    let (local, domain) = s.split_once('@').ok_or(REASON)?;
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local.chars().all(|c| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c));
    let domain_ok = domain.contains('.')
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        });
    if local_ok && domain_ok {
        Ok(())
    } else {
        Err(REASON)
    }
}

/// Checks a phone number as people write it: digits with an optional leading `+`, and spaces,
/// dashes, dots, parentheses or an `ext`/`x` extension between them; 3 to 20 digits.
///
/// # Errors
/// A short reason when the number is malformed.
pub fn phone(s: &str) -> Result<(), &'static str> {
    const REASON: &str = "not a valid phone number";
    let main = s.split_once(" ext").or_else(|| s.split_once(" x")).map_or(s, |(m, ext)| {
        if ext.trim_start_matches('.').trim().chars().all(|c| c.is_ascii_digit()) {
            m
        } else {
            s
        }
    });
    let body = main.strip_prefix('+').unwrap_or(main);
    if !body.chars().all(|c| c.is_ascii_digit() || " -.()".contains(c)) {
        return Err(REASON);
    }
    // The extension does not count towards the number's length.
    let digits = main.chars().filter(char::is_ascii_digit).count();
    if (3..=20).contains(&digits) {
        Ok(())
    } else {
        Err(REASON)
    }
}

/// Checks an internal extension: 1 to 10 digits.
///
/// # Errors
/// A short reason when it is not one.
pub fn extension(s: &str) -> Result<(), &'static str> {
    if (1..=10).contains(&s.len()) && s.chars().all(|c| c.is_ascii_digit()) {
        Ok(())
    } else {
        Err("an internal extension is 1 to 10 digits")
    }
}

/// Checks a gender: `M` or `F` (empty is handled by the caller).
///
/// # Errors
/// A short reason otherwise.
pub fn gender(s: &str) -> Result<(), &'static str> {
    if s == "M" || s == "F" {
        Ok(())
    } else {
        Err("expected M or F")
    }
}

/// Checks the shape of an IANA time-zone name (`UTC`, `Europe/Berlin`, `America/Argentina/Salta`).
///
/// # Errors
/// A short reason otherwise.
pub fn time_zone(s: &str) -> Result<(), &'static str> {
    let part_ok =
        |p: &str| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || "_-+".contains(c));
    if s.len() <= 64 && s.split('/').all(part_ok) && (s.contains('/') || s == "UTC" || s == "GMT") {
        Ok(())
    } else {
        Err("not a time-zone name such as Europe/Berlin")
    }
}

/// Checks an account slug: 1 to 63 of lower-case letters, digits and `-`, not starting or
/// ending with `-`.
///
/// # Errors
/// A short reason otherwise.
pub fn slug(s: &str) -> Result<(), &'static str> {
    let ok = (1..=63).contains(&s.len())
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err("lower-case letters, digits and '-', 1 to 63 characters")
    }
}

/// Parses a date as clients send it: `YYYY-MM-DD`, an ISO-8601 date-time (its date part), or
/// the portal format `DD.MM.YYYY`.
pub fn date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    let head = s.get(..10).unwrap_or(s);
    NaiveDate::parse_from_str(head, "%Y-%m-%d")
        .ok()
        .filter(|_| s.len() == 10 || s.as_bytes().get(10).is_some_and(|b| *b == b'T' || *b == b' '))
        .or_else(|| NaiveDate::parse_from_str(s, "%d.%m.%Y").ok())
}

/// Whether a string is one of the boolean words clients send (`Y`/`N`, `1`/`0`,
/// `true`/`false` in any case).
pub fn is_boolean_word(s: &str) -> bool {
    let s = s.trim();
    ["y", "n", "1", "0", "true", "false"].iter().any(|w| s.eq_ignore_ascii_case(w))
}

/// A network login: an email address or a phone number (normalised to `+` and digits).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Login {
    /// An email login, lower-cased.
    Email(String),
    /// A phone login: `+` followed by its digits.
    Phone(String),
}

impl Login {
    /// Parses a login: anything with an `@` must be an email, anything else a phone number.
    ///
    /// # Errors
    /// A short reason when it is neither.
    pub fn parse(s: &str) -> Result<Login, &'static str> {
        let s = s.trim();
        if s.contains('@') {
            email(s)?;
            Ok(Login::Email(s.to_lowercase()))
        } else {
            phone(s).map_err(|_| "a login is an email address or a phone number")?;
            let digits: String = s.chars().filter(char::is_ascii_digit).collect();
            if digits.len() < 7 {
                return Err("a phone login needs at least 7 digits");
            }
            Ok(Login::Phone(format!("+{digits}")))
        }
    }

    /// The login as stored and compared.
    pub fn as_str(&self) -> &str {
        match self {
            Login::Email(s) | Login::Phone(s) => s,
        }
    }

    /// Whether it is a phone number.
    pub fn is_phone(&self) -> bool {
        matches!(self, Login::Phone(_))
    }

    /// Rebuilds a login from [`Login::as_str`] (a stored value).
    pub fn from_stored(s: &str) -> Option<Login> {
        if s.contains('@') {
            Some(Login::Email(s.to_string()))
        } else {
            s.strip_prefix('+').filter(|d| !d.is_empty()).map(|_| Login::Phone(s.to_string()))
        }
    }
}

impl std::fmt::Display for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        for ok in ["a@b.co", "ann.lee+tag@mail.example.com", "o'neil@x.ie", "δοκιμή@παράδειγμα.δοκιμή"]
        {
            assert_eq!(email(ok), Ok(()), "{ok}");
        }
        let long_local = format!("{}@x.io", "a".repeat(65));
        let long_total = format!("a@{}.io", "b".repeat(260));
        for bad in [
            "",
            "a",
            "@b.co",
            "a@",
            "a@b",
            "a b@c.de",
            "a@@b.co",
            ".a@b.co",
            "a..b@c.de",
            "a@-b.co",
            "a@b..co",
            long_local.as_str(),
            long_total.as_str(),
        ] {
            assert!(email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn phones() {
        for ok in ["+1 555 123 4567", "(030) 12-34.56", "+7 495 123 45 67 ext 12", "555 1234 x9"] {
            assert_eq!(phone(ok), Ok(()), "{ok}");
        }
        for bad in ["", "12", "phone", "+1 555 abc", "++15551234", "1".repeat(21).as_str()] {
            assert!(phone(bad).is_err(), "{bad}");
        }
        assert!(extension("123").is_ok());
        assert!(extension("12 3").is_err());
        assert!(extension("").is_err());
    }

    #[test]
    fn logins() {
        assert_eq!(Login::parse(" Ann@Example.com "), Ok(Login::Email("ann@example.com".into())));
        assert_eq!(Login::parse("+49 (30) 1234-567"), Ok(Login::Phone("+49301234567".into())));
        assert!(Login::parse("12345").is_err());
        assert!(Login::parse("ann@").is_err());
        assert!(Login::parse("ann").is_err());
    }

    #[test]
    fn slugs_zones_dates() {
        assert!(slug("acme-2").is_ok());
        for bad in ["", "Acme", "-acme", "acme-", "ac me", "ä"] {
            assert!(slug(bad).is_err(), "{bad}");
        }
        assert!(time_zone("America/Argentina/Salta").is_ok());
        assert!(time_zone("UTC").is_ok());
        assert!(time_zone("Europe/").is_err());
        assert_eq!(date("2024-02-29"), NaiveDate::from_ymd_opt(2024, 2, 29));
        assert_eq!(date("2023-02-29"), None);
        assert_eq!(date("2024-02-29junk"), None);
        assert_eq!(date("01.03.2024"), NaiveDate::from_ymd_opt(2024, 3, 1));
    }
}
