//! Opening the database and the first run.

use std::io::Read;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use profile_core::access::{Actor, ScopeSet};
use profile_core::field::UserField;
use profile_core::model::credential::CredentialKind;
use profile_core::model::identity::LockoutPolicy;
use profile_core::model::user::UserPatch;
use profile_core::ports::{Database, RandomIds, SystemClock};
use profile_core::secret::Argon2id;
use profile_core::usecase::accounts::{self, CreateAccountRequest};
use profile_core::usecase::credentials::{self, NewCredential};
use profile_core::usecase::{identities, invitations, maintenance, settings, Ctx};
use profile_core::Value;
use store_sqlite::SqliteDb;

use crate::store::{Store, Target};
use crate::InitArgs;

pub(crate) fn open(target: &Target) -> Result<Store, String> {
    crate::store::open(target)
}

/// The codec of the CLI's own uploads (`cardfile user photo`), at the default limits.
static CLI_IMAGES: std::sync::LazyLock<image_codec::Codec> =
    std::sync::LazyLock::new(image_codec::Codec::default);

pub(crate) fn ctx<'a>(db: &'a dyn Database, base_url: &'a str) -> Ctx<'a> {
    Ctx {
        db,
        clock: &SystemClock,
        ids: &RandomIds,
        passwords: &Argon2id::PRODUCTION,
        images: &*CLI_IMAGES,
        base_url,
        invitations_per_hour: 0,
        client: None,
    }
}

/// What the first run made, to print once.
pub(crate) struct Initialised {
    pub login: String,
    pub password: Option<String>,
    pub webhook: String,
}

/// `cardfile init`: refuses a database that already has an account.
pub(crate) fn init(
    path: &crate::store::Target,
    args: &InitArgs,
    base_url: &str,
    store_base_url: bool,
    json: bool,
) -> Result<Initialised, String> {
    let db = open(path)?;
    let base_url = if store_base_url {
        settings::set_base_url(ctx(&db, ""), base_url).map_err(|e| e.to_string())?
    } else {
        base_url.to_string()
    };
    let done = initialise(&db, args, &base_url, true)?;
    print(&done, None, &base_url, json);
    Ok(done)
}

/// The base URL stored by `serve` or `init`, when the database exists and has one (a missing
/// SQLite file is not created for the question).
pub(crate) fn stored_base_url(target: &Target) -> Option<String> {
    if let Target::File(path) = target {
        if !path.exists() {
            return None;
        }
    }
    let db = open(target).ok()?;
    settings::base_url(ctx(&db, "")).ok().flatten()
}

/// `cardfile account create`: another account on an initialised database, with its own first
/// administrator, login and webhook.
pub(crate) fn create_account(
    path: &crate::store::Target,
    args: &InitArgs,
    base_url: &str,
    json: bool,
) -> Result<(), String> {
    let db = open(path)?;
    let done = initialise(&db, args, base_url, false)?;
    print(&done, None, base_url, json);
    Ok(())
}

/// On an empty database, initialise it and print what a newcomer needs; otherwise nothing.
pub(crate) fn first_run(db: &Arc<Store>, args: &InitArgs, base_url: &str, json: bool) -> Result<(), String> {
    let ctx = ctx(&**db, base_url);
    if !accounts::list_accounts(ctx).map_err(|e| e.to_string())?.is_empty() {
        return Ok(());
    }
    let done = initialise(&**db, args, base_url, true)?;
    print(&done, Some(base_url), base_url, json);
    Ok(())
}

