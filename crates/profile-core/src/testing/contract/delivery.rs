//! The delivery queue on a store: claims and leases, settlements, backoff, obsolete and expired
//! messages, the outbox's administration, and the rendered messages themselves.

use chrono::Duration;
use uuid::Uuid;

use super::{patch, Fixture, BASE_URL, TEST_HASHER};
use crate::access::Actor;
use crate::error::CoreError;
use crate::field::UserField;
use crate::model::invitation::INVITATION_LIFETIME;
use crate::model::message::{Channel, Message, MessageKind, MessageState};
use crate::ports::{Clock, Database};
use crate::testing::contract::{invite, last_message};
use crate::testing::{CountingIds, FixedClock};
use crate::usecase::invitations::{self, Invite};
use crate::usecase::outbox::{self, OutboxQueue};
use crate::usecase::queue::{self, Outcome, RetryPolicy};
use crate::usecase::{identities, maintenance, settings, Ctx};

const EMAIL: OutboxQueue = OutboxQueue { channel: Channel::Email };
const SMS: OutboxQueue = OutboxQueue { channel: Channel::Sms };

fn claim(f: &Fixture<'_>, q: &OutboxQueue, limit: usize) -> Vec<Message> {
    queue::claim(f.ctx(), q, &RetryPolicy::default(), limit).unwrap()
}

fn settle(f: &Fixture<'_>, q: &OutboxQueue, outcomes: &[(&Message, Outcome)]) {
    queue::settle(f.ctx(), q, &RetryPolicy::default(), outcomes).unwrap();
}

fn stored(f: &Fixture<'_>, id: Uuid) -> Message {
    f.db.read().unwrap().message(id).unwrap().unwrap()
}

fn ids(messages: &[Message]) -> Vec<Uuid> {
    messages.iter().map(|m| m.id).collect()
}

/// Claims lease; a lease that runs out lets another worker claim again (a crashed worker's
/// messages come back); a settled send drops the body and is never un-sent.
pub fn uc_delivery_claims_and_leases(db: &dyn Database) {
    let f = Fixture::new(db);
    let a = invite(&f, "a@example.com");
    let b = invite(&f, "b@example.com");
    let sms = invitations::invite_by_sms(
        f.ctx(),
        &f.admin,
        Invite {
            address: "+15551234567".into(),
            fields: patch(&[(UserField::UfDepartment, "1")]),
            ..Invite::default()
        },
    )
    .unwrap();
    assert!(queue::has_due(f.ctx(), &EMAIL).unwrap());
    let first = claim(&f, &EMAIL, 1);
    assert_eq!(first.len(), 1, "at most the limit");
    assert_eq!(first[0].source, Some(a.invitation.id.0), "oldest first");
    assert_eq!(first[0].expires_at, Some(a.invitation.expires_at));
    let second = claim(&f, &EMAIL, 10);
    assert_eq!(second.len(), 1, "the leased message is not claimed again");
    assert_eq!(second[0].source, Some(b.invitation.id.0));
    assert!(claim(&f, &EMAIL, 10).is_empty());
    assert!(!queue::has_due(f.ctx(), &EMAIL).unwrap());
    let texts = claim(&f, &SMS, 10);
    assert_eq!(texts.len(), 1, "each channel is its own queue");
    assert_eq!(texts[0].source, Some(sms.invitation.id.0));

    // The worker holding `second` dies; once its lease is over the message is due again.
    f.clock.advance(RetryPolicy::default().lease + Duration::seconds(1));
    let again = claim(&f, &EMAIL, 10);
    assert_eq!(sorted(&ids(&again)), sorted(&[first[0].id, second[0].id]));
    settle(&f, &EMAIL, &[(&again[0], Outcome::Delivered), (&again[1], Outcome::Delivered)]);
    let sent = stored(&f, first[0].id);
    assert_eq!(sent.delivery.state, MessageState::Sent);
    assert_eq!(sent.delivery.attempts, 1);
    assert!(sent.delivery.sent_at.is_some() && sent.delivery.lease_until.is_none());
    assert!(sent.body_dropped(), "the link goes once sent");
    // A late settlement by the worker thought dead never un-sends it.
    settle(&f, &EMAIL, &[(&first[0], Outcome::Temporary("late".into()))]);
    assert_eq!(stored(&f, first[0].id).delivery.state, MessageState::Sent);
    assert!(claim(&f, &EMAIL, 10).is_empty());
}

