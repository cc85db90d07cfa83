//! The card's content in [`MemoryDb`](super::MemoryDb): absences, "about me", badges,
//! appreciations, layouts, interest tags and presence statuses, with the reference semantics of
//! [`CardContentStore`].

use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::MemTx;
use crate::error::StoreError;
use crate::field::UserField;
use crate::ids::{AccountId, UserId};
use crate::model::absence::{Absence, AbsenceQuery};
use crate::model::appreciation::{Appreciation, Badge};
use crate::model::interest::stored_tags;
use crate::model::user::{PresenceStatus, Role};
use crate::ports::{CardContentStore, StoreResult};
use crate::query::interest_word;

impl CardContentStore for MemTx<'_> {
    fn absence(&self, account: AccountId, id: u32) -> StoreResult<Option<Absence>> {
        Ok(self.state.absences.get(&(account, id)).cloned())
    }

    fn absences(&self, account: AccountId, query: &AbsenceQuery, limit: usize) -> StoreResult<Vec<Absence>> {
        let mut found: Vec<Absence> = self
            .state
            .absences
            .range((account, 0)..=(account, u32::MAX))
            .map(|(_, a)| a)
            .filter(|a| query.matches(a))
            .cloned()
            .collect();
        found.sort_by_key(|a| (a.from, a.id));
        found.truncate(limit);
        Ok(found)
    }

    fn absent_users(&self, account: AccountId, day: NaiveDate, limit: usize) -> StoreResult<Vec<UserId>> {
        let mut users: Vec<UserId> = self
            .state
            .absences
            .range((account, 0)..=(account, u32::MAX))
            .map(|(_, a)| a)
            .filter(|a| a.overlaps(day, day))
            .map(|a| a.user)
            .collect();
        users.sort_unstable();
        users.dedup();
        users.truncate(limit);
        Ok(users)
    }

    fn insert_absence(&mut self, absence: &Absence) -> StoreResult<()> {
        self.writable()?;
        if self.state.absences.contains_key(&(absence.account, absence.id)) {
            return Err(StoreError::UniqueViolation { what: "absence".into() });
        }
        self.state.absences.insert((absence.account, absence.id), absence.clone());
        Ok(())
    }

    fn update_absence(&mut self, absence: &Absence) -> StoreResult<()> {
        self.writable()?;
        if let Some(a) = self.state.absences.get_mut(&(absence.account, absence.id)) {
            a.kind = absence.kind;
            a.from = absence.from;
            a.to = absence.to;
            a.note = absence.note.clone();
        }
        Ok(())
    }

    fn delete_absence(&mut self, account: AccountId, id: u32) -> StoreResult<()> {
        self.writable()?;
        self.state.absences.remove(&(account, id));
        Ok(())
    }

    fn about(&self, account: AccountId, user: UserId) -> StoreResult<Option<String>> {
        Ok(self.state.about.get(&(account, user)).cloned())
    }

    fn set_about(&mut self, account: AccountId, user: UserId, text: &str) -> StoreResult<()> {
        self.writable()?;
        if text.is_empty() {
            self.state.about.remove(&(account, user));
        } else {
            self.state.about.insert((account, user), text.to_string());
        }
        Ok(())
    }

    fn interest_tags(
        &self,
        account: AccountId,
        prefix: &str,
        limit: usize,
    ) -> StoreResult<Vec<(String, u64)>> {
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
        for u in self.state.users.range((account, UserId(0))..=(account, UserId(u32::MAX))).map(|(_, u)| u) {
            if !matches!(u.role, Role::Administrator | Role::Employee) {
                continue;
            }
            for tag in
                stored_tags(u.text(UserField::UfInterests)).into_iter().filter(|t| t.starts_with(prefix))
            {
                *counts.entry(tag).or_default() += 1;
            }
        }
        let mut out: Vec<(String, u64)> = counts.into_iter().collect();
        // Ties by the tag's search word (`_` and `-` after letters), as stores keep them.
        out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| interest_word(&a.0).cmp(&interest_word(&b.0))));
        out.truncate(limit);
        Ok(out)
    }

    fn added_badges(&self, account: AccountId) -> StoreResult<Vec<Badge>> {
        Ok(self.state.badges.iter().filter(|((a, _), _)| *a == account).map(|(_, b)| b.clone()).collect())
    }

    fn insert_badge(&mut self, account: AccountId, badge: &Badge) -> StoreResult<()> {
        self.writable()?;
        if self.state.badges.contains_key(&(account, badge.code.clone())) {
            return Err(StoreError::UniqueViolation { what: "CODE".into() });
        }
        self.state.badges.insert((account, badge.code.clone()), badge.clone());
        Ok(())
    }

    fn insert_appreciation(&mut self, appreciation: &Appreciation) -> StoreResult<()> {
        self.writable()?;
        self.state.appreciations.push(appreciation.clone());
        Ok(())
    }

    fn appreciation_counts(&self, account: AccountId, user: UserId) -> StoreResult<Vec<(String, u64)>> {
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
        for a in self.state.appreciations.iter().filter(|a| a.account == account && a.recipient == user) {
            *counts.entry(a.badge.clone()).or_default() += 1;
        }
        Ok(counts.into_iter().collect())
    }

    fn appreciations(
        &self,
        account: AccountId,
        recipient: UserId,
        giver: Option<UserId>,
        limit: usize,
    ) -> StoreResult<Vec<Appreciation>> {
        let mut found: Vec<Appreciation> = self
            .state
            .appreciations
            .iter()
            .filter(|a| {
                a.account == account && a.recipient == recipient && giver.is_none_or(|g| a.giver == g)
            })
            .cloned()
            .collect();
        found.sort_by(|a, b| b.at.cmp(&a.at).then_with(|| b.id.cmp(&a.id)));
        found.truncate(limit);
        Ok(found)
    }

    fn layout(&self, account: AccountId, owner: Option<UserId>) -> StoreResult<Option<Vec<String>>> {
        Ok(self.state.layouts.get(&(account, owner.map_or(0, |u| u.0))).cloned())
    }

    fn set_layout(
        &mut self,
        account: AccountId,
        owner: Option<UserId>,
        fields: Option<&[String]>,
    ) -> StoreResult<()> {
        self.writable()?;
        let key = (account, owner.map_or(0, |u| u.0));
        match fields {
            Some(f) => {
                self.state.layouts.insert(key, f.to_vec());
            }
            None => {
                self.state.layouts.remove(&key);
            }
        }
        Ok(())
    }

    fn users_with_status(
        &self,
        account: AccountId,
        statuses: &[PresenceStatus],
        limit: usize,
    ) -> StoreResult<Vec<UserId>> {
        Ok(self
            .state
            .statuses
            .range((account, UserId(0))..=(account, UserId(u32::MAX)))
            .filter(|(_, s)| statuses.contains(s))
            .map(|((_, u), _)| *u)
            .take(limit)
            .collect())
    }
}
