//! Images and users' backgrounds. An image is found by its ID alone (the ID is its
//! capability); its owner is kept to give it back whole (`image`, which copies a network
//! profile's photo into each account).

use profile_core::ids::{AccountId, UserId};
use profile_core::model::identity::IdentityId;
use profile_core::model::image::{
    Background, ImageFormat, ImageId, ImageOwner, ImagePurpose, ImageSize, StoredImage,
};
use profile_core::ports::{ImageStore, StoreResult};
use rusqlite::{params, OptionalExtension};

use crate::error::backend;
use crate::users::uid;
use crate::SqliteTx;

fn key(id: ImageId) -> [u8; 16] {
    id.0.to_be_bytes()
}

impl ImageStore for SqliteTx<'_> {
    fn insert_image(&mut self, image: &StoredImage) -> StoreResult<()> {
        let (user, identity) = match image.owner {
            ImageOwner::User(account, user) => (Some(uid(self.no_for_write(account)?, user)), None),
            ImageOwner::Identity(IdentityId(id)) => (None, Some(id.into_bytes().to_vec())),
        };
        self.writable()?;
        // Several statements: a savepoint makes them one (see `in_savepoint`).
        self.in_savepoint(|tx| {
            let conn = tx.conn();
            let run = || -> rusqlite::Result<()> {
                conn.prepare_cached(
                    "INSERT INTO images (id, uid, identity, purpose, format) VALUES (?1, ?2, ?3, ?4, ?5)",
                )?
                .execute(params![
                    key(image.id),
                    user,
                    identity,
                    image.purpose.code(),
                    image.format.ext()
                ])?;
                let mut copy =
                    conn.prepare_cached("INSERT INTO image_copies (id, size, bytes) VALUES (?1, ?2, ?3)")?;
                for (size, bytes) in &image.copies {
                    copy.execute(params![key(image.id), size.name(), bytes])?;
                }
                Ok(())
            };
            run().map_err(backend)
        })
    }

    fn delete_image(&mut self, id: ImageId) -> StoreResult<()> {
        self.writable()?;
        self.in_savepoint(|tx| {
            let conn = tx.conn();
            let run = || -> rusqlite::Result<()> {
                conn.prepare_cached("DELETE FROM image_copies WHERE id = ?1")?.execute([key(id)])?;
                conn.prepare_cached("DELETE FROM images WHERE id = ?1")?.execute([key(id)])?;
                Ok(())
            };
            run().map_err(backend)
        })
    }

    fn image(&self, id: ImageId) -> StoreResult<Option<StoredImage>> {
        let conn = self.conn();
        let head = conn
            .prepare_cached(
                "SELECT i.purpose, i.format, a.id, i.uid, i.identity FROM images i \
                 LEFT JOIN accounts a ON a.no = i.uid >> 32 WHERE i.id = ?1",
            )
            .and_then(|mut s| {
                s.query_row([key(id)], |r| {
                    let account: Option<Vec<u8>> = r.get(2)?;
                    let user: Option<i64> = r.get(3)?;
                    let identity: Option<Vec<u8>> = r.get(4)?;
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, account, user, identity))
                })
                .optional()
            })
            .map_err(backend)?;
        let Some((purpose, format, account, user, identity)) = head else { return Ok(None) };
        let Some(owner) = store_common::query::image_owner(account, user, identity) else { return Ok(None) };
        let (Some(purpose), Some(format)) =
            (ImagePurpose::from_code(&purpose), ImageFormat::from_ext(&format))
        else {
            return Ok(None);
        };
        let copies = conn
            .prepare_cached("SELECT size, bytes FROM image_copies WHERE id = ?1")
            .and_then(|mut s| {
                s.query_map([key(id)], |r| Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?)))?
                    .collect::<Result<Vec<_>, _>>()
            })
            .map_err(backend)?;
        let mut copies: Vec<(ImageSize, Vec<u8>)> =
            copies.into_iter().filter_map(|(s, b)| ImageSize::from_name(&s).map(|s| (s, b))).collect();
        copies.sort_by_key(|(s, _)| *s);
        Ok(Some(StoredImage { id, owner, purpose, format, copies }))
    }

    fn image_copy(&self, id: ImageId, size: ImageSize) -> StoreResult<Option<(ImageFormat, Vec<u8>)>> {
        let found: Option<(String, Vec<u8>)> = self
            .conn()
            .prepare_cached(
                "SELECT i.format, c.bytes FROM images i JOIN image_copies c ON c.id = i.id AND c.size = ?2 \
                 WHERE i.id = ?1",
            )
            .and_then(|mut s| {
                s.query_row(params![key(id), size.name()], |r| Ok((r.get(0)?, r.get(1)?))).optional()
            })
            .map_err(backend)?;
        Ok(found.and_then(|(f, bytes)| ImageFormat::from_ext(&f).map(|f| (f, bytes))))
    }

    fn user_background(&self, account: AccountId, user: UserId) -> StoreResult<Option<Background>> {
        let Some(no) = self.no(account)? else { return Ok(None) };
        let code: Option<String> = self
            .conn()
            .prepare_cached("SELECT background FROM user_backgrounds WHERE uid = ?1")
            .and_then(|mut s| s.query_row([uid(no, user)], |r| r.get(0)).optional())
            .map_err(backend)?;
        Ok(code.as_deref().and_then(Background::from_code))
    }

    fn set_user_background(
        &mut self,
        account: AccountId,
        user: UserId,
        background: Option<&Background>,
    ) -> StoreResult<()> {
        let key = uid(self.no_for_write(account)?, user);
        let conn = self.conn();
        match background {
            Some(b) => conn
                .prepare_cached(
                    "INSERT INTO user_backgrounds (uid, background) VALUES (?1, ?2) \
                     ON CONFLICT (uid) DO UPDATE SET background = excluded.background",
                )
                .and_then(|mut s| s.execute(params![key, b.code()])),
            None => conn
                .prepare_cached("DELETE FROM user_backgrounds WHERE uid = ?1")
                .and_then(|mut s| s.execute([key])),
        }
        .map_err(backend)?;
        Ok(())
    }
}
