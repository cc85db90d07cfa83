//! Absences (seed 000: "updates automatically from the absence schedule"): a person's
//! vacations, business trips, sick leave and the like, as inclusive date ranges. The card
//! derives "away until" from them; colleagues see that a person is away and until when, while
//! the kind and the note are seen only by the person, their supervisors, administrators and HR
//! (sick leave is health data).

use chrono::NaiveDate;

use crate::error::CoreError;
use crate::ids::{AccountId, UserId};

/// The longest note an absence may carry, in characters.
pub const ABSENCE_NOTE_MAX: usize = 500;

/// The longest absence, in days (inclusive): longer ranges are typing mistakes.
pub const ABSENCE_DAYS_MAX: i64 = 3 * 366;

/// The most absences one listing may find (narrow the period or the people past it).
pub const ABSENCES_LISTED_MAX: usize = 20_000;

/// The longest period a listing may span, in days.
pub const ABSENCE_PERIOD_MAX_DAYS: i64 = 366;

/// What kind of absence it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AbsenceKind {
    /// Holiday.
    Vacation,
    /// Travelling for work.
    BusinessTrip,
    /// Ill (health data: seen by few).
    SickLeave,
    /// Maternity, paternity or parental leave.
    ParentalLeave,
    /// Anything else.
    Other,
}

impl AbsenceKind {
    /// Every kind.
    pub const ALL: [AbsenceKind; 5] = [
        AbsenceKind::Vacation,
        AbsenceKind::BusinessTrip,
        AbsenceKind::SickLeave,
        AbsenceKind::ParentalLeave,
        AbsenceKind::Other,
    ];

    /// The wire code.
    pub fn code(self) -> &'static str {
        match self {
            AbsenceKind::Vacation => "vacation",
            AbsenceKind::BusinessTrip => "business_trip",
            AbsenceKind::SickLeave => "sick_leave",
            AbsenceKind::ParentalLeave => "parental_leave",
            AbsenceKind::Other => "other",
        }
    }

    /// Parses [`AbsenceKind::code`] (any case).
    pub fn from_code(code: &str) -> Option<AbsenceKind> {
        let code = code.trim().to_ascii_lowercase();
        AbsenceKind::ALL.into_iter().find(|k| k.code() == code)
    }
}

/// One absence of one person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Absence {
    /// The account.
    pub account: AccountId,
    /// Numbered per account.
    pub id: u32,
    /// Who is away.
    pub user: UserId,
    /// What kind of absence.
    pub kind: AbsenceKind,
    /// The first day away.
    pub from: NaiveDate,
    /// The last day away (inclusive).
    pub to: NaiveDate,
    /// A note (may be empty).
    pub note: String,
    /// Who recorded it.
    pub recorded_by: UserId,
}

impl Absence {
    /// Whether it covers any day of `from..=to`.
    pub fn overlaps(&self, from: NaiveDate, to: NaiveDate) -> bool {
        self.from <= to && self.to >= from
    }

    /// Checks the range and the note.
    ///
    /// # Errors
    /// [`CoreError::Validation`] on `DATE_TO` when it is before `DATE_FROM` or the absence is
    /// longer than [`ABSENCE_DAYS_MAX`], on `NOTE` when it is too long.
    pub fn check(&self) -> Result<(), CoreError> {
        use chrono::Datelike;
        for (field, day) in [("DATE_FROM", self.from), ("DATE_TO", self.to)] {
            if !(1..=9999).contains(&day.year()) {
                return Err(CoreError::invalid(field, "a year from 1 to 9999"));
            }
        }
        if self.to < self.from {
            return Err(CoreError::invalid("DATE_TO", "is before DATE_FROM"));
        }
        if (self.to - self.from).num_days() >= ABSENCE_DAYS_MAX {
            return Err(CoreError::invalid(
                "DATE_TO",
                format!("an absence lasts at most {ABSENCE_DAYS_MAX} days"),
            ));
        }
        if self.note.chars().count() > ABSENCE_NOTE_MAX {
            return Err(CoreError::invalid("NOTE", format!("longer than {ABSENCE_NOTE_MAX} characters")));
        }
        if self.note.chars().any(|c| c.is_control() && c != '\n') {
            return Err(CoreError::invalid("NOTE", "holds control characters"));
        }
        Ok(())
    }
}

/// The last day of the absence that covers `day`, followed through absences that begin on or
/// before the day after one ends: what the card shows as "away until". `None` when no absence
/// covers `day`. `absences` may come in any order.
pub fn away_until(absences: &[Absence], day: NaiveDate) -> Option<NaiveDate> {
    let mut until = absences.iter().filter(|a| a.from <= day && a.to >= day).map(|a| a.to).max()?;
    // Bounded: every round moves `until` to a later absence's end, or stops.
    for _ in 0..absences.len() {
        let next = until.succ_opt()?;
        match absences.iter().filter(|a| a.from <= next && a.to > until).map(|a| a.to).max() {
            Some(later) => until = later,
            None => break,
        }
    }
    Some(until)
}

/// Which absences a store lists: those of `users` (or of the whole account) that overlap
/// `from..=to`, ordered by first day, then ID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AbsenceQuery {
    /// Whose (`None`: everyone's in the account).
    pub users: Option<Vec<UserId>>,
    /// The first day of the period.
    pub from: NaiveDate,
    /// The last day of the period (inclusive).
    pub to: NaiveDate,
}

impl AbsenceQuery {
    /// Whether the absence is one the query finds.
    pub fn matches(&self, a: &Absence) -> bool {
        a.overlaps(self.from, self.to) && self.users.as_ref().is_none_or(|u| u.contains(&a.user))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn absence(id: u32, from: &str, to: &str) -> Absence {
        Absence {
            account: AccountId(uuid::Uuid::nil()),
            id,
            user: UserId(1),
            kind: AbsenceKind::Vacation,
            from: day(from),
            to: day(to),
            note: String::new(),
            recorded_by: UserId(1),
        }
    }

    #[test]
    fn away_until_follows_adjoining_absences() {
        let a = [
            absence(1, "2026-12-01", "2026-12-04"),
            absence(2, "2026-12-05", "2026-12-08"),
            absence(3, "2026-12-20", "2026-12-22"),
        ];
        assert_eq!(away_until(&a, day("2026-12-02")), Some(day("2026-12-08")));
        assert_eq!(away_until(&a, day("2026-12-08")), Some(day("2026-12-08")));
        assert_eq!(away_until(&a, day("2026-12-09")), None);
        assert_eq!(away_until(&a, day("2026-12-21")), Some(day("2026-12-22")));
    }

    #[test]
    fn kinds_round_trip_and_ranges_are_checked() {
        for k in AbsenceKind::ALL {
            assert_eq!(AbsenceKind::from_code(&k.code().to_uppercase()), Some(k));
        }
        assert!(absence(1, "2026-12-05", "2026-12-04").check().is_err());
        assert!(absence(1, "2026-12-05", "2026-12-05").check().is_ok());
        assert!(absence(1, "2020-01-01", "2026-12-05").check().is_err());
    }
}
