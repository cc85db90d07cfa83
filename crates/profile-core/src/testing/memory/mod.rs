//! The in-memory fake: whole-state snapshots, copied on begin and swapped in on commit.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use crate::access::Audience;
use crate::error::StoreError;
use crate::field::UserField;
use crate::ids::{AccountId, DepartmentId, Sequence, UserId, WorkgroupId};
use crate::model::account::Account;
use crate::model::credential::{Credential, CredentialId};
use crate::model::custom::{CustomField, CustomKind, CustomScalar, CustomValue};
use crate::model::department::Department;
use crate::model::hr::{HrField, HrValues};
use crate::model::identity::{ConfirmationCode, Identity, IdentityId, Login, LoginFailures, Membership};
use crate::model::image::{Background, ImageId, StoredImage};
use crate::model::invitation::{
    Invitation, InvitationId, InvitationState, RegistrationLink, RegistrationRequest,
};
use crate::model::message::Message;
use crate::model::session::Session;
use crate::model::user::{Role, User};
use crate::model::workgroup::Workgroup;
use crate::ports::{
    AccountStore, Batch, CredentialStore, Database, HrStore, IdentityStore, InvitationStore, StoreResult, Tx,
    UserStore,
};
use crate::query::{add_custom_words, user_search_words, Page, UserQuery, PAGE_SIZE};
use crate::secret::SecretHash;
use chrono::{DateTime, Utc};
use uuid::Uuid;

mod cards;
mod content;
mod messages;
mod structure;

#[derive(Debug, Clone, Default)]
struct State {
    accounts: BTreeMap<AccountId, Account>,
    sequences: BTreeMap<(AccountId, u8), u32>,
    users: BTreeMap<(AccountId, UserId), User>,
    statuses: BTreeMap<(AccountId, UserId), crate::model::user::PresenceStatus>,
    departments: BTreeMap<(AccountId, DepartmentId), Department>,
    groups: BTreeMap<(AccountId, WorkgroupId), Workgroup>,
    members: BTreeSet<(AccountId, WorkgroupId, UserId)>,
    identities: BTreeMap<IdentityId, Identity>,
    links: BTreeMap<(AccountId, UserId), IdentityId>,
    failures: BTreeMap<String, LoginFailures>,
    codes: BTreeMap<Uuid, ConfirmationCode>,
    // Insertion order is "oldest first".
    invitations: Vec<Invitation>,
    registration_links: BTreeMap<AccountId, RegistrationLink>,
    requests: Vec<RegistrationRequest>,
    credentials: Vec<Credential>,
    outbox: Vec<Message>,
    hr_fields: BTreeMap<AccountId, Vec<HrField>>,
    hr_values: BTreeMap<(AccountId, UserId), HrValues>,
    hr_holders: BTreeSet<(AccountId, UserId)>,
    images: BTreeMap<ImageId, StoredImage>,
    custom_fields: BTreeMap<(AccountId, u32), CustomField>,
    custom_values: BTreeMap<(AccountId, UserId, u32), Vec<CustomValue>>,
    backgrounds: BTreeMap<(AccountId, UserId), Background>,
    absences: BTreeMap<(AccountId, u32), crate::model::absence::Absence>,
    about: BTreeMap<(AccountId, UserId), String>,
    badges: BTreeMap<(AccountId, String), crate::model::appreciation::Badge>,
    // Insertion order is "oldest first".
    appreciations: Vec<crate::model::appreciation::Appreciation>,
    // Owner 0 is the account's default.
    layouts: BTreeMap<(AccountId, u32), Vec<String>>,
    settings: BTreeMap<String, String>,
    sessions: Vec<Session>,
}

/// An in-memory database with the reference semantics of every port.
#[derive(Debug, Default)]
pub struct MemoryDb {
    state: Mutex<State>,
    writer: Mutex<()>,
}

impl MemoryDb {
    /// An empty database.
    pub fn new() -> MemoryDb {
        MemoryDb::default()
    }

    fn snapshot(&self) -> StoreResult<State> {
        self.state.lock().map(|s| s.clone()).map_err(|_| StoreError::Backend("poisoned".into()))
    }
}

