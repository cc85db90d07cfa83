//! Both stores against `profile-core`'s reference semantics: random filters, searches, sorts,
//! pages and audiences (`queries`), paging to the end with writes between pages (`paging`),
//! and the properties of joining and authentication (`joining`), on SQLite files and on a real
//! PostgreSQL server.

mod content;
mod custom;
mod joining;
mod paging;
mod queries;
mod stores;
