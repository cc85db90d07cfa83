//! A directory behind the router, on a real SQLite file, with credentials of every kind.
#![allow(dead_code)]

use std::sync::Arc;

use api_http::{AppState, Config};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use profile_core::access::{Actor, Scope, ScopeSet};
use profile_core::field::UserField;
use profile_core::ids::{DepartmentId, UserId};
use profile_core::model::credential::CredentialKind;
use profile_core::model::user::{Role, UserPatch};
use profile_core::ports::Database;
use profile_core::secret::Argon2id;
use profile_core::testing::{CountingIds, FixedClock};
use profile_core::usecase::accounts::{self, CreateAccountRequest};
use profile_core::usecase::credentials::{self, NewCredential};
use profile_core::usecase::departments::{self, NewDepartment};
use profile_core::usecase::users::{self, NewUser};
use profile_core::usecase::workgroups;
use profile_core::Value as CoreValue;
use serde_json::Value;
use store_sqlite::SqliteDb;
use tower::ServiceExt;

pub struct World {
    _dir: tempfile::TempDir,
    pub state: Arc<AppState>,
    pub router: axum::Router,
    pub clock: Arc<FixedClock>,
    /// Webhook base paths (`/rest/{id}/{token}`) by name.
    pub hooks: std::collections::BTreeMap<&'static str, String>,
    /// The administrator's application token.
    pub app_token: String,
    pub sales: DepartmentId,
    pub ann: UserId,
    pub bob: UserId,
    pub eve: UserId,
}

fn fields(pairs: &[(UserField, &str)]) -> UserPatch {
    UserPatch::parse(pairs.iter().map(|(f, v)| (*f, CoreValue::text(*v)))).unwrap()
}

impl World {
    pub fn new() -> World {
        World::with_config(Config::default())
    }

    pub fn with_config(config: Config) -> World {
        World::build(config, |db| db)
    }

    /// A world whose server sees the database through `wrap`.
    pub fn wrapping(wrap: impl FnOnce(Arc<SqliteDb>) -> Arc<dyn Database + Send + Sync>) -> World {
        World::build(Config::default(), wrap)
    }