struct MemTx<'a> {
    /// Where a commit puts the state: the database, or the batch it runs in.
    target: &'a Mutex<State>,
    state: State,
    writable: bool,
    _writer: Option<MutexGuard<'a, ()>>,
    _unit: Option<UnitGuard<'a>>,
}

/// Marks a batch's one unit as live until dropped.
struct UnitGuard<'a>(&'a AtomicBool);

impl Drop for UnitGuard<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

/// What a purge deletes: the keys of at most `limit` entries stamped before `before` (to the
/// second, as stores keep times), earliest first, ties broken by key.
fn oldest_before<K: Ord>(
    stamped: impl Iterator<Item = (DateTime<Utc>, K)>,
    before: DateTime<Utc>,
    limit: usize,
) -> Vec<K> {
    let mut due: Vec<(i64, K)> =
        stamped.map(|(at, k)| (at.timestamp(), k)).filter(|(at, _)| *at < before.timestamp()).collect();
    due.sort();
    due.truncate(limit);
    due.into_iter().map(|(_, k)| k).collect()
}

fn lock(m: &Mutex<State>) -> StoreResult<std::sync::MutexGuard<'_, State>> {
    m.lock().map_err(|_| StoreError::Backend("poisoned".into()))
}

impl Database for MemoryDb {
    fn read(&self) -> StoreResult<Box<dyn Tx + '_>> {
        Ok(Box::new(MemTx {
            target: &self.state,
            state: self.snapshot()?,
            writable: false,
            _writer: None,
            _unit: None,
        }))
    }

    fn write(&self) -> StoreResult<Box<dyn Tx + '_>> {
        let guard = self.writer.lock().map_err(|_| StoreError::Backend("poisoned".into()))?;
        Ok(Box::new(MemTx {
            target: &self.state,
            state: self.snapshot()?,
            writable: true,
            _writer: Some(guard),
            _unit: None,
        }))
    }

    fn batch(&self) -> StoreResult<Box<dyn Batch + '_>> {
        let guard = self.writer.lock().map_err(|_| StoreError::Backend("poisoned".into()))?;
        Ok(Box::new(MemBatch {
            db: self,
            working: Mutex::new(self.snapshot()?),
            unit_live: AtomicBool::new(false),
            _writer: guard,
        }))
    }
}

/// A batch: a working copy of the state that units commit into, swapped in at the end.
struct MemBatch<'a> {
    db: &'a MemoryDb,
    working: Mutex<State>,
    unit_live: AtomicBool,
    _writer: MutexGuard<'a, ()>,
}

impl MemBatch<'_> {
    fn unit(&self, writable: bool) -> StoreResult<Box<dyn Tx + '_>> {
        if self.unit_live.swap(true, Ordering::SeqCst) {
            return Err(StoreError::Backend("one unit of work at a time inside a batch".into()));
        }
        let guard = UnitGuard(&self.unit_live);
        let state = lock(&self.working)?.clone();
        Ok(Box::new(MemTx { target: &self.working, state, writable, _writer: None, _unit: Some(guard) }))
    }
}

impl Database for MemBatch<'_> {
    fn read(&self) -> StoreResult<Box<dyn Tx + '_>> {
        self.unit(false)
    }

    fn write(&self) -> StoreResult<Box<dyn Tx + '_>> {
        self.unit(true)
    }

    fn batch(&self) -> StoreResult<Box<dyn Batch + '_>> {
        Err(StoreError::Backend("batches do not nest".into()))
    }
}

impl Batch for MemBatch<'_> {
    fn as_database(&self) -> &dyn Database {
        self
    }

    fn commit(self: Box<Self>) -> StoreResult<()> {
        let working = lock(&self.working)?.clone();
        *lock(&self.db.state)? = working;
        Ok(())
    }
}

