//! Contract cases for the joining and sign-in ports on their own: identities, invitations and
//! registration records, credentials and the outbox, each written and read back.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use super::*;

pub fn identities_round_trip(db: &dyn Database) {
    let f = Fixture::new(db);
    let now = f.clock.now();
    let id = IdentityId(Uuid::from_u128(7));
    let mut ann = Identity::new(id, login("ann@example.com"), now);
    ann.password = Some("$argon2id$v=19$m=8,t=1,p=1$c2FsdA$aGFzaA".into());
    ann.contacts = vec![login("+49 30 1234567"), login("ann@home.example")];
    ann.name = "Ann".into();
    ann.socials = vec![SocialLink { provider: "google".into(), subject: "g-1".into() }];
    ann.app_passwords = vec![AppPassword {
        id: Uuid::from_u128(8),
        name: "mail".into(),
        hash: SecretHash::of("x"),
        created_at: now,
    }];
    ann.totp = Some(Totp {
        secret: vec![1, 2, 3],
        enabled: true,
        last_step: Some(42),
        recovery: vec![SecretHash::of("r1"), SecretHash::of("r2")],
    });
    let mut tx = db.write().unwrap();
    tx.insert_identity(&ann).unwrap();
    tx.commit().unwrap();

    let tx = db.read().unwrap();
    assert_eq!(tx.identity(id).unwrap(), Some(ann.clone()));
    for h in ["ann@example.com", "+49301234567", "ann@home.example"] {
        assert_eq!(tx.identity_by_handle(&login(h)).unwrap().map(|i| i.id), Some(id), "{h}");
    }
    assert_eq!(tx.identity_by_handle(&login("bob@example.com")).unwrap(), None);
    assert_eq!(tx.identity_by_social("google", "g-1").unwrap().map(|i| i.id), Some(id));
    assert_eq!(tx.identity_by_social("google", "g-2").unwrap(), None);
    drop(tx);

    // Handles and social logins are unique across identities.
    let mut bob = Identity::new(IdentityId(Uuid::from_u128(9)), login("ann@home.example"), now);
    let mut tx = db.write().unwrap();
    assert_eq!(tx.insert_identity(&bob).unwrap_err(), StoreError::UniqueViolation { what: "LOGIN".into() });
    drop(tx);
    bob.login = login("bob@example.com");
    bob.socials = ann.socials.clone();
    let mut tx = db.write().unwrap();
    assert_eq!(tx.insert_identity(&bob).unwrap_err(), StoreError::UniqueViolation { what: "SOCIAL".into() });
    drop(tx);
    bob.socials.clear();
    let mut tx = db.write().unwrap();
    tx.insert_identity(&bob).unwrap();
    // An update that drops a contact frees it; one that takes another's handle is refused.
    ann.contacts.pop();
    ann.totp = None;
    ann.app_passwords.clear();
    tx.update_identity(&ann).unwrap();
    let mut stolen = bob.clone();
    stolen.name = "Robert".into();
    stolen.contacts.push(login("ann@example.com"));
    assert_eq!(
        tx.update_identity(&stolen).unwrap_err(),
        StoreError::UniqueViolation { what: "LOGIN".into() }
    );
    tx.commit().unwrap();
    let tx = db.read().unwrap();
    assert_eq!(tx.identity(id).unwrap(), Some(ann.clone()));
    assert_eq!(tx.identity_by_handle(&login("ann@home.example")).unwrap(), None);
    assert_eq!(tx.identity(bob.id).unwrap(), Some(bob.clone()), "the refused update left bob as he was");
    drop(tx);

    // Links to user records, one identity per record.
    let m = Membership { account: f.account, user: UserId(1) };
    let mut tx = db.write().unwrap();
    tx.link_user(id, m).unwrap();
    assert_eq!(tx.link_user(bob.id, m).unwrap_err(), StoreError::UniqueViolation { what: "USER".into() });
    tx.commit().unwrap();
    let tx = db.read().unwrap();
    assert_eq!(tx.memberships(id).unwrap(), vec![m]);
    assert_eq!(tx.memberships(bob.id).unwrap(), vec![]);
    assert_eq!(tx.identity_of_user(f.account, UserId(1)).unwrap(), Some(id));
    assert_eq!(tx.identity_of_user(f.account, UserId(2)).unwrap(), None);
    drop(tx);

    // Login failures, per handle.
    let fail = LoginFailures { count: 3, last: now };
    let mut tx = db.write().unwrap();
    tx.set_login_failures("nobody@example.com", Some(fail)).unwrap();
    tx.commit().unwrap();
    assert_eq!(db.read().unwrap().login_failures("nobody@example.com").unwrap(), Some(fail));
    let mut tx = db.write().unwrap();
    tx.set_login_failures("nobody@example.com", None).unwrap();
    tx.commit().unwrap();
    assert_eq!(db.read().unwrap().login_failures("nobody@example.com").unwrap(), None);

    // Codes.
    let mut code = ConfirmationCode {
        id: Uuid::from_u128(10),
        purpose: CodePurpose::ChangeLogin(id),
        target: login("+1 555 0100 200"),
        hash: SecretHash::keyed(b"10", "123456"),
        created_at: now,
        expires_at: now + Duration::minutes(15),
        attempts_left: 5,
        used: false,
    };
    let mut tx = db.write().unwrap();
    tx.insert_code(&code).unwrap();
    code.attempts_left = 4;
    code.used = true;
    tx.update_code(&code).unwrap();
    tx.commit().unwrap();
    assert_eq!(db.read().unwrap().code(code.id).unwrap(), Some(code.clone()));
    let request_code = ConfirmationCode {
        id: Uuid::from_u128(11),
        purpose: CodePurpose::Registration(Uuid::from_u128(99)),
        ..code
    };
    let mut tx = db.write().unwrap();
    tx.insert_code(&request_code).unwrap();
    tx.commit().unwrap();
    assert_eq!(db.read().unwrap().code(request_code.id).unwrap(), Some(request_code));

    // Deleting an identity frees its handles and links and drops its codes.
    let mut tx = db.write().unwrap();
    tx.delete_identity(id).unwrap();
    tx.commit().unwrap();
    let tx = db.read().unwrap();
    assert_eq!(tx.identity(id).unwrap(), None);
    assert_eq!(tx.identity_by_handle(&login("ann@example.com")).unwrap(), None);
    assert_eq!(tx.identity_by_social("google", "g-1").unwrap(), None);
    assert_eq!(tx.identity_of_user(f.account, UserId(1)).unwrap(), None);
    assert_eq!(tx.code(Uuid::from_u128(10)).unwrap(), None);
    assert!(tx.code(Uuid::from_u128(11)).unwrap().is_some(), "registration codes are not the identity's");
}

