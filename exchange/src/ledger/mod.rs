//! The bonus/penalty ledger (奖惩台账, docs/LEDGER.md): what the city's rules
//! ([`policy`]) make of each month's and each year's appraisal, kept double-entry and
//! append-only in the warehouse ([`store`]), with the arithmetic in [`book`].
//!
//! Every run is idempotent by key: posting a month twice posts nothing new, whatever
//! restarts in between; a correction is a reversal a person asks for, then a new revision.

pub mod book;
pub mod policy;
pub mod store;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use citygrid_appraisal::{Level, Period};
use diesel::PgConnection;

use crate::appraisal::Appraiser;
use crate::error::{Error, Result};
use policy::{Plan, Policy};
use store::Outcome;

/// What a run of the rules did: one outcome per posting, and what it left for later.
#[derive(Debug)]
pub struct Run {
    pub outcomes: Vec<Outcome>,
    pub held: Vec<(String, String)>,
}

impl Run {
    /// Postings that stand with another effect than the rules give now.
    pub fn differing(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|o| matches!(o, Outcome::Differs { .. }))
            .count()
    }
}

fn run(conn: &mut PgConnection, plan: Plan, now: DateTime<Utc>) -> Result<Run> {
    Ok(Run {
        outcomes: store::post(conn, &plan.postings, now)?,
        held: plan.held,
    })
}

fn ended(period: Period, zone: chrono_tz::Tz, now: DateTime<Utc>) -> Result<()> {
    let (_, end) = period.bounds(zone);
    if end > now {
        return Err(Error::Kit(citygrid_kit::Error::invalid(
            "period",
            format!("{period} has not ended: its postings wait for its end"),
        )));
    }
    Ok(())
}

/// Posts `year`'s deposits (each district's, each leader's) and the city's funding of its
/// pool.
pub fn open_year(
    conn: &mut PgConnection,
    policy: &Policy,
    districts: &[String],
    year: i32,
    now: DateTime<Utc>,
) -> Result<Run> {
    let plan = Plan {
        postings: policy.deposits(year, districts),
        held: Vec::new(),
    };
    run(conn, plan, now)
}

/// Posts the penalties and bonuses of an ended month from its appraisal at district level.
pub fn post_month(
    conn: &mut PgConnection,
    appraiser: &Appraiser<'_>,
    policy: &Policy,
    month: Period,
    now: DateTime<Utc>,
) -> Result<Run> {
    if !matches!(month, Period::Month { .. }) {
        return Err(Error::Kit(citygrid_kit::Error::invalid(
            "period",
            "penalties and bonuses are posted month by month",
        )));
    }
    ended(month, appraiser.zone, now)?;
    let appraisal = appraiser.appraise(conn, month, Level::District, now)?;
    let (start, end) = month.bounds(appraiser.zone);
    let overdue = crate::escalation::orders::overdue_between(conn, start, end)?;
    run(conn, policy.month(&appraisal, &overdue), now)
}

/// Settles the deposits of an ended year by the year's appraisal at district level.
pub fn settle_year(
    conn: &mut PgConnection,
    appraiser: &Appraiser<'_>,
    policy: &Policy,
    year: i32,
    now: DateTime<Utc>,
) -> Result<Run> {
    let period = Period::Year { year };
    ended(period, appraiser.zone, now)?;
    let deposits = store::deposits_of(conn, year)?;
    if deposits.is_empty() {
        return Err(Error::Kit(citygrid_kit::Error::invalid(
            "year",
            format!(
                "no deposit of {year} is in the ledger: `citygrid city ledger open --year {year}` first"
            ),
        )));
    }
    let appraisal = appraiser.appraise(conn, period, Level::District, now)?;
    run(conn, policy.settle(&appraisal, &deposits), now)
}

/// The end of local day `date` in `zone` (the next local midnight), in UTC: "as of
/// 2026-10-31" counts everything booked on that day.
pub fn end_of_day(date: NaiveDate, zone: chrono_tz::Tz) -> DateTime<Utc> {
    let next = date.succ_opt().unwrap_or(date);
    zone.from_local_datetime(&next.and_time(chrono::NaiveTime::MIN))
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// The start of local day `date` in `zone`, in UTC.
pub fn start_of_day(date: NaiveDate, zone: chrono_tz::Tz) -> DateTime<Utc> {
    date.pred_opt()
        .map(|d| end_of_day(d, zone))
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}
