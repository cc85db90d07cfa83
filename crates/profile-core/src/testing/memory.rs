//! The in-memory fake: whole-state snapshots, copied on begin and swapped in on commit.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, MutexGuard};

use crate::access::Audience;
use crate::error::StoreError;
use crate::field::UserField;
use crate::ids::{AccountId, DepartmentId, Sequence, UserId, WorkgroupId};
use crate::model::account::Account;
use crate::model::department::Department;
use crate::model::user::{Role, User};
use crate::model::workgroup::Workgroup;
use crate::ports::{AccountStore, Database, DepartmentStore, StoreResult, Tx, UserStore, WorkgroupStore};
use crate::query::{user_search_words, Page, UserQuery, PAGE_SIZE};

#[derive(Debug, Clone, Default)]
struct State {
    accounts: BTreeMap<AccountId, Account>,
    sequences: BTreeMap<(AccountId, u8), u32>,
    users: BTreeMap<(AccountId, UserId), User>,
    departments: BTreeMap<(AccountId, DepartmentId), Department>,
    groups: BTreeMap<(AccountId, WorkgroupId), Workgroup>,
    members: BTreeSet<(AccountId, WorkgroupId, UserId)>,
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
    db: &'a MemoryDb,
    state: State,
    _writer: Option<MutexGuard<'a, ()>>,
}

impl Database for MemoryDb {
    fn read(&self) -> StoreResult<Box<dyn Tx + '_>> {
        Ok(Box::new(MemTx { db: self, state: self.snapshot()?, _writer: None }))
    }

    fn write(&self) -> StoreResult<Box<dyn Tx + '_>> {
        let guard = self.writer.lock().map_err(|_| StoreError::Backend("poisoned".into()))?;
        Ok(Box::new(MemTx { db: self, state: self.snapshot()?, _writer: Some(guard) }))
    }
}

impl MemTx<'_> {
    fn writable(&self) -> StoreResult<()> {
        if self._writer.is_some() {
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
        user_search_words(user, names)
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
        if self._writer.is_some() {
            let mut s = self.db.state.lock().map_err(|_| StoreError::Backend("poisoned".into()))?;
            *s = self.state;
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
        rows.sort_by(|a, b| {
            q.sort
                .iter()
                .map(|k| k.compare(a, b, q.now))
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
}

impl DepartmentStore for MemTx<'_> {
    fn department(&self, account: AccountId, id: DepartmentId) -> StoreResult<Option<Department>> {
        Ok(self.state.departments.get(&(account, id)).cloned())
    }

    fn departments(&self, account: AccountId) -> StoreResult<Vec<Department>> {
        Ok(self
            .state
            .departments
            .range((account, DepartmentId(0))..=(account, DepartmentId(u32::MAX)))
            .map(|(_, d)| d.clone())
            .collect())
    }

    fn child_departments(&self, account: AccountId, parent: DepartmentId) -> StoreResult<Vec<Department>> {
        Ok(self.departments(account)?.into_iter().filter(|d| d.parent == Some(parent)).collect())
    }

    fn departments_headed_by(&self, account: AccountId, head: UserId) -> StoreResult<Vec<Department>> {
        Ok(self.departments(account)?.into_iter().filter(|d| d.head == Some(head)).collect())
    }

    fn insert_department(&mut self, department: &Department) -> StoreResult<()> {
        self.writable()?;
        self.state.departments.insert((department.account, department.id), department.clone());
        Ok(())
    }

    fn update_department(&mut self, department: &Department) -> StoreResult<()> {
        self.insert_department(department)
    }

    fn delete_department(&mut self, account: AccountId, id: DepartmentId) -> StoreResult<()> {
        self.writable()?;
        self.state.departments.remove(&(account, id));
        Ok(())
    }
}

impl WorkgroupStore for MemTx<'_> {
    fn workgroup(&self, account: AccountId, id: WorkgroupId) -> StoreResult<Option<Workgroup>> {
        Ok(self.state.groups.get(&(account, id)).cloned())
    }

    fn workgroups(&self, account: AccountId) -> StoreResult<Vec<Workgroup>> {
        Ok(self.state.groups.values().filter(|g| g.account == account).cloned().collect())
    }

    fn workgroup_members(&self, account: AccountId, group: WorkgroupId) -> StoreResult<Vec<UserId>> {
        Ok(self
            .state
            .members
            .iter()
            .filter(|(a, g, _)| *a == account && *g == group)
            .map(|(_, _, u)| *u)
            .collect())
    }

    fn user_workgroups(&self, account: AccountId, user: UserId) -> StoreResult<Vec<WorkgroupId>> {
        Ok(self
            .state
            .members
            .iter()
            .filter(|(a, _, u)| *a == account && *u == user)
            .map(|(_, g, _)| *g)
            .collect())
    }

    fn share_workgroup(&self, account: AccountId, a: UserId, b: UserId) -> StoreResult<bool> {
        Ok(self.shares(account, a, b))
    }

    fn insert_workgroup(&mut self, group: &Workgroup) -> StoreResult<()> {
        self.writable()?;
        self.state.groups.insert((group.account, group.id), group.clone());
        Ok(())
    }

    fn update_workgroup(&mut self, group: &Workgroup) -> StoreResult<()> {
        self.insert_workgroup(group)
    }

    fn add_workgroup_member(
        &mut self,
        account: AccountId,
        group: WorkgroupId,
        user: UserId,
    ) -> StoreResult<()> {
        self.writable()?;
        self.state.members.insert((account, group, user));
        Ok(())
    }

    fn remove_workgroup_member(
        &mut self,
        account: AccountId,
        group: WorkgroupId,
        user: UserId,
    ) -> StoreResult<()> {
        self.writable()?;
        self.state.members.remove(&(account, group, user));
        Ok(())
    }
}