pub fn invitations_round_trip(db: &dyn Database) {
    let f = Fixture::new(db);
    let other = Fixture::with_slug(db, "globex");
    let now = f.clock.now();
    let inv = |n: u128, account, state| Invitation {
        id: InvitationId(Uuid::from_u128(n)),
        account,
        user: UserId(n as u32),
        address: login(&format!("guest{n}@example.com")),
        hash: SecretHash::of(&format!("token{n}")),
        invited_by: Some(UserId(1)),
        created_at: now,
        expires_at: now + Duration::days(n as i64),
        state,
    };
    let a = inv(3, f.account, InvitationState::Pending);
    let b = inv(1, f.account, InvitationState::Pending);
    let c = inv(2, other.account, InvitationState::Pending);
    let mut tx = db.write().unwrap();
    for i in [&a, &b, &c] {
        tx.insert_invitation(i).unwrap();
    }
    tx.commit().unwrap();
    let tx = db.read().unwrap();
    assert_eq!(tx.invitations(f.account).unwrap(), vec![a.clone(), b.clone()], "oldest first, one account");
    assert_eq!(tx.invitation(f.account, b.id).unwrap(), Some(b.clone()));
    assert_eq!(tx.invitation(f.account, c.id).unwrap(), None, "another account's");
    assert_eq!(tx.invitation_by_token(&SecretHash::of("token2")).unwrap(), Some(c.clone()));
    assert_eq!(tx.invitation_by_token(&SecretHash::of("token9")).unwrap(), None);
    assert_eq!(tx.invitations_to(f.account, &login("guest1@example.com")).unwrap(), vec![b.clone()]);
    assert_eq!(
        tx.invitations_to(f.account, &login("guest2@example.com")).unwrap(),
        vec![],
        "another account's"
    );
    assert_eq!(tx.invitations_to(other.account, &login("guest2@example.com")).unwrap(), vec![c.clone()]);
    let due: Vec<_> =
        tx.invitations_expiring(now + Duration::days(2)).unwrap().into_iter().map(|i| i.id).collect();
    assert_eq!(due, vec![b.id, c.id]);
    drop(tx);
    let identity = IdentityId(Uuid::from_u128(5));
    let mut tx = db.write().unwrap();
    for (i, state) in [
        (&b, InvitationState::Accepted { at: now, identity }),
        (&c, InvitationState::Revoked { at: now }),
        (&a, InvitationState::Expired),
    ] {
        tx.update_invitation(&Invitation { state, ..i.clone() }).unwrap();
    }
    tx.commit().unwrap();
    let tx = db.read().unwrap();
    assert_eq!(
        tx.invitation(f.account, b.id).unwrap().unwrap().state,
        InvitationState::Accepted { at: now, identity }
    );
    assert_eq!(
        tx.invitation(other.account, c.id).unwrap().unwrap().state,
        InvitationState::Revoked { at: now }
    );
    assert_eq!(tx.invitation(f.account, a.id).unwrap().unwrap().state, InvitationState::Expired);
    assert!(
        tx.invitations_expiring(now + Duration::days(30)).unwrap().is_empty(),
        "only pending ones expire"
    );
    drop(tx);

    // One registration link per account; a new one replaces the old.
    let link = |t: &str| RegistrationLink { account: f.account, hash: SecretHash::of(t), created_at: now };
    let mut tx = db.write().unwrap();
    tx.set_registration_link(&link("one")).unwrap();
    tx.set_registration_link(&link("two")).unwrap();
    tx.commit().unwrap();
    let tx = db.read().unwrap();
    assert_eq!(tx.registration_link(f.account).unwrap(), Some(link("two")));
    assert_eq!(tx.registration_link(other.account).unwrap(), None);
    assert_eq!(tx.registration_link_by_token(&SecretHash::of("one")).unwrap(), None);
    assert_eq!(tx.registration_link_by_token(&SecretHash::of("two")).unwrap(), Some(link("two")));
    drop(tx);

    let req = |n: u128| RegistrationRequest {
        id: Uuid::from_u128(n),
        account: f.account,
        link: SecretHash::of(&format!("link{n}")),
        email: format!("r{n}@example.com"),
        name: "Rita".into(),
        last_name: "Reg".into(),
        password: Some("$argon2id$stub".into()),
        identity: None,
        state: RequestState::Unconfirmed,
        created_at: now,
    };
    let mut tx = db.write().unwrap();
    tx.insert_request(&req(20)).unwrap();
    tx.insert_request(&req(10)).unwrap();
    tx.commit().unwrap();
    let approved = RegistrationRequest {
        password: None,
        identity: Some(identity),
        state: RequestState::Approved { user: UserId(4) },
        ..req(20)
    };
    let mut tx = db.write().unwrap();
    tx.update_request(&approved).unwrap();
    tx.commit().unwrap();
    let tx = db.read().unwrap();
    assert_eq!(tx.requests(f.account).unwrap(), vec![approved.clone(), req(10)]);
    assert_eq!(tx.request(Uuid::from_u128(10)).unwrap(), Some(req(10)));
    assert!(tx.requests(other.account).unwrap().is_empty());
}

