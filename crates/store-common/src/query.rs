//! The parts of a user query's SQL that are the same in both stores' dialects. Clauses use
//! `?` placeholders (PostgreSQL's store numbers them once a statement is whole).

use profile_core::field::UserField;
use profile_core::model::user::{Role, UserType, ONLINE_WINDOW};
use profile_core::query::{Op, UserQuery};
use profile_core::Value;

use crate::keys::role_code;

/// Users who share a workgroup with the viewer (the viewer's key is the one parameter).
pub const CO_MEMBERS: &str = "SELECT m2.uid FROM workgroup_members m1 JOIN workgroup_members m2 \
     ON m2.account_no = m1.account_no AND m2.workgroup = m1.workgroup WHERE m1.uid = ?";

/// The column of a date or date-time field (of the alias `u`).
pub fn date_column(field: UserField) -> &'static str {
    match field {
        UserField::PersonalBirthday => "u.birthday",
        UserField::UfEmploymentDate => "u.employment_date",
        UserField::DateRegister => "u.registered_at",
        UserField::TimestampX => "u.updated_at",
        UserField::LastLogin => "u.last_login",
        _ => "u.last_activity",
    }
}

/// The role codes of the `USER_TYPE` values `types`.
pub fn roles_of(types: &[&str]) -> Vec<i64> {
    Role::ALL
        .into_iter()
        .filter(|r| types.iter().any(|t| UserType::from_code(t) == Some(r.user_type())))
        .map(role_code)
        .collect()
}

/// The first whole second of activity that still counts as online at `now`: stored activity is
/// whole seconds, so it is `now - window` rounded up.
pub fn online_since(now: chrono::DateTime<chrono::Utc>) -> i64 {
    let threshold = now - ONLINE_WINDOW;
    threshold.timestamp() + i64::from(threshold.timestamp_subsec_nanos() > 0)
}

/// The value of a filter that is one condition on `field` equal to one integer (`= n` or
/// `in [n]`), with no quick search; `None` for any other filter.
pub fn only_equal_int(q: &UserQuery, field: UserField) -> Option<i64> {
    let [c] = q.filter.conditions.as_slice() else { return None };
    if !q.filter.find.is_empty() || c.field() != field {
        return None;
    }
    match (c.op(), c.value()) {
        (Op::Eq, Value::Int(v)) => Some(*v),
        (Op::In, Value::IntList(l)) if l.len() == 1 => Some(l[0]),
        _ => None,
    }
}

/// Whether SQL `LIKE` with `pattern` matches the empty string (only `%`s do).
pub fn like_matches_empty(pattern: &str) -> bool {
    pattern.chars().all(|c| c == '%')
}

/// `n` placeholders, comma-separated.
pub fn marks(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// The audience classes of visibility: the roles every intranet user sees, and the external
/// ones, as SQL lists of role codes.
pub fn open_and_external_roles() -> (String, String) {
    (
        format!("{}, {}", role_code(Role::Administrator), role_code(Role::Employee)),
        format!("{}, {}", role_code(Role::Extranet), role_code(Role::CollabGuest)),
    )
}

/// The SQL operator of a custom field's comparison (`CustomTest::Compare`): the ordering the
/// value must have against the bound, or that or equal.
pub fn comparison(ord: std::cmp::Ordering, or_equal: bool) -> &'static str {
    match (ord, or_equal) {
        (std::cmp::Ordering::Greater, false) => ">",
        (std::cmp::Ordering::Greater, true) => ">=",
        (std::cmp::Ordering::Less, false) => "<",
        (std::cmp::Ordering::Less, true) => "<=",
        (std::cmp::Ordering::Equal, _) => "=",
    }
}

/// An image's owner as both stores keep it: the account's ID and the user's `uid` for a user's
/// image, the identity's UUID for a network profile's; `None` for a row that names neither.
pub fn image_owner(
    account: Option<Vec<u8>>,
    uid: Option<i64>,
    identity: Option<Vec<u8>>,
) -> Option<profile_core::model::image::ImageOwner> {
    use profile_core::model::image::ImageOwner;
    let uuid = |b: Option<Vec<u8>>| b.and_then(|b| uuid::Uuid::from_slice(&b).ok());
    match (uuid(account), uid, uuid(identity)) {
        (Some(a), Some(u), _) => {
            Some(ImageOwner::User(profile_core::ids::AccountId(a), crate::keys::id_of(u)))
        }
        (_, _, Some(i)) => Some(ImageOwner::Identity(profile_core::model::identity::IdentityId(i))),
        _ => None,
    }
}
