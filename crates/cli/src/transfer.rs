//! `cardfile import` and `cardfile export`: users with their fields, their departments by path,
//! and the departments they head, as CSV or JSON lines. The two formats have the same columns
//! and round-trip: export, import into an empty account, export again gives the same file.
//!
//! Columns: `ROLE`, `ACTIVE`, every writable text or date field by its code, `DEPARTMENTS` and
//! `HEAD_OF` (department paths joined by `;`). A path names departments from the root down,
//! joined by `/`; its first segment is always the account's root, whatever its name.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, IsTerminal, Write};
use std::ops::ControlFlow;
use std::path::Path;

use clap::ValueEnum;
use profile_core::access::Actor;
use profile_core::field::{FieldKind, UserField};
use profile_core::ids::{DepartmentId, UserId};
use profile_core::model::department::Tree;
use profile_core::model::user::{Role, User, UserPatch};
use profile_core::query::PageRequest;
use profile_core::usecase::custom;
use profile_core::usecase::departments::{self, DepartmentPatch, DepartmentQuery, NewDepartment};
use profile_core::usecase::users::{self, NewUser};
use profile_core::usecase::Ctx;
use profile_core::Value;

use crate::admin::{account, Outcome};
use crate::setup;
use profile_core::ports::Database as _;

/// The file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// Comma-separated values with a header row.
    Csv,
    /// One JSON object per line.
    Jsonl,
}

enum Out {
    Csv(Box<csv::Writer<std::io::BufWriter<Box<dyn Write>>>>),
    Json(std::io::BufWriter<Box<dyn Write>>),
}

/// Users created per transaction.
const CHUNK: usize = 10_000;

fn fields() -> impl Iterator<Item = UserField> {
    UserField::ALL
        .iter()
        .copied()
        .filter(|f| f.is_writable() && !matches!(f.kind(), FieldKind::Active | FieldKind::Departments))
}

/// The columns, in order.
fn columns() -> Vec<String> {
    let mut c = vec!["ROLE".to_string(), "ACTIVE".to_string()];
    c.extend(fields().map(|f| f.code().to_string()));
    c.push("DEPARTMENTS".into());
    c.push("HEAD_OF".into());
    c
}

fn all_departments(ctx: Ctx<'_>, op: &Actor) -> Result<Tree, String> {
    let mut all = Vec::new();
    let mut start = 0;
    for _ in 0..100_000 {
        let q =
            DepartmentQuery { page: PageRequest { start, count_total: true }, ..DepartmentQuery::default() };
        let page = departments::list_departments(ctx, op, &q).map_err(|e| e.to_string())?;
        let n = page.items.len() as u64;
        all.extend(page.items);
        match page.total {
            Some(t) if start + n < t && n > 0 => start += n,
            _ => break,
        }
    }
    Ok(Tree::new(all))
}

fn path_of(tree: &Tree, id: DepartmentId) -> String {
    let mut names: Vec<&str> = tree.path_to_root(id).map(|d| d.name.as_str()).collect();
    names.reverse();
    names.join("/")
}

