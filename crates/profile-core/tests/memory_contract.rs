//! The store contract suite against the in-memory reference implementation.
profile_core::store_contract_tests!(profile_core::testing::MemoryDb::new());
