//! Access decisions, all in one place: credential scopes, the field tier they allow, which users
//! an actor may see (decisions.md "Visibility"), what an actor may change, and the projection
//! every user read passes through before it leaves the core. Deny wins.

use chrono::{DateTime, Utc};

use crate::error::CoreError;
use crate::field::UserField;
use crate::ids::{AccountId, UserId};
use crate::model::account::{Account, InvitePolicy};
use crate::model::image::{ImageRef, ImageSize};
use crate::model::user::{Role, User, UserPatch};
use crate::value::Value;

/// A credential scope (the subset Cardfile serves).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// `user`: every user field, and writes.
    User,
    /// `user_basic`: non-contact and contact fields, read only.
    UserBasic,
    /// `user_brief`: non-contact fields, read only.
    UserBrief,
    /// `user.userfield`: custom fields.
    UserUserfield,
    /// `department`: the company structure.
    Department,
    /// `im`: presence (`im.user.*`) and the structure as the messenger shows it.
    Im,
}

impl Scope {
    /// Every scope.
    pub const ALL: [Scope; 6] =
        [Scope::User, Scope::UserBasic, Scope::UserBrief, Scope::UserUserfield, Scope::Department, Scope::Im];

    /// The wire code.
    pub fn code(self) -> &'static str {
        match self {
            Scope::User => "user",
            Scope::UserBasic => "user_basic",
            Scope::UserBrief => "user_brief",
            Scope::UserUserfield => "user.userfield",
            Scope::Department => "department",
            Scope::Im => "im",
        }
    }

    /// Parses a wire code.
    pub fn from_code(code: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|s| s.code() == code.trim())
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// A set of scopes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ScopeSet(u8);

impl ScopeSet {
    /// Every scope.
    pub fn all() -> ScopeSet {
        Scope::ALL.into_iter().collect()
    }

    /// Whether the set holds `scope`.
    pub fn has(self, scope: Scope) -> bool {
        self.0 & scope.bit() != 0
    }

    /// The scopes in the set.
    pub fn iter(self) -> impl Iterator<Item = Scope> {
        Scope::ALL.into_iter().filter(move |s| self.has(*s))
    }

    /// The highest user-field tier the set allows, if any.
    pub fn user_tier(self) -> Option<Tier> {
        if self.has(Scope::User) {
            Some(Tier::Full)
        } else if self.has(Scope::UserBasic) {
            Some(Tier::Basic)
        } else if self.has(Scope::UserBrief) {
            Some(Tier::Brief)
        } else {
            None
        }
    }
}

impl FromIterator<Scope> for ScopeSet {
    fn from_iter<I: IntoIterator<Item = Scope>>(iter: I) -> Self {
        ScopeSet(iter.into_iter().fold(0, |acc, s| acc | s.bit()))
    }
}

/// How much of a user a reader sees (spec §2.1). Ordered: `Brief < Basic < Full`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tier {
    /// Names, position, non-contact fields.
    Brief,
    /// Plus contact details.
    Basic,
    /// Everything.
    Full,
}

/// Fields only administrators change, even on their own profile: employment facts and the
/// external key, not personal details.
pub const ADMIN_ONLY_FIELDS: [UserField; 5] = [
    UserField::Active,
    UserField::UfDepartment,
    UserField::XmlId,
    UserField::UfEmploymentDate,
    UserField::UfTimeman,
];

/// Who performs a use case: a user of an account acting through a credential with scopes, or
/// the server's operator (the CLI), who acts as an administrator with every scope.
///
/// Build one per request with [`crate::usecase::users::actor_for`]: it reads the user's current
/// role and refuses a dismissed user, so a demotion or a dismissal takes effect at once. An
/// `Actor` kept across requests would carry a stale role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The account the credential belongs to; every use case stays inside it.
    pub account: AccountId,
    /// The acting user; `None` for the operator.
    pub user: Option<UserId>,
    /// The acting user's role.
    pub role: Role,
    /// The credential's scopes.
    pub scopes: ScopeSet,
}

