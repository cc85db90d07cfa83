//! The method registry: every REST method with the scope it needs and its handler. Handlers
//! are thin: read the parameters, call one profile-core use case, shape the result.

mod card;
mod content;
mod department;
mod im;
mod system;
pub(crate) mod user;
mod userfield;

use profile_core::access::{Actor, Scope};
use profile_core::model::credential::Credential;
use profile_core::usecase::Ctx;
use serde_json::Value;

use crate::params::{self, Params};
use crate::reply::{ApiError, Reply};

/// One call of a method, authenticated.
pub struct Call<'a> {
    /// The use-case context.
    pub ctx: Ctx<'a>,
    /// Who calls.
    pub actor: &'a Actor,
    /// Through which credential.
    pub credential: &'a Credential,
    /// The parameters, credentials removed.
    pub params: &'a Params,
}

/// A method's handler.
pub type Handler = fn(&Call<'_>) -> Result<Reply, ApiError>;

/// The scope a method needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// None: the base methods.
    Nothing,
    /// Any user tier (`user`, `user_basic` or `user_brief`).
    UserRead,
    /// This scope.
    Scope(Scope),
}

impl Need {
    /// Whether an actor's credential covers it.
    pub fn met_by(self, actor: &Actor) -> bool {
        match self {
            Need::Nothing => true,
            Need::UserRead => actor.scopes.user_tier().is_some(),
            Need::Scope(s) => actor.scopes.has(s),
        }
    }

    /// The scope code `methods` and `scope` list the method under (empty for base methods).
    pub fn code(self) -> &'static str {
        match self {
            Need::Nothing => "",
            Need::UserRead => Scope::UserBrief.code(),
            Need::Scope(s) => s.code(),
        }
    }
}

/// A registered method.
pub struct Method {
    /// Its lower-case name.
    pub name: &'static str,
    /// The scope it needs.
    pub need: Need,
    /// Whether it writes (writes run on the blocking pool).
    pub writes: bool,
    /// What it does.
    pub handler: Handler,
}

/// The methods that take an image, whose bodies may be larger (`Config::upload_body_limit`).
pub const UPLOADS: [&str; 3] = ["user.add", "user.update", "cardfile.user.background.set"];

/// Every method Cardfile serves.
pub static METHODS: &[Method] = &[
    Method { name: "user.get", need: Need::UserRead, writes: false, handler: user::get },
    Method { name: "user.search", need: Need::UserRead, writes: false, handler: user::search },
    Method { name: "user.current", need: Need::UserRead, writes: false, handler: user::current },
    Method { name: "user.fields", need: Need::UserRead, writes: false, handler: user::fields },
    Method { name: "user.add", need: Need::Scope(Scope::User), writes: true, handler: user::add },
    Method { name: "user.update", need: Need::Scope(Scope::User), writes: true, handler: user::update },
    Method { name: "user.admin", need: Need::Nothing, writes: false, handler: system::user_admin },
    Method {
        name: "user.userfield.add",
        need: Need::Scope(Scope::UserUserfield),
        writes: true,
        handler: userfield::add,
    },
    Method {
        name: "user.userfield.list",
        need: Need::Scope(Scope::UserUserfield),
        writes: false,
        handler: userfield::list,
    },
    Method {
        name: "user.userfield.update",
        need: Need::Scope(Scope::UserUserfield),
        writes: true,
        handler: userfield::update,
    },
    Method {
        name: "user.userfield.delete",
        need: Need::Scope(Scope::UserUserfield),
        writes: true,
        handler: userfield::delete,
    },
    Method {
        name: "cardfile.user.background.get",
        need: Need::UserRead,
        writes: false,
        handler: card::background_get,
    },
    Method {
        name: "cardfile.user.background.set",
        need: Need::Scope(Scope::User),
        writes: true,
        handler: card::background_set,
    },
    Method {
        name: "cardfile.background.list",
        need: Need::UserRead,
        writes: false,
        handler: card::background_list,
    },
    Method {
        name: "cardfile.absence.add",
        need: Need::Scope(Scope::User),
        writes: true,
        handler: content::absence_add,
    },
    Method {
        name: "cardfile.absence.update",
        need: Need::Scope(Scope::User),
        writes: true,
        handler: content::absence_update,
    },
    Method {
        name: "cardfile.absence.delete",
        need: Need::Scope(Scope::User),
        writes: true,
        handler: content::absence_delete,
    },
    Method {
        name: "cardfile.absence.list",
        need: Need::UserRead,
        writes: false,
        handler: content::absence_list,
    },
    Method {
        name: "cardfile.profile.get",
        need: Need::UserRead,
        writes: false,
        handler: content::profile_get,
    },
    Method {
        name: "cardfile.profile.set",
        need: Need::Scope(Scope::User),
        writes: true,
        handler: content::profile_set,
    },
    Method {
        name: "cardfile.interest.list",
        need: Need::UserRead,
        writes: false,
        handler: content::interest_list,
    },
    Method {
        name: "cardfile.appreciation.give",
        need: Need::Scope(Scope::User),
        writes: true,
        handler: content::appreciation_give,
    },
    Method {
        name: "cardfile.appreciation.counts",
        need: Need::UserRead,
        writes: false,
        handler: content::appreciation_counts,
    },
    Method {
        name: "cardfile.appreciation.list",
        need: Need::UserRead,
        writes: false,
        handler: content::appreciation_list,
    },
    Method {
        name: "cardfile.appreciation.badges",
        need: Need::UserRead,
        writes: false,
        handler: content::appreciation_badges,
    },
    Method {
        name: "cardfile.appreciation.badge.add",
        need: Need::Scope(Scope::User),
        writes: true,
        handler: content::appreciation_badge_add,
    },
    Method { name: "cardfile.layout.get", need: Need::UserRead, writes: false, handler: content::layout_get },
    Method {
        name: "cardfile.layout.set",
        need: Need::Scope(Scope::User),
        writes: true,
        handler: content::layout_set,
    },
    Method {
        name: "cardfile.layout.reset",
        need: Need::Scope(Scope::User),
        writes: true,
        handler: content::layout_reset,
    },
    Method { name: "user.access", need: Need::Nothing, writes: false, handler: system::user_access },
    Method {
        name: "department.get",
        need: Need::Scope(Scope::Department),
        writes: false,
        handler: department::get,
    },
    Method {
        name: "department.fields",
        need: Need::Scope(Scope::Department),
        writes: false,
        handler: department::fields,
    },
    Method {
        name: "department.add",
        need: Need::Scope(Scope::Department),
        writes: true,
        handler: department::add,
    },
    Method {
        name: "department.update",
        need: Need::Scope(Scope::Department),
        writes: true,
        handler: department::update,
    },
    Method {
        name: "department.delete",
        need: Need::Scope(Scope::Department),
        writes: true,
        handler: department::delete,
    },
    Method {
        name: "im.user.status.set",
        need: Need::Scope(Scope::Im),
        writes: true,
        handler: im::status_set,
    },
    Method {
        name: "im.user.status.get",
        need: Need::Scope(Scope::Im),
        writes: false,
        handler: im::status_get,
    },
    Method { name: "im.user.get", need: Need::Scope(Scope::Im), writes: false, handler: im::user_get },
    Method {
        name: "im.department.get",
        need: Need::Scope(Scope::Im),
        writes: false,
        handler: im::department_get,
    },
    Method {
        name: "im.department.managers.get",
        need: Need::Scope(Scope::Im),
        writes: false,
        handler: im::department_managers,
    },
    Method {
        name: "im.department.employees.get",
        need: Need::Scope(Scope::Im),
        writes: false,
        handler: im::department_employees,
    },
    Method {
        name: "im.department.colleagues.list",
        need: Need::Scope(Scope::Im),
        writes: false,
        handler: im::colleagues_list,
    },
    Method { name: "cardfile.user.structure", need: Need::UserRead, writes: false, handler: user::structure },
    Method { name: "scope", need: Need::Nothing, writes: false, handler: system::scope },
    Method { name: "methods", need: Need::Nothing, writes: false, handler: system::methods },
    Method { name: "method.get", need: Need::Nothing, writes: false, handler: system::method_get },
    Method { name: "server.time", need: Need::Nothing, writes: false, handler: system::server_time },
    Method { name: "profile", need: Need::Nothing, writes: false, handler: system::profile },
    Method { name: "app.info", need: Need::Nothing, writes: false, handler: system::app_info },
];

