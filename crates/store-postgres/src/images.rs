//! Images and users' backgrounds, as the SQLite store keeps them.

use profile_core::ids::{AccountId, UserId};
use profile_core::model::identity::IdentityId;
use profile_core::model::image::{
    Background, ImageFormat, ImageId, ImageOwner, ImagePurpose, ImageSize, StoredImage,
};
use profile_core::ports::{ImageStore, StoreResult};

use crate::codec::get;
use crate::users::uid;
use crate::PgTx;

fn key(id: ImageId) -> Vec<u8> {
    id.0.to_be_bytes().to_vec()
}

impl ImageStore for PgTx<'_> {
    fn insert_image(&mut self, image: &StoredImage) -> StoreResult<()> {
        let (user, identity): (Option<i64>, Option<Vec<u8>>) = match image.owner {
            ImageOwner::User(account, user) => (Some(uid(self.no_for_write(account)?, user)), None),
            ImageOwner::Identity(IdentityId(id)) => (None, Some(id.into_bytes().to_vec())),
        };
        let id = key(image.id);
        self.in_savepoint(|tx| {
            tx.execute(
                "INSERT INTO images (id, uid, identity, purpose, format) VALUES ($1, $2, $3, $4, $5)",
                &[&id, &user, &identity, &image.purpose.code(), &image.format.ext()],
            )?;
            for (size, bytes) in &image.copies {
                tx.execute(
                    "INSERT INTO image_copies (id, size, bytes) VALUES ($1, $2, $3)",
                    &[&id, &size.name(), bytes],
                )?;
            }
            Ok(())
        })
    }

    fn delete_image(&mut self, id: ImageId) -> StoreResult<()> {
        let id = key(id);
        self.in_savepoint(|tx| {
            tx.execute("DELETE FROM image_copies WHERE id = $1", &[&id])?;
            tx.execute("DELETE FROM images WHERE id = $1", &[&id])?;
            Ok(())
        })
    }

    fn image(&self, id: ImageId) -> StoreResult<Option<StoredImage>> {
        let k = key(id);
        let rows = self.query(
            "SELECT i.purpose, i.format, a.id, i.uid, i.identity FROM images i \
             LEFT JOIN accounts a ON a.no = i.uid >> 32 WHERE i.id = $1",
            &[&k],
        )?;
        let Some(r) = rows.first() else { return Ok(None) };
        let (purpose, format): (String, String) = (get(r, 0)?, get(r, 1)?);
        let (account, user, identity): (Option<Vec<u8>>, Option<i64>, Option<Vec<u8>>) =
            (get(r, 2)?, get(r, 3)?, get(r, 4)?);
        let Some(owner) = store_common::query::image_owner(account, user, identity) else { return Ok(None) };
        let (Some(purpose), Some(format)) =
            (ImagePurpose::from_code(&purpose), ImageFormat::from_ext(&format))
        else {
            return Ok(None);
        };
        let mut copies = Vec::new();
        for r in self.query("SELECT size, bytes FROM image_copies WHERE id = $1", &[&k])? {
            let (size, bytes): (String, Vec<u8>) = (get(&r, 0)?, get(&r, 1)?);
            if let Some(size) = ImageSize::from_name(&size) {
                copies.push((size, bytes));
            }
        }
        copies.sort_by_key(|(s, _)| *s);
        Ok(Some(StoredImage { id, owner, purpose, format, copies }))
    }

    fn image_copy(&self, id: ImageId, size: ImageSize) -> StoreResult<Option<(ImageFormat, Vec<u8>)>> {
        let rows = self.query(
            "SELECT i.format, c.bytes FROM images i JOIN image_copies c ON c.id = i.id AND c.size = $2 \
             WHERE i.id = $1",
            &[&key(id), &size.name()],
        )?;
        let Some(r) = rows.first() else { return Ok(None) };
        let (format, bytes): (String, Vec<u8>) = (get(r, 0)?, get(r, 1)?);
        Ok(ImageFormat::from_ext(&format).map(|f| (f, bytes)))
    }

    fn user_background(&self, account: AccountId, user: UserId) -> StoreResult<Option<Background>> {
        let Some(no) = self.no(account)? else { return Ok(None) };
        let rows = self.query("SELECT background FROM user_backgrounds WHERE uid = $1", &[&uid(no, user)])?;
        let code: Option<String> = match rows.first() {
            Some(r) => Some(get(r, 0)?),
            None => None,
        };
        Ok(code.as_deref().and_then(Background::from_code))
    }

    fn set_user_background(
        &mut self,
        account: AccountId,
        user: UserId,
        background: Option<&Background>,
    ) -> StoreResult<()> {
        let key = uid(self.no_for_write(account)?, user);
        self.in_savepoint(|tx| match background {
            Some(b) => tx.execute(
                "INSERT INTO user_backgrounds (uid, background) VALUES ($1, $2) \
                 ON CONFLICT (uid) DO UPDATE SET background = excluded.background",
                &[&key, &b.code()],
            ),
            None => tx.execute("DELETE FROM user_backgrounds WHERE uid = $1", &[&key]),
        })?;
        Ok(())
    }
}
