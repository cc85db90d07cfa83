//! Administration commands: accounts, webhooks and application tokens, the outbox. Each calls
//! the same profile-core use case as the REST API, as the server's operator of one account.

use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use profile_core::access::{Actor, Scope, ScopeSet};
use profile_core::ids::UserId;
use profile_core::model::account::{Account, InvitePolicy, RegistrationType};
use profile_core::model::credential::{Credential, CredentialId, CredentialKind};
use profile_core::model::message::{Message, MessageState};
use profile_core::usecase::{accounts, credentials, outbox};
use serde_json::json;
use uuid::Uuid;

use crate::setup;

/// `cardfile account …`
#[derive(Subcommand, Debug)]
pub(crate) enum AccountCommand {
    /// Every account on this server.
    List,
    /// Create another account with its first administrator; their login, password and a
    /// webhook are printed once.
    Create {
        /// The new account's slug (its short name in URLs and `--account`).
        slug: String,
        /// The company's name.
        #[arg(long)]
        name: String,
        /// The first administrator's email, which is also their login.
        #[arg(long)]
        admin_email: String,
        /// Read the administrator's password from standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
    /// The account and its settings.
    Show,
    /// Rename the account (administrators may do this once; the operator always).
    Rename {
        /// The new name.
        name: String,
    },
    /// Change settings; options not given stay as they are.
    Settings(SettingsArgs),
}

#[derive(Args, Debug)]
pub(crate) struct SettingsArgs {
    /// Who may invite: `admins` or `everyone`.
    #[arg(long)]
    invite: Option<String>,
    /// Quick registration: `moderated` or `public`.
    #[arg(long)]
    registration: Option<String>,
    /// Email domains that skip approval, comma-separated (empty: none).
    #[arg(long)]
    domains: Option<String>,
    /// The greeting on the registration page.
    #[arg(long)]
    greeting: Option<String>,
}

/// `cardfile webhook …` and `cardfile token …`
#[derive(Subcommand, Debug)]
pub(crate) enum CredentialCommand {
    /// Create one; the token is printed once.
    Create {
        /// The user it acts as (webhooks: any active user; tokens: an administrator).
        #[arg(long, default_value_t = 1)]
        user: u32,
        /// Scopes, comma-separated: user, user_basic, user_brief, user.userfield, department, im.
        #[arg(long, default_value = "user,department")]
        scope: String,
        /// A name for people (the application's name, for tokens).
        #[arg(long, default_value = "created with cardfile")]
        name: String,
        /// When it stops working (RFC 3339, e.g. 2027-01-01T00:00:00Z).
        #[arg(long)]
        expires: Option<String>,
    },
    /// List them.
    List,
    /// Revoke one at once.
    Revoke {
        /// Its ID, as `list` shows it.
        id: String,
    },
}

/// What a command failed with: the message to show.
pub(crate) type Outcome = Result<(), String>;

pub(crate) fn account(ctx: profile_core::usecase::Ctx<'_>, slug: Option<&str>) -> Result<Account, String> {
    let all = accounts::list_accounts(ctx).map_err(|e| e.to_string())?;
    match slug {
        Some(s) => accounts::find_account(ctx, s).map_err(|_| format!("no account with the slug {s:?}")),
        None => match all.as_slice() {
            [one] => Ok(one.clone()),
            [] => Err("the database has no account yet: run `cardfile init`".into()),
            _ => Err("the server has several accounts: name one with --account SLUG".into()),
        },
    }
}

fn account_json(a: &Account) -> serde_json::Value {
    json!({
        "slug": a.slug,
        "name": a.name,
        "renamed": a.renamed,
        "invite": match a.settings.invite_policy { InvitePolicy::AdminsOnly => "admins", InvitePolicy::Everyone => "everyone" },
        "registration": match a.settings.registration { RegistrationType::Moderated => "moderated", RegistrationType::Public => "public" },
        "domains": a.settings.whitelisted_domains,
        "greeting": a.settings.greeting,
    })
}

fn print_account(a: &Account, json: bool) {
    let v = account_json(a);
    if json {
        out!("{v}");
    } else {
        out!("slug:          {}", a.slug);
        out!("name:          {}{}", a.name, if a.renamed { " (renamed once)" } else { "" });
        out!("invite:        {}", v["invite"].as_str().unwrap_or_default());
        out!("registration:  {}", v["registration"].as_str().unwrap_or_default());
        out!("domains:       {}", a.settings.whitelisted_domains.join(", "));
        out!("greeting:      {}", a.settings.greeting);
    }
}

pub(crate) fn run_account(
    db_path: &crate::store::Target,
    slug: Option<&str>,
    json: bool,
    base_url: &str,
    cmd: &AccountCommand,
) -> Outcome {
    if let AccountCommand::Create { slug, name, admin_email, password_stdin } = cmd {
        let args = crate::InitArgs {
            admin_email: admin_email.clone(),
            password_stdin: *password_stdin,
            slug: slug.clone(),
            name: name.clone(),
        };
        return setup::create_account(db_path, &args, base_url, json);
    }
    let db = setup::open(db_path)?;
    let ctx = setup::ctx(&db, "");
    if let AccountCommand::List = cmd {
        let all = accounts::list_accounts(ctx).map_err(|e| e.to_string())?;
        if json {
            out!("{}", serde_json::Value::Array(all.iter().map(account_json).collect()));
        } else {
            out!("{:<24} NAME", "SLUG");
            for a in &all {
                out!("{:<24} {}", a.slug, a.name);
            }
        }
        return Ok(());
    }
    let a = account(ctx, slug)?;
    let op = Actor::operator(a.id);
    let changed = match cmd {
        AccountCommand::List | AccountCommand::Create { .. } | AccountCommand::Show => a,
        AccountCommand::Rename { name } => {
            accounts::rename_account(ctx, &op, name).map_err(|e| e.to_string())?
        }
        AccountCommand::Settings(s) => {
            let mut settings = a.settings.clone();
            if let Some(v) = &s.invite {
                settings.invite_policy = match v.as_str() {
                    "admins" => InvitePolicy::AdminsOnly,
                    "everyone" => InvitePolicy::Everyone,
                    _ => return Err(format!("--invite: expected admins or everyone, not {v:?}")),
                };
            }
            if let Some(v) = &s.registration {
                settings.registration = match v.as_str() {
                    "moderated" => RegistrationType::Moderated,
                    "public" => RegistrationType::Public,
                    _ => return Err(format!("--registration: expected moderated or public, not {v:?}")),
                };
            }
            if let Some(v) = &s.domains {
                settings.whitelisted_domains =
                    v.split(',').map(str::trim).filter(|d| !d.is_empty()).map(str::to_string).collect();
            }
            if let Some(v) = &s.greeting {
                settings.greeting = v.clone();
            }
            accounts::update_account_settings(ctx, &op, settings).map_err(|e| e.to_string())?
        }
    };
    print_account(&changed, json);
    Ok(())
}

fn scopes(list: &str) -> Result<ScopeSet, String> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| Scope::from_code(s).ok_or_else(|| format!("--scope: unknown scope {s:?}")))
        .collect()
}

