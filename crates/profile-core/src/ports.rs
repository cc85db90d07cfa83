//! The ports: what the core needs from the outside world, as small synchronous traits.
//! A store implements one trait per aggregate; a [`Tx`] bundles them into a unit of work that
//! commits all or nothing, and a [`Database`] hands out read and write units.

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use crate::access::Audience;
use crate::error::StoreError;
use crate::ids::{AccountId, DepartmentId, Sequence, UserId, WorkgroupId};
use crate::model::absence::{Absence, AbsenceQuery};
use crate::model::account::Account;
use crate::model::appreciation::{Appreciation, Badge};
use crate::model::credential::{Credential, CredentialId};
use crate::model::custom::{CustomField, CustomTest, CustomValues};
use crate::model::department::{Department, DepartmentQuery};
use crate::model::hr::{HrField, HrValues};
use crate::model::identity::{ConfirmationCode, Identity, IdentityId, Login, LoginFailures, Membership};
use crate::model::image::{
    Background, ImageError, ImageFormat, ImageId, ImageLimits, ImagePurpose, ImageSize, PreparedImage,
    StoredImage,
};
use crate::model::invitation::{Invitation, InvitationId, RegistrationLink, RegistrationRequest};
use crate::model::message::{Channel, DeliveryUpdate, Message};
use crate::model::session::{Session, SessionId};
use crate::model::user::{PresenceStatus, User};
use crate::model::workgroup::Workgroup;
use crate::query::{Page, UserQuery};
use crate::secret::SecretHash;

/// Result of a port call.
pub type StoreResult<T> = Result<T, StoreError>;

/// The current time. Core never reads the system clock itself.
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> DateTime<Utc>;
}

/// Randomness: new UUIDs for the records that are not numbered per account, and the random
/// bytes of tokens, codes and salts. Production uses [`RandomIds`], the operating system's
/// CSPRNG.
pub trait IdGen: Send + Sync {
    /// A fresh, unique UUID.
    fn uuid(&self) -> Uuid;
    /// Fills `buf` with random bytes.
    fn fill(&self, buf: &mut [u8]);
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        // Whole seconds: every store keeps seconds, so a value reads back as it was written.
        #[allow(clippy::disallowed_methods)] // the one place that reads the system clock
        let now = Utc::now();
        DateTime::from_timestamp(now.timestamp(), 0).unwrap_or(now)
    }
}

/// Time-ordered (v7) UUIDs with random bits, and random bytes from the OS.
///
/// Time order matters to the stores: a table keyed by these IDs gains its new rows at the end
/// of its ID index instead of on a random page of it, so a commit writes fewer pages (measured:
/// about 10% more `user.add` a second in `batch`, each adding an invitation and a message).
/// IDs are never secrets; tokens come from [`IdGen::fill`].
#[derive(Debug, Clone, Copy, Default)]
pub struct RandomIds;

impl IdGen for RandomIds {
    fn uuid(&self) -> Uuid {
        Uuid::now_v7()
    }

    fn fill(&self, buf: &mut [u8]) {
        // The OS generator only fails when the system cannot provide randomness at all; tokens
        // must never be predictable, so stop rather than go on without it.
        if getrandom::fill(buf).is_err() {
            std::process::abort();
        }
    }
}

/// Accounts and their ID sequences.
pub trait AccountStore {
    /// An account by ID.
    fn account(&self, id: AccountId) -> StoreResult<Option<Account>>;
    /// An account by slug.
    fn account_by_slug(&self, slug: &str) -> StoreResult<Option<Account>>;
    /// Every account, by creation.
    fn accounts(&self) -> StoreResult<Vec<Account>>;
    /// Stores a new account ([`StoreError::UniqueViolation`] on `slug` when taken).
    fn insert_account(&mut self, account: &Account) -> StoreResult<()>;
    /// Replaces an account's name and settings.
    fn update_account(&mut self, account: &Account) -> StoreResult<()>;
    /// Takes the next `count` numbers of a per-account sequence (1, 2, …; never reused) and
    /// returns the first.
    fn next_ids(&mut self, account: AccountId, sequence: Sequence, count: u32) -> StoreResult<u32>;
    /// Takes the next number of a per-account sequence.
    fn next_id(&mut self, account: AccountId, sequence: Sequence) -> StoreResult<u32> {
        self.next_ids(account, sequence, 1)
    }
}

