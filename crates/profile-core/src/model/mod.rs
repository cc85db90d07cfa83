//! The domain's records: accounts, users, departments, workgroups.

pub mod account;
pub mod department;
pub mod user;
pub mod workgroup;
