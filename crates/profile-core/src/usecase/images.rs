//! Photos and backgrounds: uploads through the [`crate::ports::ImageCodec`], the copies kept in
//! the store, the capability URLs they are served at, and who may change them (whoever may
//! edit the user: the user themselves or an administrator).
//!
//! An upload is decoded before the unit of work that stores it begins, so a slow decode never
//! holds the writers' lock; a refused upload changes nothing.

use crate::access::{self, Actor};
use crate::error::CoreError;
use crate::field::UserField;
use crate::ids::UserId;
use crate::model::image::{
    Background, BuiltinBackground, ImageFormat, ImageId, ImageOwner, ImagePurpose, ImageRef, ImageSize,
    PreparedImage, StoredImage,
};
use crate::model::user::UserPatch;
use crate::ports::Tx;
use crate::usecase::{users, Ctx};

/// A change of a photo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhotoChange {
    /// A new photo: the uploaded file's bytes (PNG, JPEG, WebP or GIF).
    Upload(Vec<u8>),
    /// No photo any more.
    Remove,
}

/// A change of a background.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackgroundChange {
    /// One of [`crate::model::image::BUILTIN_BACKGROUNDS`], by name.
    Builtin(String),
    /// An uploaded image.
    Upload(Vec<u8>),
    /// No background.
    Remove,
}

/// A photo change with its upload already decoded: what [`users::update_user_with_photo`]
/// stores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PreparedPhoto {
    /// The new photo's copies.
    Set(PreparedImage),
    /// Remove the photo.
    Remove,
}

/// A background as readers get it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackgroundView {
    /// A built-in one.
    Builtin(BuiltinBackground),
    /// An uploaded one, at its URL.
    Image {
        /// The absolute URL of its copy.
        url: String,
    },
}

/// Checks an upload's size and has the codec decode it and encode its copies. `field` names the
/// parameter in the error.
///
/// # Errors
/// [`CoreError::Validation`] on `field`, saying why the file is refused.
pub fn prepare(
    ctx: Ctx<'_>,
    field: &str,
    bytes: &[u8],
    purpose: ImagePurpose,
) -> Result<PreparedImage, CoreError> {
    let limits = ctx.images.limits();
    if bytes.len() > limits.max_bytes {
        return Err(CoreError::invalid(field, format!("the file is larger than {} bytes", limits.max_bytes)));
    }
    let prepared =
        ctx.images.prepare(bytes, purpose).map_err(|e| CoreError::invalid(field, e.to_string()))?;
    // The codec owes one copy per size of the purpose; anything else is not stored.
    let sizes: Vec<ImageSize> = prepared.copies.iter().map(|(s, _)| *s).collect();
    if sizes != purpose.sizes() || prepared.copies.iter().any(|(_, b)| b.is_empty()) {
        return Err(CoreError::invalid(field, "the image could not be converted"));
    }
    Ok(prepared)
}

/// [`PhotoChange`] with its upload decoded (see [`prepare`]).
///
/// # Errors
/// As [`prepare`], on `PERSONAL_PHOTO`.
pub fn prepare_photo(ctx: Ctx<'_>, change: &PhotoChange) -> Result<PreparedPhoto, CoreError> {
    Ok(match change {
        PhotoChange::Upload(bytes) => {
            PreparedPhoto::Set(prepare(ctx, UserField::PersonalPhoto.code(), bytes, ImagePurpose::Photo)?)
        }
        PhotoChange::Remove => PreparedPhoto::Remove,
    })
}

/// Stores a prepared image under a new random ID and returns its reference.
pub(crate) fn insert(
    tx: &mut dyn Tx,
    ctx: Ctx<'_>,
    owner: ImageOwner,
    purpose: ImagePurpose,
    prepared: PreparedImage,
) -> Result<ImageRef, CoreError> {
    let mut bytes = [0u8; 16];
    ctx.ids.fill(&mut bytes);
    let image = StoredImage {
        id: ImageId::from_bytes(bytes),
        owner,
        purpose,
        format: prepared.format,
        copies: prepared.copies,
    };
    tx.insert_image(&image)?;
    Ok(image.reference())
}

/// Deletes the image a stored `PERSONAL_PHOTO` (or identity photo) text names, if it names one.
pub(crate) fn delete_named(tx: &mut dyn Tx, stored: &str) -> Result<(), CoreError> {
    if let Ok(r) = stored.parse::<ImageRef>() {
        tx.delete_image(r.id)?;
    }
    Ok(())
}

/// A copy of the image `stored` names for `owner`, under an ID of its own (so that an image's
/// URL never ties two accounts together); `None` when `stored` names no stored image.
pub(crate) fn copy_named(
    tx: &mut dyn Tx,
    ctx: Ctx<'_>,
    stored: &str,
    owner: ImageOwner,
) -> Result<Option<ImageRef>, CoreError> {
    let Ok(r) = stored.parse::<ImageRef>() else { return Ok(None) };
    let Some(image) = tx.image(r.id)? else { return Ok(None) };
    let prepared = PreparedImage { format: image.format, copies: image.copies };
    insert(tx, ctx, owner, image.purpose, prepared).map(Some)
}

