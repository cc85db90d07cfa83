//! The network profile's name and photo, and "update on all accounts": what an identity
//! pushes into each of its accounts' user records.

use super::load;
use crate::error::CoreError;
use crate::field::UserField;
use crate::model::identity::{Identity, IdentityId};
use crate::model::image::{ImageOwner, ImagePurpose};
use crate::model::user::UserPatch;
use crate::ports::Tx;
use crate::usecase::images::{self, PhotoChange, PreparedPhoto};
use crate::usecase::Ctx;

/// Writes `fields` into every user record of the identity.
pub(super) fn push(
    tx: &mut dyn Tx,
    ctx: Ctx<'_>,
    identity: IdentityId,
    fields: &[(UserField, &str)],
) -> Result<(), CoreError> {
    let patch = UserPatch::from_text(fields.iter().copied())?;
    for m in tx.memberships(identity)? {
        let Some(mut user) = tx.user(m.account, m.user)? else { continue };
        if let Some((_, email)) = fields.iter().find(|(f, _)| *f == UserField::Email) {
            if tx.user_by_email(m.account, &email.to_lowercase())?.is_some_and(|other| other != user.id) {
                return Err(CoreError::conflict(
                    "EMAIL",
                    "another user of one of your accounts has this email",
                ));
            }
        }
        user.apply(&patch);
        user.updated_at = ctx.clock.now();
        tx.update_user(&user)?;
    }
    Ok(())
}

/// Name of the network profile (its photo is set by [`set_profile_photo`]).
#[derive(Debug, Clone, Default)]
pub struct ProfileEdit {
    /// First name.
    pub name: String,
    /// Last name.
    pub last_name: String,
}

/// Edits the network profile; with `push_to_accounts`, name, last name and the profile's photo
/// (if it has one) are written to every account the identity belongs to.
///
/// # Errors
/// [`CoreError::Validation`] naming `NAME` or `LAST_NAME`.
pub fn update_profile(
    ctx: Ctx<'_>,
    identity: IdentityId,
    edit: ProfileEdit,
    push_to_accounts: bool,
) -> Result<Identity, CoreError> {
    let fields = [(UserField::Name, edit.name.trim()), (UserField::LastName, edit.last_name.trim())];
    // The same rules as the user fields they feed.
    UserPatch::from_text(fields.iter().copied())?;
    let mut tx = ctx.db.write()?;
    let mut id = load(&*tx, identity)?;
    id.name = fields[0].1.to_string();
    id.last_name = fields[1].1.to_string();
    tx.update_identity(&id)?;
    if push_to_accounts {
        push(&mut *tx, ctx, identity, &fields)?;
        if !id.photo.is_empty() {
            push_photo(&mut *tx, ctx, &id)?;
        }
    }
    tx.commit()?;
    Ok(id)
}

/// Sets or removes the network profile's photo; with `push_to_accounts`, every account's user
/// record of the identity gets it too (a copy of its own, or none).
///
/// # Errors
/// [`CoreError::Validation`] on `PERSONAL_PHOTO` for a refused upload.
pub fn set_profile_photo(
    ctx: Ctx<'_>,
    identity: IdentityId,
    change: &PhotoChange,
    push_to_accounts: bool,
) -> Result<Identity, CoreError> {
    let prepared = images::prepare_photo(ctx, change)?;
    let mut tx = ctx.db.write()?;
    let mut id = load(&*tx, identity)?;
    let old = std::mem::take(&mut id.photo);
    if let PreparedPhoto::Set(prepared) = prepared {
        id.photo =
            images::insert(&mut *tx, ctx, ImageOwner::Identity(identity), ImagePurpose::Photo, prepared)?
                .to_string();
    }
    images::delete_named(&mut *tx, &old)?;
    tx.update_identity(&id)?;
    if push_to_accounts {
        push_photo(&mut *tx, ctx, &id)?;
    }
    tx.commit()?;
    Ok(id)
}

/// Gives every user record of the identity a copy of the profile's photo (or, when it has
/// none, no photo).
fn push_photo(tx: &mut dyn Tx, ctx: Ctx<'_>, id: &Identity) -> Result<(), CoreError> {
    for m in tx.memberships(id.id)? {
        let Some(mut user) = tx.user(m.account, m.user)? else { continue };
        let photo = match images::copy_named(tx, ctx, &id.photo, ImageOwner::User(m.account, m.user))? {
            Some(copy) => copy.to_string(),
            None => String::new(),
        };
        let old = user.text(UserField::PersonalPhoto).to_string();
        if old == photo {
            continue;
        }
        images::delete_named(tx, &old)?;
        if photo.is_empty() {
            user.text.remove(&UserField::PersonalPhoto);
        } else {
            user.text.insert(UserField::PersonalPhoto, photo);
        }
        user.updated_at = ctx.clock.now();
        tx.update_user(&user)?;
    }
    Ok(())
}
