//! The card's form layout (decisions.md "Profile content"): which fields a card shows and in
//! which order. An administrator sets the account's default; a person may switch on "my form
//! layout", which applies to every card *they* view, and go back to the default. Layout is
//! presentation: a field left out stays readable through REST.

use crate::error::CoreError;
use crate::field::UserField;

/// The card's sections that are not user fields, which a layout may place too.
pub const SECTIONS: [&str; 3] = ["ABOUT", "ABSENCES", "APPRECIATIONS"];

/// The most entries a layout may have.
pub const LAYOUT_MAX: usize = 150;

/// The layout of an account that has not set one.
pub const DEFAULT_LAYOUT: [&str; 14] = [
    "WORK_POSITION",
    "UF_DEPARTMENT",
    "EMAIL",
    "WORK_PHONE",
    "PERSONAL_MOBILE",
    "UF_PHONE_INNER",
    "PERSONAL_BIRTHDAY",
    "UF_EMPLOYMENT_DATE",
    "WORK_CITY",
    "UF_SKYPE",
    "UF_INTERESTS",
    "ABOUT",
    "ABSENCES",
    "APPRECIATIONS",
];

/// A layout as someone sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// The entries, in order: user field codes, custom field names (`UF_USR_*`) and
    /// [`SECTIONS`].
    pub fields: Vec<String>,
    /// Whether it is the viewer's own ("my form layout") rather than the account's default.
    pub own: bool,
}

/// Checks a layout's entries: upper-cased; each a user field, one of `custom` (the account's
/// custom field names) or a section; no repeats; at most [`LAYOUT_MAX`].
///
/// # Errors
/// [`CoreError::Validation`] on `FIELDS`.
pub fn check_layout(fields: &[String], custom: &[String]) -> Result<Vec<String>, CoreError> {
    if fields.len() > LAYOUT_MAX {
        return Err(CoreError::invalid("FIELDS", format!("at most {LAYOUT_MAX} entries")));
    }
    let mut out: Vec<String> = Vec::with_capacity(fields.len());
    for f in fields {
        let name = f.trim().to_ascii_uppercase();
        let known = UserField::from_code(&name).is_some()
            || SECTIONS.contains(&name.as_str())
            || custom.contains(&name);
        if !known {
            return Err(CoreError::invalid("FIELDS", format!("{name} is not a field of the card")));
        }
        if out.contains(&name) {
            return Err(CoreError::invalid("FIELDS", format!("{name} is listed twice")));
        }
        out.push(name);
    }
    Ok(out)
}
