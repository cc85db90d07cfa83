//! People and structure: `cardfile user …` and `cardfile dept …`, on the same use cases as the
//! REST API, as the account's operator.

use clap::Subcommand;
use profile_core::access::{Actor, Select, UserView};
use profile_core::field::UserField;
use profile_core::ids::{DepartmentId, UserId};
use profile_core::model::department::{Department, Tree};
use profile_core::model::user::{Role, UserPatch};
use profile_core::query::{Condition, FilterKey, FilterTarget, PageRequest, UserFilter, UserQuery};
use profile_core::usecase::custom::CustomSelect;
use profile_core::usecase::departments::{self, DepartmentPatch, DepartmentQuery, NewDepartment};
use profile_core::usecase::hr;
use profile_core::usecase::images::{self, BackgroundChange, BackgroundView, PhotoChange};
use profile_core::usecase::invitations::{self, Invite};
use profile_core::usecase::users::{self, NewUser, RoleChange};
use profile_core::Value;
use serde_json::json;

use crate::admin::{account, Outcome};
use crate::setup;

/// `cardfile user …`
#[derive(Subcommand, Debug)]
pub(crate) enum UserCommand {
    /// Create a user record directly (no invitation, no login): `FIELD=value` pairs.
    Add {
        /// Fields as `CODE=value` (`EMAIL=ann@example.com NAME=Ann UF_DEPARTMENT=2`).
        fields: Vec<String>,
        /// The role: admin, employee, integrator.
        #[arg(long, default_value = "employee")]
        role: String,
    },
    /// Invite by email: the record exists at once; the invitation goes to the outbox.
    Invite {
        /// The address.
        email: String,
        /// Further fields as `CODE=value` (UF_DEPARTMENT defaults to the root department).
        fields: Vec<String>,
    },
    /// Users matching filters as in user.get (`CODE=value`, `>ID=10`, `%NAME=an`), 50 a page.
    List {
        /// Conditions.
        filters: Vec<String>,
        /// Offset (`start`).
        #[arg(long, default_value_t = 0)]
        start: u64,
    },
    /// Quick search (FIND).
    Search {
        /// The words.
        text: String,
    },
    /// One user, every field.
    Show {
        /// The ID.
        id: u32,
    },
    /// Change fields: `CODE=value` pairs (an empty value clears).
    Update {
        /// The ID.
        id: u32,
        /// Fields.
        fields: Vec<String>,
    },
    /// Dismiss (ACTIVE=N): the record stays, the user can no longer sign in.
    Terminate {
        /// The ID.
        id: u32,
    },
    /// Take a dismissed user back (ACTIVE=Y).
    Reinstate {
        /// The ID.
        id: u32,
    },
    /// Change the role: admin, employee, integrator, extranet, collab_guest.
    SetRole {
        /// The ID.
        id: u32,
        /// The role.
        role: String,
        /// Departments for a user who becomes internal (comma-separated IDs).
        #[arg(long)]
        departments: Option<String>,
    },
    /// Set the photo from a PNG, JPEG, WebP or GIF file (kept as a square at 150, 300 and
    /// 1000 px), or remove it.
    Photo {
        /// The ID.
        id: u32,
        /// The image file.
        #[arg(long, conflicts_with = "remove", required_unless_present = "remove")]
        file: Option<std::path::PathBuf>,
        /// Remove the photo.
        #[arg(long)]
        remove: bool,
    },
    /// Set the profile background: a built-in one (`cardfile user background ID --builtin sea`;
    /// dawn, sea, meadow, slate, dune, night), an image file, or none.
    Background {
        /// The ID.
        id: u32,
        /// A built-in background's name.
        #[arg(long, conflicts_with_all = ["file", "remove"])]
        builtin: Option<String>,
        /// An image file.
        #[arg(long, conflicts_with = "remove")]
        file: Option<std::path::PathBuf>,
        /// Remove the background.
        #[arg(long, required_unless_present_any = ["builtin", "file"])]
        remove: bool,
    },
    /// Grant the HR permission: reading and changing every user's HR details (`cardfile hr`).
    GrantHr {
        /// The ID (an active intranet user).
        id: u32,
    },
    /// Revoke the HR permission.
    RevokeHr {
        /// The ID.
        id: u32,
    },
}

