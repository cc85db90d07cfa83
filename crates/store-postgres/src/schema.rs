//! Versioned migrations: `migrations/NNN_*.sql`, applied in order, each in its own transaction
//! with the version it reaches; the database is stamped as Cardfile's in table `meta`.

use profile_core::ports::StoreResult;
use profile_core::StoreError;

use crate::conn::PgConn;
use crate::error::backend;
use crate::run;

/// The migrations, in order: the schema version is how many have been applied.
const MIGRATIONS: [&str; 8] = [
    include_str!("../migrations/001_initial.sql"),
    include_str!("../migrations/002_delivery.sql"),
    include_str!("../migrations/003_sessions.sql"),
    include_str!("../migrations/004_user_status.sql"),
    include_str!("../migrations/005_images.sql"),
    include_str!("../migrations/006_custom_fields.sql"),
    include_str!("../migrations/007_custom_search_words.sql"),
    include_str!("../migrations/008_card_content.sql"),
];

/// The schema from which users' search words are Cardfile's current words: a database
/// migrated from an older one has them written again ([`needs_new_words`]).
const SEARCH_WORDS_SINCE: i64 = 8;

/// Whether a database that [`migrate`] found at schema `from` needs its search words written
/// again.
pub(crate) fn needs_new_words(from: i64) -> bool {
    (1..SEARCH_WORDS_SINCE).contains(&from)
}

/// The schema version this build creates and reads.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// The session-level advisory lock held while the schema is checked and migrated, so that
/// processes starting together migrate once.
const MIGRATION_LOCK: i64 = 0x4361_7264_6d69_6772;

/// Checks the database and migrates it to [`SCHEMA_VERSION`]; returns the version it had.
///
/// # Errors
/// [`StoreError::Incompatible`] for a database that holds tables of another program, or that
/// a newer Cardfile made; then nothing is written.
pub(crate) fn migrate(conn: &mut PgConn) -> StoreResult<i64> {
    run(conn, &format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))?;
    let done = locked(conn);
    let unlocked = run(conn, &format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"));
    unlocked.and(done)
}

fn locked(conn: &mut PgConn) -> StoreResult<i64> {
    let encoding: String =
        conn.query_one("SHOW server_encoding", &[]).and_then(|r| r.try_get(0)).map_err(backend)?;
    if encoding != "UTF8" {
        return Err(StoreError::Incompatible(format!(
            "the database's encoding is {encoding}; Cardfile needs UTF8 (createdb -E UTF8 -T template0)"
        )));
    }
    let version = version(conn)?;
    if version > SCHEMA_VERSION {
        return Err(StoreError::Incompatible(format!(
            "schema {version} is from a newer Cardfile (this one reads up to {SCHEMA_VERSION})"
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(usize::try_from(version).unwrap_or(0)) {
        let to = i + 1;
        let stamp = if to == 1 {
            "CREATE TABLE meta (key TEXT COLLATE \"C\" PRIMARY KEY, value TEXT NOT NULL); \
             INSERT INTO meta VALUES ('application', 'cardfile'), ('schema', '1');"
                .to_string()
        } else {
            format!("UPDATE meta SET value = '{to}' WHERE key = 'schema';")
        };
        if let Err(e) = run(conn, &format!("BEGIN; {sql}\n{stamp} COMMIT;")) {
            let _ = run(conn, "ROLLBACK");
            return Err(e);
        }
    }
    Ok(version)
}

/// The schema version of the database: 0 when it is empty.
fn version(conn: &mut PgConn) -> StoreResult<i64> {
    let tables: i64 = conn
        .query_one("SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()", &[])
        .and_then(|r| r.try_get(0))
        .map_err(backend)?;
    if tables == 0 {
        return Ok(0);
    }
    let stamped = conn
        .query_opt("SELECT 1 FROM pg_tables WHERE schemaname = current_schema() AND tablename = 'meta'", &[])
        .map_err(backend)?
        .is_some();
    let mine = |conn: &mut PgConn, key: &str| -> StoreResult<Option<String>> {
        conn.query_opt("SELECT value FROM meta WHERE key = $1", &[&key])
            .map_err(backend)?
            .map(|r| r.try_get(0).map_err(backend))
            .transpose()
    };
    if !stamped || mine(conn, "application")?.as_deref() != Some("cardfile") {
        return Err(StoreError::Incompatible(
            "the database holds tables of another program; give Cardfile an empty database".into(),
        ));
    }
    mine(conn, "schema")?
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| StoreError::Incompatible("the database's schema version is unreadable".into()))
}