/// Sets or removes a user's photo: [`users::update_user_with_photo`] with no other field.
///
/// # Errors
/// As [`users::update_user_with_photo`].
pub fn set_photo(ctx: Ctx<'_>, actor: &Actor, user: UserId, change: &PhotoChange) -> Result<(), CoreError> {
    let prepared = prepare_photo_for(ctx, actor, user, change)?;
    users::update_user_with_photo(ctx, actor, user, &UserPatch::default(), Some(prepared))?;
    Ok(())
}

/// [`prepare_photo`] after checking that `actor` may change `user` at all, so that nobody has
/// a file decoded for a change they may not make.
///
/// # Errors
/// As [`access::check_user_write`] and [`prepare`].
pub fn prepare_photo_for(
    ctx: Ctx<'_>,
    actor: &Actor,
    user: UserId,
    change: &PhotoChange,
) -> Result<PreparedPhoto, CoreError> {
    access::check_user_write(actor, user, &UserPatch::default())?;
    prepare_photo(ctx, change)
}

/// Sets a user's background (whoever may edit the user). The uploaded image an earlier
/// background was is deleted. Not a change of the user's fields (no `TIMESTAMP_X`).
///
/// # Errors
/// [`CoreError::Forbidden`]/[`CoreError::InsufficientScope`] as for editing the user;
/// [`CoreError::NotFound`]; [`CoreError::Validation`] on `BACKGROUND` for an unknown built-in
/// or a refused upload.
pub fn set_background(
    ctx: Ctx<'_>,
    actor: &Actor,
    user: UserId,
    change: &BackgroundChange,
) -> Result<Option<BackgroundView>, CoreError> {
    access::check_user_write(actor, user, &UserPatch::default())?;
    let upload = match change {
        BackgroundChange::Upload(bytes) => Some(prepare(ctx, "BACKGROUND", bytes, ImagePurpose::Background)?),
        BackgroundChange::Builtin(name) if BuiltinBackground::named(name).is_none() => {
            return Err(CoreError::invalid(
                "BACKGROUND",
                format!("no built-in background is called {name:?}"),
            ));
        }
        _ => None,
    };
    let mut tx = ctx.db.write()?;
    if tx.user(actor.account, user)?.is_none() {
        return Err(CoreError::not_found("user", user));
    }
    let old = tx.user_background(actor.account, user)?;
    let new = match (change, upload) {
        (BackgroundChange::Builtin(name), _) => {
            BuiltinBackground::named(name).map(|b| Background::Builtin(b.name))
        }
        (BackgroundChange::Upload(_), Some(prepared)) => Some(Background::Image(insert(
            &mut *tx,
            ctx,
            ImageOwner::User(actor.account, user),
            ImagePurpose::Background,
            prepared,
        )?)),
        _ => None,
    };
    if let Some(r) = old.as_ref().and_then(Background::image) {
        tx.delete_image(r.id)?;
    }
    tx.set_user_background(actor.account, user, new.as_ref())?;
    tx.commit()?;
    Ok(new.map(|b| view(ctx, &b)))
}

/// A user's background, for a reader who may see the user.
///
/// # Errors
/// [`CoreError::InsufficientScope`] without a user scope; [`CoreError::NotFound`] when the user
/// does not exist or the reader may not see them.
pub fn background(
    ctx: Ctx<'_>,
    actor: &Actor,
    user: UserId,
    admin_mode: bool,
) -> Result<Option<BackgroundView>, CoreError> {
    actor.user_read_tier()?;
    let tx = ctx.db.read()?;
    let found = tx.user(actor.account, user)?.ok_or_else(|| CoreError::not_found("user", user))?;
    if !users::visible(&*tx, actor.audience(admin_mode), &found)? {
        return Err(CoreError::not_found("user", user));
    }
    Ok(tx.user_background(actor.account, user)?.map(|b| view(ctx, &b)))
}

fn view(ctx: Ctx<'_>, b: &Background) -> BackgroundView {
    match b {
        Background::Builtin(name) => BackgroundView::Builtin(
            BuiltinBackground::named(name).unwrap_or(crate::model::image::BUILTIN_BACKGROUNDS[0]),
        ),
        Background::Image(r) => BackgroundView::Image { url: r.url(ctx.base_url, ImageSize::Cover) },
    }
}

/// One copy of an image as it is served at `/photo/{id}/{file}` (`file` is `{size}.{ext}`):
/// readable without a credential, since the 128-bit ID is the capability (decisions.md).
/// `None` for anything that names no stored copy, a malformed path included.
///
/// # Errors
/// [`CoreError::Storage`].
pub fn served_copy(ctx: Ctx<'_>, id: &str, file: &str) -> Result<Option<(ImageFormat, Vec<u8>)>, CoreError> {
    let Ok(id) = id.parse::<ImageId>() else { return Ok(None) };
    let Some((size, ext)) = file.split_once('.') else { return Ok(None) };
    let (Some(size), Some(format)) = (ImageSize::from_name(size), ImageFormat::from_ext(ext)) else {
        return Ok(None);
    };
    let found = ctx.db.read()?.image_copy(id, size)?;
    Ok(found.filter(|(f, _)| *f == format))
}