/// The name of the batch method, which the transport runs itself.
pub const BATCH: &str = "batch";

/// Finds a method by name, ignoring case.
pub fn find(name: &str) -> Option<&'static Method> {
    let name = name.to_ascii_lowercase();
    METHODS.iter().find(|m| m.name == name)
}

/// Whether a call of a read method may run long. Long: a query of users that is neither
/// bounded by a few IDs nor a short `FIND` ([`user::short_query`]; `indexed_find` when the
/// store answers a one-term `FIND` from its index's prefix counts, as SQLite does), and
/// every method that reads whole departments or walks the tree (`department.get`, the
/// `im.department.*` methods, `cardfile.user.structure`, `cardfile.absence.list`: a chart reads
/// every absence of a department and its sub-departments). Those run on the blocking pool in a
/// bounded number of slots; every other read runs right on an async worker.
pub(crate) fn may_be_long(method: &str, p: &Params, indexed_find: bool) -> bool {
    match method {
        "user.get" | "user.search" => !user::short_query(p, indexed_find),
        "department.get"
        | "im.department.get"
        | "im.department.managers.get"
        | "im.department.employees.get"
        | "im.department.colleagues.list"
        | "cardfile.user.structure"
        | "cardfile.absence.list" => true,
        _ => false,
    }
}

/// A required integer parameter (top-level key, any case).
fn required_int(p: &Params, key: &str) -> Result<i64, ApiError> {
    match params::get_ci(p, key) {
        None => Err(ApiError::argument(key, "is required")),
        Some(v) => params::as_int(v).ok_or_else(|| ApiError::argument(key, "expected an integer")),
    }
}

/// An optional integer parameter.
fn optional_int(p: &Params, key: &str) -> Result<Option<i64>, ApiError> {
    match params::get_ci(p, key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(v) => params::as_int(v).map(Some).ok_or_else(|| ApiError::argument(key, "expected an integer")),
    }
}

/// An optional boolean parameter, leniently read.
fn optional_bool(p: &Params, key: &str) -> Result<Option<bool>, ApiError> {
    match params::get_ci(p, key) {
        None => Ok(None),
        Some(v) => params::as_bool(v).map(Some).ok_or_else(|| ApiError::argument(key, "expected a boolean")),
    }
}

/// `start`/`START`: an offset, or -1 for no count.
fn start(p: &Params) -> Result<i64, ApiError> {
    Ok(optional_int(p, "start")?.unwrap_or(0))
}
