//! The card's content from the command line, as the account's operator: `cardfile absence`,
//! `profile`, `interest`, `appreciation` and `layout` (what `cardfile.absence.*`,
//! `cardfile.profile.*`, `cardfile.interest.list`, `cardfile.appreciation.*` and
//! `cardfile.layout.*` do over REST). What only a person does — giving an appreciation,
//! reading one's messages, one's own layout — takes `--as USER`.

use chrono::NaiveDate;
use clap::Subcommand;
use profile_core::access::{Actor, ScopeSet};
use profile_core::ids::{DepartmentId, UserId};
use profile_core::model::absence::AbsenceKind;
use profile_core::query::PageRequest;
use profile_core::usecase::about::{self, TAGS_LISTED_MAX};
use profile_core::usecase::absences::{self, AbsenceFilter, AbsenceSpec};
use profile_core::usecase::{appreciations, layout, users, Ctx};
use serde_json::json;

use crate::admin::{account, Outcome};
use crate::setup;

/// `cardfile absence …`
#[derive(Subcommand, Debug)]
pub(crate) enum AbsenceCommand {
    /// Record an absence: `cardfile absence add 7 --kind vacation --from 2026-12-21 --to 2026-12-31`.
    Add {
        /// Who is away.
        user: u32,
        /// vacation, business_trip, sick_leave, parental_leave or other.
        #[arg(long)]
        kind: String,
        /// The first day (YYYY-MM-DD).
        #[arg(long)]
        from: NaiveDate,
        /// The last day (inclusive).
        #[arg(long)]
        to: NaiveDate,
        /// A note.
        #[arg(long)]
        note: Option<String>,
    },
    /// Change an absence.
    Update {
        /// The absence's ID.
        id: u32,
        /// The kind.
        #[arg(long)]
        kind: Option<String>,
        /// The first day.
        #[arg(long)]
        from: Option<NaiveDate>,
        /// The last day.
        #[arg(long)]
        to: Option<NaiveDate>,
        /// The note.
        #[arg(long)]
        note: Option<String>,
    },
    /// Delete an absence.
    Delete {
        /// The absence's ID.
        id: u32,
    },
    /// The absences over a period (today and the 31 days after by default): one person's, a
    /// department's (with its sub-departments), or everyone's.
    List {
        /// One person.
        #[arg(long)]
        user: Option<u32>,
        /// A department.
        #[arg(long)]
        department: Option<u32>,
        /// The first day.
        #[arg(long)]
        from: Option<NaiveDate>,
        /// The last day.
        #[arg(long)]
        to: Option<NaiveDate>,
    },
}

/// `cardfile profile …`
#[derive(Subcommand, Debug)]
pub(crate) enum ProfileCommand {
    /// A person's "about me" (as written and as HTML) and "away until".
    Show {
        /// The user.
        user: u32,
    },
    /// Set a person's "about me" (BBCode; "" removes it).
    Set {
        /// The user.
        user: u32,
        /// The text.
        #[arg(long)]
        about: String,
    },
}

/// `cardfile interest …`
#[derive(Subcommand, Debug)]
pub(crate) enum InterestCommand {
    /// Interest tags with how many hold each, most held first.
    List {
        /// Only tags starting with this.
        prefix: Option<String>,
    },
}

/// `cardfile appreciation …`
#[derive(Subcommand, Debug)]
pub(crate) enum AppreciationCommand {
    /// Give an appreciation as a person: `cardfile appreciation give 7 --as 3 --badge star --message "Thanks!"`.
    Give {
        /// Who receives it.
        user: u32,
        /// Who gives it.
        #[arg(long = "as")]
        giver: u32,
        /// The badge's code (`cardfile appreciation badges`).
        #[arg(long)]
        badge: String,
        /// The message.
        #[arg(long)]
        message: String,
    },
    /// How many of each badge a person holds.
    Counts {
        /// The user.
        user: u32,
    },
    /// The appreciations a person received, as they read them (or, with `--as`, as that
    /// reader does: their own only).
    List {
        /// The recipient.
        user: u32,
        /// The reader (the recipient by default).
        #[arg(long = "as")]
        reader: Option<u32>,
    },
    /// Every badge kind.
    Badges,
    /// Add a badge kind.
    AddBadge {
        /// Its code (lower-case letters, digits, _).
        code: String,
        /// Its label.
        label: String,
    },
}

/// `cardfile layout …`
#[derive(Subcommand, Debug)]
pub(crate) enum LayoutCommand {
    /// The layout a person sees cards in (the account's default without `--as`).
    Show {
        /// The person.
        #[arg(long = "as")]
        viewer: Option<u32>,
    },
    /// Set the account's default layout, or with `--as` a person's own: `cardfile layout set EMAIL,WORK_PHONE,ABOUT`.
    Set {
        /// The fields, comma-separated.
        fields: String,
        /// The person.
        #[arg(long = "as")]
        viewer: Option<u32>,
    },
    /// A person goes back to the account's default layout.
    Reset {
        /// The person.
        #[arg(long = "as")]
        viewer: u32,
    },
}

