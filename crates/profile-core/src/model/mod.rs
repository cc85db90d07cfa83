//! The domain's records: accounts, users, departments, workgroups, identities, invitations,
//! credentials, outgoing messages, web sessions, images, and the card's content: absences,
//! "about me", interests, appreciations and the form layout.

pub mod about;
pub mod absence;
pub mod account;
pub mod appreciation;
pub mod credential;
pub mod custom;
pub mod department;
pub mod hr;
pub mod identity;
pub mod image;
pub mod interest;
pub mod invitation;
pub mod layout;
pub mod message;
pub mod session;
pub mod user;
pub mod workgroup;
