//! The structure in [`MemoryDb`](super::MemoryDb): departments and workgroups with their
//! members, the reference semantics of their ports.

use super::MemTx;
use crate::ids::{AccountId, DepartmentId, UserId, WorkgroupId};
use crate::model::department::Department;
use crate::model::workgroup::Workgroup;
use crate::ports::{DepartmentStore, StoreResult, WorkgroupStore};

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
