//! The domain's records: accounts, users, departments, workgroups, identities, invitations,
//! credentials, outgoing messages, web sessions and images.

pub mod account;
pub mod credential;
pub mod custom;
pub mod department;
pub mod hr;
pub mod identity;
pub mod image;
pub mod invitation;
pub mod message;
pub mod session;
pub mod user;
pub mod workgroup;