/// `cardfile export`: one consistent read of every user, written as it is read.
pub(crate) fn export(
    db_path: &crate::store::Target,
    slug: Option<&str>,
    format: Format,
    out: Option<&Path>,
    base_url: &str,
) -> Outcome {
    let db = setup::open(db_path)?;
    let ctx = setup::ctx(&db, "");
    // A photo is exported as the URL of its 1000 px copy (the file itself is not in the CSV).
    let photos =
        profile_core::access::PhotoLinks::new(base_url, profile_core::model::image::ImageSize::Large);
    let op = Actor::operator(account(ctx, slug)?.id);
    let tree = all_departments(ctx, &op)?;
    let paths: HashMap<DepartmentId, String> =
        tree.preorder().into_iter().map(|d| (d.id, path_of(&tree, d.id))).collect();
    let mut heads: HashMap<UserId, Vec<&str>> = HashMap::new();
    for d in tree.preorder() {
        if let (Some(h), Some(path)) = (d.head, paths.get(&d.id)) {
            heads.entry(h).or_default().push(path);
        }
    }
    let sink: Box<dyn Write> = match out {
        Some(p) => {
            Box::new(std::fs::File::create(p).map_err(|e| format!("cannot create {}: {e}", p.display()))?)
        }
        None => Box::new(std::io::stdout().lock()),
    };
    let sink = std::io::BufWriter::with_capacity(1 << 20, sink);
    // The account's custom fields follow the standard columns, a multiple field's values
    // joined by `;`.
    let custom_names: Vec<String> =
        custom::list_fields(ctx, &op).map_err(|e| e.to_string())?.into_iter().map(|f| f.name).collect();
    let mut cols = columns();
    cols.extend(custom_names.iter().cloned());
    let standard = cols.len() - custom_names.len();
    let mut writer = match format {
        Format::Csv => {
            let mut w = csv::Writer::from_writer(sink);
            w.write_record(&cols).map_err(|e| format!("cannot write: {e}"))?;
            Out::Csv(Box::new(w))
        }
        Format::Jsonl => Out::Json(sink),
    };
    let fields: Vec<UserField> = fields().collect();
    let mut row: Vec<String> = vec![String::new(); cols.len()];
    let mut count = 0u64;
    let mut failed = None;
    // Users are written a chunk at a time, so that the custom fields' values of a chunk are
    // read together (one store call, not one per user).
    let mut chunk: Vec<User> = Vec::with_capacity(EXPORT_CHUNK);
    let mut flush = |chunk: &mut Vec<User>, failed: &mut Option<String>, count: &mut u64| -> bool {
        let mut custom = if custom_names.is_empty() {
            BTreeMap::new()
        } else {
            let ids: Vec<UserId> = chunk.iter().map(|u| u.id).collect();
            match custom::values_for(ctx, &op, &ids) {
                Ok(v) => v,
                Err(e) => {
                    *failed = Some(e.to_string());
                    return false;
                }
            }
        };
        for user in chunk.drain(..) {
            fill_row(&mut row[..standard], &user, &fields, &paths, heads.get(&user.id), &photos);
            // By name: a field deleted since the columns were listed leaves its column empty.
            let values: HashMap<String, Value> =
                custom.remove(&user.id).unwrap_or_default().into_iter().collect();
            for (cell, name) in row[standard..].iter_mut().zip(&custom_names) {
                *cell = values.get(name).map(custom_cell).unwrap_or_default();
            }
            let written = match &mut writer {
                Out::Csv(w) => w.write_record(&row).map_err(|e| e.to_string()),
                Out::Json(w) => {
                    let obj: serde_json::Map<String, serde_json::Value> = cols
                        .iter()
                        .zip(&row)
                        .filter(|(_, v)| !v.is_empty())
                        .map(|(c, v)| (c.clone(), v.as_str().into()))
                        .collect();
                    serde_json::to_writer(&mut *w, &obj)
                        .map_err(|e| e.to_string())
                        .and_then(|()| w.write_all(b"\n").map_err(|e| e.to_string()))
                }
            };
            if let Err(e) = written {
                *failed = Some(e);
                return false;
            }
            *count += 1;
        }
        true
    };
    users::for_each_user(ctx, &op, &mut |user| {
        chunk.push(user.clone());
        if chunk.len() == EXPORT_CHUNK && !flush(&mut chunk, &mut failed, &mut count) {
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    })
    .map_err(|e| e.to_string())?;
    if failed.is_none() {
        flush(&mut chunk, &mut failed, &mut count);
    }
    if let Some(e) = failed {
        return Err(format!("cannot write: {e}"));
    }
    let flushed = match &mut writer {
        Out::Csv(w) => w.flush(),
        Out::Json(w) => w.flush(),
    };
    flushed.map_err(|e| format!("cannot write: {e}"))?;
    if out.is_some() {
        eprintln!("cardfile: exported {count} users");
    }
    Ok(())
}

/// Writes `user`'s cells into `row`, in the order of [`columns`], reusing its strings.
fn fill_row(
    row: &mut [String],
    user: &User,
    fields: &[UserField],
    paths: &HashMap<DepartmentId, String>,
    heads: Option<&Vec<&str>>,
    photos: &profile_core::access::PhotoLinks,
) {
    use std::fmt::Write as _;
    for cell in row.iter_mut() {
        cell.clear();
    }
    row[0].push_str(user.role.code());
    row[1].push_str(if user.active { "Y" } else { "N" });
    for (cell, &f) in row[2..].iter_mut().zip(fields) {
        match f.kind() {
            FieldKind::Date => {
                let d = if f == UserField::PersonalBirthday { user.birthday } else { user.employment_date };
                if let Some(d) = d {
                    let _ = write!(cell, "{d}");
                }
            }
            _ if f == UserField::PersonalPhoto && !user.text(f).is_empty() => {
                cell.push_str(&photos.resolve(user.text(f).to_string()));
            }
            _ => cell.push_str(user.text(f)),
        }
    }
    let n = row.len();
    for (i, d) in user.departments.iter().filter_map(|d| paths.get(d)).enumerate() {
        if i > 0 {
            row[n - 2].push(';');
        }
        row[n - 2].push_str(d);
    }
    if let Some(h) = heads {
        row[n - 1].push_str(&h.join(";"));
    }
}

/// Users an export writes at a time (and whose custom values it reads in one call).
const EXPORT_CHUNK: usize = 1_000;

/// A custom value as a cell: text as it is, numbers in decimal, dates ISO, a list joined by `;`.
fn custom_cell(v: &Value) -> String {
    match api_http::wire::custom_value(v) {
        serde_json::Value::String(s) => s,
        serde_json::Value::Array(items) => items
            .iter()
            .map(|i| match i {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join(";"),
        other => other.to_string(),
    }
}

/// One row to import, validated.
struct Row {
    line: usize,
    role: Role,
    fields: UserPatch,
    departments: Vec<Vec<String>>,
    head_of: Vec<Vec<String>>,
    /// Custom fields' cells (`UF_USR_*`), typed when written.
    custom: Vec<(String, String)>,
}

fn paths(cell: &str) -> Vec<Vec<String>> {
    cell.split(';')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| p.split('/').map(|s| s.trim().to_string()).collect())
        .collect()
}

fn validate(line: usize, record: &BTreeMap<String, String>) -> Result<Row, Vec<String>> {
    let mut errors = Vec::new();
    let at = |field: &str, reason: &str| format!("line {line}: {field}: {reason}");
    let role = match record.get("ROLE").map(|s| s.trim()).filter(|s| !s.is_empty()) {
        None => Role::Employee,
        Some(r) => match Role::from_code(r) {
            Some(role) if !role.is_external() => role,
            Some(_) => {
                errors.push(at(
                    "ROLE",
                    "import takes intranet users; add external users with `cardfile invite`",
                ));
                Role::Employee
            }
            None => {
                errors.push(at("ROLE", &format!("unknown role {r:?}")));
                Role::Employee
            }
        },
    };
    let mut raw = Vec::new();
    let mut custom = Vec::new();
    for (k, v) in record {
        if matches!(k.as_str(), "ROLE" | "DEPARTMENTS" | "HEAD_OF") || v.is_empty() {
            continue;
        }
        if k.to_ascii_uppercase().starts_with(profile_core::model::custom::PREFIX) {
            custom.push((k.to_ascii_uppercase(), v.clone()));
            continue;
        }
        match UserField::from_code(k) {
            Some(f) if f.is_writable() && f != UserField::UfDepartment => {
                raw.push((f, Value::text(v.as_str())))
            }
            _ => errors.push(at(k, "not a column of the import (see `cardfile export`)")),
        }
    }
    let mut fields = UserPatch::default();
    for (f, v) in raw {
        match UserPatch::parse([(f, v)]) {
            Ok(p) => fields.merge(&p),
            Err(profile_core::CoreError::Validation { field, reason }) => errors.push(at(&field, &reason)),
            Err(e) => errors.push(format!("line {line}: {e}")),
        }
    }
    let departments = paths(record.get("DEPARTMENTS").map_or("", String::as_str));
    if departments.is_empty() {
        errors.push(at("DEPARTMENTS", "at least one department path is required"));
    }
    let head_of = paths(record.get("HEAD_OF").map_or("", String::as_str));
    for (column, list) in [("DEPARTMENTS", &departments), ("HEAD_OF", &head_of)] {
        if list.iter().any(|p| p.iter().skip(1).any(|seg| seg.is_empty() || seg.chars().count() > 255)) {
            errors.push(at(column, "a department path has an empty or overlong name"));
        }
    }
    if errors.is_empty() {
        Ok(Row { line, role, fields, departments, head_of, custom })
    } else {
        Err(errors)
    }
}

/// A record of the file: its line number and its cells by column.
type Record = (usize, BTreeMap<String, String>);

/// Reads the file's records one by one, in order, into `out`.
fn each_record(file: &Path, format: Format, mut out: impl FnMut(Record)) -> Result<(), String> {
    let open = || std::fs::File::open(file).map_err(|e| format!("cannot open {}: {e}", file.display()));
    match format {
        Format::Csv => {
            let mut r = csv::Reader::from_reader(open()?);
            let headers = r.headers().map_err(|e| format!("line 1: {e}"))?.clone();
            for (i, rec) in r.records().enumerate() {
                let rec = rec.map_err(|e| format!("line {}: {e}", i + 2))?;
                // An empty cell means the same as a missing one (see `validate`); an exported
                // file leaves most of its ~60 columns empty, so they are not kept.
                out((
                    i + 2,
                    headers
                        .iter()
                        .zip(rec.iter())
                        .filter(|(_, v)| !v.is_empty())
                        .map(|(h, v)| (h.trim().to_string(), v.to_string()))
                        .collect(),
                ));
            }
        }
        Format::Jsonl => {
            for (i, line) in std::io::BufReader::new(open()?).lines().enumerate() {
                let line = line.map_err(|e| format!("line {}: {e}", i + 1))?;
                if line.trim().is_empty() {
                    continue;
                }
                let obj: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&line)
                    .map_err(|e| format!("line {}: not a JSON object: {e}", i + 1))?;
                out((
                    i + 1,
                    obj.into_iter()
                        .map(|(k, v)| (k, v.as_str().map_or_else(|| v.to_string(), str::to_string)))
                        .collect(),
                ));
            }
        }
    }
    Ok(())
}

/// The rows of an import: those the reading thread has validated so far (it sends them a
/// piece at a time while earlier pieces are written), or, once it is done, all of them.
struct Rows {
    all: Vec<Row>,
    incoming: Option<std::sync::mpsc::Receiver<Vec<Row>>>,
    /// How many rows of `all` have been handed out.
    taken: usize,
}

impl Rows {
    /// The next piece to write, as a range of `all`.
    fn next(&mut self) -> Option<std::ops::Range<usize>> {
        if let Some(incoming) = &self.incoming {
            match incoming.recv() {
                Ok(piece) => self.all.extend(piece),
                Err(_) => self.incoming = None,
            }
        }
        let end = (self.taken + CHUNK).min(self.all.len());
        (self.taken < end).then(|| std::mem::replace(&mut self.taken, end)..end)
    }

    /// Takes in every row still to come and starts again from the first.
    fn rewind(&mut self) {
        while self.next().is_some() {}
        self.taken = 0;
    }
}

/// The account's departments by path (the root's name left out: `["", "Sales", "EMEA"]`), and
/// how many of them the import created.
#[derive(Clone)]
struct Departments {
    root: DepartmentId,
    known: HashMap<Vec<String>, DepartmentId>,
    created: usize,
}

impl Departments {
    fn of(tree: &Tree) -> Result<Departments, String> {
        let root = tree.preorder().first().map(|d| d.id).ok_or("the account has no root department")?;
        let mut known = HashMap::new();
        for d in tree.preorder() {
            let mut segs: Vec<String> = tree.path_to_root(d.id).map(|d| d.name.clone()).collect();
            segs.reverse();
            segs[0] = String::new();
            known.insert(segs, d.id);
        }
        Ok(Departments { root, known, created: 0 })
    }

    /// The departments along `path` (its first segment names the root) that do not exist yet,
    /// parents first, as keys of `known`.
    fn missing<'a>(&'a self, path: &'a [String]) -> impl Iterator<Item = Vec<String>> + 'a {
        (2..=path.len()).map(|depth| key(&path[..depth])).filter(|k| !self.known.contains_key(k))
    }

    /// The department at `path`, created with its missing parents.
    fn ensure(&mut self, ctx: Ctx<'_>, op: &Actor, path: &[String]) -> Result<DepartmentId, String> {
        for k in self.missing(path).collect::<Vec<_>>() {
            let parent = self.known[&k[..k.len() - 1]];
            let d = departments::add_department(
                ctx,
                op,
                NewDepartment { name: k[k.len() - 1].clone(), parent: Some(parent), sort: None, head: None },
            )
            .map_err(|e| format!("creating department {}: {e}", k[1..].join("/")))?;
            self.known.insert(k, d.id);
            self.created += 1;
        }
        Ok(if path.len() <= 1 { self.root } else { self.known[&key(path)] })
    }
}

/// A path as a key of [`Departments::known`].
fn key(path: &[String]) -> Vec<String> {
    let mut key = path.to_vec();
    key[0] = String::new();
    key
}

/// Why a write of an import did not commit.
enum Attempt {
    /// An optimistic batch's unit failed after writing: run the import again with savepoints.
    RunAgain,
    Failed(String),
}

/// What an import wrote: users, heads set, departments created.
type Written = (usize, usize, usize);

/// Writes an import in one batch, optimistic (write units without savepoints) or not.
/// `checked` waits for the reading thread and says whether the whole file was valid: the
/// batch commits only then, and invalid rows are reported before any error of the writes.
///
/// One batch: departments, users, dismissals and heads are written together or not at all. A
/// row can still be refused on insert (an email another user of the account already has), and
/// a half-done import could not simply be run again. One commit also means one fsync where a
/// department or a head each had its own.
fn write_import(
    db: &crate::store::Store,
    op: &Actor,
    mut depts: Departments,
    rows: &mut Rows,
    bar: &indicatif::ProgressBar,
    optimistic: bool,
    checked: &mut dyn FnMut() -> Result<(), String>,
) -> Result<Written, Attempt> {
    let batch = if optimistic { db.optimistic_batch() } else { db.batch() }
        .map_err(|e| Attempt::Failed(e.to_string()))?;
    let failed = |e: String| if batch.must_rerun() { Attempt::RunAgain } else { Attempt::Failed(e) };
    let ctx = setup::ctx(batch.as_database(), "");
    let written = write_users(ctx, op, &mut depts, rows, bar);
    if written.is_err() {
        rows.rewind();
    }
    checked().map_err(Attempt::Failed)?;
    let created = written.map_err(failed)?;
    let heads = write_heads(ctx, op, &mut depts, &rows.all, &created).map_err(failed)?;
    batch.commit().map_err(|e| Attempt::Failed(format!("import not written: {e}")))?;
    Ok((created.len(), heads, depts.created))
}

/// Writes the users of the import, a piece at a time, with the departments they name; returns
/// each one's ID by line.
fn write_users(
    ctx: Ctx<'_>,
    op: &Actor,
    depts: &mut Departments,
    rows: &mut Rows,
    bar: &indicatif::ProgressBar,
) -> Result<HashMap<usize, UserId>, String> {
    let mut created = HashMap::new();
    while let Some(range) = rows.next() {
        let chunk = &rows.all[range];
        let mut batch = Vec::with_capacity(chunk.len());
        for r in chunk {
            for p in &r.head_of {
                depts.ensure(ctx, op, p)?;
            }
            let ids = r
                .departments
                .iter()
                .map(|p| depts.ensure(ctx, op, p).map(|d| i64::from(d.0)))
                .collect::<Result<Vec<_>, _>>()?;
            let mut f = r.fields.clone();
            f.merge(&UserPatch::parse([(UserField::UfDepartment, Value::IntList(ids))]).unwrap_or_default());
            batch.push(NewUser { role: r.role, fields: f, workgroups: vec![] });
        }
        let ids = users::create_users_bulk(ctx, op, batch).map_err(|e| {
            // The row the load names → the file's line.
            match e.row() {
                (
                    Some(n),
                    profile_core::CoreError::Validation { field, reason }
                    | profile_core::CoreError::Conflict { field, reason },
                ) => match chunk.get(n) {
                    Some(r) => format!("line {}: {field}: {reason}; nothing was imported", r.line),
                    None => e.to_string(),
                },
                _ => e.to_string(),
            }
        })?;
        created.extend(chunk.iter().map(|r| r.line).zip(ids));
        bar.set_length(rows.all.len() as u64);
        bar.inc(chunk.len() as u64);
    }
    Ok(created)
}

/// Dismisses the users the file says are not active (bulk loads create active users) and sets
/// the heads; returns how many heads were set.
fn write_heads(
    ctx: Ctx<'_>,
    op: &Actor,
    depts: &mut Departments,
    rows: &[Row],
    by_line: &HashMap<usize, UserId>,
) -> Result<usize, String> {
    let dismiss = UserPatch::parse([(UserField::Active, Value::text("N"))]).map_err(|e| e.to_string())?;
    for r in rows.iter().filter(|r| matches!(r.fields.get(UserField::Active), Some(Value::Bool(false)))) {
        users::update_user(ctx, op, by_line[&r.line], &dismiss)
            .map_err(|e| format!("line {}: ACTIVE: {e}", r.line))?;
    }
    // Custom fields' values, typed by their fields (a multiple field's cell split at `;`).
    if rows.iter().any(|r| !r.custom.is_empty()) {
        let defs = custom::list_fields(ctx, op).map_err(|e| e.to_string())?;
        for r in rows.iter().filter(|r| !r.custom.is_empty()) {
            let values = r
                .custom
                .iter()
                .map(|(name, cell)| {
                    let value = match defs.iter().find(|d| &d.name == name) {
                        Some(d) if d.multiple => {
                            Value::TextList(cell.split(';').map(|s| s.trim().to_string()).collect())
                        }
                        _ => Value::text(cell.as_str()),
                    };
                    (name.clone(), value)
                })
                .collect();
            let update = users::UserUpdate { custom: values, ..users::UserUpdate::default() };
            users::update_user_with(ctx, op, by_line[&r.line], update)
                .map_err(|e| format!("line {}: {e}", r.line))?;
        }
    }
    let mut heads = 0;
    for r in rows {
        for p in &r.head_of {
            let dept = depts.ensure(ctx, op, p)?;
            departments::update_department(
                ctx,
                op,
                dept,
                DepartmentPatch { head: Some(by_line.get(&r.line).copied()), ..DepartmentPatch::default() },
            )
            .map_err(|e| format!("line {}: HEAD_OF {}: {e}", r.line, p.join("/")))?;
            heads += 1;
        }
    }
    Ok(heads)
}

/// Reports a file's invalid rows (the first 100 of the problems) and fails.
fn refuse(file: &Path, errors: &[String]) -> Result<(), String> {
    for e in errors.iter().take(100) {
        eprintln!("{e}");
    }
    if errors.len() > 100 {
        eprintln!("… and {} more", errors.len() - 100);
    }
    Err(format!("{} problems in {}; nothing was imported", errors.len(), file.display()))
}

/// Reads and validates the file, sending its valid rows a piece at a time until the first
/// invalid one; returns every problem found.
fn read_valid(
    file: &Path,
    format: Format,
    send: std::sync::mpsc::SyncSender<Vec<Row>>,
) -> Result<Vec<String>, String> {
    let mut errors = Vec::new();
    let mut piece = Vec::with_capacity(CHUNK);
    let mut sending = true;
    each_record(file, format, |(line, rec)| match validate(line, &rec) {
        Ok(r) if sending => {
            piece.push(r);
            if piece.len() == CHUNK {
                sending = send.send(std::mem::take(&mut piece)).is_ok();
            }
        }
        Ok(_) => {}
        Err(e) => {
            errors.extend(e);
            sending = false;
        }
    })?;
    if sending && !piece.is_empty() {
        // Nobody listening any more means the writes failed; they report it.
        let _ = send.send(piece);
    }
    Ok(errors)
}

/// `cardfile import`: every row is validated; any bad row is reported (all of them, by line
/// and field) and nothing is written. In one batch (all or nothing), missing departments are
/// created along their paths, users 10,000 a unit, and heads are set. A second thread reads and
/// validates the file while the first pieces are written; the batch commits only once the
/// whole file proved valid.
pub(crate) fn import(
    db_path: &crate::store::Target,
    slug: Option<&str>,
    format: Format,
    file: &Path,
    dry_run: bool,
    json: bool,
) -> Outcome {
    if dry_run {
        return import_dry_run(db_path, slug, format, file, json);
    }
    let db = setup::open(db_path)?;
    let ctx = setup::ctx(&db, "");
    let op = Actor::operator(account(ctx, slug)?.id);
    let depts = Departments::of(&all_departments(ctx, &op)?)?;
    let bar = if std::io::stderr().is_terminal() && !json {
        indicatif::ProgressBar::new(0)
    } else {
        indicatif::ProgressBar::hidden()
    };
    let (users, heads, created) = std::thread::scope(|s| {
        let (send, incoming) = std::sync::mpsc::sync_channel(1);
        let reader = s.spawn(move || read_valid(file, format, send));
        let mut reader = Some(reader);
        let mut verdict: Result<(), String> = Ok(());
        let mut checked = || {
            if let Some(r) = reader.take() {
                verdict = match r.join() {
                    Ok(Ok(errors)) if errors.is_empty() => Ok(()),
                    Ok(Ok(errors)) => refuse(file, &errors),
                    Ok(Err(e)) => Err(e),
                    Err(_) => Err("the thread reading the file failed; nothing was imported".into()),
                };
            }
            verdict.clone()
        };
        let mut rows = Rows { all: Vec::new(), incoming: Some(incoming), taken: 0 };
        // Optimistic first: write units without savepoints load ~15% faster. A unit that fails
        // after writing (an email another user already has) leaves such a batch unusable, even
        // for the read that names the row; the import then runs once more with savepoints,
        // fails the same way and says which line.
        match write_import(&db, &op, depts.clone(), &mut rows, &bar, true, &mut checked) {
            Err(Attempt::RunAgain) => {
                rows.rewind();
                bar.reset();
                write_import(&db, &op, depts, &mut rows, &bar, false, &mut checked)
            }
            done => done,
        }
        .map_err(|e| match e {
            Attempt::Failed(e) => e,
            Attempt::RunAgain => "the import could not be written; nothing was imported".to_string(),
        })
    })?;
    bar.finish_and_clear();
    let summary = format!("imported {users} users, created {created} departments, set {heads} heads");
    out!(
        "{}",
        if json {
            serde_json::json!({"users": users, "new_departments": created, "heads": heads}).to_string()
        } else {
            summary
        }
    );
    Ok(())
}

/// `cardfile import --dry-run`: validates every row and counts the departments an import
/// would create; writes nothing.
fn import_dry_run(
    db_path: &crate::store::Target,
    slug: Option<&str>,
    format: Format,
    file: &Path,
    json: bool,
) -> Outcome {
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    each_record(file, format, |(line, rec)| match validate(line, &rec) {
        Ok(r) => rows.push(r),
        Err(e) => errors.extend(e),
    })?;
    if !errors.is_empty() {
        return refuse(file, &errors);
    }
    let db = setup::open(db_path)?;
    let ctx = setup::ctx(&db, "");
    let op = Actor::operator(account(ctx, slug)?.id);
    let mut depts = Departments::of(&all_departments(ctx, &op)?)?;
    let mut missing = 0;
    for p in rows.iter().flat_map(|r| r.departments.iter().chain(&r.head_of)) {
        for k in depts.missing(p).collect::<Vec<_>>() {
            depts.known.insert(k, DepartmentId(0));
            missing += 1;
        }
    }
    let summary = format!(
        "{} rows valid; {missing} departments would be created; nothing written (dry run)",
        rows.len()
    );
    out!(
        "{}",
        if json {
            serde_json::json!({"rows": rows.len(), "new_departments": missing, "dry_run": true}).to_string()
        } else {
            summary
        }
    );
    Ok(())
}