fn sorted(ids: &[Uuid]) -> Vec<Uuid> {
    let mut ids = ids.to_vec();
    ids.sort();
    ids
}

/// Temporary failures back off (30 s doubling, jittered in the upper half), a transport pause
/// releases the message untouched, permanent answers fail it, and a message still failing at
/// its give-up time fails.
pub fn uc_delivery_retries_and_failures(db: &dyn Database) {
    let f = Fixture::new(db);
    let a = invite(&f, "a@example.com");
    let m = claim(&f, &EMAIL, 10).pop().unwrap();
    settle(&f, &EMAIL, &[(&m, Outcome::Temporary("451 try later".into()))]);
    let s = stored(&f, m.id);
    assert_eq!((s.delivery.state, s.delivery.attempts), (MessageState::Pending, 1));
    assert_eq!(s.delivery.last_error.as_deref(), Some("451 try later"));
    let wait = s.delivery.not_before - f.clock.now();
    assert!(wait >= Duration::seconds(14) && wait <= Duration::seconds(30), "{wait}");
    assert!(claim(&f, &EMAIL, 10).is_empty(), "not before its backoff");
    f.clock.advance(Duration::seconds(31));
    let m = claim(&f, &EMAIL, 10).pop().unwrap();
    settle(&f, &EMAIL, &[(&m, Outcome::Temporary("451 again".into()))]);
    let wait = stored(&f, m.id).delivery.not_before - f.clock.now();
    assert!(wait >= Duration::seconds(29) && wait <= Duration::seconds(60), "doubled: {wait}");

    f.clock.advance(Duration::seconds(61));
    let m = claim(&f, &EMAIL, 10).pop().unwrap();
    settle(&f, &EMAIL, &[(&m, Outcome::Paused("connection refused".into()))]);
    let s = stored(&f, m.id);
    assert_eq!(
        (s.delivery.state, s.delivery.attempts),
        (MessageState::Pending, 2),
        "a pause is not an attempt"
    );
    assert_eq!(ids(&claim(&f, &EMAIL, 10)), vec![m.id], "released at once");
    settle(&f, &EMAIL, &[(&m, Outcome::Permanent("550 no such user".into()))]);
    let s = stored(&f, m.id);
    assert_eq!((s.delivery.state, s.delivery.attempts), (MessageState::Failed, 3));
    assert!(!s.body_dropped(), "kept while the invitation lives, for a retry");
    assert!(claim(&f, &EMAIL, 10).is_empty());

    // Retried by an administrator: due at once, attempts afresh.
    assert!(matches!(
        outbox::retry_message(f.ctx(), &f.admin, false, Uuid::from_u128(1)),
        Err(CoreError::NotFound { .. })
    ));
    let r = outbox::retry_message(f.ctx(), &f.admin, false, m.id).unwrap();
    assert_eq!((r.delivery.state, r.delivery.attempts), (MessageState::Pending, 0));
    let again = outbox::retry_message(f.ctx(), &f.admin, false, m.id);
    assert!(matches!(again, Err(CoreError::Conflict { .. })), "only failed messages: {again:?}");
    let m = claim(&f, &EMAIL, 10).pop().unwrap();
    assert_eq!(m.source, Some(a.invitation.id.0));

    // Still failing at the give-up time: failed with the last reason.
    f.clock.advance(RetryPolicy::default().give_up_after);
    settle(&f, &EMAIL, &[(&m, Outcome::Temporary("421 busy".into()))]);
    let s = stored(&f, m.id);
    assert_eq!(s.delivery.state, MessageState::Failed);
    assert_eq!(s.delivery.last_error.as_deref(), Some("421 busy"));
    // The invitation lives on, so the message can still be retried.
    let retried = outbox::retry_failed(f.ctx(), &f.admin, false).unwrap();
    assert_eq!(ids(&retried), vec![m.id]);
    // Once the invitation has expired, it is obsolete instead.
    f.clock.advance(INVITATION_LIFETIME);
    assert!(claim(&f, &EMAIL, 10).is_empty());
    assert_eq!(stored(&f, m.id).delivery.state, MessageState::Obsolete);
    assert!(outbox::retry_failed(f.ctx(), &f.admin, false).unwrap().is_empty());
    let late = outbox::retry_message(f.ctx(), &f.admin, false, m.id);
    assert!(matches!(late, Err(CoreError::Conflict { .. })), "{late:?}");
}

