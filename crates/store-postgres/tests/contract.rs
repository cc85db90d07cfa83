//! The store contract suite against a real PostgreSQL server (see `store_postgres::testing`),
//! a fresh database per test.

fn fresh() -> store_postgres::PgDb {
    store_postgres::PgDb::open(&store_postgres::testing::fresh_database()).unwrap()
}

profile_core::store_contract_tests!(fresh());