    fn build(config: Config, wrap: impl FnOnce(Arc<SqliteDb>) -> Arc<dyn Database + Send + Sync>) -> World {
        let dir = tempfile::tempdir().unwrap();
        let db = wrap(Arc::new(SqliteDb::open(dir.path().join("cardfile.db")).unwrap()));
        let clock = Arc::new(FixedClock::new());
        let state = Arc::new(AppState::new(
            db,
            clock.clone(),
            Arc::new(CountingIds::starting_at(1_000_000)),
            Arc::new(Argon2id::FAST_INSECURE),
            config,
        ));
        let ctx = state.ctx();
        let created = accounts::create_account(
            ctx,
            CreateAccountRequest {
                slug: "acme".into(),
                name: "Acme".into(),
                admin: fields(&[
                    (UserField::Email, "ada@acme.test"),
                    (UserField::Name, "Ada"),
                    (UserField::LastName, "Admin"),
                    (UserField::PersonalGender, "F"),
                ]),
            },
        )
        .unwrap();
        let account = created.account.id;
        let op = Actor::operator(account);
        let sales = departments::add_department(
            ctx,
            &op,
            NewDepartment {
                name: "Sales".into(),
                parent: Some(DepartmentId(1)),
                sort: Some(100),
                head: None,
            },
        )
        .unwrap()
        .id;
        let person = |name: &str, last: &str, dept: u32, extra: &[(UserField, &str)]| {
            let email = format!("{}@acme.test", name.to_lowercase());
            let d = dept.to_string();
            let mut pairs = vec![
                (UserField::Name, name),
                (UserField::LastName, last),
                (UserField::Email, email.as_str()),
                (UserField::UfDepartment, d.as_str()),
            ];
            pairs.extend_from_slice(extra);
            users::create_user(
                ctx,
                &op,
                NewUser { role: Role::Employee, fields: fields(&pairs), workgroups: vec![] },
            )
            .unwrap()
            .id
        };
        let ann = person(
            "Ann",
            "Lee",
            sales.0,
            &[(UserField::WorkPosition, "Account manager"), (UserField::PersonalMobile, "+1 555 0100")],
        );
        let bob = person("Bob", "Stone", 1, &[(UserField::WorkPosition, "Engineer")]);
        let group = workgroups::create_workgroup(ctx, &op, "Partners").unwrap();
        workgroups::add_workgroup_member(ctx, &op, group.id, ann).unwrap();
        let eve = users::create_user(
            ctx,
            &op,
            NewUser {
                role: Role::Extranet,
                fields: fields(&[
                    (UserField::Name, "Eve"),
                    (UserField::LastName, "Outside"),
                    (UserField::Email, "eve@partner.test"),
                ]),
                workgroups: vec![group.id],
            },
        )
        .unwrap()
        .id;
        let mut hooks = std::collections::BTreeMap::new();
        let mut hook = |name: &'static str, owner: UserId, scopes: &[Scope]| {
            let issued = credentials::create_credential(
                ctx,
                &op,
                NewCredential {
                    kind: CredentialKind::Webhook,
                    name: name.into(),
                    owner: Some(owner),
                    scopes: scopes.iter().copied().collect(),
                    expires_at: None,
                },
            )
            .unwrap();
            hooks.insert(name, format!("/rest/{}/{}", owner, issued.token));
        };
        hook("admin", UserId(1), &Scope::ALL);
        hook("bob", bob, &[Scope::User, Scope::Department]);
        hook("bob_basic", bob, &[Scope::UserBasic, Scope::Department]);
        hook("bob_brief", bob, &[Scope::UserBrief]);
        hook("bob_none", bob, &[Scope::Department]);
        hook("eve", eve, &[Scope::User, Scope::Department]);
        let app = credentials::create_credential(
            ctx,
            &op,
            NewCredential {
                kind: CredentialKind::AppToken,
                name: "HR sync".into(),
                owner: Some(UserId(1)),
                scopes: ScopeSet::all(),
                expires_at: None,
            },
        )
        .unwrap();
        let router = api_http::router(Arc::clone(&state));
        World { _dir: dir, state, router, clock, hooks, app_token: app.token, sales, ann, bob, eve }
    }

    pub fn hook(&self, name: &str) -> &str {
        &self.hooks[name]
    }

    /// Sends a request; returns the status, the content type and the JSON body.
    pub async fn send(&self, req: Request<Body>) -> (StatusCode, String, Value) {
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let ct =
            res.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
        let bytes = axum::body::to_bytes(res.into_body(), 1 << 24).await.unwrap();
        let body: Value =
            serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("not JSON ({e}): {bytes:?}"));
        (status, ct, body)
    }

    /// POSTs JSON to `path`.
    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let req = Request::post(path)
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        let (s, ct, b) = self.send(req).await;
        assert_eq!(ct, "application/json; charset=utf-8");
        (s, b)
    }

    /// GETs `path` (with its query string).
    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        let (s, ct, b) = self.send(Request::get(path).body(Body::empty()).unwrap()).await;
        assert_eq!(ct, "application/json; charset=utf-8");
        (s, b)
    }

    /// Calls a method through a named webhook with a JSON body; returns status and body.
    pub async fn call(&self, hook: &str, method: &str, body: Value) -> (StatusCode, Value) {
        self.post(&format!("{}/{method}", self.hook(hook)), body).await
    }
}

/// The body with the volatile `time` object replaced by its key list.
pub fn stable(mut v: Value) -> Value {
    fn walk(v: &mut Value) {
        match v {
            Value::Object(m) => {
                for (k, x) in m.iter_mut() {
                    if k == "time" || k == "result_time" {
                        *x = Value::String("<time>".into());
                    } else {
                        walk(x);
                    }
                }
            }
            Value::Array(a) => a.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut v);
    v
}