/// Creates an account with its administrator, login and webhook, all or nothing (the first one
/// only on an empty database when `first`).
fn initialise(
    db: &dyn Database,
    args: &InitArgs,
    base_url: &str,
    first: bool,
) -> Result<Initialised, String> {
    let existing = accounts::list_accounts(ctx(db, base_url)).map_err(|e| e.to_string())?;
    if first && !existing.is_empty() {
        return Err("the database is already initialised".into());
    }
    if !first && existing.is_empty() {
        return Err("the database has no account yet: run `cardfile init` first".into());
    }
    let password = if args.password_stdin {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s).map_err(|e| format!("cannot read the password: {e}"))?;
        Some(s.trim_end_matches(['\n', '\r']).to_string())
    } else {
        None
    };
    // Everything that can be refused is checked before anything is written: a refused first run
    // must leave an empty database, not an account nobody can log into.
    identities::parse_login("--admin-email", &args.admin_email).map_err(|e| e.to_string())?;
    if let Some(p) = &password {
        identities::check_password(p).map_err(|e| e.to_string())?;
    }
    let admin = UserPatch::parse([
        (UserField::Email, Value::text(args.admin_email.as_str())),
        (UserField::Name, Value::text("Administrator")),
    ])
    .map_err(|e| e.to_string())?;
    // One batch: the account, its administrator's login and the webhook are kept together or
    // not at all (a login another account's user already has is refused after the account was
    // written; the batch then drops it).
    let batch = db.batch().map_err(|e| e.to_string())?;
    let ctx = self::ctx(batch.as_database(), base_url);
    let created = accounts::create_account(
        ctx,
        CreateAccountRequest { slug: args.slug.clone(), name: args.name.clone(), admin },
    )
    .map_err(|e| e.to_string())?;
    let op = Actor::operator(created.account.id);
    let (_, generated) =
        identities::set_up_login(ctx, &op, created.admin.id, &args.admin_email, password.as_deref())
            .map_err(|e| e.to_string())?;
    let hook = credentials::create_credential(
        ctx,
        &op,
        NewCredential {
            kind: CredentialKind::Webhook,
            name: "first-run webhook".into(),
            owner: Some(created.admin.id),
            scopes: ScopeSet::all(),
            expires_at: None,
        },
    )
    .map_err(|e| e.to_string())?;
    batch.commit().map_err(|e| e.to_string())?;
    Ok(Initialised {
        login: args.admin_email.to_lowercase(),
        password: generated,
        webhook: format!("/rest/{}/{}/", created.admin.id, hook.token),
    })
}

/// Prints the first administrator's login, password and webhook URL (on `base_url`); `address`
/// is where a server now listens, if one does.
fn print(done: &Initialised, address: Option<&str>, base_url: &str, json: bool) {
    let webhook = format!("{base_url}{}", done.webhook);
    if json {
        let v = serde_json::json!({
            "address": address,
            "login": done.login,
            "password": done.password,
            "webhook": webhook,
        });
        out!("{v}");
        return;
    }
    out!("Cardfile is set up. This is shown once: keep it.");
    if let Some(url) = address {
        out!("  address:   {url}");
    }
    out!("  login:     {}", done.login);
    match &done.password {
        Some(p) => out!("  password:  {p}"),
        None => out!("  password:  (the one you gave)"),
    }
    out!("  webhook:   {webhook}");
    out!("Try it:      curl '{webhook}user.current'");
}

/// The sweeper's sleep between two full chunks of a purge: a chunk takes a few milliseconds, so
/// a purge of a million records takes a small share of one core for some minutes.
const PURGE_PAUSE: Duration = Duration::from_millis(250);

/// Every ten minutes, expire invitations past their date (deactivating their records) and
/// delete the records no rule reads any more (`maintenance::purge_stale_records_paced`).
pub(crate) fn spawn_sweeper(state: Arc<api_http::AppState>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(600));
        loop {
            tick.tick().await;
            let s = Arc::clone(&state);
            match tokio::task::spawn_blocking(move || invitations::expire_invitations(s.ctx())).await {
                Ok(Ok(n)) if n > 0 => tracing::info!(expired = n, "invitations expired"),
                Ok(Err(e)) => tracing::warn!("expiring invitations failed: {e}"),
                _ => {}
            }
            let s = Arc::clone(&state);
            // The policy logins and codes are checked with: the default, everywhere.
            // Between full chunks it sleeps, so that a large purge leaves the cores to requests.
            let pause = || std::thread::sleep(PURGE_PAUSE);
            let purge = move || {
                maintenance::purge_stale_records_paced(
                    s.ctx(),
                    &LockoutPolicy::default(),
                    &s.config.sessions,
                    &pause,
                )
            };
            match tokio::task::spawn_blocking(purge).await {
                Ok(Ok(p)) if p != maintenance::Purged::default() => tracing::info!(
                    codes = p.codes,
                    login_failures = p.login_failures,
                    sent_messages = p.sent_messages,
                    expired_bodies = p.expired_bodies,
                    sessions = p.sessions,
                    "stale records purged"
                ),
                Ok(Err(e)) => tracing::warn!("purging stale records failed: {e}"),
                _ => {}
            }
        }
    });
}

