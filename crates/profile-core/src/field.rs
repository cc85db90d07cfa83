//! The catalogue of standard user fields (spec §2.2): one table gives each field its wire code,
//! its kind, the scope tier that may read it (spec §2.1) and its length limit (decisions.md).
//! Projection, filters, sorting, validation and the SQLite columns are all driven by it.

use crate::access::Tier;

/// How a field's value is shaped, validated and stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldKind {
    /// The user's integer ID.
    Id,
    /// `ACTIVE`: employed (true) or dismissed.
    Active,
    /// Free text.
    Text,
    /// An email address.
    Email,
    /// A phone or fax number.
    Phone,
    /// An internal extension: digits only.
    Extension,
    /// `M`, `F` or empty.
    Gender,
    /// An IANA time-zone name such as `Europe/Berlin`, or empty.
    TimeZone,
    /// A file reference (a URL); upload handling lives at the edge.
    File,
    /// A calendar date.
    Date,
    /// A point in time, kept by the system.
    DateTime,
    /// `IS_ONLINE`, derived from `LAST_ACTIVITY_DATE`.
    Online,
    /// `UF_DEPARTMENT`: the departments the user belongs to.
    Departments,
    /// `USER_TYPE`, derived from the role.
    UserType,
    /// A value derived at read time and never stored (`TIME_ZONE_OFFSET`).
    Derived,
}

impl FieldKind {
    /// Whether values of this kind are kept as plain text (one column each in a store).
    pub fn is_text(self) -> bool {
        matches!(
            self,
            FieldKind::Text
                | FieldKind::Email
                | FieldKind::Phone
                | FieldKind::Extension
                | FieldKind::Gender
                | FieldKind::TimeZone
                | FieldKind::File
        )
    }
}

macro_rules! fields {
    ($($variant:ident = $code:literal, $kind:ident, $tier:ident, $max:literal;)*) => {
        /// A standard user field of spec §2.2.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[allow(missing_docs)]
        pub enum UserField {
            $($variant,)*
        }

        impl UserField {
    /// Whether the field's value moves without a change of the user, so that what a query on
    /// it found may be stale at once: `IS_ONLINE` with the clock, `LAST_ACTIVITY_DATE` and
    /// `LAST_LOGIN` with activity and sign-ins, which invalidate no cache (decisions.md).
    pub fn moves_by_itself(self) -> bool {
        matches!(self, UserField::IsOnline | UserField::LastActivityDate | UserField::LastLogin)
    }

            /// Every standard field, in the order `user.fields` lists them (also their `Ord` order,
            /// which `access::project` relies on).
            pub const ALL: &'static [UserField] = &[$(UserField::$variant,)*];

            /// The wire code, e.g. `LAST_NAME`.
            pub fn code(self) -> &'static str {
                match self {
                    $(UserField::$variant => $code,)*
                }
            }

            /// The field's kind.
            pub fn kind(self) -> FieldKind {
                match self {
                    $(UserField::$variant => FieldKind::$kind,)*
                }
            }

            /// The lowest scope tier that may read the field.
            pub fn tier(self) -> Tier {
                match self {
                    $(UserField::$variant => Tier::$tier,)*
                }
            }

            /// The longest value accepted, in characters (text fields only).
            pub fn max_len(self) -> usize {
                match self {
                    $(UserField::$variant => $max,)*
                }
            }
        }
    };
}