/// Users.
pub trait UserStore {
    /// A user by ID.
    fn user(&self, account: AccountId, id: UserId) -> StoreResult<Option<User>>;
    /// The user with this contact email (lower-case), if any.
    fn user_by_email(&self, account: AccountId, email: &str) -> StoreResult<Option<UserId>>;
    /// One page of the users matching `query` that `audience` may see.
    fn query_users(
        &self,
        account: AccountId,
        query: &UserQuery,
        audience: Audience,
    ) -> StoreResult<Page<User>>;
    /// At most `limit` users of the account with IDs above `after`, by ID: a full scan in
    /// chunks, for exports.
    fn users_after(&self, account: AccountId, after: UserId, limit: u32) -> StoreResult<Vec<User>>;
    /// The users whose `UF_DEPARTMENT` holds `department`, by ID.
    fn department_members(&self, account: AccountId, department: DepartmentId) -> StoreResult<Vec<UserId>>;
    /// How many users each department holds directly (its `UF_DEPARTMENT` members), by
    /// department; departments without members are left out.
    fn department_member_counts(&self, account: AccountId) -> StoreResult<Vec<(DepartmentId, u64)>>;
    /// Which of `ids` the audience may see, in ascending order (unknown IDs are dropped).
    fn visible_users(
        &self,
        account: AccountId,
        ids: &[UserId],
        audience: Audience,
    ) -> StoreResult<Vec<UserId>>;
    /// How many active administrators the account has.
    fn count_active_admins(&self, account: AccountId) -> StoreResult<u64>;
    /// Stores a new user ([`StoreError::UniqueViolation`] on `EMAIL` when taken).
    fn insert_user(&mut self, user: &User) -> StoreResult<()>;
    /// Stores many new users at once: the bulk-load path (same rules as [`UserStore::insert_user`]).
    fn insert_users(&mut self, users: &[User]) -> StoreResult<()>;
    /// Replaces a user.
    fn update_user(&mut self, user: &User) -> StoreResult<()>;
    /// Moves the user's `LAST_ACTIVITY_DATE` forward to `at` (never back). Activity is not a
    /// change of the user: no `TIMESTAMP_X`, no invalidation of query caches. An unknown user
    /// is no error.
    fn record_activity(&mut self, account: AccountId, user: UserId, at: DateTime<Utc>) -> StoreResult<()>;
    /// A sign-in: `LAST_LOGIN` becomes `at` and `LAST_ACTIVITY_DATE` moves forward to it, as
    /// [`UserStore::record_activity`] (no change of the user). An unknown user is no error.
    fn record_sign_in(&mut self, account: AccountId, user: UserId, at: DateTime<Utc>) -> StoreResult<()>;
    /// The presence status the user set, if any.
    fn user_status(&self, account: AccountId, user: UserId) -> StoreResult<Option<PresenceStatus>>;
    /// Sets the user's presence status (not a change of the user).
    fn set_user_status(
        &mut self,
        account: AccountId,
        user: UserId,
        status: PresenceStatus,
    ) -> StoreResult<()>;
}

/// Departments.
pub trait DepartmentStore {
    /// A department by ID.
    fn department(&self, account: AccountId, id: DepartmentId) -> StoreResult<Option<Department>>;
    /// Every department of the account, by ID.
    fn departments(&self, account: AccountId) -> StoreResult<Vec<Department>>;
    /// One page of `department.get`'s listing, as [`DepartmentQuery::apply`] orders it. A store
    /// may keep the order between pages (it changes only with the departments).
    fn query_departments(&self, account: AccountId, q: &DepartmentQuery) -> StoreResult<Page<Department>> {
        Ok(q.page_of(q.apply(self.departments(account)?)))
    }
    /// The direct children of a department, by ID.
    fn child_departments(&self, account: AccountId, parent: DepartmentId) -> StoreResult<Vec<Department>>;
    /// The departments `head` heads, by ID.
    fn departments_headed_by(&self, account: AccountId, head: UserId) -> StoreResult<Vec<Department>>;
    /// Stores a new department.
    fn insert_department(&mut self, department: &Department) -> StoreResult<()>;
    /// Replaces a department (name, sort, parent, head).
    fn update_department(&mut self, department: &Department) -> StoreResult<()>;
    /// Removes a department.
    fn delete_department(&mut self, account: AccountId, id: DepartmentId) -> StoreResult<()>;
}

