//! The stores every property holds for: SQLite with every speed path off, SQLite with every
//! one forced on at its smallest threshold, and PostgreSQL (a fresh database on the test
//! server of `store_postgres::testing`).

use profile_core::ports::Database;
use store_sqlite::SqliteDb;

/// Stores under test, by name, and the folder of the SQLite files.
pub(crate) struct Stores {
    pub(crate) all: Vec<(&'static str, Box<dyn Database>)>,
    _dir: tempfile::TempDir,
}

/// One new database of each store.
pub(crate) fn every_store() -> Stores {
    let dir = tempfile::tempdir().unwrap();
    let all = (0..KINDS).map(|k| open(k, dir.path())).collect();
    Stores { all, _dir: dir }
}

/// One new database of one store: each call takes the next kind in turn, so that a property
/// run many times is checked on all of them.
pub(crate) fn one_store() -> Stores {
    static TURN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let dir = tempfile::tempdir().unwrap();
    let kind = TURN.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % KINDS;
    Stores { all: vec![open(kind, dir.path())], _dir: dir }
}

impl Stores {
    /// The first (for [`one_store`]: the only) store.
    pub(crate) fn db(&self) -> &dyn Database {
        &*self.all[0].1
    }
}

const KINDS: usize = 3;

fn open(kind: usize, dir: &std::path::Path) -> (&'static str, Box<dyn Database>) {
    let sqlite = |name: &str, speed| {
        SqliteDb::open_with(dir.join(name), store_sqlite::Options { speed, ..Default::default() }).unwrap()
    };
    match kind {
        0 => ("sqlite plain", Box::new(sqlite("plain.db", store_sqlite::Speed::none()))),
        1 => ("sqlite forced", Box::new(sqlite("forced.db", store_sqlite::Speed::forced()))),
        _ => (
            "postgres",
            Box::new(store_postgres::PgDb::open(&store_postgres::testing::fresh_database()).unwrap()),
        ),
    }
}
