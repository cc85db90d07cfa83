//! The outbox, read by administrators and drained by a delivery worker.

use uuid::Uuid;

use crate::access::{Actor, Scope};
use crate::error::CoreError;
use crate::model::message::Message;
use crate::usecase::Ctx;

/// The messages of the actor's account, oldest first. With `everything`, the server's operator
/// also sees the messages of every account and those of no account (confirmation codes).
/// Administrators only: messages carry invitation links and generated passwords.
///
/// # Errors
/// [`CoreError::Forbidden`] for non-administrators, or `everything` from anyone but the operator.
pub fn list_messages(ctx: Ctx<'_>, actor: &Actor, everything: bool) -> Result<Vec<Message>, CoreError> {
    actor.require(Scope::User)?;
    actor.require_admin()?;
    if everything && actor.user.is_some() {
        return Err(CoreError::forbidden("only the server's operator reads every account's messages"));
    }
    let tx = ctx.db.read()?;
    Ok(tx.messages(if everything { None } else { Some(actor.account) })?)
}

/// Records that a message was handed to its transport (for the delivery worker).
///
/// # Errors
/// [`CoreError::Storage`].
pub fn mark_sent(ctx: Ctx<'_>, id: Uuid) -> Result<(), CoreError> {
    let mut tx = ctx.db.write()?;
    tx.mark_sent(id, ctx.clock.now())?;
    tx.commit()?;
    Ok(())
}