/// Revoked invitations and used codes are not sent: claiming finds them obsolete and drops
/// their bodies; the housekeeping sweep makes expired pending messages obsolete even when no
/// transport ever claims them.
pub fn uc_delivery_obsolete_messages(db: &dyn Database) {
    let f = Fixture::new(db);
    let revoked = invite(&f, "revoked@example.com");
    invitations::revoke_invitation(f.ctx(), &f.admin, revoked.invitation.id).unwrap();
    let kept = invite(&f, "kept@example.com");
    let claimed = claim(&f, &EMAIL, 10);
    assert_eq!(claimed.iter().map(|m| m.source).collect::<Vec<_>>(), vec![Some(kept.invitation.id.0)]);
    let all = outbox::list_messages(f.ctx(), &f.admin, false).unwrap();
    let dead = all.iter().find(|m| m.recipient == "revoked@example.com").unwrap();
    assert_eq!(dead.delivery.state, MessageState::Obsolete);
    assert!(dead.body_dropped());

    // A reset code that was used before its message went out.
    super::joined(&f, "coder@example.com");
    let code_id = identities::request_password_reset(f.ctx(), "coder@example.com").unwrap();
    let mail = last_message(&f, "coder@example.com");
    assert_eq!((mail.kind, mail.source), (MessageKind::ResetCode, Some(code_id)));
    let digits: String = mail.body.lines().find(|l| l.starts_with("    ")).unwrap().trim().to_string();
    identities::reset_password(f.ctx(), code_id, &digits, "a new long password 1").unwrap();
    let claimed = claim(&f, &EMAIL, 10);
    assert!(claimed.iter().all(|m| m.id != mail.id), "the used code is not sent");
    assert_eq!(stored(&f, mail.id).delivery.state, MessageState::Obsolete);
    let changed = last_message(&f, "coder@example.com");
    assert_eq!(changed.kind, MessageKind::PasswordChanged, "and the change is announced");
    assert!(claimed.iter().any(|m| m.id == changed.id));

    // Never claimed, expired: the sweep drops it.
    let late = invite(&f, "late@example.com");
    f.clock.advance(INVITATION_LIFETIME + Duration::days(1));
    let purged = maintenance::purge_stale_records(f.ctx(), &Default::default(), &Default::default()).unwrap();
    assert!(purged.expired_bodies >= 1, "{purged:?}");
    let m = outbox::list_messages(f.ctx(), &f.admin, false)
        .unwrap()
        .into_iter()
        .find(|m| m.source == Some(late.invitation.id.0))
        .unwrap();
    assert_eq!(m.delivery.state, MessageState::Obsolete);
    assert!(m.body_dropped());
    assert!(claim(&f, &EMAIL, 10).is_empty());
}

/// Every kind is rendered from the catalogue: subject, a text part and an HTML part; the
/// inviter's note is quoted below the server's own lines and escaped in HTML; SMS are short.
pub fn uc_delivery_rendered_messages(db: &dyn Database) {
    let f = Fixture::new(db);
    let invited = invitations::invite_by_email(
        f.ctx(),
        &f.admin,
        Invite {
            address: "new@example.com".into(),
            fields: patch(&[(UserField::UfDepartment, "1")]),
            text: Some("Join us <b>now</b>!\nSee you.".into()),
            ..Invite::default()
        },
    )
    .unwrap();
    let m = last_message(&f, "new@example.com");
    assert_eq!(m.subject, "Invitation to acme Inc");
    let lines: Vec<&str> = m.body.lines().collect();
    assert_eq!(lines[0], "Ada Admin invites you to join acme Inc on Cardfile.");
    let link = lines.iter().find(|l| l.starts_with(&format!("{BASE_URL}/invite/"))).unwrap();
    assert!(m.body.contains("Ada Admin added a note:\n\n> Join us <b>now</b>!\n> See you."), "{}", m.body);
    assert!(m.body.find(link).unwrap() < m.body.find("> Join us").unwrap(), "the server's link comes first");
    assert!(m.html.contains(&format!("<a href=\"{link}\">")));
    assert!(m.html.contains("Join us &lt;b&gt;now&lt;/b&gt;!<br>See you."));
    assert!(!m.html.contains("<b>now"));
    assert_eq!(m.expires_at, Some(invited.invitation.expires_at));

    invitations::invite_by_sms(
        f.ctx(),
        &f.admin,
        Invite {
            address: "+15557654321".into(),
            fields: patch(&[(UserField::UfDepartment, "1")]),
            ..Invite::default()
        },
    )
    .unwrap();
    let sms = last_message(&f, "+15557654321");
    assert_eq!(sms.channel, Channel::Sms);
    assert!(sms.subject.is_empty() && sms.html.is_empty());
    assert!(
        sms.body.starts_with(
            "acme Inc: you are invited to Cardfile. Join within 14 days: https://cardfile.test/invite/"
        ),
        "{}",
        sms.body
    );
    assert!(sms.body.len() < 160);
}