/// One of the card's commands.
#[derive(Debug)]
pub(crate) enum CardCommand<'a> {
    Absence(&'a AbsenceCommand),
    Profile(&'a ProfileCommand),
    Interest(&'a InterestCommand),
    Appreciation(&'a AppreciationCommand),
    Layout(&'a LayoutCommand),
}

fn err(e: profile_core::CoreError) -> String {
    e.to_string()
}

fn person(ctx: Ctx<'_>, op: &Actor, user: u32) -> Result<Actor, String> {
    users::actor_for(ctx, op.account, UserId(user), ScopeSet::all())
        .map_err(|_| format!("no active user {user}"))
}

fn kind(code: &str) -> Result<AbsenceKind, String> {
    AbsenceKind::from_code(code).ok_or_else(|| {
        format!("unknown kind {code:?} (vacation, business_trip, sick_leave, parental_leave, other)")
    })
}

pub(crate) fn run(
    db_path: &crate::store::Target,
    slug: Option<&str>,
    json: bool,
    cmd: CardCommand<'_>,
) -> Outcome {
    let db = setup::open(db_path)?;
    let ctx = setup::ctx(&db, "");
    let op = Actor::operator(account(ctx, slug)?.id);
    match cmd {
        CardCommand::Absence(c) => absence(ctx, &op, json, c),
        CardCommand::Profile(c) => profile(ctx, &op, json, c),
        CardCommand::Interest(InterestCommand::List { prefix }) => {
            let tags = about::interest_tags(ctx, &op, prefix.as_deref().unwrap_or(""), TAGS_LISTED_MAX)
                .map_err(err)?;
            if json {
                out!(
                    "{}",
                    json!(tags
                        .iter()
                        .map(|(t, n)| json!({"tag": format!("#{t}"), "count": n}))
                        .collect::<Vec<_>>())
                );
            } else if tags.is_empty() {
                out!("no interest tags");
            }
            for (t, n) in tags.iter().filter(|_| !json) {
                out!("#{t:<32} {n}");
            }
            Ok(())
        }
        CardCommand::Appreciation(c) => appreciation(ctx, &op, json, c),
        CardCommand::Layout(c) => layout_command(ctx, &op, json, c),
    }
}

fn absence(ctx: Ctx<'_>, op: &Actor, json: bool, cmd: &AbsenceCommand) -> Outcome {
    match cmd {
        AbsenceCommand::Add { user, kind: k, from, to, note } => {
            let spec =
                AbsenceSpec { kind: Some(kind(k)?), from: Some(*from), to: Some(*to), note: note.clone() };
            let a = absences::add_absence(ctx, op, UserId(*user), spec).map_err(err)?;
            if json {
                out!("{}", json!({"id": a.id}));
            } else {
                out!("absence {} recorded", a.id);
            }
        }
        AbsenceCommand::Update { id, kind: k, from, to, note } => {
            let spec = AbsenceSpec {
                kind: k.as_deref().map(kind).transpose()?,
                from: *from,
                to: *to,
                note: note.clone(),
            };
            absences::update_absence(ctx, op, *id, spec).map_err(err)?;
            if !json {
                out!("absence {id} changed");
            }
        }
        AbsenceCommand::Delete { id } => {
            absences::delete_absence(ctx, op, *id).map_err(err)?;
            if !json {
                out!("absence {id} deleted");
            }
        }
        AbsenceCommand::List { user, department, from, to } => {
            let today = ctx.clock.now().date_naive();
            let from = from.unwrap_or(today);
            let filter = AbsenceFilter {
                user: user.map(UserId),
                department: department.map(DepartmentId),
                from,
                to: to.unwrap_or(from + chrono::Duration::days(31)),
            };
            let mut all = Vec::new();
            // Bounded: a listing holds at most ABSENCES_LISTED_MAX absences.
            loop {
                let page = PageRequest { start: all.len() as u64, count_total: true };
                let found = absences::list_absences(ctx, op, &filter, page).map_err(err)?;
                let done = found.next(page.start).is_none();
                all.extend(found.items);
                if done {
                    break;
                }
            }
            if json {
                let list: Vec<_> = all
                    .iter()
                    .map(|a| json!({"id": a.id, "user": a.user.0, "from": a.from.to_string(), "to": a.to.to_string(),
                        "kind": a.kind.map(AbsenceKind::code), "note": a.note}))
                    .collect();
                out!("{}", serde_json::Value::Array(list));
            } else if all.is_empty() {
                out!("no absences from {} to {}", filter.from, filter.to);
            }
            for a in all.iter().filter(|_| !json) {
                let kind = a.kind.map_or("", AbsenceKind::code);
                out!(
                    "{:<6} user {:<8} {} – {}  {kind} {}",
                    a.id,
                    a.user.0,
                    a.from,
                    a.to,
                    a.note.as_deref().unwrap_or("")
                );
            }
        }
    }
    Ok(())
}

fn profile(ctx: Ctx<'_>, op: &Actor, json: bool, cmd: &ProfileCommand) -> Outcome {
    let c = match cmd {
        ProfileCommand::Show { user } => about::profile_content(ctx, op, UserId(*user)).map_err(err)?,
        ProfileCommand::Set { user, about: text } => {
            about::set_about(ctx, op, UserId(*user), text).map_err(err)?
        }
    };
    if json {
        out!(
            "{}",
            json!({"id": c.user.0, "about": c.about, "about_html": c.about_html, "away_until": c.away_until.map(|d| d.to_string())})
        );
    } else {
        out!("about me:   {}", if c.about.is_empty() { "(none)" } else { &c.about });
        if let Some(d) = c.away_until {
            out!("away until: {d}");
        }
    }
    Ok(())
}

fn appreciation(ctx: Ctx<'_>, op: &Actor, json: bool, cmd: &AppreciationCommand) -> Outcome {
    match cmd {
        AppreciationCommand::Give { user, giver, badge, message } => {
            let actor = person(ctx, op, *giver)?;
            let a = appreciations::give(ctx, &actor, UserId(*user), badge, message).map_err(err)?;
            if json {
                out!("{}", json!({"id": a.id}));
            } else {
                out!("appreciation {} given", a.id);
            }
        }
        AppreciationCommand::Counts { user } => {
            let counts = appreciations::counts(ctx, op, UserId(*user)).map_err(err)?;
            if json {
                let map: serde_json::Map<String, serde_json::Value> =
                    counts.iter().map(|(b, n)| (b.clone(), json!(n))).collect();
                out!("{}", serde_json::Value::Object(map));
            } else if counts.is_empty() {
                out!("no appreciations");
            }
            for (b, n) in counts.iter().filter(|_| !json) {
                out!("{b:<20} {n}");
            }
        }
        AppreciationCommand::List { user, reader } => {
            let actor = person(ctx, op, reader.unwrap_or(*user))?;
            let page =
                appreciations::list(ctx, &actor, UserId(*user), PageRequest::default()).map_err(err)?;
            if json {
                let list: Vec<_> = page
                    .items
                    .iter()
                    .map(|a| json!({"id": a.id, "from": a.giver.0, "badge": a.badge, "message": a.message, "at": a.at.to_rfc3339()}))
                    .collect();
                out!("{}", serde_json::Value::Array(list));
            } else if page.items.is_empty() {
                out!("no appreciations to read");
            }
            for a in page.items.iter().filter(|_| !json) {
                out!("{:<6} from {:<8} {:<12} {}", a.id, a.giver.0, a.badge, a.message);
            }
        }
        AppreciationCommand::Badges => {
            let badges = appreciations::badges(ctx, op).map_err(err)?;
            if json {
                let list: Vec<_> = badges
                    .iter()
                    .map(|b| json!({"code": b.code, "label": b.label, "builtin": b.builtin}))
                    .collect();
                out!("{}", serde_json::Value::Array(list));
            }
            for b in badges.iter().filter(|_| !json) {
                out!("{:<20} {}{}", b.code, b.label, if b.builtin { "" } else { " (added)" });
            }
        }
        AppreciationCommand::AddBadge { code, label } => {
            let b = appreciations::add_badge(ctx, op, code, label).map_err(err)?;
            if !json {
                out!("badge {} added", b.code);
            }
        }
    }
    Ok(())
}

fn layout_command(ctx: Ctx<'_>, op: &Actor, json: bool, cmd: &LayoutCommand) -> Outcome {
    let shown = match cmd {
        LayoutCommand::Show { viewer } => match viewer {
            Some(v) => layout::layout(ctx, &person(ctx, op, *v)?),
            None => layout::layout(ctx, op),
        },
        LayoutCommand::Set { fields, viewer } => {
            let fields: Vec<String> =
                fields.split(',').map(str::to_string).filter(|f| !f.trim().is_empty()).collect();
            match viewer {
                Some(v) => layout::set_layout(ctx, &person(ctx, op, *v)?, &fields, false),
                None => layout::set_layout(ctx, op, &fields, true),
            }
        }
        LayoutCommand::Reset { viewer } => layout::reset_layout(ctx, &person(ctx, op, *viewer)?),
    }
    .map_err(err)?;
    if json {
        out!("{}", json!({"fields": shown.fields, "own": shown.own}));
    } else {
        out!("{} layout: {}", if shown.own { "own" } else { "default" }, shown.fields.join(", "));
    }
    Ok(())
}
