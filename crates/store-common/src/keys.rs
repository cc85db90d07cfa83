//! How both stores key and code a user row, so that `cardfile migrate` copies rows as they are.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use profile_core::field::UserField;
use profile_core::ids::UserId;
use profile_core::model::user::Role;

/// The key of a user: its account's number in the high 32 bits, its ID in the low ones. An
/// account's users are one contiguous key range, and paging by `>ID` is a range scan.
pub fn uid(no: i64, id: UserId) -> i64 {
    (no << 32) | i64::from(id.0)
}

/// The user ID inside a key.
pub fn id_of(uid: i64) -> UserId {
    UserId((uid & 0xFFFF_FFFF) as u32)
}

/// The first and last key an account's users can have.
pub fn bounds(no: i64) -> (i64, i64) {
    (no << 32, (no << 32) | 0xFFFF_FFFF)
}

/// A role as stored.
pub fn role_code(role: Role) -> i64 {
    match role {
        Role::Administrator => 0,
        Role::Employee => 1,
        Role::Integrator => 2,
        Role::Extranet => 3,
        Role::CollabGuest => 4,
    }
}

/// The role stored as `code`; `None` for a code no role has (never silently some role).
pub fn role_of(code: i64) -> Option<Role> {
    Role::ALL.into_iter().find(|&r| role_code(r) == code)
}

/// The column a text field is kept in.
pub fn column(field: UserField) -> String {
    field.code().to_ascii_lowercase()
}

/// A `YYYY-MM-DD` day as both stores keep absences' days, read without parsing a format
/// string at every call (a chart reads thousands).
pub fn parse_day(text: &str) -> Option<NaiveDate> {
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num =
        |s: &[u8]| s.iter().try_fold(0u32, |n, c| c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0')));
    NaiveDate::from_ymd_opt(i32::try_from(num(&b[..4])?).ok()?, num(&b[5..7])?, num(&b[8..])?)
}

/// A date as stored: days from the common era.
pub fn days(d: Option<NaiveDate>) -> Option<i64> {
    d.map(|d| i64::from(d.num_days_from_ce()))
}

/// A stored date.
pub fn date(days: Option<i64>) -> Option<NaiveDate> {
    days.and_then(|d| i32::try_from(d).ok()).and_then(NaiveDate::from_num_days_from_ce_opt)
}

/// A stored time (Unix seconds).
pub fn time(secs: Option<i64>) -> Option<DateTime<Utc>> {
    secs.and_then(|s| DateTime::from_timestamp(s, 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_read_as_chrono_reads_them() {
        for text in ["2026-12-04", "2024-02-29", "0001-01-01", "9999-12-31"] {
            assert_eq!(parse_day(text), NaiveDate::parse_from_str(text, "%Y-%m-%d").ok(), "{text}");
        }
        for bad in ["2026-13-01", "2025-02-29", "2026-1-01", "2026/12/04", "2026-12-0x", ""] {
            assert_eq!(parse_day(bad), None, "{bad}");
        }
    }

    #[test]
    fn keys_and_codes_read_back() {
        let k = uid(7, UserId(42));
        assert_eq!((id_of(k), bounds(7).0 <= k && k <= bounds(7).1), (UserId(42), true));
        assert!(Role::ALL.into_iter().all(|r| role_of(role_code(r)) == Some(r)));
        assert_eq!(role_of(9), None);
        let d = NaiveDate::from_ymd_opt(1990, 5, 4);
        assert_eq!(date(days(d)), d);
    }
}