/// An inviter has an hourly allowance; the operator (the CLI) has none; the base URL is one
/// setting for every process.
pub fn uc_invitation_allowance_and_base_url(db: &dyn Database) {
    let f = Fixture::new(db);
    let ctx = Ctx { invitations_per_hour: 2, ..f.ctx() };
    let invite_as = |ctx: Ctx<'_>, actor: &Actor, n: u32| {
        invitations::invite_by_email(
            ctx,
            actor,
            Invite {
                address: format!("p{n}@example.com"),
                fields: patch(&[(UserField::UfDepartment, "1")]),
                ..Invite::default()
            },
        )
    };
    invite_as(ctx, &f.admin, 1).unwrap();
    f.clock.advance(Duration::minutes(10));
    invite_as(ctx, &f.admin, 2).unwrap();
    match invite_as(ctx, &f.admin, 3) {
        Err(CoreError::TooManyAttempts { retry_after_secs }) => assert_eq!(retry_after_secs, 50 * 60),
        other => panic!("expected the allowance to run out: {other:?}"),
    }
    assert!(last_message_opt(&f, "p3@example.com").is_none(), "nothing was written");
    invite_as(ctx, &Actor::operator(f.account), 4).unwrap();
    f.clock.advance(Duration::minutes(51));
    invite_as(ctx, &f.admin, 5).unwrap();

    assert_eq!(settings::base_url(f.ctx()).unwrap(), None);
    assert_eq!(
        settings::set_base_url(f.ctx(), "https://people.example.com/").unwrap(),
        "https://people.example.com"
    );
    assert_eq!(settings::base_url(f.ctx()).unwrap().as_deref(), Some("https://people.example.com"));
    assert!(matches!(settings::set_base_url(f.ctx(), "people"), Err(CoreError::Validation { .. })));
    assert_eq!(settings::base_url(f.ctx()).unwrap().as_deref(), Some("https://people.example.com"));
}

fn last_message_opt(f: &Fixture<'_>, recipient: &str) -> Option<Message> {
    let all = outbox::list_messages(f.ctx(), &Actor::operator(f.account), true).unwrap();
    all.into_iter().rev().find(|m| m.recipient == recipient)
}

/// Workers claiming at once from one database never hold the same message.
pub fn concurrent_claims(db: &(dyn Database + Sync)) {
    const WORKERS: u64 = 4;
    let f = Fixture::new(db);
    for n in 0..40 {
        invite(&f, &format!("c{n}@example.com"));
    }
    let claimed: Vec<Vec<Uuid>> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..WORKERS)
            .map(|w| {
                s.spawn(move || {
                    let clock = FixedClock::new();
                    let uuids = CountingIds::starting_at(5_000_000 * (w + 1));
                    let ctx = Ctx {
                        db,
                        clock: &clock,
                        ids: &uuids,
                        passwords: &TEST_HASHER,
                        images: &crate::testing::TestImages,
                        base_url: BASE_URL,
                        invitations_per_hour: 0,
                        client: None,
                    };
                    let mut mine = Vec::new();
                    for _ in 0..20 {
                        let got = queue::claim(ctx, &EMAIL, &RetryPolicy::default(), 3).unwrap();
                        let outcomes: Vec<(&Message, Outcome)> =
                            got.iter().map(|m| (m, Outcome::Delivered)).collect();
                        queue::settle(ctx, &EMAIL, &RetryPolicy::default(), &outcomes).unwrap();
                        mine.extend(ids(&got));
                    }
                    mine
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    let mut all: Vec<Uuid> = claimed.into_iter().flatten().collect();
    let n = all.len();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), n, "a message claimed twice");
    assert_eq!(n, 40, "every message claimed once");
}