fn credential_json(c: &Credential) -> serde_json::Value {
    json!({
        "id": c.id.to_string(),
        "kind": c.kind.code(),
        "name": c.name,
        "user": c.owner.get(),
        "scopes": c.scopes.iter().map(Scope::code).collect::<Vec<_>>(),
        "expires": c.expires_at.map(|t| t.to_rfc3339()),
        "revoked": c.revoked_at.map(|t| t.to_rfc3339()),
    })
}

pub(crate) fn run_credential(
    db_path: &crate::store::Target,
    slug: Option<&str>,
    json: bool,
    kind: CredentialKind,
    base_url: &str,
    cmd: &CredentialCommand,
) -> Outcome {
    let db = setup::open(db_path)?;
    let ctx = setup::ctx(&db, base_url);
    let a = account(ctx, slug)?;
    let op = Actor::operator(a.id);
    match cmd {
        CredentialCommand::Create { user, scope, name, expires } => {
            let expires_at = match expires {
                Some(t) => Some(
                    DateTime::parse_from_rfc3339(t)
                        .map_err(|e| format!("--expires: {e} (RFC 3339, e.g. 2027-01-01T00:00:00Z)"))?
                        .with_timezone(&Utc),
                ),
                None => None,
            };
            let issued = credentials::create_credential(
                ctx,
                &op,
                credentials::NewCredential {
                    kind,
                    name: name.clone(),
                    owner: Some(UserId(*user)),
                    scopes: scopes(scope)?,
                    expires_at,
                },
            )
            .map_err(|e| e.to_string())?;
            let url = match kind {
                CredentialKind::Webhook => format!("{base_url}/rest/{user}/{}/", issued.token),
                CredentialKind::AppToken => format!("{base_url}/rest/"),
            };
            if json {
                let mut v = credential_json(&issued.credential);
                v["token"] = json!(issued.token);
                v["url"] = json!(url);
                out!("{v}");
            } else {
                out!("id:     {}", issued.credential.id);
                out!("token:  {}   (shown once)", issued.token);
                match kind {
                    CredentialKind::Webhook => out!("url:    {url}"),
                    CredentialKind::AppToken => {
                        out!("use:    {url}<method>?auth=<token> or Authorization: Bearer <token>")
                    }
                }
            }
        }
        CredentialCommand::List => {
            let all: Vec<Credential> = credentials::list_credentials(ctx, &op)
                .map_err(|e| e.to_string())?
                .into_iter()
                .filter(|c| c.kind == kind)
                .collect();
            if json {
                out!("{}", serde_json::Value::Array(all.iter().map(credential_json).collect()));
            } else {
                out!("{:<36} {:<5} {:<28} {:<8} SCOPES", "ID", "USER", "NAME", "STATE");
                for c in &all {
                    let state = if c.revoked_at.is_some() { "revoked" } else { "active" };
                    let scopes: Vec<&str> = c.scopes.iter().map(Scope::code).collect();
                    out!("{:<36} {:<5} {:<28} {:<8} {}", c.id, c.owner, c.name, state, scopes.join(","));
                }
            }
        }
        CredentialCommand::Revoke { id } => {
            let id = Uuid::parse_str(id.trim())
                .map_err(|_| format!("{id:?} is not a credential ID (see `list`)"))?;
            let c = credentials::revoke_credential(ctx, &op, CredentialId(id)).map_err(|e| e.to_string())?;
            if c.kind != kind {
                return Err(format!("{id} is not a {}", kind.code()));
            }
            if json {
                out!("{}", credential_json(&c));
            } else {
                out!("revoked {id}");
            }
        }
    }
    Ok(())
}