impl Actor {
    /// The server's operator acting on `account` (used by the CLI and by first-run set-up).
    pub fn operator(account: AccountId) -> Actor {
        Actor { account, user: None, role: Role::Administrator, scopes: ScopeSet::all() }
    }

    /// Whether the actor administers the account.
    pub fn is_admin(&self) -> bool {
        self.role.is_admin()
    }

    /// Whether the actor is `user`.
    pub fn is(&self, user: UserId) -> bool {
        self.user == Some(user)
    }

    /// The tier of user fields the actor may read.
    ///
    /// # Errors
    /// [`CoreError::InsufficientScope`] when no user scope is held.
    pub fn user_read_tier(&self) -> Result<Tier, CoreError> {
        self.scopes.user_tier().ok_or(CoreError::InsufficientScope { needed: "user_brief" })
    }

    /// Requires `scope`.
    ///
    /// # Errors
    /// [`CoreError::InsufficientScope`] naming it.
    pub fn require(&self, scope: Scope) -> Result<(), CoreError> {
        if self.scopes.has(scope) {
            Ok(())
        } else {
            Err(CoreError::InsufficientScope { needed: scope.code() })
        }
    }

    /// Requires the administrator role.
    ///
    /// # Errors
    /// [`CoreError::Forbidden`].
    pub fn require_admin(&self) -> Result<(), CoreError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(CoreError::forbidden("administrators only"))
        }
    }

    /// Which users a read by this actor may return. `admin_mode` (`ADMIN_MODE`) widens it to
    /// everyone, for administrators only; for others it is ignored, as Bitrix24 does.
    pub fn audience(&self, admin_mode: bool) -> Audience {
        match self.user {
            None => Audience::Everyone,
            Some(_) if admin_mode && self.is_admin() => Audience::Everyone,
            Some(viewer) if self.role.is_external() => Audience::Extranet { viewer },
            Some(viewer) => Audience::Intranet { viewer },
        }
    }
}

/// The users a read may return (decisions.md "Visibility").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Audience {
    /// Everyone in the account (`ADMIN_MODE`, the operator).
    Everyone,
    /// An intranet viewer: every administrator and employee, the external users who share a
    /// workgroup with the viewer, and the viewer. Integrators stay hidden.
    Intranet {
        /// The viewer.
        viewer: UserId,
    },
    /// An external viewer: the co-members of their workgroups, and themself.
    Extranet {
        /// The viewer.
        viewer: UserId,
    },
}

impl Audience {
    /// Whether `user` is visible. `shares_group` says whether the viewer and `user` have a
    /// workgroup in common.
    pub fn can_see(self, user: &User, shares_group: bool) -> bool {
        match self {
            Audience::Everyone => true,
            Audience::Intranet { viewer } => {
                user.id == viewer
                    || matches!(user.role, Role::Administrator | Role::Employee)
                    || (user.role.is_external() && shares_group)
            }
            Audience::Extranet { viewer } => {
                user.id == viewer || (shares_group && user.role != Role::Integrator)
            }
        }
    }

    /// The viewer, if the audience is limited to one.
    pub fn viewer(self) -> Option<UserId> {
        match self {
            Audience::Everyone => None,
            Audience::Intranet { viewer } | Audience::Extranet { viewer } => Some(viewer),
        }
    }
}

/// Checks that `actor` may apply `patch` to `target`: administrators may change anyone; a user
/// may change their own profile but not the [`ADMIN_ONLY_FIELDS`] (`ACTIVE`, `UF_DEPARTMENT`,
/// `XML_ID`, `UF_EMPLOYMENT_DATE`, `UF_TIMEMAN`; decisions.md "Input").
/// Writes need the `user` scope.
///
/// # Errors
/// [`CoreError::InsufficientScope`] or [`CoreError::Forbidden`] naming the refused field.
pub fn check_user_write(actor: &Actor, target: UserId, patch: &UserPatch) -> Result<(), CoreError> {
    actor.require(Scope::User)?;
    if actor.is_admin() {
        return Ok(());
    }
    if !actor.is(target) {
        return Err(CoreError::forbidden("only administrators change other users"));
    }
    for field in ADMIN_ONLY_FIELDS {
        if patch.touches(field) {
            return Err(CoreError::forbidden(format!(
                "{} can be changed by administrators only",
                field.code()
            )));
        }
    }
    Ok(())
}

