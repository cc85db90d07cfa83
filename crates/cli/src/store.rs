//! Which database a command works on: a SQLite file (the default) or a PostgreSQL database
//! (`--db postgres://…`), both behind the same ports.

use std::path::{Path, PathBuf};

use profile_core::ports::{Batch, Database, StoreResult, Tx};
use store_postgres::PgDb;
use store_sqlite::SqliteDb;

/// The `--db` value.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    /// A SQLite file.
    File(PathBuf),
    /// A PostgreSQL database: its URL and the password from `--db-password-file`, if any
    /// (else the URL's, or `PGPASSWORD`).
    Postgres { url: String, password: Option<String> },
}

impl Target {
    /// Reads `--db`.
    pub(crate) fn parse(value: &str) -> Result<Target, String> {
        if store_postgres::is_postgres_url(value) {
            // Checked now, so that a typo is bad usage rather than a failed connection.
            store_postgres::check_url(value).map_err(|e| format!("{} {e}", redacted(value)))?;
            Ok(Target::Postgres { url: value.to_string(), password: None })
        } else if value.contains("://") {
            Err(format!("{}: --db is a file or a postgres:// address", redacted(value)))
        } else {
            Ok(Target::File(PathBuf::from(value)))
        }
    }

    /// The file, for the commands that work on files only.
    pub(crate) fn file(&self, what: &str) -> Result<&Path, String> {
        match self {
            Target::File(p) => Ok(p),
            Target::Postgres { .. } => Err(format!(
                "{what} works on a SQLite file; for PostgreSQL use pg_dump and pg_restore (docs/postgres.md)"
            )),
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::File(p) => write!(f, "{}", p.display()),
            Target::Postgres { url, .. } => f.write_str(&redacted(url)),
        }
    }
}

/// A URL without the password it may hold (in its user part or its parameters).
fn redacted(url: &str) -> String {
    if store_postgres::is_postgres_url(url) {
        store_postgres::display_url(url)
    } else {
        url.split_once("://").map_or_else(|| url.to_string(), |(scheme, _)| format!("{scheme}://…"))
    }
}

/// An open database of either kind.
// One per process: its size does not matter.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Store {
    Sqlite(SqliteDb),
    Postgres(PgDb),
}

/// Opens `target` with default options.
pub(crate) fn open(target: &Target) -> Result<Store, String> {
    open_with(target, store_sqlite::Options::default(), store_postgres::Options::default())
}

/// Opens `target` with the options of its kind.
pub(crate) fn open_with(
    target: &Target,
    sqlite: store_sqlite::Options,
    postgres: store_postgres::Options,
) -> Result<Store, String> {
    match target {
        Target::File(path) => SqliteDb::open_with(path, sqlite)
            .map(Store::Sqlite)
            .map_err(|e| format!("cannot open {}: {e}", path.display())),
        Target::Postgres { url, password } => PgDb::open_with(url, password.as_deref(), postgres)
            .map(Store::Postgres)
            .map_err(|e| format!("cannot open {target}: {e}")),
    }
}

impl Store {
    fn db(&self) -> &dyn Database {
        match self {
            Store::Sqlite(db) => db,
            Store::Postgres(db) => db,
        }
    }

    /// Whether calls block on the network (HTTP then runs every call on its blocking pool).
    pub(crate) fn blocks(&self) -> bool {
        matches!(self, Store::Postgres(_))
    }

    /// Writes every user's search words again; returns how many users.
    pub(crate) fn reindex(&self) -> StoreResult<u64> {
        match self {
            Store::Sqlite(db) => db.reindex(),
            Store::Postgres(db) => db.reindex(),
        }
    }
}

impl Database for Store {
    fn read(&self) -> StoreResult<Box<dyn Tx + '_>> {
        self.db().read()
    }

    fn write(&self) -> StoreResult<Box<dyn Tx + '_>> {
        self.db().write()
    }

    fn batch(&self) -> StoreResult<Box<dyn Batch + '_>> {
        self.db().batch()
    }

    fn optimistic_batch(&self) -> StoreResult<Box<dyn Batch + '_>> {
        self.db().optimistic_batch()
    }

    fn read_session(&self) -> Option<StoreResult<Box<dyn Database + '_>>> {
        self.db().read_session()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show() {
        assert_eq!(
            redacted("postgres://bob:s3cret@db.example:5432/cardfile"),
            "postgres://bob@db.example:5432/cardfile"
        );
        assert_eq!(redacted("postgresql://bob@db/x"), "postgres://bob@db:5432/x");
        assert!(!redacted("postgres://bob@db/x?password=s3cret").contains("s3cret"));
        assert!(!redacted("postgres://bob:s3/cret@db/x").contains("s3"));
        assert!(!redacted("mysql://bob:s3cret@db/x").contains("s3cret"));
        let t = Target::parse("postgres://bob:s3cret@127.0.0.1/cf").unwrap();
        assert!(!t.to_string().contains("s3cret"));
        assert!(Target::parse("mysql://x/y").is_err());
        assert!(matches!(Target::parse("./cardfile.db").unwrap(), Target::File(_)));
    }
}