/// `cardfile outbox`: the messages to send (invitations, generated passwords, codes).
/// `cardfile outbox …`
#[derive(Subcommand, Debug)]
pub(crate) enum OutboxCommand {
    /// Every message, oldest first (the default): channel, recipient, kind, state, attempts,
    /// last error, and the body while it is kept.
    List {
        /// Only the failed messages.
        #[arg(long)]
        failed: bool,
    },
    /// One message in full.
    Show {
        /// Its ID, or the first 8 or more characters of it.
        id: String,
    },
    /// Mark a message passed on by hand as sent: its body (the link, code or password) is
    /// dropped.
    Sent {
        /// Its ID, or the first 8 or more characters of it.
        id: String,
    },
    /// Put a failed message back in the queue (due at once).
    Retry {
        /// Its ID, or the first 8 or more characters of it.
        #[arg(required_unless_present = "all_failed", conflicts_with = "all_failed")]
        id: Option<String>,
        /// Every failed message that can still be used.
        #[arg(long)]
        all_failed: bool,
    },
    /// Send a test message to ADDRESS (an email address or a phone number) through the
    /// transport `serve` is configured with (the same --smtp-* and --sms-* options).
    Test(Box<crate::deliver::TestArgs>),
}

fn message_json(m: &Message) -> serde_json::Value {
    json!({
        "id": m.id.to_string(),
        "kind": m.kind.code(),
        "channel": m.channel.code(),
        "to": m.recipient,
        "subject": m.subject,
        "body": m.body,
        "state": m.delivery.state.code(),
        "attempts": m.delivery.attempts,
        "last_error": m.delivery.last_error,
        "next_attempt": (m.delivery.state == MessageState::Pending).then(|| m.delivery.not_before.to_rfc3339()),
        "created": m.created_at.to_rfc3339(),
        "expires": m.expires_at.map(|t| t.to_rfc3339()),
        "sent": m.delivery.sent_at.map(|t| t.to_rfc3339()),
    })
}