/// Workgroups and their members.
pub trait WorkgroupStore {
    /// A workgroup by ID.
    fn workgroup(&self, account: AccountId, id: WorkgroupId) -> StoreResult<Option<Workgroup>>;
    /// Every workgroup of the account, by ID.
    fn workgroups(&self, account: AccountId) -> StoreResult<Vec<Workgroup>>;
    /// The members of a workgroup, by ID.
    fn workgroup_members(&self, account: AccountId, group: WorkgroupId) -> StoreResult<Vec<UserId>>;
    /// The workgroups a user belongs to, by ID.
    fn user_workgroups(&self, account: AccountId, user: UserId) -> StoreResult<Vec<WorkgroupId>>;
    /// Whether two users have a workgroup in common.
    fn share_workgroup(&self, account: AccountId, a: UserId, b: UserId) -> StoreResult<bool>;
    /// Stores a new workgroup.
    fn insert_workgroup(&mut self, group: &Workgroup) -> StoreResult<()>;
    /// Replaces a workgroup (name, external flag).
    fn update_workgroup(&mut self, group: &Workgroup) -> StoreResult<()>;
    /// Adds a member (no-op when already one).
    fn add_workgroup_member(
        &mut self,
        account: AccountId,
        group: WorkgroupId,
        user: UserId,
    ) -> StoreResult<()>;
    /// Removes a member (no-op when not one).
    fn remove_workgroup_member(
        &mut self,
        account: AccountId,
        group: WorkgroupId,
        user: UserId,
    ) -> StoreResult<()>;
}

/// Identities, their memberships, login failures and confirmation codes.
pub trait IdentityStore {
    /// An identity by ID.
    fn identity(&self, id: IdentityId) -> StoreResult<Option<Identity>>;
    /// The identity whose login or confirmed contact is `handle`.
    fn identity_by_handle(&self, handle: &Login) -> StoreResult<Option<Identity>>;
    /// The identity a social login is linked to.
    fn identity_by_social(&self, provider: &str, subject: &str) -> StoreResult<Option<Identity>>;
    /// Stores a new identity ([`StoreError::UniqueViolation`] on `LOGIN` when one of its handles,
    /// or on `SOCIAL` when one of its social logins, belongs to another identity).
    fn insert_identity(&mut self, identity: &Identity) -> StoreResult<()>;
    /// Replaces an identity, with the same uniqueness rules.
    fn update_identity(&mut self, identity: &Identity) -> StoreResult<()>;
    /// Removes an identity and its links to users (the user records stay).
    fn delete_identity(&mut self, id: IdentityId) -> StoreResult<()>;
    /// Links a user record to an identity ([`StoreError::UniqueViolation`] on `USER` when the
    /// record is already linked).
    fn link_user(&mut self, identity: IdentityId, membership: Membership) -> StoreResult<()>;
    /// The identity a user record is linked to.
    fn identity_of_user(&self, account: AccountId, user: UserId) -> StoreResult<Option<IdentityId>>;
    /// The user records an identity is linked to, by account and user.
    fn memberships(&self, identity: IdentityId) -> StoreResult<Vec<Membership>>;
    /// The failed logins recorded for a handle (an email or phone, known or not).
    fn login_failures(&self, handle: &str) -> StoreResult<Option<LoginFailures>>;
    /// Records (or with `None`, forgets) the failed logins of a handle.
    fn set_login_failures(&mut self, handle: &str, failures: Option<LoginFailures>) -> StoreResult<()>;
    /// Deletes the failure counts of every key that starts with `prefix`; returns how many.
    fn clear_login_failures_under(&mut self, prefix: &str) -> StoreResult<u64>;
    /// Stores a new confirmation code.
    fn insert_code(&mut self, code: &ConfirmationCode) -> StoreResult<()>;
    /// A confirmation code by ID.
    fn code(&self, id: Uuid) -> StoreResult<Option<ConfirmationCode>>;
    /// Replaces a confirmation code (attempts, use).
    fn update_code(&mut self, code: &ConfirmationCode) -> StoreResult<()>;
    /// Deletes up to `limit` confirmation codes that expired before `expired_before` (compared
    /// in whole seconds, soonest expired first); returns how many.
    fn purge_codes(&mut self, expired_before: DateTime<Utc>, limit: usize) -> StoreResult<u64>;
    /// Deletes up to `limit` failed-login records whose last failure was before `last_before`
    /// (compared in whole seconds, oldest first); returns how many.
    fn purge_login_failures(&mut self, last_before: DateTime<Utc>, limit: usize) -> StoreResult<u64>;
}

