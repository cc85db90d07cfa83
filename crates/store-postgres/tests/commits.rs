//! A commit is acknowledged only when it committed: PostgreSQL rolls an aborted transaction
//! back on `COMMIT` without an error, and the store must not report that as success. A read
//! that fails inside a batch leaves the batch's other units intact.

use chrono::DateTime;
use profile_core::model::message::{Channel, Delivery, Message, MessageKind};
use profile_core::ports::Database;
use store_postgres::PgDb;
use uuid::Uuid;

fn message(id: u128) -> Message {
    Message {
        id: Uuid::from_u128(id),
        account: None,
        kind: MessageKind::ConfirmationCode,
        channel: Channel::Email,
        recipient: "a@example.com".into(),
        subject: "code".into(),
        body: "123456".into(),
        html: String::new(),
        created_at: DateTime::from_timestamp(1_767_323_045, 0).unwrap(),
        expires_at: None,
        source: None,
        delivery: Delivery::due_at(DateTime::from_timestamp(1_767_323_045, 0).unwrap()),
    }
}

fn fresh() -> PgDb {
    PgDb::open(&store_postgres::testing::fresh_database()).unwrap()
}

#[test]
fn a_transaction_a_failed_statement_aborted_does_not_commit_quietly() {
    let db = fresh();
    let mut tx = db.write().unwrap();
    tx.enqueue(&message(1)).unwrap();
    // The same ID again: refused by the server, which aborts the transaction.
    assert!(tx.enqueue(&message(1)).is_err());
    assert!(tx.commit().is_err(), "an aborted transaction is not reported committed");
    assert!(db.read().unwrap().messages(None).unwrap().is_empty(), "and nothing of it is kept");
    // The connection is fine for the next unit.
    let mut tx = db.write().unwrap();
    tx.enqueue(&message(2)).unwrap();
    tx.commit().unwrap();
    assert_eq!(db.read().unwrap().messages(None).unwrap().len(), 1);
}

#[test]
fn a_batch_commits_its_units_or_says_it_did_not() {
    let db = fresh();
    let batch = db.batch().unwrap();
    {
        let mut unit = batch.write().unwrap();
        unit.enqueue(&message(1)).unwrap();
        unit.commit().unwrap();
    }
    {
        // A unit whose statement fails, rolled back alone.
        let mut unit = batch.write().unwrap();
        assert!(unit.enqueue(&message(1)).is_err());
    }
    {
        let read = batch.read().unwrap();
        assert_eq!(read.messages(None).unwrap().len(), 1, "the batch goes on after a failed unit");
    }
    batch.commit().unwrap();
    assert_eq!(db.read().unwrap().messages(None).unwrap().len(), 1);
}
