//! Workgroups and invitations: `cardfile group …` and `cardfile invite …`.

use clap::Subcommand;
use profile_core::access::Actor;
use profile_core::field::UserField;
use profile_core::ids::{UserId, WorkgroupId};
use profile_core::model::invitation::InvitationId;
use profile_core::model::user::UserPatch;
use profile_core::usecase::invitations::{self, Invite};
use profile_core::usecase::workgroups;
use serde_json::json;
use uuid::Uuid;

use crate::admin::{account, Outcome};
use crate::setup;

/// `cardfile group …`
#[derive(Subcommand, Debug)]
pub(crate) enum GroupCommand {
    /// Create a workgroup.
    Add {
        /// Its name.
        name: String,
    },
    /// Every workgroup, with its members.
    List,
    /// Add a member (an extranet user turns the group external).
    AddMember {
        /// The group's ID.
        group: u32,
        /// The user's ID.
        user: u32,
    },
    /// Remove a member (an extranet user keeps at least one group).
    RemoveMember {
        /// The group's ID.
        group: u32,
        /// The user's ID.
        user: u32,
    },
}

/// `cardfile invite …`
#[derive(Subcommand, Debug)]
pub(crate) enum InviteCommand {
    /// Invite by email (to the root department unless UF_DEPARTMENT=… is given).
    Email {
        /// The address.
        address: String,
        /// Further fields as CODE=value.
        fields: Vec<String>,
        /// The text of the email.
        #[arg(long)]
        text: Option<String>,
    },
    /// Invite by SMS: the phone number becomes the login.
    Sms {
        /// The phone number.
        phone: String,
        /// Further fields as CODE=value.
        fields: Vec<String>,
    },
    /// Make a new quick-registration link (the old one stops working); printed once.
    Link {
        /// Switch the link off instead.
        #[arg(long)]
        off: bool,
    },
    /// Invitations and registration requests, with their states.
    List,
    /// Revoke a pending invitation (its user record is deactivated).
    Revoke {
        /// The invitation's ID, as `list` shows it.
        id: String,
    },
    /// Approve a pending registration request.
    Approve {
        /// The request's ID, as `list` shows it.
        id: String,
    },
    /// Reject a pending registration request.
    Reject {
        /// The request's ID, as `list` shows it.
        id: String,
    },
}

fn uuid(id: &str) -> Result<Uuid, String> {
    Uuid::parse_str(id.trim()).map_err(|_| format!("{id:?} is not an ID (see `cardfile invite list`)"))
}

fn fields(pairs: &[String], root_by_default: bool) -> Result<UserPatch, String> {
    let mut raw: Vec<(UserField, String)> = Vec::new();
    for p in pairs {
        let (k, v) = p.split_once('=').ok_or_else(|| format!("{p:?}: expected CODE=value"))?;
        raw.push((
            UserField::from_code(k.trim()).ok_or_else(|| format!("{k:?} is not a user field"))?,
            v.into(),
        ));
    }
    if root_by_default && !raw.iter().any(|(f, _)| *f == UserField::UfDepartment) {
        raw.push((UserField::UfDepartment, "1".into()));
    }
    UserPatch::from_text(raw.iter().map(|(f, v)| (*f, v.as_str()))).map_err(|e| e.to_string())
}

pub(crate) fn run_group(
    db_path: &crate::store::Target,
    slug: Option<&str>,
    json: bool,
    cmd: &GroupCommand,
) -> Outcome {
    let db = setup::open(db_path)?;
    let ctx = setup::ctx(&db, "");
    let op = Actor::operator(account(ctx, slug)?.id);
    let e = |e: profile_core::CoreError| e.to_string();
    match cmd {
        GroupCommand::Add { name } => {
            let g = workgroups::create_workgroup(ctx, &op, name).map_err(e)?;
            if json {
                out!("{}", json!({"id": g.id.get(), "name": g.name}));
            } else {
                out!("workgroup {} {}", g.id, g.name);
            }
        }
        GroupCommand::List => {
            let mut rows = Vec::new();
            for g in workgroups::list_workgroups(ctx, &op).map_err(e)? {
                let members = workgroups::workgroup_members(ctx, &op, g.id).map_err(e)?;
                rows.push(json!({
                    "id": g.id.get(),
                    "name": g.name,
                    "external": g.external,
                    "members": members.iter().map(|m| m.get()).collect::<Vec<_>>(),
                }));
            }
            if json {
                out!("{}", serde_json::Value::Array(rows));
            } else {
                for r in rows {
                    let ext = if r["external"] == true { " (external)" } else { "" };
                    out!(
                        "{} {}{ext}: members {}",
                        r["id"],
                        r["name"].as_str().unwrap_or_default(),
                        r["members"]
                    );
                }
            }
        }
        GroupCommand::AddMember { group, user } => {
            workgroups::add_workgroup_member(ctx, &op, WorkgroupId(*group), UserId(*user)).map_err(e)?;
            out!(
                "{}",
                if json {
                    json!({"group": group, "added": user}).to_string()
                } else {
                    format!("user {user} joined workgroup {group}")
                }
            );
        }
        GroupCommand::RemoveMember { group, user } => {
            workgroups::remove_workgroup_member(ctx, &op, WorkgroupId(*group), UserId(*user)).map_err(e)?;
            out!(
                "{}",
                if json {
                    json!({"group": group, "removed": user}).to_string()
                } else {
                    format!("user {user} left workgroup {group}")
                }
            );
        }
    }
    Ok(())
}

