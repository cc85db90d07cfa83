//! Accounts: creation with their root department and first administrator, renaming (once),
//! settings.

use crate::access::Actor;
use crate::error::{CoreError, StoreError};
use crate::ids::{AccountId, DepartmentId, Sequence, UserId};
use crate::model::account::{Account, AccountSettings};
use crate::model::department::{Department, DEFAULT_SORT};
use crate::model::user::{Role, User, UserPatch};
use crate::usecase::{check_name, Ctx};
use crate::validate;

/// The longest account name.
pub const ACCOUNT_NAME_MAX: usize = 255;
/// The longest registration greeting.
pub const GREETING_MAX: usize = 2000;

/// Input of [`create_account`].
#[derive(Debug, Clone)]
pub struct CreateAccountRequest {
    /// The unique slug.
    pub slug: String,
    /// The company's name; it also names the root department.
    pub name: String,
    /// The first administrator's fields.
    pub admin: UserPatch,
}

/// What [`create_account`] made.
#[derive(Debug, Clone)]
pub struct AccountCreated {
    /// The account.
    pub account: Account,
    /// Its root department (ID 1).
    pub root: Department,
    /// Its first administrator (ID 1), a member of the root department.
    pub admin: User,
}

/// Creates an account with its root department and first administrator, in one unit of work.
/// Only the server's operator does this (first run, CLI).
///
/// # Errors
/// [`CoreError::Validation`] on `slug`, `name` or an administrator field; [`CoreError::Conflict`]
/// on `slug` when it is taken.
pub fn create_account(ctx: Ctx<'_>, req: CreateAccountRequest) -> Result<AccountCreated, CoreError> {
    let slug = req.slug.trim().to_string();
    validate::slug(&slug).map_err(|r| CoreError::invalid("slug", r))?;
    let name = check_name("name", &req.name, ACCOUNT_NAME_MAX)?;
    let now = ctx.clock.now();
    let account = Account {
        id: AccountId(ctx.ids.uuid()),
        slug,
        name: name.clone(),
        renamed: false,
        settings: AccountSettings::default(),
        created_at: now,
    };
    let mut tx = ctx.db.write()?;
    tx.insert_account(&account).map_err(|e| match e {
        StoreError::UniqueViolation { .. } => CoreError::conflict("slug", "an account with this slug exists"),
        e => e.into(),
    })?;
    let root = Department {
        account: account.id,
        id: DepartmentId(tx.next_id(account.id, Sequence::Department)?),
        name,
        sort: DEFAULT_SORT,
        parent: None,
        head: None,
    };
    tx.insert_department(&root)?;
    let mut admin =
        User::new(account.id, UserId(tx.next_id(account.id, Sequence::User)?), Role::Administrator, now);
    admin.apply(&req.admin);
    admin.active = true;
    admin.departments = vec![root.id];
    tx.insert_user(&admin)?;
    tx.commit()?;
    Ok(AccountCreated { account, root, admin })
}

/// Every account on the server (operator only: there is no actor across accounts).
///
/// # Errors
/// [`CoreError::Storage`].
pub fn list_accounts(ctx: Ctx<'_>) -> Result<Vec<Account>, CoreError> {
    Ok(ctx.db.read()?.accounts()?)
}

/// The account with this slug (operator only).
///
/// # Errors
/// [`CoreError::NotFound`] when there is none.
pub fn find_account(ctx: Ctx<'_>, slug: &str) -> Result<Account, CoreError> {
    ctx.db.read()?.account_by_slug(slug.trim())?.ok_or_else(|| CoreError::not_found("account", slug))
}

/// The actor's own account.
///
/// # Errors
/// [`CoreError::NotFound`] when it is gone.
pub fn get_account(ctx: Ctx<'_>, actor: &Actor) -> Result<Account, CoreError> {
    ctx.db.read()?.account(actor.account)?.ok_or_else(|| CoreError::not_found("account", actor.account))
}

/// Renames the account. An administrator may do this once; the operator any time.
///
/// # Errors
/// [`CoreError::InsufficientScope`] without the `user` scope; [`CoreError::Forbidden`] for
/// non-administrators; [`CoreError::Validation`] on `name`;
/// [`CoreError::Conflict`] on `name` when the one rename was used.
pub fn rename_account(ctx: Ctx<'_>, actor: &Actor, name: &str) -> Result<Account, CoreError> {
    actor.require(crate::access::Scope::User)?;
    actor.require_admin()?;
    let name = check_name("name", name, ACCOUNT_NAME_MAX)?;
    let mut tx = ctx.db.write()?;
    let mut account =
        tx.account(actor.account)?.ok_or_else(|| CoreError::not_found("account", actor.account))?;
    if actor.user.is_some() {
        if account.renamed {
            return Err(CoreError::conflict("name", "the account has already been renamed once"));
        }
        account.renamed = true;
    }
    account.name = name;
    tx.update_account(&account)?;
    tx.commit()?;
    Ok(account)
}

/// Replaces the account's settings.
///
/// # Errors
/// [`CoreError::Forbidden`] for non-administrators; [`CoreError::Validation`] on
/// `whitelisted_domains` or `greeting`.
pub fn update_account_settings(
    ctx: Ctx<'_>,
    actor: &Actor,
    settings: AccountSettings,
) -> Result<Account, CoreError> {
    actor.require(crate::access::Scope::User)?;
    actor.require_admin()?;
    let mut settings = settings;
    let mut domains = Vec::with_capacity(settings.whitelisted_domains.len());
    for d in &settings.whitelisted_domains {
        let d = d.trim().trim_start_matches('@').to_lowercase();
        validate::email(&format!("x@{d}"))
            .map_err(|_| CoreError::invalid("whitelisted_domains", format!("{d:?} is not a domain name")))?;
        domains.push(d);
    }
    domains.sort();
    domains.dedup();
    settings.whitelisted_domains = domains;
    settings.greeting = settings.greeting.trim().to_string();
    if settings.greeting.chars().count() > GREETING_MAX {
        return Err(CoreError::invalid("greeting", format!("longer than {GREETING_MAX} characters")));
    }
    let mut tx = ctx.db.write()?;
    let mut account =
        tx.account(actor.account)?.ok_or_else(|| CoreError::not_found("account", actor.account))?;
    account.settings = settings;
    tx.update_account(&account)?;
    tx.commit()?;
    Ok(account)
}
