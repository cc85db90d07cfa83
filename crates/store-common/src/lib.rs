//! What both of Cardfile's stores share: how a stored user is keyed and coded, the query
//! cache, and the parts of a user query's SQL that read the same in SQLite and PostgreSQL.
//! Nothing here decides anything or touches a database.

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::todo))]

pub mod keys;
pub mod query;
pub mod query_cache;