impl MemTx<'_> {
    fn writable(&self) -> StoreResult<()> {
        if self.writable {
            Ok(())
        } else {
            Err(StoreError::ReadOnly)
        }
    }

    fn shares(&self, account: AccountId, a: UserId, b: UserId) -> bool {
        self.state
            .members
            .iter()
            .filter(|(acc, _, u)| *acc == account && *u == a)
            .any(|(_, g, _)| self.state.members.contains(&(account, *g, b)))
    }

    fn search_words(&self, user: &User) -> Vec<String> {
        let names = user
            .departments
            .iter()
            .filter_map(|d| self.state.departments.get(&(user.account, *d)))
            .map(|d| d.name.as_str());
        let mut words = user_search_words(user, names);
        // Every live string field's words; a search asks for those of the searchable ones.
        let custom = self
            .state
            .custom_values
            .range((user.account, user.id, 0)..=(user.account, user.id, u32::MAX))
            .filter(|((a, _, f), _)| {
                self.state.custom_fields.get(&(*a, *f)).is_some_and(|f| f.kind == CustomKind::String)
            })
            .flat_map(|((_, _, f), values)| {
                values.iter().filter_map(move |v| match v {
                    CustomValue::Text(t) => Some((*f, t.as_str())),
                    CustomValue::Number(_) => None,
                })
            });
        add_custom_words(&mut words, custom);
        words
    }

    fn email_taken(&self, user: &User) -> bool {
        let email = user.text(UserField::Email);
        !email.is_empty()
            && self
                .state
                .users
                .values()
                .any(|u| u.account == user.account && u.id != user.id && u.text(UserField::Email) == email)
    }
}

impl Tx for MemTx<'_> {
    fn commit(self: Box<Self>) -> StoreResult<()> {
        if self.writable {
            *lock(self.target)? = self.state;
        }
        Ok(())
    }
}

impl AccountStore for MemTx<'_> {
    fn account(&self, id: AccountId) -> StoreResult<Option<Account>> {
        Ok(self.state.accounts.get(&id).cloned())
    }

    fn account_by_slug(&self, slug: &str) -> StoreResult<Option<Account>> {
        Ok(self.state.accounts.values().find(|a| a.slug == slug).cloned())
    }

    fn accounts(&self) -> StoreResult<Vec<Account>> {
        let mut v: Vec<_> = self.state.accounts.values().cloned().collect();
        v.sort_by_key(|a| (a.created_at, a.slug.clone()));
        Ok(v)
    }

    fn insert_account(&mut self, account: &Account) -> StoreResult<()> {
        self.writable()?;
        if self.state.accounts.values().any(|a| a.slug == account.slug) {
            return Err(StoreError::UniqueViolation { what: "slug".into() });
        }
        self.state.accounts.insert(account.id, account.clone());
        Ok(())
    }

    fn update_account(&mut self, account: &Account) -> StoreResult<()> {
        self.writable()?;
        self.state.accounts.insert(account.id, account.clone());
        Ok(())
    }

    fn next_ids(&mut self, account: AccountId, sequence: Sequence, count: u32) -> StoreResult<u32> {
        self.writable()?;
        let n = self.state.sequences.entry((account, sequence as u8)).or_insert(0);
        let first = *n + 1;
        *n += count;
        Ok(first)
    }
}

