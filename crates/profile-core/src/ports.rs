//! The ports: what the core needs from the outside world, as small synchronous traits.
//! A store implements one trait per aggregate; a [`Tx`] bundles them into a unit of work that
//! commits all or nothing, and a [`Database`] hands out read and write units.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::access::Audience;
use crate::error::StoreError;
use crate::ids::{AccountId, DepartmentId, Sequence, UserId, WorkgroupId};
use crate::model::account::Account;
use crate::model::department::Department;
use crate::model::user::User;
use crate::model::workgroup::Workgroup;
use crate::query::{Page, UserQuery};

/// Result of a port call.
pub type StoreResult<T> = Result<T, StoreError>;

/// The current time. Core never reads the system clock itself.
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> DateTime<Utc>;
}

/// New UUIDs, for the records that are not numbered per account.
pub trait IdGen: Send + Sync {
    /// A fresh, unique UUID.
    fn uuid(&self) -> Uuid;
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

/// Random (v4) UUIDs.
#[derive(Debug, Clone, Copy, Default)]
pub struct RandomIds;

impl IdGen for RandomIds {
    fn uuid(&self) -> Uuid {
        Uuid::new_v4()
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
    /// The users whose `UF_DEPARTMENT` holds `department`, by ID.
    fn department_members(&self, account: AccountId, department: DepartmentId) -> StoreResult<Vec<UserId>>;
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
}

/// Departments.
pub trait DepartmentStore {
    /// A department by ID.
    fn department(&self, account: AccountId, id: DepartmentId) -> StoreResult<Option<Department>>;
    /// Every department of the account, by ID.
    fn departments(&self, account: AccountId) -> StoreResult<Vec<Department>>;
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

/// A unit of work over every store. Reads see one consistent snapshot; writes become visible
/// and durable together at [`Tx::commit`]. Dropping a `Tx` without committing discards its
/// writes.
pub trait Tx: AccountStore + UserStore + DepartmentStore + WorkgroupStore {
    /// Makes every write durable, or none of them.
    ///
    /// # Errors
    /// [`StoreError`] when the commit fails; then nothing was written.
    fn commit(self: Box<Self>) -> StoreResult<()>;
}

/// A database: hands out units of work.
pub trait Database: Send + Sync {
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
}
