//! A read session ([`Database::read_session`]): one read connection and one snapshot for
//! several read-only use cases. Each read it hands out runs on that connection without a
//! transaction of its own (and with its own read budget); the session rolls the snapshot back
//! and gives the connection back when it is dropped. On one snapshot a user read twice is the
//! same user, so the session keeps the users, departments and custom fields it read (a card's
//! use cases each read its owner, walk the same departments, and list the fields).

use std::cell::RefCell;
use std::collections::HashMap;

use profile_core::ids::{AccountId, UserId};
use profile_core::model::custom::CustomField;
use profile_core::model::user::User;
use profile_core::ports::{Batch, Database, StoreResult, Tx};
use profile_core::StoreError;

use crate::error::backend;
use crate::tx::{run, Held, SqliteTx};
use crate::{Pooled, SqliteDb};

pub(crate) struct ReadSession<'a> {
    db: &'a SqliteDb,
    /// `None` only while being dropped.
    shared: Option<Shared>,
}

/// What the reads of a session share.
pub(crate) struct Shared {
    pub(crate) reader: Pooled,
    /// The users read so far (`None`: there is no such user).
    pub(crate) users: RefCell<HashMap<(AccountId, UserId), Option<User>>>,
    /// The accounts' custom fields read so far.
    pub(crate) custom_fields: RefCell<HashMap<AccountId, Vec<CustomField>>>,
    /// The departments read so far (a reader's bulk load only remembers those).
    pub(crate) bulk: RefCell<crate::bulk::BulkLoad>,
}

impl<'a> ReadSession<'a> {
    pub(crate) fn begin(db: &'a SqliteDb) -> StoreResult<ReadSession<'a>> {
        let reader = db.reader()?;
        reader.conn.prepare_cached("BEGIN").and_then(|mut s| s.execute([])).map_err(backend)?;
        Ok(ReadSession {
            db,
            shared: Some(Shared {
                reader,
                users: RefCell::default(),
                custom_fields: RefCell::default(),
                bulk: RefCell::new(crate::bulk::BulkLoad::for_session()),
            }),
        })
    }

    fn shared(&self) -> StoreResult<&Shared> {
        self.shared.as_ref().ok_or_else(|| StoreError::Backend("the read session has ended".into()))
    }
}

impl Database for ReadSession<'_> {
    fn read(&self) -> StoreResult<Box<dyn Tx + '_>> {
        let shared = self.shared()?;
        shared.reader.limit(self.db.options.read_budget);
        Ok(Box::new(SqliteTx::new(self.db, Held::Shared(shared), true)))
    }

    fn write(&self) -> StoreResult<Box<dyn Tx + '_>> {
        Err(StoreError::ReadOnly)
    }

    fn batch(&self) -> StoreResult<Box<dyn Batch + '_>> {
        Err(StoreError::ReadOnly)
    }
}

impl Drop for ReadSession<'_> {
    fn drop(&mut self) {
        let Some(Shared { reader, .. }) = self.shared.take() else { return };
        let _ = run(&reader.conn, &["ROLLBACK"]);
        // Only a connection back in autocommit mode (no snapshot held) is reused.
        if reader.conn.is_autocommit() {
            self.db.give_back(reader);
        } else {
            self.db.forget_reader();
        }
    }
}