/// Invitations, quick-registration links and registration requests.
pub trait InvitationStore {
    /// Stores a new invitation.
    fn insert_invitation(&mut self, invitation: &Invitation) -> StoreResult<()>;
    /// An invitation by ID.
    fn invitation(&self, account: AccountId, id: InvitationId) -> StoreResult<Option<Invitation>>;
    /// The invitation whose token hashes to `hash`, in any account.
    fn invitation_by_token(&self, hash: &SecretHash) -> StoreResult<Option<Invitation>>;
    /// Every invitation of the account, oldest first.
    fn invitations(&self, account: AccountId) -> StoreResult<Vec<Invitation>>;
    /// The account's invitations to one address, oldest first.
    fn invitations_to(&self, account: AccountId, address: &Login) -> StoreResult<Vec<Invitation>>;
    /// When `inviter` created invitations at or after `since`, the earliest `limit` of them (an
    /// hourly allowance needs no more).
    fn invitation_times_by(
        &self,
        account: AccountId,
        inviter: UserId,
        since: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<Vec<DateTime<Utc>>>;
    /// Pending invitations, in every account, that expire at or before `at`.
    fn invitations_expiring(&self, at: DateTime<Utc>) -> StoreResult<Vec<Invitation>>;
    /// Replaces an invitation (its state).
    fn update_invitation(&mut self, invitation: &Invitation) -> StoreResult<()>;
    /// The account's quick-registration link.
    fn registration_link(&self, account: AccountId) -> StoreResult<Option<RegistrationLink>>;
    /// The link whose token hashes to `hash`.
    fn registration_link_by_token(&self, hash: &SecretHash) -> StoreResult<Option<RegistrationLink>>;
    /// Sets (replaces) the account's link.
    fn set_registration_link(&mut self, link: &RegistrationLink) -> StoreResult<()>;
    /// Stores a new registration request.
    fn insert_request(&mut self, request: &RegistrationRequest) -> StoreResult<()>;
    /// A registration request by ID, in any account.
    fn request(&self, id: Uuid) -> StoreResult<Option<RegistrationRequest>>;
    /// The account's registration requests, oldest first.
    fn requests(&self, account: AccountId) -> StoreResult<Vec<RegistrationRequest>>;
    /// Replaces a registration request.
    fn update_request(&mut self, request: &RegistrationRequest) -> StoreResult<()>;
}

/// REST credentials.
pub trait CredentialStore {
    /// Stores a new credential ([`StoreError::UniqueViolation`] on `TOKEN` for a hash collision).
    fn insert_credential(&mut self, credential: &Credential) -> StoreResult<()>;
    /// A credential by ID.
    fn credential(&self, account: AccountId, id: CredentialId) -> StoreResult<Option<Credential>>;
    /// The credential whose token hashes to `hash`, in any account.
    fn credential_by_token(&self, hash: &SecretHash) -> StoreResult<Option<Credential>>;
    /// The account's credentials, oldest first.
    fn credentials(&self, account: AccountId) -> StoreResult<Vec<Credential>>;
    /// Replaces a credential (revocation).
    fn update_credential(&mut self, credential: &Credential) -> StoreResult<()>;
}

/// Messages to send, and their delivery (see [`crate::usecase::queue`]).
pub trait OutboxStore {
    /// Queues a message.
    fn enqueue(&mut self, message: &Message) -> StoreResult<()>;
    /// The messages of an account, or with `None` of every account and none, oldest first.
    fn messages(&self, account: Option<AccountId>) -> StoreResult<Vec<Message>>;
    /// A message by ID.
    fn message(&self, id: Uuid) -> StoreResult<Option<Message>>;
    /// Up to `limit` pending messages on `channel` due at `now`: their `not_before` has passed
    /// and no lease on them runs past `now`. Earliest due first, then oldest.
    fn due_messages(&self, channel: Channel, now: DateTime<Utc>, limit: usize) -> StoreResult<Vec<Message>>;
    /// Writes each message's delivery (state, attempts, due time, lease, last error, send
    /// time), dropping body and HTML where asked. A message already sent stays as it is, so
    /// that a late settlement never un-sends it; unknown IDs are skipped.
    fn update_deliveries(&mut self, updates: &[DeliveryUpdate]) -> StoreResult<()>;
    /// Drops the bodies of up to `limit` pending or failed messages whose expiry has passed at
    /// `now` (compared in whole seconds); the pending ones become obsolete. Returns how many.
    fn drop_expired_bodies(&mut self, now: DateTime<Utc>, limit: usize) -> StoreResult<u64>;
    /// Deletes up to `limit` messages sent before `sent_before` (compared in whole seconds),
    /// earliest sent first; unsent messages are never deleted. Returns how many.
    fn purge_sent(&mut self, sent_before: DateTime<Utc>, limit: usize) -> StoreResult<u64>;
}

/// Web sessions (see [`crate::usecase::sessions`]).
pub trait SessionStore {
    /// Stores a new session.
    fn insert_session(&mut self, session: &Session) -> StoreResult<()>;
    /// The session whose token hashes to `hash`.
    fn session_by_token(&self, hash: &SecretHash) -> StoreResult<Option<Session>>;
    /// An identity's sessions, oldest first.
    fn sessions_of(&self, identity: IdentityId) -> StoreResult<Vec<Session>>;
    /// Sets a session's "last seen" (whole seconds).
    fn touch_session(&mut self, id: SessionId, last_seen: DateTime<Utc>) -> StoreResult<()>;
    /// Deletes a session; unknown IDs are no error.
    fn delete_session(&mut self, id: SessionId) -> StoreResult<()>;
    /// Deletes every session of an identity; returns how many.
    fn delete_sessions_of(&mut self, identity: IdentityId) -> StoreResult<u64>;
    /// Deletes up to `limit` sessions last seen before `seen_before` or created before
    /// `created_before` (whole seconds). Returns how many.
    fn purge_sessions(
        &mut self,
        seen_before: DateTime<Utc>,
        created_before: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<u64>;
}

/// Server-wide settings that every process on the database shares (the public base URL).
pub trait SettingsStore {
    /// The value of a setting.
    fn setting(&self, key: &str) -> StoreResult<Option<String>>;
    /// Sets a setting.
    fn set_setting(&mut self, key: &str, value: &str) -> StoreResult<()>;
}

/// HR personal details and who holds the HR permission (see [`crate::model::hr`]).
pub trait HrStore {
    /// The account's HR fields, in their order.
    fn hr_fields(&self, account: AccountId) -> StoreResult<Vec<HrField>>;
    /// Replaces the account's HR fields; the values of keys no longer defined are deleted.
    fn set_hr_fields(&mut self, account: AccountId, fields: &[HrField]) -> StoreResult<()>;
    /// A user's HR values (empty when none were set).
    fn hr_values(&self, account: AccountId, user: UserId) -> StoreResult<HrValues>;
    /// Replaces a user's HR values.
    fn set_hr_values(&mut self, account: AccountId, user: UserId, values: &HrValues) -> StoreResult<()>;
    /// The users holding the HR permission, by ID.
    fn hr_holders(&self, account: AccountId) -> StoreResult<Vec<UserId>>;
    /// Grants (`holds`) or revokes the HR permission; doing either twice is no change.
    fn set_hr_holder(&mut self, account: AccountId, user: UserId, holds: bool) -> StoreResult<()>;
}

/// Custom fields' definitions and users' values of them (see [`crate::model::custom`]).
pub trait CustomFieldStore {
    /// The account's fields, by ID.
    fn custom_fields(&self, account: AccountId) -> StoreResult<Vec<CustomField>>;
    /// Stores a new field with its options.
    ///
    /// # Errors
    /// [`StoreError::UniqueViolation`] when the account has a field of that name.
    fn insert_custom_field(&mut self, field: &CustomField) -> StoreResult<()>;
    /// Replaces a field's definition and options (its name, type and `MULTIPLE` stay).
    fn update_custom_field(&mut self, field: &CustomField) -> StoreResult<()>;
    /// Deletes a field's definition at once; its values are left to
    /// [`CustomFieldStore::purge_custom_values`] and are never read again.
    fn delete_custom_field(&mut self, account: AccountId, id: u32) -> StoreResult<()>;
    /// The values of existing fields that these users hold.
    fn custom_values(&self, account: AccountId, users: &[UserId]) -> StoreResult<Vec<CustomValues>>;
    /// Replaces a user's values of one field (none: deletes them).
    fn set_custom_values(&mut self, account: AccountId, values: &CustomValues) -> StoreResult<()>;
    /// Deletes up to `limit` values of deleted fields, in every account; how many went.
    fn purge_custom_values(&mut self, limit: usize) -> StoreResult<u64>;
    /// The first `limit` users (ascending) of whose values of `field` one passes `test`
    /// ([`CustomTest::passes`] is the reference).
    fn custom_matches(
        &self,
        account: AccountId,
        field: u32,
        test: &CustomTest,
        limit: usize,
    ) -> StoreResult<Vec<UserId>>;
}

/// The card's content beyond the user record: absences, "about me", appreciations and the
/// badges they are given with, form layouts, and the counts of interest tags.
pub trait CardContentStore {
    /// An absence by ID.
    fn absence(&self, account: AccountId, id: u32) -> StoreResult<Option<Absence>>;
    /// At most `limit` absences the query finds, by first day, then ID.
    fn absences(&self, account: AccountId, query: &AbsenceQuery, limit: usize) -> StoreResult<Vec<Absence>>;
    /// At most `limit` users with an absence covering `day`, ascending, each once.
    fn absent_users(&self, account: AccountId, day: NaiveDate, limit: usize) -> StoreResult<Vec<UserId>>;
    /// Stores a new absence.
    fn insert_absence(&mut self, absence: &Absence) -> StoreResult<()>;
    /// Replaces an absence (kind, dates, note).
    fn update_absence(&mut self, absence: &Absence) -> StoreResult<()>;
    /// Deletes an absence; deleting one that is gone is no change.
    fn delete_absence(&mut self, account: AccountId, id: u32) -> StoreResult<()>;
    /// A user's "about me" (BBCode), if they wrote one.
    fn about(&self, account: AccountId, user: UserId) -> StoreResult<Option<String>>;
    /// Sets a user's "about me"; an empty text removes it.
    fn set_about(&mut self, account: AccountId, user: UserId, text: &str) -> StoreResult<()>;
    /// The interest tags that start with `prefix`, with how many administrators and employees
    /// hold each (the users every intranet reader sees): most held first, then by the tag's
    /// search word (`crate::query::interest_word`), at most
    /// `limit`; tags nobody holds are left out.
    fn interest_tags(
        &self,
        account: AccountId,
        prefix: &str,
        limit: usize,
    ) -> StoreResult<Vec<(String, u64)>>;
    /// The badges the account's administrators added (the built-in ones are not stored), by
    /// code.
    fn added_badges(&self, account: AccountId) -> StoreResult<Vec<Badge>>;
    /// Stores an added badge ([`StoreError::UniqueViolation`] on `CODE` when taken).
    fn insert_badge(&mut self, account: AccountId, badge: &Badge) -> StoreResult<()>;
    /// Stores an appreciation.
    fn insert_appreciation(&mut self, appreciation: &Appreciation) -> StoreResult<()>;
    /// How many appreciations of each badge `user` received, by badge code.
    fn appreciation_counts(&self, account: AccountId, user: UserId) -> StoreResult<Vec<(String, u64)>>;
    /// At most `limit` of the appreciations `recipient` received (only those `giver` gave,
    /// when given), newest first.
    fn appreciations(
        &self,
        account: AccountId,
        recipient: UserId,
        giver: Option<UserId>,
        limit: usize,
    ) -> StoreResult<Vec<Appreciation>>;
    /// The form layout of `owner` (`None`: the account's default), if one is set.
    fn layout(&self, account: AccountId, owner: Option<UserId>) -> StoreResult<Option<Vec<String>>>;
    /// Sets (`Some`) or removes (`None`) the form layout of `owner` (`None`: the default).
    fn set_layout(
        &mut self,
        account: AccountId,
        owner: Option<UserId>,
        fields: Option<&[String]>,
    ) -> StoreResult<()>;
    /// At most `limit` users whose set presence status is one of `statuses`, ascending.
    fn users_with_status(
        &self,
        account: AccountId,
        statuses: &[PresenceStatus],
        limit: usize,
    ) -> StoreResult<Vec<UserId>>;
}

/// Images (photos and backgrounds, see [`crate::model::image`]) and which background each user
/// chose. An image is addressed by its ID alone: the ID is its capability and names its owner.
pub trait ImageStore {
    /// Stores a new image with all of its copies.
    fn insert_image(&mut self, image: &StoredImage) -> StoreResult<()>;
    /// Deletes an image; deleting one that is gone is no change.
    fn delete_image(&mut self, id: ImageId) -> StoreResult<()>;
    /// An image with all of its copies.
    fn image(&self, id: ImageId) -> StoreResult<Option<StoredImage>>;
    /// One copy of an image, as it is served: its encoding and bytes.
    fn image_copy(&self, id: ImageId, size: ImageSize) -> StoreResult<Option<(ImageFormat, Vec<u8>)>>;
    /// The background a user chose, if any.
    fn user_background(&self, account: AccountId, user: UserId) -> StoreResult<Option<Background>>;
    /// Sets (or with `None` clears) a user's background.
    fn set_user_background(
        &mut self,
        account: AccountId,
        user: UserId,
        background: Option<&Background>,
    ) -> StoreResult<()>;
}

/// Decodes uploaded images and re-encodes them in the sizes of their purpose, like
/// [`crate::secret::PasswordHasher`] a capability the core is given, so that it stays pure.
pub trait ImageCodec: Send + Sync {
    /// What uploads may be. [`crate::usecase::images`] checks the file size before calling
    /// [`ImageCodec::prepare`]; the codec checks the pixels before it decodes.
    fn limits(&self) -> ImageLimits;
    /// Decodes `bytes` (PNG, JPEG, WebP or GIF; a GIF's first frame), turns it upright, cuts
    /// it for `purpose` and encodes each of its sizes, carrying no metadata over.
    ///
    /// # Errors
    /// [`ImageError`] saying why the file is refused.
    fn prepare(&self, bytes: &[u8], purpose: ImagePurpose) -> Result<PreparedImage, ImageError>;
}

/// An [`ImageCodec`] for surfaces that take no uploads (a delivery worker): refuses all.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoImages;

impl ImageCodec for NoImages {
    fn limits(&self) -> ImageLimits {
        ImageLimits::DEFAULT
    }