impl UserStore for MemTx<'_> {
    fn user(&self, account: AccountId, id: UserId) -> StoreResult<Option<User>> {
        Ok(self.state.users.get(&(account, id)).cloned())
    }

    fn users_after(&self, account: AccountId, after: UserId, limit: u32) -> StoreResult<Vec<User>> {
        let Some(first) = after.0.checked_add(1) else { return Ok(Vec::new()) };
        Ok(self
            .state
            .users
            .range((account, UserId(first))..=(account, UserId(u32::MAX)))
            .take(limit as usize)
            .map(|(_, u)| u.clone())
            .collect())
    }

    fn user_by_email(&self, account: AccountId, email: &str) -> StoreResult<Option<UserId>> {
        Ok(self
            .state
            .users
            .values()
            .find(|u| u.account == account && u.text(UserField::Email) == email)
            .map(|u| u.id))
    }

    fn query_users(&self, account: AccountId, q: &UserQuery, audience: Audience) -> StoreResult<Page<User>> {
        let mut rows: Vec<&User> = self
            .state
            .users
            .range((account, UserId(0))..=(account, UserId(u32::MAX)))
            .map(|(_, u)| u)
            .filter(|u| {
                let shares = audience.viewer().is_some_and(|v| v != u.id && self.shares(account, v, u.id));
                audience.can_see(u, shares)
            })
            .filter(|u| q.filter.conditions.iter().all(|c| c.matches(u, q.now)))
            .filter(|u| q.filter.find.is_empty() || q.filter.find_matches(&self.search_words(u)))
            .collect();
        // A custom key: the user's first value of the field; none first, then by value.
        let custom = |k: &crate::query::SortKey, a: &User, b: &User| -> Option<std::cmp::Ordering> {
            let c = k.custom?;
            let first = |u: &User| {
                self.state.custom_values.get(&(account, u.id, c.field)).and_then(|v| v.first().cloned())
            };
            let ord = match (first(a), first(b)) {
                (None, None) => std::cmp::Ordering::Equal,
                (None, Some(_)) => std::cmp::Ordering::Less,
                (Some(_), None) => std::cmp::Ordering::Greater,
                (Some(x), Some(y)) => match (x, y) {
                    (
                        CustomValue::Number(CustomScalar::Int(x)),
                        CustomValue::Number(CustomScalar::Int(y)),
                    ) => x.cmp(&y),
                    (
                        CustomValue::Number(CustomScalar::Real(x)),
                        CustomValue::Number(CustomScalar::Real(y)),
                    ) => x.total_cmp(&y),
                    (CustomValue::Text(x), CustomValue::Text(y)) => x.as_bytes().cmp(y.as_bytes()),
                    _ => std::cmp::Ordering::Equal,
                },
            };
            Some(if k.descending { ord.reverse() } else { ord })
        };
        rows.sort_by(|a, b| {
            q.sort
                .iter()
                .map(|k| custom(k, a, b).unwrap_or_else(|| k.compare(a, b, q.now)))
                .find(|o| o.is_ne())
                .unwrap_or(std::cmp::Ordering::Equal)
                .then(a.id.cmp(&b.id))
        });
        let total = rows.len() as u64;
        let items = rows.into_iter().skip(q.page.start as usize).take(PAGE_SIZE).cloned().collect();
        Ok(Page { items, total: q.page.count_total.then_some(total) })
    }

    fn department_members(&self, account: AccountId, department: DepartmentId) -> StoreResult<Vec<UserId>> {
        Ok(self
            .state
            .users
            .values()
            .filter(|u| u.account == account && u.departments.contains(&department))
            .map(|u| u.id)
            .collect())
    }

    fn department_member_counts(&self, account: AccountId) -> StoreResult<Vec<(DepartmentId, u64)>> {
        let mut counts: BTreeMap<DepartmentId, u64> = BTreeMap::new();
        for u in self.state.users.values().filter(|u| u.account == account) {
            for d in &u.departments {
                *counts.entry(*d).or_default() += 1;
            }
        }
        Ok(counts.into_iter().collect())
    }

    fn visible_users(
        &self,
        account: AccountId,
        ids: &[UserId],
        audience: Audience,
    ) -> StoreResult<Vec<UserId>> {
        let mut out: Vec<UserId> = ids
            .iter()
            .filter_map(|id| self.state.users.get(&(account, *id)))
            .filter(|u| {
                let shares = audience.viewer().is_some_and(|v| v != u.id && self.shares(account, v, u.id));
                audience.can_see(u, shares)
            })
            .map(|u| u.id)
            .collect();
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    fn count_active_admins(&self, account: AccountId) -> StoreResult<u64> {
        Ok(self
            .state
            .users
            .values()
            .filter(|u| u.account == account && u.active && u.role == Role::Administrator)
            .count() as u64)
    }

    fn insert_user(&mut self, user: &User) -> StoreResult<()> {
        self.writable()?;
        if self.email_taken(user) {
            return Err(StoreError::UniqueViolation { what: "EMAIL".into() });
        }
        if self.state.users.contains_key(&(user.account, user.id)) {
            return Err(StoreError::UniqueViolation { what: "ID".into() });
        }
        self.state.users.insert((user.account, user.id), user.clone());
        Ok(())
    }

    fn insert_users(&mut self, users: &[User]) -> StoreResult<()> {
        let before = self.state.clone();
        for u in users {
            if let Err(e) = self.insert_user(u) {
                self.state = before;
                return Err(e);
            }
        }
        Ok(())
    }

    fn update_user(&mut self, user: &User) -> StoreResult<()> {
        self.writable()?;
        if self.email_taken(user) {
            return Err(StoreError::UniqueViolation { what: "EMAIL".into() });
        }
        self.state.users.insert((user.account, user.id), user.clone());
        Ok(())
    }

    fn record_activity(&mut self, account: AccountId, user: UserId, at: DateTime<Utc>) -> StoreResult<()> {
        self.writable()?;
        if let Some(u) = self.state.users.get_mut(&(account, user)) {
            u.last_activity = u.last_activity.max(Some(at));
        }
        Ok(())
    }

    fn record_sign_in(&mut self, account: AccountId, user: UserId, at: DateTime<Utc>) -> StoreResult<()> {
        self.writable()?;
        if let Some(u) = self.state.users.get_mut(&(account, user)) {
            u.last_login = Some(at);
            u.last_activity = u.last_activity.max(Some(at));
        }
        Ok(())
    }

    fn user_status(
        &self,
        account: AccountId,
        user: UserId,
    ) -> StoreResult<Option<crate::model::user::PresenceStatus>> {
        Ok(self.state.statuses.get(&(account, user)).copied())
    }

    fn set_user_status(
        &mut self,
        account: AccountId,
        user: UserId,
        status: crate::model::user::PresenceStatus,
    ) -> StoreResult<()> {
        self.writable()?;
        self.state.statuses.insert((account, user), status);
        Ok(())
    }
}