/// Checks that `actor` may invite or create users in `account`.
///
/// # Errors
/// [`CoreError::InsufficientScope`] or [`CoreError::Forbidden`].
pub fn check_invite(actor: &Actor, account: &Account) -> Result<(), CoreError> {
    actor.require(Scope::User)?;
    let allowed = actor.is_admin()
        || (account.settings.invite_policy == InvitePolicy::Everyone && !actor.role.is_external());
    if allowed {
        Ok(())
    } else {
        Err(CoreError::forbidden("you may not invite users"))
    }
}

/// Which fields a read returns.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Select {
    /// Every field the tier allows (no `select`, or `*`).
    #[default]
    All,
    /// Just these (names outside the tier are dropped silently).
    Fields(Vec<UserField>),
}

/// The most names a `select` list may hold: every field, with room for aliases and `UF_*`.
pub const SELECT_MAX: usize = 200;

impl Select {
    /// Parses a `select` list: field codes, `*` and `UF_*`. Unknown names are skipped, as
    /// Bitrix24 does; an empty list means everything.
    pub fn parse<'a>(names: impl IntoIterator<Item = &'a str>) -> Select {
        let mut fields = Vec::new();
        for name in names {
            let name = name.trim();
            if name == "*" {
                return Select::All;
            }
            if name.eq_ignore_ascii_case("UF_*") {
                fields.extend(UserField::ALL.iter().filter(|f| f.code().starts_with("UF_")));
            } else if let Some(f) = UserField::from_code(name) {
                fields.push(f);
            }
        }
        if fields.is_empty() {
            Select::All
        } else {
            Select::Fields(fields)
        }
    }

    fn includes(&self, field: UserField) -> bool {
        match self {
            Select::All => true,
            Select::Fields(list) => list.contains(&field),
        }
    }
}

/// A user as a reader may see it: only the fields the tier and the selection allow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserView {
    /// The user's ID (always known to the reader).
    pub id: UserId,
    /// The visible fields, in catalogue order.
    pub fields: Vec<(UserField, Value)>,
    /// The custom fields (`UF_USR_*`) the read asked for and may see, in the fields' order.
    pub custom: Vec<(String, Value)>,
}

impl UserView {
    /// A visible field's value.
    pub fn get(&self, field: UserField) -> Option<&Value> {
        self.fields.iter().find(|(f, _)| *f == field).map(|(_, v)| v)
    }
}

/// Projects a user to what a reader with `tier` asked for with `select`. `ID` is always kept.
/// The user is consumed: its texts move into the view instead of being copied (a page of 50
/// full users is ~2,000 strings). For a page, [`Projection`] works the field list out once.
pub fn project(user: User, tier: Tier, select: &Select, now: DateTime<Utc>, photos: &PhotoLinks) -> UserView {
    Projection::new(tier, select, now, photos.clone()).apply(user)
}

/// How a projection writes `PERSONAL_PHOTO`: a stored image becomes the absolute URL of one of
/// its copies (decisions.md: photos are handed out only in projections, to readers who may see
/// the user). A text that names no stored image (a URL kept from before images were stored)
/// is left as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhotoLinks {
    /// The public base URL, no trailing `/`.
    pub base_url: String,
    /// Which copy the URL names (`IMAGE_RESIZE`; the 1000 px one by default).
    pub size: ImageSize,
}

impl PhotoLinks {
    /// Links to the `size` copies under `base_url`.
    pub fn new(base_url: &str, size: ImageSize) -> PhotoLinks {
        PhotoLinks { base_url: base_url.to_string(), size }
    }

    /// The URL a stored `PERSONAL_PHOTO` text stands for (no photo: empty).
    pub fn resolve(&self, stored: String) -> String {
        match stored.parse::<ImageRef>() {
            Ok(r) => r.url(&self.base_url, self.size),
            Err(()) => stored,
        }
    }
}