/// The certificate of `serve --tls-self-signed`: for a SQLite file, kept beside it
/// (`cardfile.cert.pem`, `cardfile.key.pem`); for PostgreSQL, kept in the database, so that
/// every replica serves the same one, and its certificate (not the key) written to
/// `cardfile.cert.pem` in the working directory for clients to trust.
pub(crate) fn self_signed(
    db: &Store,
    target: &Target,
    listen: std::net::SocketAddr,
) -> Result<api_http::Tls, String> {
    let names = vec!["localhost".to_string(), listen.ip().to_string()];
    let (tls, cert) = match (db, target) {
        (Store::Postgres(pg), _) => {
            let kept = pg.certificate(SELF_SIGNED).map_err(|e| e.to_string())?;
            let (cert, key) = match kept {
                Some(kept) => kept,
                None => {
                    let (cert, key) = api_http::Tls::generate_self_signed(&names)?;
                    let now = profile_core::ports::Clock::now(&SystemClock).timestamp();
                    pg.keep_certificate(SELF_SIGNED, &cert, &key, now).map_err(|e| e.to_string())?
                }
            };
            let file = std::path::PathBuf::from("cardfile.cert.pem");
            std::fs::write(&file, &cert).map_err(|e| format!("cannot write {}: {e}", file.display()))?;
            (api_http::Tls::from_pem(&cert, &key)?, file)
        }
        (Store::Sqlite(_), target) => {
            let path = target.file("--tls-self-signed")?;
            let cert = path.with_extension("cert.pem");
            let key = path.with_extension("key.pem");
            (api_http::Tls::self_signed(&names, &cert, &key)?, cert)
        }
    };
    eprintln!("cardfile: self-signed certificate {} (trust it in clients)", cert.display());
    Ok(tls)
}

/// The name the self-signed certificate is kept under in a database.
const SELF_SIGNED: &str = "self-signed";

/// `cardfile backup FILE`.
pub(crate) fn backup(target: &Target, file: &Path, json: bool) -> Result<(), String> {
    if let Target::Postgres { url, password } = target {
        return pg_backup(target, url, password.as_deref(), file, json);
    }
    let db_path = target.file("backup")?;
    let db = SqliteDb::open(db_path).map_err(|e| format!("cannot open {}: {e}", db_path.display()))?;
    db.backup_to(file).map_err(|e| format!("backup failed: {e}"))?;
    let size = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    if json {
        out!("{}", serde_json::json!({"backup": file.display().to_string(), "bytes": size}));
    } else {
        out!("backed up {} to {} ({size} bytes)", db_path.display(), file.display());
    }
    Ok(())
}

/// `cardfile reindex`: the quick-search index and its counts written again from the users.
pub(crate) fn reindex(db_path: &Target, json: bool) -> Result<(), String> {
    let db = open(db_path)?;
    let started = std::time::Instant::now();
    let users = db.reindex().map_err(|e| format!("reindex failed (nothing changed): {e}"))?;
    let secs = started.elapsed().as_secs_f64();
    if json {
        out!("{}", serde_json::json!({"reindexed": users, "seconds": secs}));
    } else {
        out!("reindexed {users} users in {secs:.1} s");
    }
    Ok(())
}

