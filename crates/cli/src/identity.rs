//! Network profiles and their web sessions, for the server's operator: `cardfile session
//! list|revoke` and `cardfile identity unlock|disable-totp` (a locked-out person, a lost phone).

use clap::Subcommand;
use profile_core::model::session::{SessionId, SessionPolicy};
use profile_core::usecase::{identities, sessions};
use serde_json::json;
use uuid::Uuid;

use crate::admin::Outcome;
use crate::setup;

/// `cardfile session …`
#[derive(Subcommand, Debug)]
pub(crate) enum SessionCommand {
    /// The live web sessions of the profile whose login (or confirmed contact) is LOGIN.
    List {
        /// The login.
        login: String,
    },
    /// End one session (by ID, as `list` shows it) or, with `--all`, every session of LOGIN.
    Revoke {
        /// The login.
        login: String,
        /// The session's ID.
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        id: Option<String>,
        /// Every session of the profile.
        #[arg(long)]
        all: bool,
    },
}

/// `cardfile identity …`
#[derive(Subcommand, Debug)]
pub(crate) enum IdentityCommand {
    /// Lift the lockout of a login after too many failed sign-ins.
    Unlock {
        /// The login.
        login: String,
    },
    /// Switch two-step sign-in off for a profile whose owner lost the phone and the recovery
    /// codes (every session of the profile ends).
    DisableTotp {
        /// The login.
        login: String,
    },
}

pub(crate) fn run_session(db: &crate::store::Target, json: bool, cmd: &SessionCommand) -> Outcome {
    let db = setup::open(db)?;
    let ctx = setup::ctx(&db, "");
    match cmd {
        SessionCommand::List { login } => {
            let (_, list) = sessions::operator_sessions(ctx, &SessionPolicy::default(), login)
                .map_err(|e| e.to_string())?;
            if json {
                let rows: Vec<_> = list
                    .iter()
                    .map(|s| {
                        json!({
                            "id": s.id.0.to_string(),
                            "device": s.device,
                            "created": s.created_at.to_rfc3339(),
                            "last_seen": s.last_seen.to_rfc3339(),
                        })
                    })
                    .collect();
                out!("{}", serde_json::Value::Array(rows));
            } else if list.is_empty() {
                out!("{login} is signed in nowhere");
            } else {
                for s in &list {
                    out!(
                        "{}  since {}  last seen {}  {}",
                        s.id.0,
                        s.created_at.to_rfc3339(),
                        s.last_seen.to_rfc3339(),
                        s.device
                    );
                }
            }
        }
        SessionCommand::Revoke { login, id, .. } => {
            let id = match id {
                Some(id) => Some(SessionId(
                    Uuid::parse_str(id.trim()).map_err(|_| format!("{id:?} is not a session ID"))?,
                )),
                None => None,
            };
            let n = sessions::operator_end_sessions(ctx, login, id).map_err(|e| e.to_string())?;
            if json {
                out!("{}", json!({ "ended": n }));
            } else {
                out!("ended {n} session(s) of {login}");
            }
        }
    }
    Ok(())
}

pub(crate) fn run_identity(db: &crate::store::Target, json: bool, cmd: &IdentityCommand) -> Outcome {
    let db = setup::open(db)?;
    let ctx = setup::ctx(&db, "");
    let (login, done) = match cmd {
        IdentityCommand::Unlock { login } => {
            identities::operator_unlock(ctx, login).map_err(|e| e.to_string())?;
            (login, "unlocked")
        }
        IdentityCommand::DisableTotp { login } => {
            identities::operator_disable_totp(ctx, login).map_err(|e| e.to_string())?;
            (login, "two-step sign-in switched off for")
        }
    };
    if json {
        out!("{}", json!({ "login": login, "done": done }));
    } else {
        out!("{done} {login}");
    }
    Ok(())
}