/// `cardfile dept …`
#[derive(Subcommand, Debug)]
pub(crate) enum DeptCommand {
    /// Add a department.
    Add {
        /// Its name.
        name: String,
        /// The parent department's ID.
        #[arg(long, default_value_t = 1)]
        parent: u32,
        /// Its head's user ID.
        #[arg(long)]
        head: Option<u32>,
    },
    /// The company structure as a tree.
    Tree,
    /// One department.
    Show {
        /// The ID.
        id: u32,
    },
    /// Rename it.
    Update {
        /// The ID.
        id: u32,
        /// The new name.
        #[arg(long)]
        name: String,
    },
    /// Move it (with its sub-departments) under another department.
    Move {
        /// The ID.
        id: u32,
        /// The new parent's ID.
        parent: u32,
    },
    /// Set its head (0 for none).
    SetHead {
        /// The ID.
        id: u32,
        /// The head's user ID, or 0.
        user: u32,
    },
    /// Delete it (refused while it has sub-departments or members).
    Delete {
        /// The ID.
        id: u32,
    },
}

fn patch(pairs: &[String]) -> Result<UserPatch, String> {
    let mut raw = Vec::new();
    for p in pairs {
        let (k, v) = p.split_once('=').ok_or_else(|| format!("{p:?}: expected CODE=value"))?;
        let field = UserField::from_code(k.trim()).ok_or_else(|| format!("{k:?} is not a user field"))?;
        let value = if field == UserField::UfDepartment {
            Value::TextList(v.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect())
        } else {
            Value::text(v)
        };
        raw.push((field, value));
    }
    UserPatch::parse(raw).map_err(|e| e.to_string())
}

fn role(code: &str) -> Result<Role, String> {
    Role::from_code(code.trim())
        .ok_or_else(|| format!("unknown role {code:?} (admin, employee, integrator, extranet, collab_guest)"))
}

const CUSTOM_PREFIX: &str = profile_core::model::custom::PREFIX;

fn view_json(v: &UserView) -> serde_json::Value {
    let mut m = serde_json::Map::new();
    for (f, value) in &v.fields {
        let j = match value {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => json!(b),
            Value::Int(i) => json!(i),
            Value::Text(s) => json!(s),
            Value::Date(d) => json!(d.to_string()),
            Value::DateTime(t) => json!(t.to_rfc3339()),
            Value::IntList(l) => json!(l),
            Value::TextList(l) => json!(l),
        };
        m.insert(f.code().to_string(), j);
    }
    for (name, value) in &v.custom {
        m.insert(name.clone(), api_http::wire::custom_value(value));
    }
    serde_json::Value::Object(m)
}

fn print_users(views: &[UserView], total: Option<u64>, json: bool) {
    if json {
        out!("{}", json!({"users": views.iter().map(view_json).collect::<Vec<_>>(), "total": total}));
        return;
    }
    out!("{:<6} {:<24} {:<24} {:<32} {:<6}", "ID", "NAME", "LAST NAME", "EMAIL", "ACTIVE");
    for v in views {
        let text = |f: UserField| match v.get(f) {
            Some(Value::Text(s)) => s.clone(),
            _ => String::new(),
        };
        let active = matches!(v.get(UserField::Active), Some(Value::Bool(true)));
        out!(
            "{:<6} {:<24} {:<24} {:<32} {:<6}",
            v.id,
            text(UserField::Name),
            text(UserField::LastName),
            text(UserField::Email),
            if active { "Y" } else { "N" }
        );
    }
    if let Some(t) = total {
        out!("({t} in all)");
    }
}

fn filter(conditions: &[String]) -> Result<UserFilter, String> {
    let mut f = UserFilter::default();
    for c in conditions {
        let (k, v) = c.split_once('=').ok_or_else(|| format!("{c:?}: expected KEY=value"))?;
        let key = FilterKey::parse(k).ok_or_else(|| format!("{k:?} is not a filter key"))?;
        f = match key.target {
            FilterTarget::Find => f.with_find(v).map_err(|e| e.to_string())?,
            FilterTarget::DepartmentName => {
                f.department_name = profile_core::query::search_words(v);
                if f.department_name.is_empty() {
                    return Err(format!("{c:?}: expected a department name"));
                }
                f
            }
            FilterTarget::Field(field) => {
                let value = if v.contains(',') {
                    Value::TextList(v.split(',').map(|s| s.trim().to_string()).collect())
                } else {
                    Value::text(v)
                };
                f.and(Condition::parse(field, key.op, &value).map_err(|e| e.to_string())?)
            }
        };
    }
    Ok(f)
}

