//! `cardfile hr`: the account's HR fields and users' HR details. The CLI acts as the account's
//! operator (an administrator); over the library, a user reads their own record and holders of
//! the HR permission (`cardfile user grant-hr`) read and change everyone's.

use clap::Subcommand;
use profile_core::access::Actor;
use profile_core::ids::UserId;
use profile_core::model::hr::{HrField, HrRecord};
use profile_core::usecase::hr;
use serde_json::json;

use crate::admin::{account, Outcome};
use crate::setup;

/// `cardfile hr …`
#[derive(Subcommand, Debug)]
pub(crate) enum HrCommand {
    /// The account's HR fields, in order.
    Fields,
    /// Replace the account's HR fields: `KEY=Label` pairs, in order. The values of a field left
    /// out are deleted.
    Define {
        /// Fields as `KEY=Label` (`PASSPORT_NO="Passport number"`); none removes them all.
        fields: Vec<String>,
    },
    /// A user's HR details.
    Show {
        /// The user's ID.
        id: u32,
    },
    /// Set HR details: `KEY=value` pairs (an empty value clears).
    Set {
        /// The user's ID.
        id: u32,
        /// Values as `KEY=value`.
        #[arg(required = true)]
        values: Vec<String>,
    },
    /// The users holding the HR permission.
    Holders,
}

fn pairs(items: &[String]) -> Result<Vec<(String, String)>, String> {
    items
        .iter()
        .map(|p| {
            p.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .ok_or_else(|| format!("{p:?}: expected KEY=value"))
        })
        .collect()
}

fn print_fields(fields: &[HrField], json: bool) {
    if json {
        let list: Vec<_> = fields.iter().map(|f| json!({"key": f.key, "label": f.label})).collect();
        out!("{}", serde_json::Value::Array(list));
    } else if fields.is_empty() {
        out!("no HR fields; define them with `cardfile hr define KEY=Label …`");
    } else {
        for f in fields {
            out!("{:<24} {}", f.key, f.label);
        }
    }
}

fn print_record(rec: &HrRecord, json: bool) {
    if json {
        let values: serde_json::Map<String, serde_json::Value> =
            rec.values.iter().map(|(k, v)| (k.clone(), v.as_str().into())).collect();
        out!("{}", json!({"user": rec.user.get(), "values": values}));
    } else if rec.values.is_empty() {
        out!("user {} has no HR details", rec.user.get());
    } else {
        for (k, v) in &rec.values {
            out!("{k:<24} {v}");
        }
    }
}

pub(crate) fn run_hr(
    db_path: &crate::store::Target,
    slug: Option<&str>,
    json: bool,
    cmd: &HrCommand,
) -> Outcome {
    let db = setup::open(db_path)?;
    let ctx = setup::ctx(&db, "");
    let op = Actor::operator(account(ctx, slug)?.id);
    let e = |e: profile_core::CoreError| e.to_string();
    match cmd {
        HrCommand::Fields => print_fields(&hr::hr_fields(ctx, &op).map_err(e)?, json),
        HrCommand::Define { fields } => {
            let fields = pairs(fields)?.into_iter().map(|(key, label)| HrField { key, label }).collect();
            print_fields(&hr::define_hr_fields(ctx, &op, fields).map_err(e)?, json);
        }
        HrCommand::Show { id } => print_record(&hr::hr_record(ctx, &op, UserId(*id)).map_err(e)?, json),
        HrCommand::Set { id, values } => {
            let rec = hr::update_hr_record(ctx, &op, UserId(*id), &pairs(values)?).map_err(e)?;
            print_record(&rec, json);
        }
        HrCommand::Holders => {
            let ids: Vec<u32> = hr::hr_holders(ctx, &op).map_err(e)?.iter().map(|u| u.get()).collect();
            if json {
                out!("{}", json!(ids));
            } else if ids.is_empty() {
                out!("nobody holds the HR permission; grant it with `cardfile user grant-hr ID`");
            } else {
                for id in ids {
                    out!("{id}");
                }
            }
        }
    }
    Ok(())
}
