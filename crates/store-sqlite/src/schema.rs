//! Versioned, embedded migrations, run when a database is opened.

use profile_core::ports::StoreResult;
use profile_core::StoreError;
use rusqlite::Connection;

use crate::error::backend;

/// `PRAGMA application_id` of every Cardfile database ("CFD1").
const APPLICATION_ID: i64 = 0x4346_4431;

/// The migrations, in order; entry `i` takes the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/001_initial.sql"),
    include_str!("../migrations/002_identities.sql"),
    include_str!("../migrations/003_registration_link.sql"),
    include_str!("../migrations/004_invitation_address.sql"),
    include_str!("../migrations/005_users_by_id.sql"),
    include_str!("../migrations/006_hr.sql"),
    include_str!("../migrations/007_purge_indexes.sql"),
    include_str!("../migrations/008_memberships_by_member.sql"),
    include_str!("../migrations/009_query_versions.sql"),
    include_str!("../migrations/010_search_words.sql"),
    include_str!("../migrations/011_delivery.sql"),
    include_str!("../migrations/012_sessions.sql"),
    include_str!("../migrations/013_user_status.sql"),
    include_str!("../migrations/014_images.sql"),
    include_str!("../migrations/015_custom_fields.sql"),
    include_str!("../migrations/016_custom_search_words.sql"),
    include_str!("../migrations/017_card_content.sql"),
];

/// The schema from which the search documents are Cardfile's current words: a file migrated
/// from an older one has them written again.
const SEARCH_WORDS_SINCE: i64 = 17;

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Refuses a file Cardfile must not touch, before anything is written to it: not SQLite at
/// all, another program's database, or a newer Cardfile's.
pub(crate) fn check(conn: &Connection) -> StoreResult<()> {
    let not_sqlite = |e: rusqlite::Error| match e {
        rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::NotADatabase => {
            StoreError::Incompatible("this file is not an SQLite database; refusing to touch it".into())
        }
        e => backend(e),
    };
    let pragma = |name: &str| -> StoreResult<i64> {
        conn.query_row(&format!("PRAGMA {name}"), [], |r| r.get(0)).map_err(not_sqlite)
    };
    let app = pragma("application_id")?;
    let version = pragma("user_version")?;
    let objects: i64 =
        conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0)).map_err(not_sqlite)?;
    if app != APPLICATION_ID && !(app == 0 && objects == 0) {
        return Err(StoreError::Incompatible(
            "this file is not a Cardfile database (another program's SQLite file?); refusing to touch it"
                .into(),
        ));
    }
    if !(0..=SCHEMA_VERSION).contains(&version) {
        return Err(StoreError::Incompatible(format!(
            "the database has schema version {version}, written by a newer Cardfile; this build knows up to \
             version {SCHEMA_VERSION}. Upgrade Cardfile, or restore a backup made by this version"
        )));
    }
    Ok(())
}

