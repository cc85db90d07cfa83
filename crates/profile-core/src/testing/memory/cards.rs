//! Images and custom fields of [`MemoryDb`](super::MemoryDb): the reference semantics of the
//! card's ports (`custom_matches` by [`CustomTest::passes`]).

use super::MemTx;
use crate::error::StoreError;
use crate::ids::{AccountId, UserId};
use crate::model::custom::{CustomField, CustomTest, CustomValues};
use crate::model::image::{Background, ImageFormat, ImageId, ImageSize, StoredImage};
use crate::ports::{CustomFieldStore, ImageStore, StoreResult};

impl ImageStore for MemTx<'_> {
    fn insert_image(&mut self, image: &StoredImage) -> StoreResult<()> {
        self.writable()?;
        if self.state.images.contains_key(&image.id) {
            return Err(StoreError::UniqueViolation { what: "image".into() });
        }
        self.state.images.insert(image.id, image.clone());
        Ok(())
    }

    fn delete_image(&mut self, id: ImageId) -> StoreResult<()> {
        self.writable()?;
        self.state.images.remove(&id);
        Ok(())
    }

    fn image(&self, id: ImageId) -> StoreResult<Option<StoredImage>> {
        Ok(self.state.images.get(&id).cloned())
    }

    fn image_copy(&self, id: ImageId, size: ImageSize) -> StoreResult<Option<(ImageFormat, Vec<u8>)>> {
        Ok(self.state.images.get(&id).and_then(|i| {
            i.copies.iter().find(|(s, _)| *s == size).map(|(_, bytes)| (i.format, bytes.clone()))
        }))
    }

    fn user_background(&self, account: AccountId, user: UserId) -> StoreResult<Option<Background>> {
        Ok(self.state.backgrounds.get(&(account, user)).cloned())
    }

    fn set_user_background(
        &mut self,
        account: AccountId,
        user: UserId,
        background: Option<&Background>,
    ) -> StoreResult<()> {
        self.writable()?;
        match background {
            Some(b) => self.state.backgrounds.insert((account, user), b.clone()),
            None => self.state.backgrounds.remove(&(account, user)),
        };
        Ok(())
    }
}

impl CustomFieldStore for MemTx<'_> {
    fn custom_fields(&self, account: AccountId) -> StoreResult<Vec<CustomField>> {
        Ok(self
            .state
            .custom_fields
            .range((account, 0)..=(account, u32::MAX))
            .map(|(_, f)| f.clone())
            .collect())
    }

    fn insert_custom_field(&mut self, field: &CustomField) -> StoreResult<()> {
        self.writable()?;
        let taken =
            self.state.custom_fields.values().any(|f| f.account == field.account && f.name == field.name);
        if taken || self.state.custom_fields.contains_key(&(field.account, field.id)) {
            return Err(StoreError::UniqueViolation { what: "FIELD_NAME".into() });
        }
        self.state.custom_fields.insert((field.account, field.id), field.clone());
        Ok(())
    }

    fn update_custom_field(&mut self, field: &CustomField) -> StoreResult<()> {
        self.writable()?;
        if let Some(f) = self.state.custom_fields.get_mut(&(field.account, field.id)) {
            *f = field.clone();
        }
        Ok(())
    }

    fn delete_custom_field(&mut self, account: AccountId, id: u32) -> StoreResult<()> {
        self.writable()?;
        self.state.custom_fields.remove(&(account, id));
        Ok(())
    }

    fn custom_values(&self, account: AccountId, users: &[UserId]) -> StoreResult<Vec<CustomValues>> {
        let mut out = Vec::new();
        for &user in users {
            for ((_, _, field), values) in
                self.state.custom_values.range((account, user, 0)..=(account, user, u32::MAX))
            {
                if self.state.custom_fields.contains_key(&(account, *field)) {
                    out.push(CustomValues { user, field: *field, values: values.clone() });
                }
            }
        }
        Ok(out)
    }

    fn set_custom_values(&mut self, account: AccountId, values: &CustomValues) -> StoreResult<()> {
        self.writable()?;
        let key = (account, values.user, values.field);
        if values.values.is_empty() {
            self.state.custom_values.remove(&key);
        } else {
            self.state.custom_values.insert(key, values.values.clone());
        }
        Ok(())
    }

    fn custom_matches(
        &self,
        account: AccountId,
        field: u32,
        test: &CustomTest,
        limit: usize,
    ) -> StoreResult<Vec<UserId>> {
        if !self.state.custom_fields.contains_key(&(account, field)) {
            return Ok(Vec::new());
        }
        let mut out: Vec<UserId> = self
            .state
            .custom_values
            .iter()
            .filter(|((a, _, f), values)| *a == account && *f == field && test.passes(values))
            .map(|((_, u, _), _)| *u)
            .collect();
        out.sort_unstable();
        out.truncate(limit);
        Ok(out)
    }

    fn purge_custom_values(&mut self, limit: usize) -> StoreResult<u64> {
        self.writable()?;
        let gone: Vec<_> = self
            .state
            .custom_values
            .keys()
            .filter(|(a, _, f)| !self.state.custom_fields.contains_key(&(*a, *f)))
            .take(limit)
            .copied()
            .collect();
        for k in &gone {
            self.state.custom_values.remove(k);
        }
        Ok(gone.len() as u64)
    }
}