pub(crate) fn run_invite(
    db_path: &crate::store::Target,
    slug: Option<&str>,
    json: bool,
    base_url: &str,
    cmd: &InviteCommand,
) -> Outcome {
    let db = setup::open(db_path)?;
    let ctx = setup::ctx(&db, base_url);
    let op = Actor::operator(account(ctx, slug)?.id);
    let e = |e: profile_core::CoreError| e.to_string();
    let invited = |i: invitations::Invited| {
        if json {
            out!(
                "{}",
                json!({"invitation": i.invitation.id.to_string(), "user": i.user.id.get(), "to": i.invitation.address.as_str()})
            );
        } else {
            out!(
                "invited {} as user {} (invitation {}); the message is in `cardfile outbox`",
                i.invitation.address,
                i.user.id,
                i.invitation.id
            );
        }
    };
    match cmd {
        InviteCommand::Email { address, fields: f, text } => invited(
            invitations::invite_by_email(
                ctx,
                &op,
                Invite {
                    address: address.clone(),
                    fields: fields(f, true)?,
                    text: text.clone(),
                    ..Invite::default()
                },
            )
            .map_err(e)?,
        ),
        InviteCommand::Sms { phone, fields: f } => invited(
            invitations::invite_by_sms(
                ctx,
                &op,
                Invite { address: phone.clone(), fields: fields(f, true)?, ..Invite::default() },
            )
            .map_err(e)?,
        ),
        InviteCommand::Link { off: true } => {
            invitations::disable_registration_link(ctx, &op).map_err(e)?;
            out!(
                "{}",
                if json {
                    json!({"link": null}).to_string()
                } else {
                    "the quick-registration link is off".to_string()
                }
            );
        }
        InviteCommand::Link { off: false } => {
            let url = invitations::create_registration_link(ctx, &op).map_err(e)?;
            out!(
                "{}",
                if json {
                    json!({"link": url}).to_string()
                } else {
                    format!("{url}   (shown once; the old link no longer works)")
                }
            );
        }
        InviteCommand::List => {
            let list = invitations::list_invitations(ctx, &op).map_err(e)?;
            let requests = invitations::list_registrations(ctx, &op).map_err(e)?;
            if json {
                out!(
                    "{}",
                    json!({
                        "invitations": list.iter().map(|i| json!({"id": i.id.to_string(), "to": i.address.as_str(), "user": i.user.get(), "state": i.state.code(), "expires": i.expires_at.to_rfc3339()})).collect::<Vec<_>>(),
                        "requests": requests.iter().map(|r| json!({"id": r.id.to_string(), "email": r.email, "name": format!("{} {}", r.name, r.last_name), "state": r.state.code()})).collect::<Vec<_>>(),
                    })
                );
            } else {
                for i in &list {
                    out!("invitation {} to {} (user {}): {}", i.id, i.address, i.user, i.state.code());
                }
                for r in &requests {
                    out!(
                        "request {} from {} {} <{}>: {}",
                        r.id,
                        r.name,
                        r.last_name,
                        r.email,
                        r.state.code()
                    );
                }
            }
        }
        InviteCommand::Revoke { id } => {
            let i = invitations::revoke_invitation(ctx, &op, InvitationId(uuid(id)?)).map_err(e)?;
            out!(
                "{}",
                if json {
                    json!({"revoked": i.id.to_string()}).to_string()
                } else {
                    format!("revoked {}; user {} is deactivated", i.id, i.user)
                }
            );
        }
        InviteCommand::Approve { id } => {
            let user = invitations::approve_registration(ctx, &op, uuid(id)?).map_err(e)?;
            out!(
                "{}",
                if json {
                    json!({"approved": id, "user": user.get()}).to_string()
                } else {
                    format!("approved: user {user}")
                }
            );
        }
        InviteCommand::Reject { id } => {
            invitations::reject_registration(ctx, &op, uuid(id)?).map_err(e)?;
            out!("{}", if json { json!({"rejected": id}).to_string() } else { format!("rejected {id}") });
        }
    }
    Ok(())
}
