//! The monthly job (月度考核, docs/MONTHLY.md): once a month has ended and every district's
//! stream is reconciled past its end (or a grace period has passed, and the report names
//! the districts still incomplete), the city evaluates escalation, archives the month,
//! posts its penalties and bonuses to the ledger, renders and stores its report, sends
//! each district its section, and records the run — in one transaction. A month is run
//! exactly once: the run holds a transaction-scoped advisory lock on its month and
//! commits its row with everything else, so a second city process waits and then finds it
//! done, and a run cut short by a crash leaves nothing and is run again. Months missed
//! while the city was down are caught up in order, never one before the month ahead of
//! it. Blocking (diesel).

use chrono::{DateTime, Datelike, Duration, Utc};
use citygrid_appraisal::Period;
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use serde::Deserialize;

use crate::appraisal::{Appraiser, incomplete, last_day};
use crate::config::City;
use crate::error::{Error, Result};
use crate::escalation::Escalation;
use crate::ledger::{self, policy::Policy, store::Outcome};
use crate::report::{self, File, store};
use crate::schema::monthly_runs;

/// `[monthly]` in the city file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonthlySection {
    /// When `city serve` runs the job: a cron expression with seconds, in the city's time
    /// zone. Default `0 0 2 1 * *`, 02:00 on the 1st (a city process also catches up when
    /// it starts).
    #[serde(default = "default_cron")]
    pub cron: String,
    /// Hours after a month's end to wait for every district to reconcile; then the month
    /// runs without the late ones, and its row names them. Default 48.
    #[serde(default = "default_grace_hours")]
    pub grace_hours: u32,
    /// The first month the job runs (`2026-10`); without one, only months after the
    /// newest run, or the month just ended when nothing has run yet.
    #[serde(default)]
    pub first_month: Option<String>,
    /// Print each report to PDF with headless Chromium (default true); without a working
    /// Chromium the report is stored without its PDF, and the log says why.
    #[serde(default = "default_pdf")]
    pub pdf: bool,
    /// The Chromium binary (default `chromium`, Debian's, on the path).
    #[serde(default = "default_chromium")]
    pub chromium: std::path::PathBuf,
}

fn default_pdf() -> bool {
    true
}

fn default_chromium() -> std::path::PathBuf {
    "chromium".into()
}

fn default_grace_hours() -> u32 {
    48
}

fn default_cron() -> String {
    "0 0 2 1 * *".to_owned()
}

impl Default for MonthlySection {
    fn default() -> Self {
        MonthlySection {
            cron: default_cron(),
            grace_hours: default_grace_hours(),
            first_month: None,
            pdf: default_pdf(),
            chromium: default_chromium(),
        }
    }
}

impl MonthlySection {
    /// Checks the section as `City::load` does: a cron expression the scheduler reads and
    /// a first month that is a month.
    pub fn validate(&self) -> std::result::Result<(), String> {
        citygrid_kit::schedule::check_cron(&self.cron).map_err(|e| format!("monthly.cron {e}"))?;
        self.first().map(drop)
    }

    /// How the job prints PDFs, if it does.
    pub fn printer(&self) -> Option<crate::report::pdf::Pdf> {
        self.pdf.then(|| crate::report::pdf::Pdf {
            chromium: self.chromium.clone(),
        })
    }

    /// The configured first month, checked (a month, not a quarter or a year).
    pub fn first(&self) -> std::result::Result<Option<Period>, String> {
        let Some(text) = &self.first_month else {
            return Ok(None);
        };
        match text.parse::<Period>()? {
            month @ Period::Month { .. } => Ok(Some(month)),
            other => Err(format!("monthly.first_month: {other} is not a month")),
        }
    }
}

/// The month after `month`.
pub fn next(month: Period) -> Period {
    match month {
        Period::Month { year, month: 12 } => Period::Month {
            year: year + 1,
            month: 1,
        },
        Period::Month { year, month } => Period::Month {
            year,
            month: month + 1,
        },
        other => other,
    }
}

/// The month before `month`.
pub fn previous(month: Period) -> Period {
    match month {
        Period::Month { year, month: 1 } => Period::Month {
            year: year - 1,
            month: 12,
        },
        Period::Month { year, month } => Period::Month {
            year,
            month: month - 1,
        },
        other => other,
    }
}

/// The month that ended last before `now` in `zone`.
pub fn just_ended(now: DateTime<Utc>, zone: chrono_tz::Tz) -> Period {
    let today = now.with_timezone(&zone).date_naive();
    match today.month() {
        1 => Period::Month {
            year: today.year() - 1,
            month: 12,
        },
        m => Period::Month {
            year: today.year(),
            month: m - 1,
        },
    }
}

