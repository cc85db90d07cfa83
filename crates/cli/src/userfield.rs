//! `cardfile userfield`: the account's custom fields (`UF_USR_*`, what `user.userfield.*`
//! manages), as the account's operator. Users' values are set with `cardfile user update ID
//! UF_USR_X=value` and shown by `cardfile user show`.

use clap::Subcommand;
use profile_core::access::Actor;
use profile_core::model::custom::{CustomField, CustomKind};
use profile_core::usecase::custom::{self, FieldSpec, OptionSpec};
use serde_json::json;

use crate::admin::{account, Outcome};
use crate::setup;

/// `cardfile userfield …`
#[derive(Subcommand, Debug)]
pub(crate) enum UserfieldCommand {
    /// Add a custom field: `cardfile userfield add skills --type string --label Skills`.
    Add {
        /// Its name (`UF_USR_` is put in front).
        name: String,
        /// string, integer, double, boolean, date, datetime, enumeration, url or employee.
        #[arg(long = "type")]
        kind: String,
        /// Users hold a list of values (fixed once the field exists).
        #[arg(long)]
        multiple: bool,
        /// Every user must hold a value.
        #[arg(long)]
        mandatory: bool,
        /// The label (every language).
        #[arg(long)]
        label: Option<String>,
        /// An option of an enumeration field (repeat it).
        #[arg(long = "option")]
        options: Vec<String>,
    },
    /// The account's custom fields.
    List,
    /// Change a field (its name, type and `--multiple` stay).
    Update {
        /// The field's ID.
        id: u32,
        /// Y or N.
        #[arg(long)]
        mandatory: Option<String>,
        /// The label (every language).
        #[arg(long)]
        label: Option<String>,
        /// Its place in lists.
        #[arg(long)]
        sort: Option<i64>,
        /// A new option of an enumeration field (repeat it).
        #[arg(long = "add-option")]
        add_options: Vec<String>,
        /// An option to delete, by ID (repeat it).
        #[arg(long = "remove-option")]
        remove_options: Vec<u32>,
    },
    /// Delete a field; users' values of it are never read again and purged by housekeeping.
    Delete {
        /// The field's ID.
        id: u32,
    },
}

fn labels(label: &Option<String>) -> Option<String> {
    label
        .as_ref()
        .map(|l| json!({ "EDIT_FORM_LABEL": { "en": l }, "LIST_COLUMN_LABEL": { "en": l } }).to_string())
}

fn print(fields: &[CustomField], json: bool) {
    if json {
        let list: Vec<_> = fields
            .iter()
            .map(|f| {
                json!({
                    "id": f.id, "name": f.name, "type": f.kind.code(), "multiple": f.multiple,
                    "mandatory": f.mandatory, "sort": f.sort,
                    "options": f.options.iter().map(|o| json!({"id": o.id, "value": o.value})).collect::<Vec<_>>(),
                })
            })
            .collect();
        out!("{}", serde_json::Value::Array(list));
        return;
    }
    if fields.is_empty() {
        out!("no custom fields; add one with `cardfile userfield add NAME --type string`");
    }
    for f in fields {
        let mut line = format!("{:<5} {:<30} {}", f.id, f.name, f.kind.code());
        if f.multiple {
            line.push_str(" multiple");
        }
        if f.mandatory {
            line.push_str(" mandatory");
        }
        if !f.options.is_empty() {
            let options: Vec<String> = f.options.iter().map(|o| format!("{}={}", o.id, o.value)).collect();
            line.push_str(&format!(" [{}]", options.join(", ")));
        }
        out!("{line}");
    }
}

pub(crate) fn run(
    db_path: &crate::store::Target,
    slug: Option<&str>,
    json: bool,
    cmd: &UserfieldCommand,
) -> Outcome {
    let db = setup::open(db_path)?;
    let ctx = setup::ctx(&db, "");
    let op = Actor::operator(account(ctx, slug)?.id);
    let e = |e: profile_core::CoreError| e.to_string();
    let option = |v: &String| OptionSpec { value: v.clone(), sort: 100, ..OptionSpec::default() };
    match cmd {
        UserfieldCommand::Add { name, kind, multiple, mandatory, label, options } => {
            let kind = CustomKind::from_code(kind).ok_or_else(|| {
                format!("unknown type {kind:?} (string, integer, double, boolean, date, datetime, enumeration, url, employee)")
            })?;
            let spec = FieldSpec {
                field_name: Some(name.clone()),
                kind: Some(kind),
                multiple: Some(*multiple),
                mandatory: Some(*mandatory),
                labels: labels(label),
                options: (!options.is_empty()).then(|| options.iter().map(option).collect()),
                ..FieldSpec::default()
            };
            print(&[custom::add_field(ctx, &op, spec).map_err(e)?], json);
        }
        UserfieldCommand::List => print(&custom::list_fields(ctx, &op).map_err(e)?, json),
        UserfieldCommand::Update { id, mandatory, label, sort, add_options, remove_options } => {
            let mandatory = match mandatory.as_deref().map(str::to_ascii_uppercase).as_deref() {
                None => None,
                Some("Y") => Some(true),
                Some("N") => Some(false),
                Some(other) => return Err(format!("--mandatory takes Y or N, not {other:?}")),
            };
            let mut options: Vec<OptionSpec> = add_options.iter().map(option).collect();
            options.extend(remove_options.iter().map(|&id| OptionSpec {
                id: Some(id),
                delete: true,
                ..OptionSpec::default()
            }));
            let spec = FieldSpec {
                mandatory,
                labels: labels(label),
                sort: *sort,
                options: (!options.is_empty()).then_some(options),
                ..FieldSpec::default()
            };
            print(&[custom::update_field(ctx, &op, *id, spec).map_err(e)?], json);
        }
        UserfieldCommand::Delete { id } => {
            custom::delete_field(ctx, &op, *id).map_err(e)?;
            if !json {
                out!("custom field {id} deleted");
            }
        }
    }
    Ok(())
}
