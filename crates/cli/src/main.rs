//! `cardfile`: set up a database, serve the Bitrix24-compatible REST API.
//!
//! The first `serve` on an empty database initialises it (decisions.md "Transport and
//! durability"): a default account with its root department and first administrator, whose login,
//! password and a ready webhook URL are printed once.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::todo))]

/// `println!` that ends the program quietly when stdout is closed (`cardfile user list | head`)
/// instead of panicking on the broken pipe.
macro_rules! out {
    ($($t:tt)*) => {
        $crate::emit(format_args!($($t)*))
    };
}

mod admin;
mod card;
mod config;
mod deliver;
mod hr;
mod identity;
mod joining;
mod migrate;
mod people;
mod setup;
mod store;
mod transfer;
mod userfield;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};

/// Exit codes: 0 success, 1 a refused or failed command, 2 bad usage (clap's own).
const FAILURE: u8 = 1;

#[derive(Parser, Debug)]
#[command(
    name = "cardfile",
    version,
    about = "A self-hosted employee directory with a Bitrix24-compatible REST API"
)]
struct Cli {
    /// The database: a SQLite file (created when missing) or a PostgreSQL database,
    /// `postgres://user@host:port/db` (empty, or Cardfile's; see docs/postgres.md).
    #[arg(long, global = true, env = "CARDFILE_DB", default_value = "./cardfile.db", value_parser = store::Target::parse)]
    db: store::Target,
    /// A file holding the PostgreSQL password (else the URL's, or PGPASSWORD), so that it is
    /// not on a command line.
    #[arg(long, global = true, env = "CARDFILE_DB_PASSWORD_FILE")]
    db_password_file: Option<PathBuf>,
    /// Machine-readable output.
    #[arg(long, global = true, env = "CARDFILE_JSON", value_parser = clap::builder::BoolishValueParser::new())]
    json: bool,
    /// The account to work on (default: the only one).
    #[arg(long, global = true, env = "CARDFILE_ACCOUNT")]
    account: Option<String>,
    /// The public URL clients reach the server at, for webhook URLs and links in messages
    /// (default for `serve`: the address it listens on; for other commands: the one `serve`
    /// or `init --base-url` stored in the database, else http://127.0.0.1:8080).
    #[arg(long, global = true, env = "CARDFILE_BASE_URL")]
    base_url: Option<String>,
    /// A TOML file of options (see `docs/configuration.md`); flags and CARDFILE_* variables
    /// override it.
    #[arg(long, global = true, env = "CARDFILE_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Initialise an empty database: the default account, its root department and the first
    /// administrator, with a login and a webhook.
    Init(InitArgs),
    /// Serve the REST API (initialising an empty database first).
    Serve(Box<ServeArgs>),
    /// Users: add, invite, list, search, show, update, terminate, reinstate, set-role,
    /// grant-hr, revoke-hr.
    #[command(subcommand)]
    User(people::UserCommand),
    /// The company structure: add, tree, show, update, move, set-head, delete.
    #[command(subcommand)]
    Dept(people::DeptCommand),
    /// HR details: fields, define, show, set, holders.
    #[command(subcommand)]
    Hr(hr::HrCommand),
    /// Custom user fields (UF_USR_*): add, list, update, delete.
    #[command(subcommand)]
    Userfield(userfield::UserfieldCommand),
    /// Absences: add, update, delete, list (the absence chart of a department).
    #[command(subcommand)]
    Absence(card::AbsenceCommand),
    /// The card's "about me": show, set.
    #[command(subcommand)]
    Profile(card::ProfileCommand),
    /// Interest tags: list.
    #[command(subcommand)]
    Interest(card::InterestCommand),
    /// Appreciations: give, counts, list, badges, add-badge.
    #[command(subcommand)]
    Appreciation(card::AppreciationCommand),
    /// The card's form layout: show, set, reset.
    #[command(subcommand)]
    Layout(card::LayoutCommand),
    /// Workgroups: add, list, add-member, remove-member.
    #[command(subcommand)]
    Group(joining::GroupCommand),
    /// Invitations and registration: email, sms, link, list, revoke, approve, reject.
    #[command(subcommand)]
    Invite(joining::InviteCommand),
    /// Import users (CSV or JSON lines): every row is checked first, and the file is written in
    /// one transaction; nothing is written if any row is bad or refused.
    Import {
        /// The file.
        file: PathBuf,
        /// The format (by default from the file's extension: .csv, .jsonl).
        #[arg(long, value_enum)]
        format: Option<transfer::Format>,
        /// Check the file and say what would happen, without writing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Export every user (CSV or JSON lines, the import's columns) to FILE or standard output.
    Export {
        /// The format.
        #[arg(long, value_enum, default_value = "csv")]
        format: transfer::Format,
        /// The file (default: standard output).
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Write a consistent copy of the database to FILE (safe while the server runs).
    Backup {
        /// The new file (must not exist).
        file: PathBuf,
    },
    /// Rebuild the quick-search index from the users (safe while the server runs; writes wait).
    Reindex,
    /// Copy the SQLite database of --db into an empty PostgreSQL database, checking every table
    /// (row count and SHA-256) before committing; the file is only read. Stop the server first.
    Migrate {
        /// The PostgreSQL database, `postgres://user@host:port/db` (its password as for --db).
        #[arg(long, value_parser = store::Target::parse)]
        to: store::Target,
    },
    /// Replace the database with a backup. Stop the server first.
    Restore {
        /// The backup file.
        file: PathBuf,
        /// Replace an existing database.
        #[arg(long)]
        force: bool,
    },
    /// Print shell completions: bash, zsh, fish, elvish or powershell.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff).
    Man,
    /// Accounts: list, create, show, rename, settings.
    #[command(subcommand)]
    Account(admin::AccountCommand),
    /// Incoming webhooks: create (the URL is printed once), list, revoke.
    #[command(subcommand)]
    Webhook(admin::CredentialCommand),
    /// Application tokens: create (printed once), list, revoke.
    #[command(subcommand)]
    Token(admin::CredentialCommand),
    /// Web sessions of a profile: list, revoke.
    #[command(subcommand)]
    Session(identity::SessionCommand),
    /// Network profiles: unlock (after a lockout), disable-totp (a lost phone).
    #[command(subcommand)]
    Identity(identity::IdentityCommand),
    /// The messages Cardfile has to send (invitations, generated passwords, codes), so that
    /// without a mail transport an administrator can pass them on by hand.
    Outbox {
        /// list (the default), show ID, sent ID.
        #[command(subcommand)]
        cmd: Option<admin::OutboxCommand>,
        /// Every account's messages, and those of no account (confirmation codes).
        #[arg(long, global = true)]
        all: bool,
    },
}

#[derive(Args, Debug, Clone)]
struct InitArgs {
    /// The first administrator's email, which is also their login.
    #[arg(long, env = "CARDFILE_ADMIN_EMAIL", default_value = "admin@cardfile.local")]
    admin_email: String,
    /// Read the administrator's password from standard input instead of generating one.
    #[arg(long)]
    password_stdin: bool,
    /// The account's slug.
    #[arg(long, env = "CARDFILE_SLUG", default_value = "default")]
    slug: String,
    /// The company's name.
    #[arg(long, env = "CARDFILE_COMPANY_NAME", default_value = "My Company")]
    name: String,
}

#[derive(Args, Debug)]
struct ServeArgs {
    /// Where to listen.
    #[arg(long, env = "CARDFILE_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// A PEM certificate chain: serve HTTPS (with --tls-key).
    #[arg(long, env = "CARDFILE_TLS_CERT", requires = "tls_key", conflicts_with = "tls_self_signed")]
    tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, env = "CARDFILE_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Serve HTTPS with a self-signed certificate kept beside the database (for `cardfile.db`:
    /// `cardfile.cert.pem` and `cardfile.key.pem`), made on first use, for clients to trust.
    #[arg(long, env = "CARDFILE_TLS_SELF_SIGNED", value_parser = clap::builder::BoolishValueParser::new())]
    tls_self_signed: bool,
    /// Refuse plain-HTTP requests with INVALID_REQUEST.
    #[arg(long, env = "CARDFILE_REQUIRE_HTTPS", value_parser = clap::builder::BoolishValueParser::new())]
    require_https: bool,
    /// How many MiB of the database file each connection maps into memory (default 0: none).
    /// RSS counts a mapped page once per connection that touched it; at 100k users mapping
    /// measured no faster over HTTP (docs/benchmarks.md).
    #[arg(long, env = "CARDFILE_MMAP_MIB", default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=65536))]
    mmap_mib: u32,
    /// How many MiB the query cache may hold: what recent user and department queries found,
    /// so that paging with `start` offsets reads each page without the ones before it.
    #[arg(long, env = "CARDFILE_QUERY_CACHE_MIB", default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=65536))]
    query_cache_mib: u32,
    /// Rate limit per credential, `BURST/PER_SECOND`, or `off`.
    #[arg(long, env = "CARDFILE_RATE_LIMIT", default_value = "1000/50", value_parser = parse_rate)]
    rate_limit: Switch<api_http::RateLimit>,
    /// Rate limit per client address (IPv4, or IPv6 /64), whatever credential it sends, valid
    /// or not: `BURST/PER_SECOND`, or `off`.
    #[arg(long, env = "CARDFILE_ADDRESS_RATE_LIMIT", default_value = "2000/100", value_parser = parse_rate)]
    address_rate_limit: Switch<api_http::RateLimit>,
    /// How much time one method may take per credential in 10 minutes before it answers
    /// OPERATION_TIME_LIMIT (spec §1.6), or `off`.
    #[arg(long, env = "CARDFILE_OPERATING_BUDGET", default_value = "420s", value_parser = parse_budget)]
    operating_budget: Switch<std::time::Duration>,
    /// How long one read of the database may run before the request answers OVERLOAD_LIMIT,
    /// or `off`.
    #[arg(long, env = "CARDFILE_READ_TIME_BUDGET", default_value = "3s", value_parser = parse_budget)]
    read_time_budget: Switch<std::time::Duration>,
    /// How many invitations one user may send an hour (default 0: no limit, since integrations
    /// add users in bulk); the CLI is never limited.
    #[arg(long, env = "CARDFILE_INVITATIONS_PER_HOUR", default_value_t = profile_core::usecase::INVITATIONS_PER_HOUR)]
    invitations_per_hour: u32,
    /// The largest photo or background file accepted, in bytes (PNG, JPEG, WebP or GIF, up to
    /// 40 megapixels).
    #[arg(long, env = "CARDFILE_PHOTO_MAX_BYTES", default_value_t = profile_core::model::image::ImageLimits::DEFAULT.max_bytes)]
    photo_max_bytes: usize,
    /// How long a web session lasts unused.
    #[arg(long, env = "CARDFILE_SESSION_IDLE", default_value = "12h", value_parser = delivery::settings::parse_duration)]
    session_idle: std::time::Duration,
    /// How long a web session lasts at most, used or not.
    #[arg(long, env = "CARDFILE_SESSION_MAX_AGE", default_value = "14d", value_parser = delivery::settings::parse_duration)]
    session_max_age: std::time::Duration,
    /// How long a client may take to send a request's headers.
    #[arg(long, env = "CARDFILE_HEADER_TIMEOUT", default_value = "10s", value_parser = delivery::settings::parse_duration)]
    header_timeout: std::time::Duration,
    /// How long a client may take to send a request's body.
    #[arg(long, env = "CARDFILE_BODY_TIMEOUT", default_value = "20s", value_parser = delivery::settings::parse_duration)]
    body_timeout: std::time::Duration,
    /// How long a kept-alive connection may stay idle.
    #[arg(long, env = "CARDFILE_IDLE_TIMEOUT", default_value = "15s", value_parser = delivery::settings::parse_duration)]
    idle_timeout: std::time::Duration,
    /// How many connections may be open at once; more get 503 OVERLOAD_LIMIT. Keep it below the
    /// process's file-descriptor limit (`ulimit -n`).
    #[arg(long, env = "CARDFILE_MAX_CONNECTIONS", default_value_t = 512, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    max_connections: u32,
    /// How messages are delivered.
    #[command(flatten)]
    delivery: deliver::DeliveryArgs,
    /// How the first run initialises an empty database.
    #[command(flatten)]
    init: InitArgs,
}

/// The URL printed in webhook URLs and links by commands other than `serve`: --base-url, else
/// the one `serve` or `init` stored in the database, else http://127.0.0.1:8080.
fn base_url(cli: &Cli) -> String {
    cli.base_url
        .clone()
        .or_else(|| setup::stored_base_url(&cli.db))
        .unwrap_or_else(|| "http://127.0.0.1:8080".into())
}

/// Parses the command line over the `--config` file's values (see [`config`]); a bad config file
/// is bad usage (exit 2).
fn parse() -> Cli {
    use clap::{CommandFactory, FromArgMatches};
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let mut cmd = Cli::command();
    if let Some(file) = config::path_from(&args) {
        cmd = match config::apply(cmd, &file) {
            Ok(cmd) => cmd,
            Err(e) => {
                eprintln!("cardfile: {e}");
                std::process::exit(2);
            }
        };
    }
    let matches = cmd.get_matches_from(args);
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

/// A limit, or `off`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Switch<T>(Option<T>);

fn parse_budget(s: &str) -> Result<Switch<std::time::Duration>, String> {
    if s.trim() == "off" {
        return Ok(Switch(None));
    }
    delivery::settings::parse_duration(s).map(|d| Switch(Some(d)))
}

fn parse_rate(s: &str) -> Result<Switch<api_http::RateLimit>, String> {
    if s.trim() == "off" {
        return Ok(Switch(None));
    }
    let (burst, per) = s.split_once('/').ok_or("expected BURST/PER_SECOND, e.g. 50/2, or off")?;
    let burst: f64 = burst.trim().parse().map_err(|_| "BURST is a number")?;
    let per_second: f64 = per.trim().parse().map_err(|_| "PER_SECOND is a number")?;
    if !(burst >= 1.0 && per_second > 0.0) {
        return Err("BURST must be at least 1 and PER_SECOND above 0".into());
    }
    Ok(Switch(Some(api_http::RateLimit { burst, per_second })))
}

/// Writes one line to stdout; a reader that went away ends the program (successfully: it took
/// what it wanted).
pub(crate) fn emit(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_fmt(args).and_then(|()| stdout.write_all(b"\n")) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("cardfile: cannot write the output: {e}");
        std::process::exit(i32::from(FAILURE));
    }
}

/// mimalloc instead of glibc's malloc. perf of a 1M-user load showed 18% of the writer's thread
/// in glibc's allocator (splitting, consolidating and unlinking chunks as millions of users,
/// rows and documents are built and dropped); with mimalloc the same load ran 35–39% faster
/// (two alternating pairs). SQLite keeps its own calls to the C allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `--db` with the password of `--db-password-file`.
fn target(cli: &mut Cli) -> Result<(), String> {
    let (Some(file), store::Target::Postgres { password, .. }) = (&cli.db_password_file, &mut cli.db) else {
        return Ok(());
    };
    *password = Some(read_password(file)?);
    Ok(())
}

/// The password in `file` (its first line).
fn read_password(file: &std::path::Path) -> Result<String, String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    Ok(text.lines().next().unwrap_or_default().to_string())
}

fn main() -> ExitCode {
    let mut cli = parse();
    if let Err(e) = target(&mut cli) {
        eprintln!("cardfile: {e}");
        return ExitCode::from(FAILURE);
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CARDFILE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = match &cli.command {
        Command::Init(args) => {
            setup::init(&cli.db, args, &base_url(&cli), cli.base_url.is_some(), cli.json).map(|_| ())
        }
        Command::Serve(args) => serve(&cli, args),
        Command::User(cmd) => {
            people::run_user(&cli.db, cli.account.as_deref(), cli.json, &base_url(&cli), cmd)
        }
        Command::Dept(cmd) => people::run_dept(&cli.db, cli.account.as_deref(), cli.json, cmd),
        Command::Hr(cmd) => hr::run_hr(&cli.db, cli.account.as_deref(), cli.json, cmd),
        Command::Userfield(cmd) => userfield::run(&cli.db, cli.account.as_deref(), cli.json, cmd),
        Command::Absence(cmd) => {
            card::run(&cli.db, cli.account.as_deref(), cli.json, card::CardCommand::Absence(cmd))
        }
        Command::Profile(cmd) => {
            card::run(&cli.db, cli.account.as_deref(), cli.json, card::CardCommand::Profile(cmd))
        }
        Command::Interest(cmd) => {
            card::run(&cli.db, cli.account.as_deref(), cli.json, card::CardCommand::Interest(cmd))
        }
        Command::Appreciation(cmd) => {
            card::run(&cli.db, cli.account.as_deref(), cli.json, card::CardCommand::Appreciation(cmd))
        }
        Command::Layout(cmd) => {
            card::run(&cli.db, cli.account.as_deref(), cli.json, card::CardCommand::Layout(cmd))
        }
        Command::Group(cmd) => joining::run_group(&cli.db, cli.account.as_deref(), cli.json, cmd),
        Command::Invite(cmd) => {
            joining::run_invite(&cli.db, cli.account.as_deref(), cli.json, &base_url(&cli), cmd)
        }
        Command::Import { file, format, dry_run } => {
            let format = format.unwrap_or(
                if file
                    .extension()
                    .is_some_and(|e| e.eq_ignore_ascii_case("jsonl") || e.eq_ignore_ascii_case("json"))
                {
                    transfer::Format::Jsonl
                } else {
                    transfer::Format::Csv
                },
            );
            transfer::import(&cli.db, cli.account.as_deref(), format, file, *dry_run, cli.json)
        }
        Command::Export { format, output } => {
            transfer::export(&cli.db, cli.account.as_deref(), *format, output.as_deref(), &base_url(&cli))
        }
        Command::Backup { file } => setup::backup(&cli.db, file, cli.json),
        Command::Reindex => setup::reindex(&cli.db, cli.json),
        Command::Migrate { to } => {
            let mut to = to.clone();
            let with_password = match (&mut to, &cli.db_password_file) {
                (store::Target::Postgres { password, .. }, Some(file)) => {
                    read_password(file).map(|p| *password = Some(p))
                }
                _ => Ok(()),
            };
            with_password.and_then(|()| migrate::migrate(&cli.db, &to, cli.json))
        }
        Command::Restore { file, force } => setup::restore(&cli.db, file, *force, cli.json),
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(*shell, &mut cmd, "cardfile", &mut std::io::stdout());
            Ok(())
        }
        Command::Man => {
            let cmd = <Cli as clap::CommandFactory>::command();
            clap_mangen::Man::new(cmd).render(&mut std::io::stdout()).map_err(|e| e.to_string())
        }
        Command::Account(cmd) => {
            admin::run_account(&cli.db, cli.account.as_deref(), cli.json, &base_url(&cli), cmd)
        }
        Command::Webhook(cmd) => admin::run_credential(
            &cli.db,
            cli.account.as_deref(),
            cli.json,
            profile_core::model::credential::CredentialKind::Webhook,
            &base_url(&cli),
            cmd,
        ),
        Command::Token(cmd) => admin::run_credential(
            &cli.db,
            cli.account.as_deref(),
            cli.json,
            profile_core::model::credential::CredentialKind::AppToken,
            &base_url(&cli),
            cmd,
        ),
        Command::Session(cmd) => identity::run_session(&cli.db, cli.json, cmd),
        Command::Identity(cmd) => identity::run_identity(&cli.db, cli.json, cmd),
        Command::Outbox { cmd, all } => admin::run_outbox(
            &cli.db,
            cli.account.as_deref(),
            cli.json,
            *all,
            cmd.as_ref().unwrap_or(&admin::OutboxCommand::List { failed: false }),
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cardfile: {e}");
            ExitCode::from(FAILURE)
        }
    }
}

fn serve(cli: &Cli, args: &ServeArgs) -> Result<(), String> {
    // For benchmarks only: which of the store's speed paths run (`all` unless set).
    let speed = match std::env::var("CARDFILE_SPEED") {
        Ok(spec) => store_sqlite::Speed::parse(&spec).map_err(|e| format!("CARDFILE_SPEED: {e}"))?,
        Err(_) => store_sqlite::Speed::default(),
    };
    let options = store_sqlite::Options {
        mmap_size: u64::from(args.mmap_mib) << 20,
        query_cache_mib: args.query_cache_mib as usize,
        read_budget: args.read_time_budget.0,
        speed,
        ..store_sqlite::Options::default()
    };
    let pg = store_postgres::Options {
        query_cache_mib: args.query_cache_mib as usize,
        read_budget: args.read_time_budget.0,
        ..store_postgres::Options::default()
    };
    // Long reads leave one core, and two of the store's connections, to authentication and
    // short reads (with two hostile readers on every core, `server.time`'s p99 was 46 times
    // its idle p99; measured by `bench`'s mixed load).
    let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
    let connections = match cli.db {
        store::Target::Postgres { .. } => pg.connections as usize,
        store::Target::File(_) => options.readers,
    };
    let long_reads = cores.saturating_sub(1).min(connections.saturating_sub(2)).max(1);
    let db = Arc::new(store::open_with(&cli.db, options, pg)?);
    let scheme = if args.tls_cert.is_some() || args.tls_self_signed { "https" } else { "http" };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    // Bind first: the address printed (and put in links) is the one really listened on, even
    // for port 0.
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind(args.listen))
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    let base_url = cli.base_url.clone().unwrap_or_else(|| format!("{scheme}://{local}"));
    setup::first_run(&db, &args.init, &base_url, cli.json)?;
    // Every process on the database (the CLI's `invite` too) writes links with it.
    let base_url = profile_core::usecase::settings::set_base_url(setup::ctx(&*db, ""), &base_url)
        .map_err(|e| e.to_string())?;
    let tls = if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        Some(api_http::Tls::from_pem_files(cert, key)?)
    } else if args.tls_self_signed {
        Some(setup::self_signed(&db, &cli.db, args.listen)?)
    } else {
        None
    };
    let config = api_http::Config {
        base_url: base_url.clone(),
        rate_limit: args.rate_limit.0,
        address_rate_limit: args.address_rate_limit.0,
        operating_budget: args.operating_budget.0,
        require_https: args.require_https,
        blocking_reads: db.blocks(),
        invitations_per_hour: args.invitations_per_hour,
        sessions: profile_core::model::session::SessionPolicy {
            idle: chrono::Duration::from_std(args.session_idle).map_err(|e| e.to_string())?,
            absolute: chrono::Duration::from_std(args.session_max_age).map_err(|e| e.to_string())?,
            ..profile_core::model::session::SessionPolicy::default()
        },
        connections: api_http::Connections {
            header_timeout: args.header_timeout,
            body_timeout: args.body_timeout,
            idle_timeout: args.idle_timeout,
            max_connections: args.max_connections as usize,
        },
        long_reads,
        photo_max_bytes: args.photo_max_bytes,
    };
    let workers = deliver::start(&db, &base_url, &args.delivery)?;
    // The last reference is dropped here, after the runtime: PostgreSQL's driver must not
    // close its connections on an async worker.
    let keep = Arc::clone(&db);
    let state = Arc::new(api_http::AppState::new(
        db,
        Arc::new(profile_core::ports::SystemClock),
        Arc::new(profile_core::ports::RandomIds),
        Arc::new(profile_core::secret::Argon2id::PRODUCTION),
        config,
    ));
    let served = runtime.block_on(async move {
        tracing::info!(%local, %base_url, "serving the REST API");
        eprintln!("cardfile: listening on {scheme}://{local}");
        if scheme == "http" && !local.ip().is_loopback() {
            // The session cookie is Secure (decisions.md): browsers keep it over plain HTTP only
            // from loopback addresses.
            eprintln!("cardfile: note: browsers cannot sign in over plain HTTP on {local}; serve HTTPS (--tls-cert/--tls-key or --tls-self-signed)");
        }
        setup::spawn_sweeper(Arc::clone(&state));
        api_http::serve(listener, state, tls, shutdown_signal()).await.map_err(|e| e.to_string())
    });
    drop(runtime);
    // Each worker settles what it claimed before it ends.
    workers.into_iter().for_each(delivery::worker::Worker::stop);
    drop(keep);
    served?;
    eprintln!("cardfile: stopped");
    Ok(())
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: draining requests in flight");
}