fn unique(what: &str) -> StoreError {
    StoreError::UniqueViolation { what: what.into() }
}

impl MemTx<'_> {
    fn put_identity(&mut self, identity: &Identity) -> StoreResult<()> {
        self.writable()?;
        for other in self.state.identities.values().filter(|o| o.id != identity.id) {
            if identity.handles().any(|h| other.handles().any(|o| o == h)) {
                return Err(unique("LOGIN"));
            }
            if identity.socials.iter().any(|s| other.socials.contains(s)) {
                return Err(unique("SOCIAL"));
            }
        }
        self.state.identities.insert(identity.id, identity.clone());
        Ok(())
    }
}

impl IdentityStore for MemTx<'_> {
    fn identity(&self, id: IdentityId) -> StoreResult<Option<Identity>> {
        Ok(self.state.identities.get(&id).cloned())
    }

    fn identity_by_handle(&self, handle: &Login) -> StoreResult<Option<Identity>> {
        Ok(self.state.identities.values().find(|i| i.handles().any(|h| h == handle)).cloned())
    }

    fn identity_by_social(&self, provider: &str, subject: &str) -> StoreResult<Option<Identity>> {
        Ok(self
            .state
            .identities
            .values()
            .find(|i| i.socials.iter().any(|s| s.provider == provider && s.subject == subject))
            .cloned())
    }

    fn insert_identity(&mut self, identity: &Identity) -> StoreResult<()> {
        if self.state.identities.contains_key(&identity.id) {
            return Err(unique("identity"));
        }
        self.put_identity(identity)
    }

    fn update_identity(&mut self, identity: &Identity) -> StoreResult<()> {
        if !self.state.identities.contains_key(&identity.id) {
            return Err(StoreError::Backend(format!("no identity {}", identity.id)));
        }
        self.put_identity(identity)
    }

    fn delete_identity(&mut self, id: IdentityId) -> StoreResult<()> {
        self.writable()?;
        self.state.identities.remove(&id);
        self.state.links.retain(|_, i| *i != id);
        self.state.codes.retain(|_, c| {
            !matches!(c.purpose, crate::model::identity::CodePurpose::AddContact(i)
                | crate::model::identity::CodePurpose::ChangeLogin(i)
                | crate::model::identity::CodePurpose::ResetPassword(i) if i == id)
        });
        Ok(())
    }

    fn link_user(&mut self, identity: IdentityId, m: Membership) -> StoreResult<()> {
        self.writable()?;
        if self.state.links.contains_key(&(m.account, m.user)) {
            return Err(unique("USER"));
        }
        self.state.links.insert((m.account, m.user), identity);
        Ok(())
    }

    fn identity_of_user(&self, account: AccountId, user: UserId) -> StoreResult<Option<IdentityId>> {
        Ok(self.state.links.get(&(account, user)).copied())
    }

    fn memberships(&self, identity: IdentityId) -> StoreResult<Vec<Membership>> {
        let mut out: Vec<Membership> = self
            .state
            .links
            .iter()
            .filter(|(_, i)| **i == identity)
            .map(|((account, user), _)| Membership { account: *account, user: *user })
            .collect();
        out.sort();
        Ok(out)
    }

    fn login_failures(&self, handle: &str) -> StoreResult<Option<LoginFailures>> {
        Ok(self.state.failures.get(handle).copied())
    }

    fn set_login_failures(&mut self, handle: &str, failures: Option<LoginFailures>) -> StoreResult<()> {
        self.writable()?;
        match failures {
            Some(f) => self.state.failures.insert(handle.to_string(), f),
            None => self.state.failures.remove(handle),
        };
        Ok(())
    }

    fn clear_login_failures_under(&mut self, prefix: &str) -> StoreResult<u64> {
        self.writable()?;
        let before = self.state.failures.len();
        self.state.failures.retain(|k, _| !k.starts_with(prefix));
        Ok((before - self.state.failures.len()) as u64)
    }

    fn insert_code(&mut self, code: &ConfirmationCode) -> StoreResult<()> {
        self.writable()?;
        self.state.codes.insert(code.id, code.clone());
        Ok(())
    }

    fn code(&self, id: Uuid) -> StoreResult<Option<ConfirmationCode>> {
        Ok(self.state.codes.get(&id).cloned())
    }

    fn update_code(&mut self, code: &ConfirmationCode) -> StoreResult<()> {
        self.insert_code(code)
    }

    fn purge_codes(&mut self, expired_before: DateTime<Utc>, limit: usize) -> StoreResult<u64> {
        self.writable()?;
        let due =
            oldest_before(self.state.codes.values().map(|c| (c.expires_at, c.id)), expired_before, limit);
        for id in &due {
            self.state.codes.remove(id);
        }
        Ok(due.len() as u64)
    }

    fn purge_login_failures(&mut self, last_before: DateTime<Utc>, limit: usize) -> StoreResult<u64> {
        self.writable()?;
        let stamped = self.state.failures.iter().map(|(h, f)| (f.last, h.clone()));
        let due = oldest_before(stamped, last_before, limit);
        for handle in &due {
            self.state.failures.remove(handle);
        }
        Ok(due.len() as u64)
    }
}