    fn prepare(&self, _: &[u8], _: ImagePurpose) -> Result<PreparedImage, ImageError> {
        Err(ImageError::NotAccepted)
    }
}

/// A unit of work over every store. Reads see one consistent snapshot; writes become visible
/// and durable together at [`Tx::commit`]. Dropping a `Tx` without committing discards its
/// writes.
///
/// A store may let a write unit read work of others that is not yet durable (group commit).
/// It must then not let the unit's outcome out early: `commit` returns only once the unit's
/// writes and everything they were judged against are durable, and dropping a write unit
/// returns only once what it read is committed or lost. A use case that finds nothing to
/// change still commits, so that its answer waits for the same.
pub trait Tx:
    AccountStore
    + UserStore
    + DepartmentStore
    + WorkgroupStore
    + IdentityStore
    + InvitationStore
    + CredentialStore
    + OutboxStore
    + SettingsStore
    + SessionStore
    + HrStore
    + ImageStore
    + CustomFieldStore
    + CardContentStore
{
    /// Makes every write durable, or none of them.
    ///
    /// # Errors
    /// [`StoreError`] when the commit fails; then nothing was written.
    fn commit(self: Box<Self>) -> StoreResult<()>;
}

/// A database: hands out units of work. (Adapters that share one across threads ask for
/// `dyn Database + Send + Sync`; a [`Batch`] is used on one thread and need not be either.)
pub trait Database {
    /// A read-only unit (writes fail with [`StoreError::ReadOnly`]).
    ///
    /// # Errors
    /// [`StoreError`] when no snapshot can be taken.
    fn read(&self) -> StoreResult<Box<dyn Tx + '_>>;
    /// A read-write unit. Writers are serialised.
    ///
    /// # Errors
    /// [`StoreError`] when no write transaction can be started.
    fn write(&self) -> StoreResult<Box<dyn Tx + '_>>;
    /// A unit of work spanning several use cases (a REST `batch`): it holds the write lock, and
    /// each unit it hands out is a savepoint inside it, so every use case commits or rolls back
    /// on its own while all of them become durable together at [`Batch::commit`]. Units inside a
    /// batch see the batch's earlier writes. One unit at a time; batches do not nest.
    ///
    /// # Errors
    /// [`StoreError`] when no write transaction can be started, or inside a batch.
    fn batch(&self) -> StoreResult<Box<dyn Batch + '_>>;
    /// A batch for a caller that can run all its units again: the store may skip the
    /// per-unit savepoints, which are a large part of what a small unit costs. A unit that
    /// fails before writing anything is harmless as in [`Database::batch`]; one rolled back
    /// after writing cannot be undone alone, so the batch then reports
    /// [`Batch::must_rerun`], refuses further units and its commit: drop it and run every unit
    /// again in [`Database::batch`]. The default is [`Database::batch`] itself.
    ///
    /// # Errors
    /// As [`Database::batch`].
    fn optimistic_batch(&self) -> StoreResult<Box<dyn Batch + '_>> {
        self.batch()
    }
    /// One snapshot for several read-only use cases (a page made of many reads): every
    /// [`Database::read`] of the database returned sees the same committed state and costs no
    /// transaction of its own; it refuses writes ([`StoreError::ReadOnly`]). `None` (the
    /// default) where the store has none: then each read is its own unit. See
    /// [`crate::usecase::reading`].
    fn read_session(&self) -> Option<StoreResult<Box<dyn Database + '_>>> {
        None
    }
}

/// See [`Database::batch`].
pub trait Batch: Database {
    /// The batch as a database, for the use cases that run inside it.
    fn as_database(&self) -> &dyn Database;
    /// Makes every committed unit durable, or none of them. Dropped without commit, nothing the
    /// batch did is kept.
    ///
    /// # Errors
    /// [`StoreError`] when the commit fails; then nothing was written.
    fn commit(self: Box<Self>) -> StoreResult<()>;
    /// Whether a unit of an optimistic batch ([`Database::optimistic_batch`]) was rolled back
    /// after writing: the batch then holds writes it must not keep, and only dropping it and
    /// running again helps. Always false for a batch from [`Database::batch`].
    fn must_rerun(&self) -> bool {
        false
    }
}
