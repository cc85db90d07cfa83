//! The card's content figures (issue 22), on a server of its own after the card's: `user.get`
//! filtered by an interest tag 1% of users hold (the first page, with its total), and the
//! absence chart of a 1,000-person department for a month (two absences a person; the first
//! page of `cardfile.absence.list`, which reads and counts every absence of the month). The
//! tags, the department and its absences go again at the end.

use std::path::Path;
use std::sync::Arc;

use chrono::{Duration, NaiveDate};
use profile_core::access::Actor;
use profile_core::field::UserField;
use profile_core::ids::{AccountId, DepartmentId, Sequence, UserId};
use profile_core::model::absence::{Absence, AbsenceKind};
use profile_core::ports::Database;
use profile_core::usecase::departments::{self, NewDepartment};
use profile_core::value::Value;
use store_sqlite::SqliteDb;

use crate::data::Rng;
use crate::http::{self, request, MakeRequest};
use crate::{ctx_for, ms, stats};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// The people of the chart's department.
const CHART_PEOPLE: u32 = 1_000;

/// The tag 1% of users get.
const TAG: &str = "bench_climbing";

/// What the set-up changed, to undo it.
struct Setup {
    department: DepartmentId,
    members: Vec<UserId>,
    /// Users given the tag, with what `UF_INTERESTS` held before.
    tagged: Vec<(UserId, String)>,
    absences: Vec<u32>,
}

/// The month the chart shows.
fn month() -> (NaiveDate, NaiveDate) {
    let from = NaiveDate::from_ymd_opt(2031, 3, 1).unwrap_or_default();
    (from, from + Duration::days(30))
}

fn setup(db: &SqliteDb, account: AccountId, users: u32) -> Result<Setup, Error> {
    let op = Actor::operator(account);
    let new =
        NewDepartment { name: "Bench chart".into(), parent: Some(DepartmentId(1)), sort: None, head: None };
    let department = departments::add_department(ctx_for(db), &op, new)?.id;
    let step = ((users - 1) / CHART_PEOPLE).max(1);
    let members: Vec<UserId> =
        (0..CHART_PEOPLE).map(|i| UserId(2 + i * step)).filter(|u| u.0 <= users).collect();
    let mut tx = Database::write(db)?;
    let mut tagged = Vec::new();
    for id in (100..=users).step_by(100).map(UserId) {
        let Some(mut user) = tx.user(account, id)? else { continue };
        let before = user.text(UserField::UfInterests).to_string();
        let patch = profile_core::model::user::UserPatch::parse([(
            UserField::UfInterests,
            Value::text(format!("{before} #{TAG}")),
        )])?;
        user.apply(&patch);
        tx.update_user(&user)?;
        tagged.push((id, before));
    }
    for &id in &members {
        let Some(mut user) = tx.user(account, id)? else { continue };
        user.departments.push(department);
        tx.update_user(&user)?;
    }
    let (from, _) = month();
    let mut rng = Rng::new(22);
    let first = tx.next_ids(account, Sequence::Absence, members.len() as u32 * 2)?;
    let mut absences = Vec::new();
    for (i, &user) in members.iter().enumerate() {
        for half in 0..2u32 {
            let start = from + Duration::days(i64::from(half * 15) + rng.below(10) as i64);
            let id = first + i as u32 * 2 + half;
            let a = Absence {
                account,
                id,
                user,
                kind: AbsenceKind::ALL[rng.below(AbsenceKind::ALL.len())],
                from: start,
                to: start + Duration::days(rng.below(5) as i64),
                note: String::new(),
                recorded_by: UserId(1),
            };
            tx.insert_absence(&a)?;
            absences.push(id);
        }
    }
    tx.commit()?;
    Ok(Setup { department, members, tagged, absences })
}

fn teardown(db: &SqliteDb, account: AccountId, s: &Setup) -> Result<(), Error> {
    let mut tx = Database::write(db)?;
    for &id in &s.absences {
        tx.delete_absence(account, id)?;
    }
    for &id in &s.members {
        let Some(mut user) = tx.user(account, id)? else { continue };
        user.departments.retain(|d| *d != s.department);
        tx.update_user(&user)?;
    }
    for (id, before) in &s.tagged {
        let Some(mut user) = tx.user(account, *id)? else { continue };
        user.apply(&profile_core::model::user::UserPatch::parse([(
            UserField::UfInterests,
            Value::text(before),
        )])?);
        tx.update_user(&user)?;
    }
    tx.commit()?;
    departments::delete_department(ctx_for(db), &Actor::operator(account), s.department)?;
    Ok(())
}

/// Runs the figures on the seeded database; prints markdown rows.
pub fn run(
    db: &SqliteDb,
    db_path: &Path,
    account: AccountId,
    n: usize,
    plan: &http::Plan,
) -> Result<(), Error> {
    let base = Arc::new(http::webhook_base(db, account, "bench-content")?);
    let s = setup(db, account, n as u32 + 1)?;
    let server = http::start(&plan.cardfile, db_path.as_os_str())?;
    let (port, conns, secs) = (server.port, plan.connections, plan.seconds);
    let tag_req: MakeRequest = {
        let base = Arc::clone(&base);
        Arc::new(move |_: &mut Rng, _: usize| {
            request(&format!("{base}/user.get"), &format!("{{\"FILTER\":{{\"UF_INTERESTS\":\"#{TAG}\"}}}}"))
        })
    };
    let (tag_rps, tag_lat) = http::load(port, conns, secs, tag_req.clone())?;
    let (_, tag1_lat) = http::load(port, 1, secs, tag_req)?;
    let (from, to) = month();
    let chart_req: MakeRequest = {
        let base = Arc::clone(&base);
        let body = format!(
            "{{\"FILTER\":{{\"UF_DEPARTMENT\":{},\"DATE_FROM\":\"{from}\",\"DATE_TO\":\"{to}\"}}}}",
            s.department.0
        );
        Arc::new(move |_: &mut Rng, _: usize| request(&format!("{base}/cardfile.absence.list"), &body))
    };
    let (chart_rps, chart_lat) = http::load(port, conns, secs, chart_req.clone())?;
    let (_, chart1_lat) = http::load(port, 1, secs, chart_req)?;
    drop(server);
    teardown(db, account, &s)?;
    let (tag, tag1, chart, chart1) = (stats(tag_lat), stats(tag1_lat), stats(chart_lat), stats(chart1_lat));
    println!(
        "| user.get filtered by an interest tag {} users hold (first page, with total) | p50 {} · p99 {} ({tag_rps:.0} req/s, {conns} connections); p50 {} · p99 {} (1 connection) |",
        s.tagged.len(),
        ms(tag.p50),
        ms(tag.p99),
        ms(tag1.p50),
        ms(tag1.p99)
    );
    println!(
        "| absence chart of a {}-person department for a month ({} absences; first page, with total) | p50 {} · p99 {} ({chart_rps:.0} req/s, {conns} connections); p50 {} · p99 {} (1 connection) |",
        s.members.len(),
        s.absences.len(),
        ms(chart.p50),
        ms(chart.p99),
        ms(chart1.p50),
        ms(chart1.p99)
    );
    Ok(())
}
