//! A new colleague joins: invited by email, accepts, logs in with a password hashed at
//! production cost, gets a webhook; the service restarts and the login, the membership and the
//! webhook still work, while the used invitation link does not.

use profile_core::access::{Actor, Scope, ScopeSet};
use profile_core::field::UserField;
use profile_core::model::credential::CredentialKind;
use profile_core::model::identity::{LockoutPolicy, Membership};
use profile_core::model::user::UserPatch;
use profile_core::ports::{IdGen, RandomIds, SystemClock};
use profile_core::secret::Argon2id;
use profile_core::usecase::accounts::{self, CreateAccountRequest};
use profile_core::usecase::credentials::{self, NewCredential};
use profile_core::usecase::identities::{self, LoginAttempt, LoginOutcome};
use profile_core::usecase::invitations::{self, Acceptance, Invite};
use profile_core::usecase::{outbox, Ctx};
use profile_core::{CoreError, Value};
use store_sqlite::SqliteDb;

const PASSWORD: &str = "a long and good password";

fn ctx(db: &SqliteDb) -> Ctx<'_> {
    Ctx {
        db,
        clock: &SystemClock,
        ids: &RandomIds as &dyn IdGen,
        passwords: &Argon2id::PRODUCTION,
        images: &profile_core::ports::NoImages,
        base_url: "https://directory.example",
        invitations_per_hour: 0,
        client: None,
    }
}

fn log_in(db: &SqliteDb) -> Result<LoginOutcome, CoreError> {
    identities::log_in(
        ctx(db),
        &LockoutPolicy::default(),
        LoginAttempt {
            login: "new.hire@example.com",
            password: PASSWORD,
            second_factor: None,
            app_passwords: true,
        },
    )
}

#[test]
fn a_new_colleague_is_invited_joins_and_stays_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cardfile.db");
    let (account, token, hook, user) = {
        let db = SqliteDb::open(&path).unwrap();
        let created = accounts::create_account(
            ctx(&db),
            CreateAccountRequest {
                slug: "initech".into(),
                name: "Initech".into(),
                admin: UserPatch::parse([(UserField::Email, Value::text("bill@initech.test"))]).unwrap(),
            },
        )
        .unwrap();
        let account = created.account.id;
        let operator = Actor::operator(account);
        let invited = invitations::invite_by_email(
            ctx(&db),
            &operator,
            Invite {
                address: "new.hire@example.com".into(),
                fields: UserPatch::parse([(UserField::UfDepartment, Value::text("1"))]).unwrap(),
                ..Invite::default()
            },
        )
        .unwrap();
        // The administrator passes the link on by hand, from the outbox.
        let mail = outbox::list_messages(ctx(&db), &operator, false).unwrap().pop().unwrap();
        assert_eq!(mail.recipient, "new.hire@example.com");
        let prefix = "https://directory.example/invite/";
        let at = mail.body.find(prefix).unwrap() + prefix.len();
        let token: String = mail.body[at..].chars().take_while(char::is_ascii_alphanumeric).collect();
        invitations::accept_invitation(
            ctx(&db),
            &token,
            Acceptance::NewIdentity { password: PASSWORD.into() },
        )
        .unwrap();
        let LoginOutcome::LoggedIn { identity, .. } = log_in(&db).unwrap() else {
            panic!("no second factor set")
        };
        let me = identities::open_account(ctx(&db), identity, account).unwrap();
        assert_eq!(me.scopes, ScopeSet::all());
        let hook = credentials::create_credential(
            ctx(&db),
            &me,
            NewCredential {
                kind: CredentialKind::Webhook,
                name: "my script".into(),
                owner: None,
                scopes: [Scope::UserBrief].into_iter().collect(),
                expires_at: None,
            },
        )
        .unwrap();
        (account, token, hook, invited.user.id)
    };

    let db = SqliteDb::open(&path).unwrap();
    let LoginOutcome::LoggedIn { memberships, .. } = log_in(&db).unwrap() else {
        panic!("no second factor set")
    };
    assert_eq!(memberships, vec![Membership { account, user }]);
    let auth = credentials::authenticate_webhook(ctx(&db), user, &hook.token).unwrap();
    assert_eq!(auth.actor.account, account);
    assert!(auth.actor.scopes.has(Scope::UserBrief) && !auth.actor.scopes.has(Scope::User));
    let again = invitations::accept_invitation(
        ctx(&db),
        &token,
        Acceptance::NewIdentity { password: PASSWORD.into() },
    );
    assert!(matches!(again, Err(CoreError::Conflict { .. })), "{again:?}");
}