/// The months to run, in order: from the one after the newest run (or `first`, or the
/// month just ended when there is neither) up to the month just ended. Pure.
pub fn due(
    newest: Option<Period>,
    first: Option<Period>,
    now: DateTime<Utc>,
    zone: chrono_tz::Tz,
) -> Vec<Period> {
    let last = just_ended(now, zone);
    let mut month = match (newest.map(next), first) {
        (Some(after), Some(first)) => after.max(first),
        (Some(after), None) => after,
        (None, Some(first)) => first,
        (None, None) => last,
    };
    let mut months = Vec::new();
    while month <= last {
        months.push(month);
        month = next(month);
    }
    months
}

/// What one month's run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ran {
    /// Run now (or rendered, on a dry run): the ledger postings it made, the districts it
    /// went without, and the city's report files.
    Done {
        posted: usize,
        incomplete: Vec<String>,
        files: Vec<File>,
    },
    /// Run before (by this process or another): nothing done.
    Already,
    /// Districts are not reconciled past the month's end and the grace has not passed.
    Waiting {
        incomplete: Vec<String>,
        until: DateTime<Utc>,
    },
}

/// Whether a run keeps what it did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Commit,
    /// Everything a run does, then rolled back: the report as it would be, nothing posted,
    /// nothing recorded.
    DryRun,
}

/// What the job works with, borrowed from the city.
pub struct Job<'a> {
    /// The city's name, for the report's title.
    pub city: &'a str,
    pub appraiser: Appraiser<'a>,
    pub policy: &'a Policy,
    pub escalation: &'a Escalation,
    pub section: &'a MonthlySection,
}

/// The advisory lock of a month: a fixed namespace and the month as a number, so two city
/// processes running the same month queue on it.
fn lock_key(month: Period) -> i64 {
    const NAMESPACE: i64 = 0x6d6f_6e74_6800_0000; // "month"
    match month {
        Period::Month { year, month } => NAMESPACE + i64::from(year) * 100 + i64::from(month),
        _ => NAMESPACE,
    }
}

/// Runs `month` once (see the module's comment): escalation is evaluated as of `now`,
/// the month is archived (when the city keeps an archive), its penalties and bonuses are
/// posted, and its report is rendered and stored — the city's and each district's
/// section — with the run's row, all in one transaction.
pub fn run_month(
    conn: &mut PgConnection,
    job: &Job<'_>,
    month: Period,
    grace: Duration,
    now: DateTime<Utc>,
    mode: Mode,
) -> Result<Ran> {
    let appraiser = &job.appraiser;
    let (_, end) = month.bounds(appraiser.zone);
    if !matches!(month, Period::Month { .. }) || end > now {
        return Err(Error::Config(format!(
            "{month} is not a month that has ended"
        )));
    }
    let mut dry = None;
    let result = conn.transaction(|conn| {
        diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
            .bind::<BigInt, _>(lock_key(month))
            .execute(conn)?;
        let done: i64 = monthly_runs::table
            .find(month.to_string())
            .count()
            .get_result(conn)?;
        if done > 0 {
            return Ok(Ran::Already);
        }
        let last_day = last_day(end, appraiser.zone);
        let late: Vec<String> = incomplete(conn, appraiser.registry, last_day)?
            .into_iter()
            .collect();
        if !late.is_empty() && now < end + grace {
            return Ok(Ran::Waiting {
                incomplete: late,
                until: end + grace,
            });
        }
        crate::warehouse::lock_districts(conn)?;
        crate::escalation::orders::run(conn, job.escalation, now)?;
        // A dry run writes no Parquet; it reads the same facts from the warehouse.
        if appraiser.archive.is_some() && mode == Mode::Commit {
            appraiser.archive_month(conn, month, now)?;
        }
        let run = ledger::post_month(conn, appraiser, job.policy, month, now)?;
        let posted = run
            .outcomes
            .iter()
            .filter(|o| matches!(o, Outcome::Posted(_)))
            .count();
        diesel::insert_into(monthly_runs::table)
            .values((
                monthly_runs::month.eq(month.to_string()),
                monthly_runs::ran_at.eq(now),
                monthly_runs::incomplete.eq(&late),
                monthly_runs::postings.eq(posted as i32),
            ))
            .execute(conn)?;
        let files = render(conn, job, month, &late, now)?;
        let ran = Ran::Done {
            posted,
            incomplete: late,
            files,
        };
        if mode == Mode::DryRun {
            dry = Some(ran);
            return Err(Error::Database(diesel::result::Error::RollbackTransaction));
        }
        tracing::info!(%month, posted, "month run, report stored");
        Ok(ran)
    });
    match dry {
        Some(ran) => Ok(ran),
        None => result,
    }
}

/// Renders and stores `month`'s report: the city's files, and each district's section,
/// each sent to its district as a `report_notice` through the command outbox. Returns the
/// city's.
fn render(
    conn: &mut PgConnection,
    job: &Job<'_>,
    month: Period,
    late: &[String],
    now: DateTime<Utc>,
) -> Result<Vec<File>> {
    let report = report::gather(conn, &job.appraiser, job.city, month, late, now)?;
    let pdf = job.section.printer();
    let key = month.to_string();
    let files = report.files(None, pdf.as_ref())?;
    store::save(conn, &key, store::CITY, &files)?;
    for (code, _) in &report.districts {
        let section = report.section(code).files(Some(code), pdf.as_ref())?;
        store::save(conn, &key, code, &section)?;
        let notice = report::notice::notice(&report, code, &section, now);
        crate::warehouse::enqueue_command(conn, code, notice)?;
    }
    Ok(files)
}