pub(crate) fn run_user(
    db_path: &crate::store::Target,
    slug: Option<&str>,
    json: bool,
    base_url: &str,
    cmd: &UserCommand,
) -> Outcome {
    let db = setup::open(db_path)?;
    // Photo URLs are absolute, under the base URL `serve` stored.
    let ctx = setup::ctx(&db, base_url);
    let a = account(ctx, slug)?;
    let op = Actor::operator(a.id);
    let e = |e: profile_core::CoreError| e.to_string();
    let show = |id: UserId| -> Outcome {
        let all = users::ReadOptions {
            admin_mode: true,
            custom: CustomSelect::All,
            ..users::ReadOptions::default()
        };
        let v = users::get_user_with(ctx, &op, id, &Select::All, &all).map_err(e)?;
        if json {
            out!("{}", view_json(&v));
        } else {
            for (name, value) in &v.custom {
                let shown = api_http::wire::custom_value(value);
                if shown != json!("") && shown != json!([]) {
                    out!("{:<22} {}", name, shown);
                }
            }
            for (f, value) in &v.fields {
                if !matches!(value, Value::Null) && !matches!(value, Value::Text(s) if s.is_empty()) {
                    out!(
                        "{:<22} {}",
                        f.code(),
                        view_json(&UserView { id, fields: vec![(*f, value.clone())], custom: Vec::new() })
                            [f.code()]
                    );
                }
            }
        }
        Ok(())
    };
    let query = |filter: UserFilter, start: u64| -> Outcome {
        let q = UserQuery {
            filter,
            sort: vec![],
            page: PageRequest { start, count_total: true },
            now: ctx.clock.now(),
        };
        let page = users::find_users(ctx, &op, &q, &Select::All, true).map_err(e)?;
        print_users(&page.items, page.total, json);
        Ok(())
    };
    match cmd {
        UserCommand::Add { fields, role: r } => {
            let new = NewUser { role: role(r)?, fields: patch(fields)?, workgroups: vec![] };
            let u = users::create_user(ctx, &op, new).map_err(e)?;
            show(u.id)
        }
        UserCommand::Invite { email, fields } => {
            let mut f = patch(fields)?;
            if !f.touches(UserField::UfDepartment) {
                f.merge(&patch(&["UF_DEPARTMENT=1".to_string()])?);
            }
            let invited = invitations::invite_by_email(
                ctx,
                &op,
                Invite { address: email.clone(), fields: f, ..Invite::default() },
            )
            .map_err(e)?;
            if !json {
                out!("invited {email} as user {}; the invitation is in `cardfile outbox`", invited.user.id);
            }
            show(invited.user.id)
        }
        UserCommand::List { filters, start } => query(filter(filters)?, *start),
        UserCommand::Search { text } => query(UserFilter::default().with_find(text).map_err(e)?, 0),
        UserCommand::Show { id } => {
            let id = UserId(*id);
            if json {
                // One object: the fields, and where the user stands.
                let all = users::ReadOptions {
                    admin_mode: true,
                    custom: CustomSelect::All,
                    ..users::ReadOptions::default()
                };
                let v = users::get_user_with(ctx, &op, id, &Select::All, &all).map_err(e)?;
                let mut shown = view_json(&v);
                let s = users::structure(ctx, &op, id, true).map_err(e)?;
                shown["STRUCTURE"] = api_http::wire::structure(&s);
                shown["BACKGROUND"] =
                    api_http::wire::background(images::background(ctx, &op, id, true).map_err(e)?);
                out!("{shown}");
                return Ok(());
            }
            show(id)?;
            let background = images::background(ctx, &op, id, true).map_err(e)?;
            out!(
                "{:<22} {}",
                "BACKGROUND",
                match background {
                    None => String::new(),
                    Some(BackgroundView::Builtin(b)) => b.name.to_string(),
                    Some(BackgroundView::Image { url }) => url,
                }
            );
            let s = users::structure(ctx, &op, id, true).map_err(e)?;
            let ids = |l: &[UserId]| l.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
            out!("{:<22} {}", "ROLE", s.role.code());
            out!("{:<22} {}", "SUPERVISORS", ids(&s.supervisors));
            out!("{:<22} {}", "SUBORDINATES", ids(&s.subordinates));
            for path in &s.paths {
                let names: Vec<&str> = path.iter().map(|d| d.name.as_str()).collect();
                out!("{:<22} {}", "DEPARTMENT", names.join(" / "));
            }
            Ok(())
        }
        UserCommand::Photo { id, file, remove: _ } => {
            let change = match file {
                Some(path) => PhotoChange::Upload(read_image(path)?),
                None => PhotoChange::Remove,
            };
            images::set_photo(ctx, &op, UserId(*id), &change).map_err(e)?;
            show(UserId(*id))
        }
        UserCommand::Background { id, builtin, file, remove: _ } => {
            let change = match (builtin, file) {
                (Some(name), _) => BackgroundChange::Builtin(name.clone()),
                (None, Some(path)) => BackgroundChange::Upload(read_image(path)?),
                (None, None) => BackgroundChange::Remove,
            };
            let set = images::set_background(ctx, &op, UserId(*id), &change).map_err(e)?;
            if json {
                out!("{}", api_http::wire::background(set));
            } else {
                match set {
                    None => out!("user {id} has no background"),
                    Some(BackgroundView::Builtin(b)) => out!("user {id}'s background: {}", b.name),
                    Some(BackgroundView::Image { url }) => out!("user {id}'s background: {url}"),
                }
            }
            Ok(())
        }
        UserCommand::Update { id, fields } => {
            let (standard, custom): (Vec<String>, Vec<String>) = fields.iter().cloned().partition(|p| {
                !p.split_once('=')
                    .is_some_and(|(k, _)| k.trim().to_ascii_uppercase().starts_with(CUSTOM_PREFIX))
            });
            let defs = if custom.is_empty() {
                Vec::new()
            } else {
                profile_core::usecase::custom::list_fields(ctx, &op).map_err(e)?
            };
            let custom = custom
                .iter()
                .map(|p| {
                    let (k, v) = p.split_once('=').unwrap_or((p, ""));
                    let name = k.trim().to_ascii_uppercase();
                    // A multiple field's values are comma-separated.
                    let value = match defs.iter().find(|d| d.name == name) {
                        Some(d) if d.multiple => {
                            Value::TextList(v.split(',').map(|s| s.trim().to_string()).collect())
                        }
                        _ => Value::text(v),
                    };
                    (name, value)
                })
                .collect();
            let update = users::UserUpdate { fields: patch(&standard)?, photo: None, custom };
            users::update_user_with(ctx, &op, UserId(*id), update).map_err(e)?;
            show(UserId(*id))
        }
        UserCommand::Terminate { id } | UserCommand::Reinstate { id } => {
            let active = if matches!(cmd, UserCommand::Terminate { .. }) { "N" } else { "Y" };
            users::update_user(ctx, &op, UserId(*id), &patch(&[format!("ACTIVE={active}")])?).map_err(e)?;
            show(UserId(*id))
        }
        UserCommand::SetRole { id, role: r, departments } => {
            let departments = departments
                .as_deref()
                .unwrap_or("")
                .split(',')
                .filter(|s| !s.trim().is_empty())
                .map(|s| {
                    s.trim()
                        .parse()
                        .map(DepartmentId)
                        .map_err(|_| format!("--departments: {s:?} is not an ID"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            users::change_role(ctx, &op, UserId(*id), RoleChange { role: role(r)?, departments })
                .map_err(e)?;
            show(UserId(*id))
        }
        UserCommand::GrantHr { id } | UserCommand::RevokeHr { id } => {
            let grant = matches!(cmd, UserCommand::GrantHr { .. });
            if grant {
                hr::grant_hr_permission(ctx, &op, UserId(*id)).map_err(e)?;
            } else {
                hr::revoke_hr_permission(ctx, &op, UserId(*id)).map_err(e)?;
            }
            let holders = hr::hr_holders(ctx, &op).map_err(e)?;
            if json {
                out!(
                    "{}",
                    json!({"user": id, "hr_permission": grant, "holders": holders.iter().map(|u| u.get()).collect::<Vec<_>>()})
                );
            } else {
                out!("user {id} {} the HR permission", if grant { "now holds" } else { "no longer holds" });
            }
            Ok(())
        }
    }
}

fn dept_json(d: &Department) -> serde_json::Value {
    json!({"id": d.id.get(), "name": d.name, "sort": d.sort, "parent": d.parent.map(|p| p.get()), "head": d.head.map(|h| h.get())})
}

pub(crate) fn run_dept(
    db_path: &crate::store::Target,
    slug: Option<&str>,
    json: bool,
    cmd: &DeptCommand,
) -> Outcome {
    let db = setup::open(db_path)?;
    let ctx = setup::ctx(&db, "");
    let a = account(ctx, slug)?;
    let op = Actor::operator(a.id);
    let e = |e: profile_core::CoreError| e.to_string();
    let print = |d: &Department| {
        if json {
            out!("{}", dept_json(d));
        } else {
            let head = d.head.map_or_else(|| "none".to_string(), |h| h.to_string());
            out!(
                "{} {} (parent {}, head {head})",
                d.id,
                d.name,
                d.parent.map_or("none".into(), |p| p.to_string())
            );
        }
    };
    match cmd {
        DeptCommand::Add { name, parent, head } => {
            let d = departments::add_department(
                ctx,
                &op,
                NewDepartment {
                    name: name.clone(),
                    parent: Some(DepartmentId(*parent)),
                    sort: None,
                    head: head.map(UserId),
                },
            )
            .map_err(e)?;
            print(&d);
        }
        DeptCommand::Tree => {
            let mut all = Vec::new();
            // Every page of the tree-ordered list.
            let mut start = 0;
            for _ in 0..100_000 {
                let q = DepartmentQuery {
                    page: PageRequest { start, count_total: true },
                    ..DepartmentQuery::default()
                };
                let page = departments::list_departments(ctx, &op, &q).map_err(e)?;
                let n = page.items.len() as u64;
                all.extend(page.items);
                match page.total {
                    Some(t) if start + n < t && n > 0 => start += n,
                    _ => break,
                }
            }
            if json {
                out!("{}", serde_json::Value::Array(all.iter().map(dept_json).collect()));
            } else {
                let tree = Tree::new(all);
                for d in tree.preorder() {
                    let depth = tree.path_to_root(d.id).count().saturating_sub(1);
                    let head = d.head.map(|h| format!("  (head: user {h})")).unwrap_or_default();
                    out!("{}{} [{}]{head}", "  ".repeat(depth), d.name, d.id);
                }
            }
        }
        DeptCommand::Show { id } => {
            print(&departments::get_department(ctx, &op, DepartmentId(*id)).map_err(e)?)
        }
        DeptCommand::Update { id, name } => print(
            &departments::update_department(
                ctx,
                &op,
                DepartmentId(*id),
                DepartmentPatch { name: Some(name.clone()), ..DepartmentPatch::default() },
            )
            .map_err(e)?,
        ),
        DeptCommand::Move { id, parent } => print(
            &departments::update_department(
                ctx,
                &op,
                DepartmentId(*id),
                DepartmentPatch { parent: Some(DepartmentId(*parent)), ..DepartmentPatch::default() },
            )
            .map_err(e)?,
        ),
        DeptCommand::SetHead { id, user } => print(
            &departments::update_department(
                ctx,
                &op,
                DepartmentId(*id),
                DepartmentPatch {
                    head: Some((*user != 0).then_some(UserId(*user))),
                    ..DepartmentPatch::default()
                },
            )
            .map_err(e)?,
        ),
        DeptCommand::Delete { id } => {
            departments::delete_department(ctx, &op, DepartmentId(*id)).map_err(e)?;
            if json {
                out!("{}", json!({"deleted": id}));
            } else {
                out!("deleted department {id}");
            }
        }
    }
    Ok(())
}

/// An image file for `user photo`/`user background`, refused before reading when it is larger
/// than any upload may be.
fn read_image(path: &std::path::Path) -> Result<Vec<u8>, String> {
    let max = profile_core::model::image::ImageLimits::DEFAULT.max_bytes;
    let size = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?.len();
    if size > max as u64 {
        return Err(format!("{}: the file is larger than {max} bytes", path.display()));
    }
    std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}