/// What a reader with a tier asked for with a select, worked out once and applied to every user
/// of a page: which fields, in catalogue order, and whether each is a text.
#[derive(Debug, Clone)]
pub struct Projection {
    fields: Vec<(UserField, bool)>,
    now: DateTime<Utc>,
    photos: PhotoLinks,
}

impl Projection {
    /// The fields of `select` that `tier` may read, plus `ID`; computed values (such as
    /// `IS_ONLINE`) are taken at `now`, photos linked as `photos` says.
    pub fn new(tier: Tier, select: &Select, now: DateTime<Utc>, photos: PhotoLinks) -> Projection {
        let fields = UserField::ALL
            .iter()
            .filter(|&&f| f.tier() <= tier && (f == UserField::Id || select.includes(f)))
            .map(|&f| (f, f.kind().is_text()))
            .collect();
        Projection { fields, now, photos }
    }

    /// The view of `user`. The user is consumed: its texts move into the view.
    pub fn apply(&self, mut user: User) -> UserView {
        // The field list and the text map are both in catalogue order (`UserField::ALL` is), so
        // one walk of the map, consuming it, meets each text as its field comes up.
        let mut texts = std::mem::take(&mut user.text).into_iter().peekable();
        let mut fields = Vec::with_capacity(self.fields.len());
        for &(f, is_text) in &self.fields {
            let value = if is_text {
                while texts.next_if(|(k, _)| *k < f).is_some() {}
                match texts.next_if(|(k, _)| *k == f) {
                    None => Value::Null,
                    Some((UserField::PersonalPhoto, v)) => Value::Text(self.photos.resolve(v)),
                    Some((_, v)) => Value::Text(v),
                }
            } else {
                user.value(f, self.now)
            };
            fields.push((f, value));
        }
        UserView { id: user.id, fields, custom: Vec::new() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn actor(role: Role, scopes: &[Scope]) -> Actor {
        Actor {
            account: AccountId(Uuid::nil()),
            user: Some(UserId(5)),
            role,
            scopes: scopes.iter().copied().collect(),
        }
    }

    #[test]
    fn write_rules_table() {
        let patch_name = UserPatch::parse([(UserField::Name, Value::text("A"))]).unwrap();
        let patch_active = UserPatch::parse([(UserField::Active, Value::text("N"))]).unwrap();
        let me = UserId(5);
        let other = UserId(6);
        let cases = [
            (Role::Employee, &[Scope::User][..], me, &patch_name, true),
            (Role::Employee, &[Scope::User], me, &patch_active, false),
            (Role::Employee, &[Scope::User], other, &patch_name, false),
            (Role::Employee, &[Scope::UserBasic], me, &patch_name, false),
            (Role::Administrator, &[Scope::User], other, &patch_active, true),
            (Role::Administrator, &[Scope::UserBrief], other, &patch_name, false),
            (Role::Extranet, &[Scope::User], me, &patch_name, true),
        ];
        for (role, scopes, target, patch, ok) in cases {
            assert_eq!(
                check_user_write(&actor(role, scopes), target, patch).is_ok(),
                ok,
                "{role:?} {scopes:?} {target:?}"
            );
        }
    }

    #[test]
    fn audience_follows_role_and_admin_mode() {
        assert_eq!(actor(Role::Administrator, &[]).audience(true), Audience::Everyone);
        assert_eq!(actor(Role::Employee, &[]).audience(true), Audience::Intranet { viewer: UserId(5) });
        assert_eq!(actor(Role::Extranet, &[]).audience(false), Audience::Extranet { viewer: UserId(5) });
    }

    #[test]
    fn select_parsing() {
        assert_eq!(Select::parse(["*"]), Select::All);
        assert_eq!(Select::parse(["nope"]), Select::All);
        assert_eq!(
            Select::parse(["id", "NAME", "nope"]),
            Select::Fields(vec![UserField::Id, UserField::Name])
        );
        match Select::parse(["UF_*"]) {
            Select::Fields(f) => {
                assert!(f.contains(&UserField::UfDepartment) && !f.contains(&UserField::Name))
            }
            Select::All => panic!("UF_* selects UF fields"),
        }
    }
}