/// The newest month run, if any.
pub fn newest(conn: &mut PgConnection) -> Result<Option<Period>> {
    let newest: Option<String> = monthly_runs::table
        .select(diesel::dsl::max(monthly_runs::month))
        .first(conn)?;
    newest
        .map(|m| m.parse::<Period>().map_err(Error::Internal))
        .transpose()
}

/// Runs every month due, in order, stopping at the first that must wait: a later month is
/// never run before the one ahead of it. Returns each month tried and what it did.
pub fn catch_up(
    conn: &mut PgConnection,
    job: &Job<'_>,
    now: DateTime<Utc>,
) -> Result<Vec<(Period, Ran)>> {
    let first = job.section.first().map_err(Error::Config)?;
    let grace = Duration::hours(i64::from(job.section.grace_hours));
    let mut tried = Vec::new();
    for month in due(newest(conn)?, first, now, job.appraiser.zone) {
        let ran = run_month(conn, job, month, grace, now, Mode::Commit)?;
        let waiting = matches!(ran, Ran::Waiting { .. });
        tried.push((month, ran));
        if waiting {
            break;
        }
    }
    Ok(tried)
}

/// The scheduled job: the city it runs for, shared with the rest of `city serve`.
#[derive(Debug, Clone)]
pub struct Schedule {
    city: std::sync::Arc<City>,
}

impl Schedule {
    pub fn of(city: std::sync::Arc<City>) -> Schedule {
        Schedule { city }
    }

    /// Catches up now, logging what each month did; failures are logged and left to the
    /// next run.
    fn catch_up(&self, conn: &mut PgConnection) {
        match catch_up(conn, &self.city.monthly_job(), Utc::now()) {
            Ok(tried) => {
                for (month, ran) in tried {
                    if let Ran::Waiting { incomplete, until } = ran {
                        tracing::warn!(%month, ?incomplete, %until, "the month waits for districts to reconcile");
                    }
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "the monthly job failed; the next run tries again")
            }
        }
    }

    /// Runs the job once now (months missed while the city was down) and then on its cron
    /// schedule, until the process ends. A month still waiting is tried again every hour.
    pub async fn run(self, pool: citygrid_kit::db::DbPool) {
        let this = self;
        let (zone, cron) = (this.city.time_zone, this.city.file.monthly.cron.clone());
        let tick = move || {
            let (this, pool) = (this.clone(), pool.clone());
            async move {
                let done = tokio::task::spawn_blocking(move || match pool.get() {
                    Ok(mut conn) => this.catch_up(&mut conn),
                    Err(e) => tracing::error!(error = %e, "the monthly job has no connection"),
                })
                .await;
                if let Err(e) = done {
                    tracing::error!(error = %e, "the monthly job panicked");
                }
            }
        };
        citygrid_kit::schedule::every("monthly", zone, &[&cron, "0 30 * * * *"], tick).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn m(year: i32, month: u32) -> Period {
        Period::Month { year, month }
    }

    #[test]
    fn the_months_due_run_from_after_the_newest_to_the_month_just_ended() {
        let zone = chrono_tz::Asia::Shanghai;
        // 2027-01-01 01:00 in Shanghai is still 2026-12-31 in UTC: December has ended.
        let now = Utc.with_ymd_and_hms(2026, 12, 31, 17, 0, 0).unwrap();
        assert_eq!(just_ended(now, zone), m(2026, 12));
        assert_eq!(due(None, None, now, zone), [m(2026, 12)]);
        assert_eq!(
            due(Some(m(2026, 9)), None, now, zone),
            [m(2026, 10), m(2026, 11), m(2026, 12)]
        );
        assert_eq!(
            due(Some(m(2026, 9)), Some(m(2026, 11)), now, zone),
            [m(2026, 11), m(2026, 12)]
        );
        assert_eq!(due(None, Some(m(2026, 12)), now, zone), [m(2026, 12)]);
        assert!(due(Some(m(2026, 12)), None, now, zone).is_empty());
        assert!(due(None, Some(m(2027, 1)), now, zone).is_empty());
        // An hour earlier December is still running in Shanghai.
        let before = now - Duration::hours(2);
        assert_eq!(due(None, None, before, zone), [m(2026, 11)]);
        assert_eq!(next(m(2026, 12)), m(2027, 1));
        assert_eq!(previous(m(2027, 1)), m(2026, 12));
    }

    #[test]
    fn each_month_has_its_own_lock() {
        assert_ne!(lock_key(m(2026, 10)), lock_key(m(2026, 11)));
        assert_ne!(lock_key(m(2026, 12)), lock_key(m(2027, 1)));
    }
}