/// `cardfile restore FILE`: the backup is checked (and migrated) as a copy beside the database,
/// then moved into place in one rename, so a failed restore leaves the database as it was.
pub(crate) fn restore(target: &Target, file: &Path, force: bool, json: bool) -> Result<(), String> {
    if let Target::Postgres { url, password } = target {
        return pg_restore(target, url, password.as_deref(), file, force, json);
    }
    let db_path = target.file("restore")?;
    if db_path.exists() && !force {
        return Err(format!(
            "{} exists: stop the server, then run restore with --force to replace it",
            db_path.display()
        ));
    }
    let staging = db_path.with_extension("restoring");
    remove_with_companions(&staging);
    std::fs::copy(file, &staging).map_err(|e| format!("cannot copy {}: {e}", file.display()))?;
    let checked =
        SqliteDb::open(&staging).map_err(|e| format!("{} is not a usable backup: {e}", file.display()));
    let checked = checked.and_then(|db| db.optimize().map_err(|e| e.to_string()));
    if let Err(e) = checked {
        remove_with_companions(&staging);
        return Err(e);
    }
    // The old database's WAL must not be replayed onto the restored file: drop it first, then
    // move the restored file over the old one in one rename.
    for suffix in ["-wal", "-shm"] {
        let mut p = db_path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
    std::fs::rename(&staging, db_path)
        .map_err(|e| format!("cannot move the restored database into place: {e}"))?;
    remove_with_companions(&staging);
    if json {
        out!(
            "{}",
            serde_json::json!({"restored": db_path.display().to_string(), "from": file.display().to_string()})
        );
    } else {
        out!("restored {} from {}", db_path.display(), file.display());
    }
    Ok(())
}

/// Runs one of PostgreSQL's programs on `url`, with the password in its environment (never on
/// its command line).
fn pg_program(
    name: &str,
    url: &str,
    password: Option<&str>,
    args: &[&std::ffi::OsStr],
) -> Result<(), String> {
    let program = store_postgres::program(name);
    let mut cmd = std::process::Command::new(&program);
    // The database, password included, in libpq's environment: never on the command line.
    let env = store_postgres::libpq_environment(url, password)?;
    cmd.args(args).envs(env).env_remove("PGSERVICE").stdin(std::process::Stdio::null());
    let out = cmd.output().map_err(|e| {
        format!(
            "cannot run {} ({e}): install PostgreSQL's client programs (Debian: postgresql-client)",
            program.display()
        )
    })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("{name} failed: {}", String::from_utf8_lossy(&out.stderr).trim()))
    }
}

/// `cardfile backup FILE` on PostgreSQL: `pg_dump` in its custom format (one consistent
/// snapshot; the server keeps serving).
fn pg_backup(
    target: &Target,
    url: &str,
    password: Option<&str>,
    file: &Path,
    json: bool,
) -> Result<(), String> {
    if file.exists() {
        return Err(format!("{} exists; choose a new file", file.display()));
    }
    pg_program("pg_dump", url, password, &["--format=custom".as_ref(), "--file".as_ref(), file.as_os_str()])?;
    let size = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    if json {
        out!("{}", serde_json::json!({"backup": file.display().to_string(), "bytes": size}));
    } else {
        out!("backed up {target} to {} ({size} bytes, pg_dump's custom format)", file.display());
    }
    Ok(())
}

/// `cardfile restore FILE` on PostgreSQL: `pg_restore` of a `cardfile backup` into the database
/// in one transaction (all of it or nothing), into an empty database, or with `--force` over
/// what it holds; then the schema is checked (and migrated) as on every open.
fn pg_restore(
    target: &Target,
    url: &str,
    password: Option<&str>,
    file: &Path,
    force: bool,
    json: bool,
) -> Result<(), String> {
    let holds =
        store_postgres::holds_tables(url, password).map_err(|e| format!("cannot open {target}: {e}"))?;
    if holds && !force {
        return Err(format!(
            "{target} holds tables: stop the servers, then run restore with --force to replace them"
        ));
    }
    let mut args: Vec<&std::ffi::OsStr> = vec!["--single-transaction".as_ref(), "--no-owner".as_ref()];
    if holds {
        args.extend(["--clean".as_ref(), "--if-exists".as_ref()] as [&std::ffi::OsStr; 2]);
    }
    // pg_restore restores into a database only when named one (else it prints SQL): its
    // name alone; the rest of the address is in the environment.
    let env = store_postgres::libpq_environment(url, password)?;
    let named = |key: &str| env.iter().find(|(k, _)| *k == key).map(|(_, v)| v.clone());
    // (With no database in the URL, libpq's default: the user's name.)
    let name = named("PGDATABASE").or_else(|| named("PGUSER")).unwrap_or_default();
    args.extend(["--dbname".as_ref(), name.as_ref(), file.as_os_str()] as [&std::ffi::OsStr; 3]);
    pg_program("pg_restore", url, password, &args)?;
    crate::store::open(target).map_err(|e| format!("{} restored, but: {e}", file.display()))?;
    if json {
        out!("{}", serde_json::json!({"restored": target.to_string(), "from": file.display().to_string()}));
    } else {
        out!("restored {target} from {}", file.display());
    }
    Ok(())
}

/// Removes a database file and its -wal and -shm companions (missing ones are fine).
fn remove_with_companions(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
}