/// Brings the file's schema to [`SCHEMA_VERSION`]. The version is read again inside the write
/// transaction, so two processes opening a new file at once do not both migrate it.
pub(crate) fn migrate(conn: &mut Connection) -> StoreResult<()> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(backend)?;
    check(&tx)?;
    let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(backend)?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        tx.execute_batch(sql).map_err(backend)?;
        tx.execute_batch(&format!("PRAGMA application_id={APPLICATION_ID}; PRAGMA user_version={};", i + 1))
            .map_err(backend)?;
    }
    if (1..SEARCH_WORDS_SINCE).contains(&version) {
        crate::search::rebuild(&tx)?;
    }
    if version < SCHEMA_VERSION {
        tx.execute(
            "INSERT INTO meta(key, value) VALUES('written_by', ?1) ON CONFLICT(key) DO UPDATE SET value = ?1",
            [concat!("cardfile store-sqlite ", env!("CARGO_PKG_VERSION"))],
        )
        .map_err(backend)?;
    }
    tx.commit().map_err(backend)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file of schema 7 keeps its department memberships through the move to the table keyed
    /// by member (schema 8); the department page reads the new covering index; and the writer
    /// can still send temporary files to disk inside a transaction, which a load's index builds
    /// need (`ALTER TABLE ... RENAME` in a migration would have prevented it).
    #[test]
    fn memberships_move_to_schema_8() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v7.db");
        {
            let conn = Connection::open(&path).unwrap();
            for sql in &MIGRATIONS[..7] {
                conn.execute_batch(sql).unwrap();
            }
            conn.execute_batch(&format!(
                "PRAGMA application_id={APPLICATION_ID}; PRAGMA user_version=7; \
                 INSERT INTO user_departments (account_no, department, last_name, uid, role) VALUES \
                 (1, 5, 'Lind', 7, 1), (1, 5, 'Abel', 9, 2), (1, 6, 'Lind', 7, 1), (2, 5, 'Ortiz', 3, 1);"
            ))
            .unwrap();
        }
        let db = crate::SqliteDb::open(&path).unwrap();
        let conn = db.writer();
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        let rows: Vec<(i64, i64, String, i64, i64)> = conn
            .prepare("SELECT account_no, department, last_name, uid, role FROM department_members ORDER BY 1, 2, 3")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let row = |a, d, l: &str, u, r| (a, d, l.to_string(), u, r);
        assert_eq!(
            rows,
            [
                row(1, 5, "Abel", 9, 2),
                row(1, 5, "Lind", 7, 1),
                row(1, 6, "Lind", 7, 1),
                row(2, 5, "Ortiz", 3, 1)
            ]
        );
        let old: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_schema WHERE name LIKE 'user_departments%'", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(old, 0);
        let plan: String = conn
            .query_row(
                "EXPLAIN QUERY PLAN SELECT uid FROM department_members WHERE account_no = 1 AND department = 5 \
                 ORDER BY last_name, uid",
                [],
                |r| r.get(3),
            )
            .unwrap();
        assert!(plan.contains("COVERING INDEX department_members_page"), "{plan}");
        conn.execute_batch("BEGIN; PRAGMA temp_store=FILE; PRAGMA temp_store=MEMORY; ROLLBACK;").unwrap();
    }

    /// A file of schema 10 keeps its outbox through the move to `messages` (schema 11): sent
    /// messages stay sent, unsent ones become pending with the lifetime of what they deliver,
    /// and approvals stored as `notice` read as approvals.
    #[test]
    fn the_outbox_moves_to_schema_11() {
        use profile_core::model::message::{Channel, MessageKind, MessageState};
        use profile_core::ports::Database;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v10.db");
        {
            let conn = Connection::open(&path).unwrap();
            for sql in &MIGRATIONS[..10] {
                conn.execute_batch(sql).unwrap();
            }
            conn.execute_batch(&format!(
                "PRAGMA application_id={APPLICATION_ID}; PRAGMA user_version=10; \
                 INSERT INTO outbox (id, account_no, kind, channel, recipient, subject, body, created_at, sent_at) VALUES \
                 (x'00000000000000000000000000000001', NULL, 'invitation', 'email', 'a@example.com', 's', 'link', 1000, NULL), \
                 (x'00000000000000000000000000000002', NULL, 'confirmation_code', 'sms', '+15551234567', '', '123456', 2000, 2005), \
                 (x'00000000000000000000000000000003', NULL, 'notice', 'email', 'b@example.com', 'w', 'hi', 3000, NULL);"
            ))
            .unwrap();
        }
        let db = crate::SqliteDb::open(&path).unwrap();
        let tx = db.read().unwrap();
        let m = tx.messages(None).unwrap();
        assert_eq!(m.len(), 3);
        assert_eq!(
            (m[0].kind, m[0].delivery.state, m[0].body.as_str()),
            (MessageKind::Invitation, MessageState::Pending, "link")
        );
        assert_eq!(m[0].expires_at.map(|t| t.timestamp()), Some(1000 + 14 * 86_400));
        assert_eq!(m[0].delivery.not_before.timestamp(), 1000);
        assert_eq!((m[1].channel, m[1].delivery.state), (Channel::Sms, MessageState::Sent));
        assert_eq!(m[1].delivery.sent_at.map(|t| t.timestamp()), Some(2005));
        assert_eq!(m[1].expires_at.map(|t| t.timestamp()), Some(2900));
        assert_eq!(m[2].kind, MessageKind::RegistrationApproved);
        assert_eq!(m[2].expires_at.map(|t| t.timestamp()), Some(3000 + 7 * 86_400));
        assert!(tx.setting("base_url").unwrap().is_none());
    }
}