impl InvitationStore for MemTx<'_> {
    fn insert_invitation(&mut self, invitation: &Invitation) -> StoreResult<()> {
        self.writable()?;
        self.state.invitations.push(invitation.clone());
        Ok(())
    }

    fn invitation(&self, account: AccountId, id: InvitationId) -> StoreResult<Option<Invitation>> {
        Ok(self.state.invitations.iter().find(|i| i.account == account && i.id == id).cloned())
    }

    fn invitation_by_token(&self, hash: &SecretHash) -> StoreResult<Option<Invitation>> {
        Ok(self.state.invitations.iter().find(|i| i.hash == *hash).cloned())
    }

    fn invitations(&self, account: AccountId) -> StoreResult<Vec<Invitation>> {
        Ok(self.state.invitations.iter().filter(|i| i.account == account).cloned().collect())
    }

    fn invitation_times_by(
        &self,
        account: AccountId,
        inviter: UserId,
        since: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<Vec<DateTime<Utc>>> {
        let mut times: Vec<DateTime<Utc>> = self
            .state
            .invitations
            .iter()
            .filter(|i| i.account == account && i.invited_by == Some(inviter))
            .filter(|i| i.created_at.timestamp() >= since.timestamp())
            .map(|i| i.created_at)
            .collect();
        times.sort_unstable();
        times.truncate(limit);
        Ok(times)
    }

    fn invitations_to(&self, account: AccountId, address: &Login) -> StoreResult<Vec<Invitation>> {
        Ok(self
            .state
            .invitations
            .iter()
            .filter(|i| i.account == account && i.address == *address)
            .cloned()
            .collect())
    }

    fn invitations_expiring(&self, at: DateTime<Utc>) -> StoreResult<Vec<Invitation>> {
        Ok(self
            .state
            .invitations
            .iter()
            .filter(|i| i.state == InvitationState::Pending && i.expires_at <= at)
            .cloned()
            .collect())
    }

    fn update_invitation(&mut self, invitation: &Invitation) -> StoreResult<()> {
        self.writable()?;
        if let Some(i) = self.state.invitations.iter_mut().find(|i| i.id == invitation.id) {
            *i = invitation.clone();
        }
        Ok(())
    }

    fn registration_link(&self, account: AccountId) -> StoreResult<Option<RegistrationLink>> {
        Ok(self.state.registration_links.get(&account).copied())
    }

    fn registration_link_by_token(&self, hash: &SecretHash) -> StoreResult<Option<RegistrationLink>> {
        Ok(self.state.registration_links.values().find(|l| l.hash == *hash).copied())
    }

    fn set_registration_link(&mut self, link: &RegistrationLink) -> StoreResult<()> {
        self.writable()?;
        self.state.registration_links.insert(link.account, *link);
        Ok(())
    }

    fn insert_request(&mut self, request: &RegistrationRequest) -> StoreResult<()> {
        self.writable()?;
        self.state.requests.push(request.clone());
        Ok(())
    }

    fn request(&self, id: Uuid) -> StoreResult<Option<RegistrationRequest>> {
        Ok(self.state.requests.iter().find(|r| r.id == id).cloned())
    }

    fn requests(&self, account: AccountId) -> StoreResult<Vec<RegistrationRequest>> {
        Ok(self.state.requests.iter().filter(|r| r.account == account).cloned().collect())
    }

    fn update_request(&mut self, request: &RegistrationRequest) -> StoreResult<()> {
        self.writable()?;
        if let Some(r) = self.state.requests.iter_mut().find(|r| r.id == request.id) {
            *r = request.clone();
        }
        Ok(())
    }
}

