//! HR personal details (decisions.md "Visibility"): a separate record per user, with fields the
//! account's administrators define, readable only by the user, administrators and holders of the
//! HR permission. They are not the `PERSONAL_*` REST fields, which any colleague with the `user`
//! scope may read.

use std::collections::BTreeMap;

use crate::ids::{AccountId, UserId};

/// One field of the account's HR records, as an administrator defined it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HrField {
    /// The key values are stored under: 1 to 50 of `A-Z`, `0-9` and `_`, starting with a letter.
    pub key: String,
    /// What the field is called on screen (1 to 255 characters).
    pub label: String,
}

/// A user's HR record: the values of the account's defined fields that are set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HrRecord {
    /// The account.
    pub account: AccountId,
    /// Whose record it is.
    pub user: UserId,
    /// Values by field key, in the order of the definitions; unset fields are absent.
    pub values: Vec<(String, String)>,
}

/// Values by key, as the store keeps them.
pub type HrValues = BTreeMap<String, String>;