fn print_message(m: &Message) {
    let d = &m.delivery;
    let attempts = match d.attempts {
        1 => "1 attempt".to_string(),
        n => format!("{n} attempts"),
    };
    out!(
        "--- {} {} {} to {} ({}, {}, {attempts})",
        m.id,
        m.created_at.to_rfc3339(),
        m.kind.code(),
        m.recipient,
        m.channel.code(),
        d.state.code()
    );
    if let Some(e) = &d.last_error {
        out!("Last error: {e}");
    }
    if !m.subject.is_empty() {
        out!("Subject: {}", m.subject);
    }
    if m.body_dropped() {
        out!("(body dropped: {})", if d.state == MessageState::Sent { "sent" } else { "no longer usable" });
    } else {
        out!("{}", m.body);
    }
}

/// The one message among `messages` whose ID is `id` or starts with it (8 characters at least).
fn find_message<'a>(messages: &'a [Message], id: &str) -> Result<&'a Message, String> {
    let id = id.trim().to_ascii_lowercase();
    if id.len() < 8 {
        return Err(format!("{id:?}: give the message ID or at least its first 8 characters"));
    }
    let mut found = messages.iter().filter(|m| m.id.to_string().starts_with(&id));
    match (found.next(), found.next()) {
        (Some(m), None) => Ok(m),
        (None, _) => Err(format!("no message {id} in this account's outbox (`cardfile outbox` lists them)")),
        (Some(_), Some(_)) => Err(format!("{id} starts more than one message ID: give more of it")),
    }
}

pub(crate) fn run_outbox(
    db_path: &crate::store::Target,
    slug: Option<&str>,
    json: bool,
    all: bool,
    cmd: &OutboxCommand,
) -> Outcome {
    let db = setup::open(db_path)?;
    let ctx = setup::ctx(&db, "");
    let a = match (all, slug) {
        // Every account's messages: no account needs naming (any one stands for the operator).
        (true, None) => accounts::list_accounts(ctx)
            .map_err(|e| e.to_string())?
            .into_iter()
            .next()
            .ok_or("the database has no account yet: run `cardfile init`")?,
        _ => account(ctx, slug)?,
    };
    let operator = Actor::operator(a.id);
    let messages = outbox::list_messages(ctx, &operator, all).map_err(|e| e.to_string())?;
    let show = |m: &Message| {
        if json {
            out!("{}", message_json(m));
        } else {
            print_message(m);
        }
    };
    match cmd {
        OutboxCommand::List { failed } => {
            let listed = messages.iter().filter(|m| !failed || m.delivery.state == MessageState::Failed);
            if json {
                out!("{}", serde_json::Value::Array(listed.map(message_json).collect()));
            } else {
                listed.for_each(print_message);
            }
        }
        OutboxCommand::Show { id } => show(find_message(&messages, id)?),
        OutboxCommand::Sent { id } => {
            let m = find_message(&messages, id)?;
            let m = outbox::mark_sent(ctx, &operator, all, m.id).map_err(|e| e.to_string())?;
            if json {
                out!("{}", message_json(&m));
            } else {
                out!("message {} is marked sent", m.id);
            }
        }
        OutboxCommand::Retry { id: Some(id), .. } => {
            let m = find_message(&messages, id)?;
            let m = outbox::retry_message(ctx, &operator, all, m.id).map_err(|e| e.to_string())?;
            if json {
                out!("{}", message_json(&m));
            } else {
                out!("message {} is queued again", m.id);
            }
        }
        OutboxCommand::Retry { id: None, .. } => {
            let retried = outbox::retry_failed(ctx, &operator, all).map_err(|e| e.to_string())?;
            if json {
                out!("{}", serde_json::Value::Array(retried.iter().map(message_json).collect()));
            } else {
                out!("{} failed message(s) queued again", retried.len());
            }
        }
        OutboxCommand::Test(args) => crate::deliver::send_test(args, json)?,
    }
    Ok(())
}