pub fn credentials_and_outbox_round_trip(db: &dyn Database) {
    let f = Fixture::new(db);
    let other = Fixture::with_slug(db, "globex");
    let now = f.clock.now();
    let cred = |n: u128, account, kind| Credential {
        id: CredentialId(Uuid::from_u128(n)),
        account,
        kind,
        name: format!("cred {n}"),
        owner: UserId(1),
        scopes: [Scope::User, Scope::Department].into_iter().collect(),
        hash: SecretHash::of(&format!("t{n}")),
        created_at: now,
        expires_at: (n == 2).then(|| now + Duration::days(1)),
        revoked_at: None,
    };
    let a = cred(2, f.account, CredentialKind::Webhook);
    let b = cred(1, f.account, CredentialKind::AppToken);
    let c = cred(3, other.account, CredentialKind::Webhook);
    let mut tx = db.write().unwrap();
    for x in [&a, &b, &c] {
        tx.insert_credential(x).unwrap();
    }
    let dup = Credential { id: CredentialId(Uuid::from_u128(4)), ..a.clone() };
    assert_eq!(tx.insert_credential(&dup).unwrap_err(), StoreError::UniqueViolation { what: "TOKEN".into() });
    tx.commit().unwrap();
    let revoked = Credential { revoked_at: Some(now), ..b.clone() };
    let mut tx = db.write().unwrap();
    tx.update_credential(&revoked).unwrap();
    tx.commit().unwrap();
    let tx = db.read().unwrap();
    assert_eq!(tx.credentials(f.account).unwrap(), vec![a.clone(), revoked.clone()]);
    assert_eq!(tx.credential(f.account, a.id).unwrap(), Some(a.clone()));
    assert_eq!(tx.credential(f.account, c.id).unwrap(), None);
    assert_eq!(tx.credential_by_token(&SecretHash::of("t3")).unwrap(), Some(c));
    assert_eq!(tx.credential_by_token(&SecretHash::of("t9")).unwrap(), None);
    drop(tx);

    let msg = |n: u128, account| Message {
        id: Uuid::from_u128(n),
        account,
        kind: MessageKind::Invitation,
        channel: if n == 2 { Channel::Sms } else { Channel::Email },
        recipient: format!("to{n}"),
        subject: "s".into(),
        body: format!("body {n}\nline two"),
        html: format!("<p>body {n}</p>"),
        created_at: now,
        expires_at: (n == 2).then(|| now + Duration::days(3)),
        source: (n == 1).then(|| Uuid::from_u128(77)),
        delivery: Delivery::due_at(now),
    };
    let mut tx = db.write().unwrap();
    tx.enqueue(&msg(3, Some(f.account))).unwrap();
    tx.enqueue(&msg(1, None)).unwrap();
    tx.enqueue(&msg(2, Some(other.account))).unwrap();
    tx.update_deliveries(&[sent_update(Uuid::from_u128(3), now)]).unwrap();
    tx.update_deliveries(&[sent_update(Uuid::from_u128(3), now + Duration::hours(1))]).unwrap();
    tx.commit().unwrap();
    let tx = db.read().unwrap();
    // Once sent, the body (which may hold a live link, code or password) is dropped.
    let sent = Message {
        delivery: sent_update(Uuid::nil(), now).delivery,
        body: String::new(),
        html: String::new(),
        ..msg(3, Some(f.account))
    };
    assert_eq!(tx.messages(Some(f.account)).unwrap(), vec![sent.clone()], "the first send time stays");
    assert_eq!(tx.messages(None).unwrap(), vec![sent.clone(), msg(1, None), msg(2, Some(other.account))]);
    assert_eq!(tx.message(Uuid::from_u128(3)).unwrap(), Some(sent));
    assert_eq!(tx.message(Uuid::from_u128(2)).unwrap(), Some(msg(2, Some(other.account))));
    assert_eq!(tx.message(Uuid::from_u128(9)).unwrap(), None);
}

// ---------------------------------------------------------------- flows
