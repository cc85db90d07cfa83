//! Black-box tests: the public API of `profile-core` on `store-sqlite`, end to end, on real
//! database files, the way an embedding application uses it. One binary, one module per story.

mod budgets;
mod directory;
mod joining;
