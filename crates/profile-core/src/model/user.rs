//! Users: an identity's membership in one account, with Bitrix24's standard fields.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};

use crate::field::{FieldKind, UserField};
use crate::ids::{AccountId, DepartmentId, UserId};
use crate::value::Value;

/// How long after the last activity a user still counts as online (`IS_ONLINE`).
pub const ONLINE_WINDOW: Duration = Duration::minutes(15);

/// Activity is written at most this often per user (decisions.md "Writes that reads cause").
pub const ACTIVITY_INTERVAL: Duration = Duration::minutes(1);

/// The presence status a user sets for themselves (spec §4.2, `im.user.status.set`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PresenceStatus {
    /// Available.
    Online,
    /// Do not disturb.
    Dnd,
    /// Away.
    Away,
    /// On a break.
    Break,
}

impl PresenceStatus {
    /// Every status.
    pub const ALL: [PresenceStatus; 4] =
        [PresenceStatus::Online, PresenceStatus::Dnd, PresenceStatus::Away, PresenceStatus::Break];

    /// The wire code (lower case).
    pub fn code(self) -> &'static str {
        match self {
            PresenceStatus::Online => "online",
            PresenceStatus::Dnd => "dnd",
            PresenceStatus::Away => "away",
            PresenceStatus::Break => "break",
        }
    }

    /// Parses a wire code; only the lower-case codes are statuses, as in Bitrix24.
    pub fn from_code(code: &str) -> Option<PresenceStatus> {
        PresenceStatus::ALL.into_iter().find(|s| s.code() == code)
    }
}

/// A user's role in the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Manages the account, its users and its structure.
    Administrator,
    /// An ordinary employee.
    Employee,
    /// An outside partner with administrator rights; never listed in the directory.
    Integrator,
    /// An external user: sees only the co-members of their workgroups.
    Extranet,
    /// A guest of a collaboration: treated like an extranet user.
    CollabGuest,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 5] =
        [Role::Administrator, Role::Employee, Role::Integrator, Role::Extranet, Role::CollabGuest];

    /// A stable code for storage and the CLI.
    pub fn code(self) -> &'static str {
        match self {
            Role::Administrator => "admin",
            Role::Employee => "employee",
            Role::Integrator => "integrator",
            Role::Extranet => "extranet",
            Role::CollabGuest => "collab_guest",
        }
    }

    /// Parses [`Role::code`].
    pub fn from_code(code: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.code() == code)
    }

    /// Whether the role administers the account.
    pub fn is_admin(self) -> bool {
        matches!(self, Role::Administrator | Role::Integrator)
    }

    /// Whether the role is outside the company (extranet or collab guest).
    pub fn is_external(self) -> bool {
        matches!(self, Role::Extranet | Role::CollabGuest)
    }

    /// The `USER_TYPE` the role shows on the wire.
    pub fn user_type(self) -> UserType {
        if self.is_external() {
            UserType::Extranet
        } else {
            UserType::Employee
        }
    }
}

/// `USER_TYPE` on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UserType {
    /// An intranet user.
    Employee,
    /// An external user.
    Extranet,
    /// An e-mail user (Bitrix24 has them; Cardfile never creates one, so filters on it match
    /// nothing).
    Email,
}

impl UserType {
    /// The wire code.
    pub fn code(self) -> &'static str {
        match self {
            UserType::Employee => "employee",
            UserType::Extranet => "extranet",
            UserType::Email => "email",
        }
    }

    /// Parses the wire code, ignoring case.
    pub fn from_code(code: &str) -> Option<UserType> {
        [UserType::Employee, UserType::Extranet, UserType::Email]
            .into_iter()
            .find(|t| t.code().eq_ignore_ascii_case(code.trim()))
    }
}

/// A user record. Use cases keep its invariants: text values are validated and non-empty,
/// departments are sorted and exist, intranet users have a department, external users none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The account.
    pub account: AccountId,
    /// The ID within the account.
    pub id: UserId,
    /// The role.
    pub role: Role,
    /// `ACTIVE`: false once dismissed.
    pub active: bool,
    /// `UF_DEPARTMENT`, sorted and without duplicates.
    pub departments: Vec<DepartmentId>,
    /// Every non-empty text field.
    pub text: BTreeMap<UserField, String>,
    /// `PERSONAL_BIRTHDAY`.
    pub birthday: Option<NaiveDate>,
    /// `UF_EMPLOYMENT_DATE`.
    pub employment_date: Option<NaiveDate>,
    /// `DATE_REGISTER`.
    pub registered_at: DateTime<Utc>,
    /// `LAST_LOGIN`.
    pub last_login: Option<DateTime<Utc>>,
    /// `LAST_ACTIVITY_DATE`.
    pub last_activity: Option<DateTime<Utc>>,
    /// `TIMESTAMP_X`: the last change.
    pub updated_at: DateTime<Utc>,
}

impl User {
    /// A new, active user with no fields set.
    pub fn new(account: AccountId, id: UserId, role: Role, now: DateTime<Utc>) -> User {
        User {
            account,
            id,
            role,
            active: true,
            departments: Vec::new(),
            text: BTreeMap::new(),
            birthday: None,
            employment_date: None,
            registered_at: now,
            last_login: None,
            last_activity: None,
            updated_at: now,
        }
    }