fields! {
    Id = "ID", Id, Brief, 255;
    XmlId = "XML_ID", Text, Brief, 255;
    Active = "ACTIVE", Active, Brief, 255;
    Name = "NAME", Text, Brief, 25;
    LastName = "LAST_NAME", Text, Brief, 50;
    SecondName = "SECOND_NAME", Text, Brief, 50;
    Title = "TITLE", Text, Brief, 255;
    Email = "EMAIL", Email, Basic, 255;
    LastLogin = "LAST_LOGIN", DateTime, Full, 255;
    DateRegister = "DATE_REGISTER", DateTime, Brief, 255;
    TimeZone = "TIME_ZONE", TimeZone, Brief, 255;
    TimeZoneOffset = "TIME_ZONE_OFFSET", Derived, Brief, 255;
    IsOnline = "IS_ONLINE", Online, Brief, 255;
    TimestampX = "TIMESTAMP_X", DateTime, Brief, 255;
    LastActivityDate = "LAST_ACTIVITY_DATE", DateTime, Brief, 255;
    PersonalGender = "PERSONAL_GENDER", Gender, Brief, 255;
    PersonalProfession = "PERSONAL_PROFESSION", Text, Brief, 255;
    PersonalWww = "PERSONAL_WWW", Text, Full, 255;
    PersonalIcq = "PERSONAL_ICQ", Text, Full, 255;
    PersonalBirthday = "PERSONAL_BIRTHDAY", Date, Brief, 255;
    PersonalPhoto = "PERSONAL_PHOTO", File, Brief, 255;
    PersonalPhone = "PERSONAL_PHONE", Phone, Basic, 255;
    PersonalFax = "PERSONAL_FAX", Phone, Basic, 255;
    PersonalMobile = "PERSONAL_MOBILE", Phone, Basic, 255;
    PersonalPager = "PERSONAL_PAGER", Phone, Basic, 255;
    PersonalStreet = "PERSONAL_STREET", Text, Basic, 255;
    PersonalCity = "PERSONAL_CITY", Text, Brief, 255;
    PersonalState = "PERSONAL_STATE", Text, Brief, 255;
    PersonalZip = "PERSONAL_ZIP", Text, Basic, 255;
    PersonalCountry = "PERSONAL_COUNTRY", Text, Brief, 255;
    PersonalMailbox = "PERSONAL_MAILBOX", Text, Basic, 255;
    PersonalNotes = "PERSONAL_NOTES", Text, Basic, 255;
    WorkCompany = "WORK_COMPANY", Text, Basic, 255;
    WorkPosition = "WORK_POSITION", Text, Brief, 255;
    WorkDepartment = "WORK_DEPARTMENT", Text, Basic, 255;
    WorkWww = "WORK_WWW", Text, Basic, 255;
    WorkPhone = "WORK_PHONE", Phone, Basic, 255;
    WorkFax = "WORK_FAX", Phone, Basic, 255;
    WorkPager = "WORK_PAGER", Phone, Basic, 255;
    WorkStreet = "WORK_STREET", Text, Basic, 255;
    WorkMailbox = "WORK_MAILBOX", Text, Basic, 255;
    WorkCity = "WORK_CITY", Text, Brief, 255;
    WorkState = "WORK_STATE", Text, Brief, 255;
    WorkZip = "WORK_ZIP", Text, Basic, 255;
    WorkCountry = "WORK_COUNTRY", Text, Brief, 255;
    WorkProfile = "WORK_PROFILE", Text, Basic, 255;
    WorkNotes = "WORK_NOTES", Text, Basic, 255;
    WorkLogo = "WORK_LOGO", File, Basic, 255;
    UfDepartment = "UF_DEPARTMENT", Departments, Brief, 255;
    UfEmploymentDate = "UF_EMPLOYMENT_DATE", Date, Brief, 255;
    UfTimeman = "UF_TIMEMAN", Text, Brief, 255;
    UfInterests = "UF_INTERESTS", Text, Brief, 2000;
    UfSkills = "UF_SKILLS", Text, Brief, 255;
    UfWebSites = "UF_WEB_SITES", Text, Basic, 255;
    UfXing = "UF_XING", Text, Basic, 255;
    UfLinkedin = "UF_LINKEDIN", Text, Basic, 255;
    UfFacebook = "UF_FACEBOOK", Text, Basic, 255;
    UfTwitter = "UF_TWITTER", Text, Basic, 255;
    UfSkype = "UF_SKYPE", Text, Basic, 255;
    UfSkypeLink = "UF_SKYPE_LINK", Text, Basic, 255;
    UfZoom = "UF_ZOOM", Text, Basic, 255;
    UfDistrict = "UF_DISTRICT", Text, Basic, 255;
    UfPhoneInner = "UF_PHONE_INNER", Extension, Brief, 255;
    UserType = "USER_TYPE", UserType, Brief, 255;
}

impl UserField {
    /// Looks a field up by its wire code, ignoring ASCII case (REST keys are case-insensitive).
    pub fn from_code(code: &str) -> Option<UserField> {
        UserField::ALL.iter().copied().find(|f| f.code().eq_ignore_ascii_case(code))
    }

    /// Whether a user (or an administrator) may set the field through an update.
    pub fn is_writable(self) -> bool {
        !matches!(
            self.kind(),
            FieldKind::Id
                | FieldKind::DateTime
                | FieldKind::Online
                | FieldKind::UserType
                | FieldKind::Derived
        )
    }

    /// Whether a user query may sort by the field.
    pub fn is_sortable(self) -> bool {
        !matches!(self.kind(), FieldKind::Departments | FieldKind::Derived)
    }

    /// Whether a user query may filter by the field.
    pub fn is_filterable(self) -> bool {
        !matches!(self.kind(), FieldKind::Derived)
    }

    /// The text fields, in catalogue order: the fields a store keeps as plain strings.
    pub fn text_fields() -> impl Iterator<Item = UserField> {
        UserField::ALL.iter().copied().filter(|f| f.kind().is_text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `access::project` walks a user's texts in `ALL`'s order: it must be the fields' order.
    #[test]
    fn all_is_in_field_order() {
        assert!(UserField::ALL.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn codes_round_trip_case_insensitively() {
        for &f in UserField::ALL {
            assert_eq!(UserField::from_code(f.code()), Some(f));
            assert_eq!(UserField::from_code(&f.code().to_lowercase()), Some(f));
        }
        assert_eq!(UserField::from_code("NO_SUCH_FIELD"), None);
    }

    #[test]
    fn limits_follow_decisions() {
        assert_eq!(UserField::Name.max_len(), 25);
        assert_eq!(UserField::LastName.max_len(), 50);
        assert_eq!(UserField::SecondName.max_len(), 50);
        assert_eq!(UserField::Email.max_len(), 255);
    }

    #[test]
    fn tiers_follow_spec() {
        assert_eq!(UserField::Email.tier(), Tier::Basic);
        assert_eq!(UserField::WorkPosition.tier(), Tier::Brief);
        assert_eq!(UserField::LastLogin.tier(), Tier::Full);
        assert_eq!(UserField::ALL.len(), 64);
    }
}