impl CredentialStore for MemTx<'_> {
    fn insert_credential(&mut self, credential: &Credential) -> StoreResult<()> {
        self.writable()?;
        if self.state.credentials.iter().any(|c| c.hash == credential.hash) {
            return Err(unique("TOKEN"));
        }
        self.state.credentials.push(credential.clone());
        Ok(())
    }

    fn credential(&self, account: AccountId, id: CredentialId) -> StoreResult<Option<Credential>> {
        Ok(self.state.credentials.iter().find(|c| c.account == account && c.id == id).cloned())
    }

    fn credential_by_token(&self, hash: &SecretHash) -> StoreResult<Option<Credential>> {
        Ok(self.state.credentials.iter().find(|c| c.hash == *hash).cloned())
    }

    fn credentials(&self, account: AccountId) -> StoreResult<Vec<Credential>> {
        Ok(self.state.credentials.iter().filter(|c| c.account == account).cloned().collect())
    }

    fn update_credential(&mut self, credential: &Credential) -> StoreResult<()> {
        self.writable()?;
        if let Some(c) = self.state.credentials.iter_mut().find(|c| c.id == credential.id) {
            *c = credential.clone();
        }
        Ok(())
    }
}

impl HrStore for MemTx<'_> {
    fn hr_fields(&self, account: AccountId) -> StoreResult<Vec<HrField>> {
        Ok(self.state.hr_fields.get(&account).cloned().unwrap_or_default())
    }

    fn set_hr_fields(&mut self, account: AccountId, fields: &[HrField]) -> StoreResult<()> {
        self.writable()?;
        self.state.hr_fields.insert(account, fields.to_vec());
        for ((a, _), values) in self.state.hr_values.iter_mut() {
            if *a == account {
                values.retain(|k, _| fields.iter().any(|f| &f.key == k));
            }
        }
        Ok(())
    }

    fn hr_values(&self, account: AccountId, user: UserId) -> StoreResult<HrValues> {
        Ok(self.state.hr_values.get(&(account, user)).cloned().unwrap_or_default())
    }

    fn set_hr_values(&mut self, account: AccountId, user: UserId, values: &HrValues) -> StoreResult<()> {
        self.writable()?;
        self.state.hr_values.insert((account, user), values.clone());
        Ok(())
    }

    fn hr_holders(&self, account: AccountId) -> StoreResult<Vec<UserId>> {
        Ok(self.state.hr_holders.iter().filter(|(a, _)| *a == account).map(|(_, u)| *u).collect())
    }

    fn set_hr_holder(&mut self, account: AccountId, user: UserId, holds: bool) -> StoreResult<()> {
        self.writable()?;
        if holds {
            self.state.hr_holders.insert((account, user));
        } else {
            self.state.hr_holders.remove(&(account, user));
        }
        Ok(())
    }
}
