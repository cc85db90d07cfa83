//! Cardfile's domain: accounts (tenants), users and their profile fields, the company structure,
//! workgroups, access (scopes, roles, visibility, projection) and user queries.
//!
//! What it never does: I/O. No SQL, no HTTP, no async, no system clock read outside
//! [`ports::SystemClock`]. Storage and time come in through the [`ports`] traits, which adapters
//! such as `store-sqlite` implement; adapters call the [`usecase`] functions and nothing below
//! them for writes.
//!
//! Key decision: every access check and every projection happens here, in use cases, so that
//! the REST API, the CLI and the web pages cannot disagree about who may see or change what.
//! Reads leave the core as [`access::UserView`]s, already cut down to the reader's scope tier
//! and visibility.
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::todo))]

pub mod access;
pub mod error;
pub mod field;
pub mod ids;
pub mod model;
pub mod ports;
pub mod query;
pub mod secret;
pub mod templates;
pub mod totp;
pub mod usecase;
pub mod validate;
pub mod value;

#[cfg(feature = "testing")]
pub mod testing;

pub use error::{AuthFailure, CoreError, StoreError};
pub use value::Value;