    /// A text field's value, `""` when empty.
    pub fn text(&self, field: UserField) -> &str {
        self.text.get(&field).map_or("", String::as_str)
    }

    /// The name as people read it: first and last name (empty when neither is set).
    pub fn display_name(&self) -> String {
        let (name, last) = (self.text(UserField::Name).trim(), self.text(UserField::LastName).trim());
        format!("{name} {last}").trim().to_string()
    }

    /// Whether the user counts as online at `now`.
    pub fn is_online(&self, now: DateTime<Utc>) -> bool {
        self.last_activity.is_some_and(|t| now - t <= ONLINE_WINDOW)
    }

    /// The value of any standard field, as a read shows it.
    pub fn value(&self, field: UserField, now: DateTime<Utc>) -> Value {
        match field.kind() {
            FieldKind::Id => Value::Int(i64::from(self.id.0)),
            FieldKind::Active => Value::Bool(self.active),
            FieldKind::Online => Value::Bool(self.is_online(now)),
            FieldKind::UserType => Value::Text(self.role.user_type().code().to_string()),
            FieldKind::Departments => {
                Value::IntList(self.departments.iter().map(|d| i64::from(d.0)).collect())
            }
            FieldKind::Date => {
                let d =
                    if field == UserField::PersonalBirthday { self.birthday } else { self.employment_date };
                d.map_or(Value::Null, Value::Date)
            }
            FieldKind::DateTime => {
                let t = match field {
                    UserField::DateRegister => Some(self.registered_at),
                    UserField::TimestampX => Some(self.updated_at),
                    UserField::LastLogin => self.last_login,
                    _ => self.last_activity,
                };
                t.map_or(Value::Null, Value::DateTime)
            }
            FieldKind::Derived => Value::Null,
            _ => self.text.get(&field).map_or(Value::Null, |s| Value::Text(s.clone())),
        }
    }

    /// Applies a validated patch. Returns whether anything changed.
    pub fn apply(&mut self, patch: &UserPatch) -> bool {
        let before = self.clone();
        for (&field, value) in &patch.values {
            self.set(field, value.clone());
        }
        *self != before
    }

    /// Applies a validated patch to a user being created, moving its values: what
    /// [`User::apply`] does without the copy it compares against (a bulk load makes many).
    pub fn fill(&mut self, patch: UserPatch) {
        for (field, value) in patch.values {
            self.set(field, value);
        }
    }

    fn set(&mut self, field: UserField, value: Value) {
        match (field.kind(), value) {
            (FieldKind::Active, v) => self.active = v.truthy(),
            (FieldKind::Departments, Value::IntList(ids)) => {
                self.departments = ids.iter().map(|&i| DepartmentId(i as u32)).collect();
            }
            (FieldKind::Date, v) => {
                let d = match v {
                    Value::Date(d) => Some(d),
                    _ => None,
                };
                if field == UserField::PersonalBirthday {
                    self.birthday = d;
                } else {
                    self.employment_date = d;
                }
            }
            (kind, Value::Text(s)) if kind.is_text() => {
                self.text.insert(field, s);
            }
            (kind, _) if kind.is_text() => {
                self.text.remove(&field);
            }
            _ => {}
        }
    }
}

/// A validated set of field changes. Build it with [`UserPatch::parse`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserPatch {
    values: BTreeMap<UserField, Value>,
}

impl UserPatch {
    /// Validates raw values field by field (see [`crate::value::parse_input`]).
    ///
    /// # Errors
    /// The first invalid field, as [`crate::CoreError::Validation`].
    pub fn parse<I>(raw: I) -> Result<UserPatch, crate::CoreError>
    where
        I: IntoIterator<Item = (UserField, Value)>,
    {
        let mut values = BTreeMap::new();
        for (field, value) in raw {
            values.insert(field, crate::value::parse_input(field, &value)?);
        }
        Ok(UserPatch { values })
    }

    /// Validates text values: a convenience over [`UserPatch::parse`].
    ///
    /// # Errors
    /// As [`UserPatch::parse`].
    pub fn from_text<'a, I>(raw: I) -> Result<UserPatch, crate::CoreError>
    where
        I: IntoIterator<Item = (UserField, &'a str)>,
    {
        UserPatch::parse(raw.into_iter().map(|(f, v)| (f, Value::Text(v.to_string()))))
    }

    /// Adds the values of `other`, which win over this patch's.
    pub fn merge(&mut self, other: &UserPatch) {
        self.values.extend(other.values.iter().map(|(f, v)| (*f, v.clone())));
    }

    /// The validated value of a field, if the patch sets it.
    pub fn get(&self, field: UserField) -> Option<&Value> {
        self.values.get(&field)
    }

    /// Whether the patch sets the field.
    pub fn touches(&self, field: UserField) -> bool {
        self.values.contains_key(&field)
    }

    /// The fields the patch sets.
    pub fn fields(&self) -> impl Iterator<Item = UserField> + '_ {
        self.values.keys().copied()
    }
}
