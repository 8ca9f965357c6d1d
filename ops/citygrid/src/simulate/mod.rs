//! `citygrid simulate`: the sample city lives through months on a simulated clock, so the
//! demo has the history a city leader reads a monthly report for.
//!
//! The district instances and the city exchange run as usual, with `--simulated-clock`:
//! their relay and intake carry everything, but nothing of theirs follows the wall clock.
//! The simulator is the clock. Hour by hour it plays each district's people through the
//! district's own domain functions (`district.rs`, drawn from `script.rs`); at the end of
//! each day it writes the districts' reconciliation digests and waits until the city
//! holds everything they sent; the next morning the city's escalation round runs, and on
//! the 1st at 02:00 the monthly job (`monthly::catch_up`, the scheduled job's own
//! function) appraises the month that ended, posts the ledger and publishes the report.
//! The city's supervisors also find problems of their own, sent to the district that
//! owns the spot.
//!
//! It simulates from the first day of the earliest month up to yesterday, and resumes
//! after the last day it simulated when run again, so a second run adds nothing twice.

mod district;
mod script;

use std::sync::Arc;
use std::time::{Duration as Wait, Instant};

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use citygrid_exchange::config::City;
use citygrid_exchange::monthly::{self, Ran};
use citygrid_exchange::problems::{self, NewProblem, Reporter};
use citygrid_platform::config::Tenant;
use citygrid_platform::schema::digests;
use citygrid_platform::uplink::{digest, outbox};
use citygrid_schemas as v1;
use diesel::prelude::*;
use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use district::District;

#[derive(clap::Args)]
pub struct SimulateArgs {
    #[command(flatten)]
    sample: crate::demo::SampleCity,
    /// Whole months to live through before the current one (which runs up to yesterday).
    #[arg(long, default_value_t = 3)]
    months: u32,
    /// Start on this day instead (YYYY-MM-DD), e.g. a few days before a month's end.
    #[arg(long)]
    from: Option<NaiveDate>,
    /// A weekday's reports in each district (weekends bring about 60% of it).
    #[arg(long, default_value_t = 30.0)]
    per_day: f64,
    /// About a minute and a half instead of five: at most two months, eight reports a
    /// weekday.
    #[arg(long)]
    quick: bool,
    /// The seed of every draw: the same seed on fresh databases gives the same months.
    #[arg(long, default_value_t = 20_261_207)]
    seed: u64,
    /// Seconds to wait for the instances to be ready and for the city to catch up.
    #[arg(long, default_value_t = 180)]
    wait: u64,
}

/// Problems the city's supervisors find in a day, across all districts.
const CITY_FOUND_PER_DAY: f64 = 1.5;

/// Local `hour` o'clock on `day` (the hour after, on a day clocks go forward past it).
fn at_local(zone: Tz, day: NaiveDate, hour: u32) -> DateTime<Utc> {
    let naive = day.and_time(chrono::NaiveTime::MIN) + Duration::hours(i64::from(hour));
    (0..3)
        .find_map(|late| {
            zone.from_local_datetime(&(naive + Duration::hours(late)))
                .earliest()
        })
        .map_or_else(|| naive.and_utc(), |t| t.with_timezone(&Utc))
}

/// The first day of the month `months` before the one `today` is in.
fn first_day(today: NaiveDate, months: u32) -> NaiveDate {
    let index = today.year() * 12 + today.month0() as i32 - months as i32;
    NaiveDate::from_ymd_opt(index.div_euclid(12), index.rem_euclid(12) as u32 + 1, 1)
        .unwrap_or(today)
}

/// Retries `probe` until it gives a value or `wait` runs out.
fn poll<T>(
    what: &str,
    wait: Wait,
    mut probe: impl FnMut() -> Result<Option<T>, String>,
) -> Result<T, String> {
    let start = Instant::now();
    loop {
        if let Some(value) = probe()? {
            return Ok(value);
        }
        if start.elapsed() > wait {
            return Err(format!(
                "gave up after {} s waiting for {what}",
                wait.as_secs()
            ));
        }
        std::thread::sleep(Wait::from_millis(100));
    }
}

/// The city's side: its warehouse, the job it runs, and its supervisor.
struct CitySide {
    city: City,
    conn: PgConnection,
    supervisor: (uuid::Uuid, String),
    photo: String,
}

impl CitySide {
    fn new(city: City, wait: Wait) -> Result<CitySide, String> {
        let mut conn = crate::ledger::connect(&city)?;
        let seed = city
            .file
            .users
            .iter()
            .find(|u| {
                u.roles
                    .contains(&citygrid_exchange::api::CityRole::CitySupervisor)
            })
            .ok_or("the city file has no city_supervisor to find problems")?;
        let id = poll(
            "the city's seed users (is `city serve` running?)",
            wait,
            || {
                citygrid_exchange::users::find_by_username(&mut conn, &seed.username)
                    .map(|user| user.map(|(row, _)| row.id))
                    .map_err(|e| e.to_string())
            },
        )?;
        let supervisor = (id, seed.name.clone());
        let (photo, _) = problems::store_photo(
            &mut conn,
            &crate::client::photo("city-sim-found"),
            "image/png",
            supervisor.0,
        )
        .map_err(|e| e.to_string())?;
        Ok(CitySide {
            city,
            conn,
            supervisor,
            photo,
        })
    }

    /// What the city holds of `code`'s stream: the seq it has everything up to.
    fn cursor(&mut self, code: &str) -> Result<i64, String> {
        use citygrid_exchange::schema::districts;
        districts::table
            .find(code)
            .select(districts::cursor)
            .first(&mut self.conn)
            .optional()
            .map(|c| c.unwrap_or(0))
            .map_err(|e| e.to_string())
    }

    /// A problem a city supervisor found at `at` in `district`.
    fn found(
        &mut self,
        district: &District,
        at: DateTime<Utc>,
        rng: &mut StdRng,
    ) -> Result<(), String> {
        let problem = script::problem(rng);
        let (lon, lat, address) = district.place(rng);
        let new = NewProblem {
            category: format!("{}:{}", problem.kind, problem.code),
            urgency: v1::Urgency::Normal,
            description: format!("市级巡查发现：{}", problem.descriptions[0]),
            address,
            lon,
            lat,
            photos: vec![self.photo.clone()],
        };
        let reporter = Reporter {
            id: self.supervisor.0,
            name: &self.supervisor.1,
            key: None,
            request_hash: "",
        };
        problems::report(&mut self.conn, &self.city.registry, &new, &reporter, at)
            .map(drop)
            .map_err(|e| format!("a city-found problem: {e}"))
    }

    /// The city's escalation round at `now`: new orders, and orders climbing a level.
    fn escalate(&mut self, now: DateTime<Utc>) -> Result<usize, String> {
        citygrid_exchange::escalation::orders::run(&mut self.conn, &self.city.file.escalation, now)
            .map(|pass| pass.issued.len())
            .map_err(|e| e.to_string())
    }

    /// The monthly job as its schedule runs it at `now` (02:00 on the 1st): it waits until
    /// every district is reconciled past the month's end, as in production.
    fn monthly(&mut self, now: DateTime<Utc>, wait: Wait) -> Result<Vec<(String, Ran)>, String> {
        let (city, conn) = (&self.city, &mut self.conn);
        poll("every district to reconcile the month", wait, || {
            citygrid_exchange::reconcile::reconcile(conn, &city.registry, None, None, false)
                .map_err(|e| e.to_string())?;
            let tried =
                monthly::catch_up(conn, &city.monthly_job(), now).map_err(|e| e.to_string())?;
            Ok((!tried
                .iter()
                .any(|(_, ran)| matches!(ran, Ran::Waiting { .. })))
            .then(|| {
                tried
                    .into_iter()
                    .map(|(m, ran)| (m.to_string(), ran))
                    .collect()
            }))
        })
    }
}

pub fn run(args: SimulateArgs) -> Result<(), String> {
    let (months, per_day) = if args.quick {
        (args.months.min(2), args.per_day.min(8.0))
    } else {
        (args.months, args.per_day)
    };
    let wait = Wait::from_secs(args.wait);
    let city = City::load(&args.sample.city).map_err(|e| e.to_string())?;
    let zone = city.time_zone;
    let today = Utc::now().with_timezone(&zone).date_naive();
    let mut districts = Vec::new();
    for (tier, path) in args.sample.districts.iter().enumerate() {
        let tenant = Arc::new(Tenant::load(path).map_err(|e| format!("{}: {e}", path.display()))?);
        let pool =
            citygrid_platform::db::pool(&tenant.config.database).map_err(|e| e.to_string())?;
        // The districts differ in care and in how much is reported: the first is the
        // most careful, the last the busiest.
        let load = [1.0, 0.85, 1.15][tier % 3];
        let district = poll(
            &format!("district {} to seed its users", tenant.code()),
            wait,
            || match District::new(tenant.clone(), pool.clone(), tier % 3, per_day * load) {
                Ok(d) => Ok(Some(d)),
                Err(e) if e.contains("no user") || e.contains("does not exist") => Ok(None),
                Err(e) => Err(e),
            },
        )?;
        districts.push(district);
    }
    let mut side = CitySide::new(city, wait)?;
    // Resume after the last day every district has digested.
    let mut start = args.from.unwrap_or_else(|| first_day(today, months));
    let mut lasts = Vec::new();
    for d in &districts {
        let mut conn = d.pool.get().map_err(|e| e.to_string())?;
        let last: Option<NaiveDate> = digests::table
            .select(diesel::dsl::max(digests::day))
            .first(&mut conn)
            .map_err(|e| e.to_string())?;
        lasts.push(last);
    }
    // None sorts first: one district with no digest yet starts everything afresh.
    if let Some(last) = lasts.into_iter().min().flatten().filter(|d| *d >= start) {
        start = last.succ_opt().unwrap_or(last);
    }
    let days: Vec<NaiveDate> = start.iter_days().take_while(|d| *d < today).collect();
    if days.is_empty() {
        println!("simulate: nothing to do: simulated up to yesterday already");
        return Ok(());
    }
    // The year's deposits come before any month's penalties (posting again changes nothing).
    let codes: Vec<String> = side.city.registry.iter().map(|d| d.code.clone()).collect();
    for year in days[0].year()..=today.year() {
        let opened = NaiveDate::from_ymd_opt(year, 1, 1).map_or(days[0], |jan| jan.max(days[0]));
        let policy = &side.city.file.ledger;
        citygrid_exchange::ledger::open_year(
            &mut side.conn,
            policy,
            &codes,
            year,
            at_local(zone, opened, 0),
        )
        .map_err(|e| e.to_string())?;
    }
    println!(
        "simulate: {} to {} ({} days), about {per_day:.0} reports a weekday in each of {} districts",
        days[0],
        days[days.len() - 1],
        days.len(),
        districts.len()
    );
    let bar = ProgressBar::new(days.len() as u64).with_style(
        ProgressStyle::with_template(
            "{spinner} simulated days {bar:30} {pos}/{len} {msg} [{elapsed}]",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut rng = StdRng::seed_from_u64(args.seed);
    let began = Instant::now();
    let (mut orders, mut found) = (0, 0);
    for day in &days {
        bar.set_message(day.to_string());
        for hour in 7..22 {
            let start = at_local(zone, *day, hour);
            for d in &mut districts {
                let mut conn = d.pool.get().map_err(|e| e.to_string())?;
                d.tick(&mut conn, start, &mut rng)?;
            }
            let mean = CITY_FOUND_PER_DAY / 8.0;
            if (9..17).contains(&hour) && rng.random::<f64>() < mean {
                let at = start + Duration::seconds(rng.random_range(0..3600));
                let which = rng.random_range(0..districts.len());
                side.found(&districts[which], at, &mut rng)?;
                found += 1;
            }
        }
        // The day is over: each district's digest, then the city holds all of it.
        for d in &districts {
            let mut conn = d.pool.get().map_err(|e| e.to_string())?;
            digest::publish_day(&mut conn, d.code(), zone, *day).map_err(|e| e.to_string())?;
        }
        for d in &districts {
            let last = {
                let mut conn = d.pool.get().map_err(|e| e.to_string())?;
                outbox::last_seq(&mut conn).map_err(|e| e.to_string())?
            };
            poll(
                &format!("the city to take in {}'s day", d.code()),
                wait,
                || Ok((side.cursor(d.code())? >= last).then_some(())),
            )?;
        }
        let next = day.succ_opt().unwrap_or(*day);
        if next.day() == 1 {
            for (month, ran) in side.monthly(at_local(zone, next, 2), wait)? {
                bar.suspend(|| println!("{}", describe(&month, &ran)));
            }
        }
        orders += side.escalate(at_local(zone, next, 7))?;
        bar.inc(1);
    }
    bar.finish_and_clear();
    println!(
        "simulate: {} days in {:.0} s, {found} problems found by the city, {orders} supervision orders",
        days.len(),
        began.elapsed().as_secs_f64()
    );
    for d in &districts {
        let t = &d.tally;
        println!(
            "  {} {}: {} reported, {} steps, {} closed, {} reworked, {} extensions asked, {} orders acknowledged",
            d.code(),
            d.tenant.config.district.name,
            t.reported,
            t.steps,
            t.closed,
            t.reworked,
            t.extensions,
            t.acknowledged
        );
        for (why, n) in t.refused.iter().take(5) {
            println!("    refused {n}×: {why}");
        }
    }
    Ok(())
}

/// One line for a month the job tried.
fn describe(month: &str, ran: &Ran) -> String {
    match ran {
        Ran::Done {
            posted,
            incomplete,
            files,
        } if incomplete.is_empty() => {
            format!(
                "  {month}: appraised, {posted} ledger posting(s), report published ({} files)",
                files.len()
            )
        }
        Ran::Done {
            posted,
            incomplete,
            files,
        } => format!(
            "  {month}: appraised without {}, {posted} ledger posting(s), report published ({} files)",
            incomplete.join(", "),
            files.len()
        ),
        Ran::Already => format!("  {month}: had run before"),
        Ran::Waiting { incomplete, .. } => {
            format!("  {month}: waits for {}", incomplete.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_simulation_starts_on_the_first_of_the_month_months_back() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert_eq!(first_day(d(2026, 12, 7), 3), d(2026, 9, 1));
        assert_eq!(first_day(d(2026, 2, 28), 3), d(2025, 11, 1));
        assert_eq!(first_day(d(2026, 1, 31), 0), d(2026, 1, 1));
    }

    #[test]
    fn local_hours_are_shanghai_hours() {
        let zone = chrono_tz::Asia::Shanghai;
        let day = NaiveDate::from_ymd_opt(2026, 10, 1).unwrap();
        assert_eq!(
            at_local(zone, day, 2),
            Utc.with_ymd_and_hms(2026, 9, 30, 18, 0, 0).unwrap()
        );
        assert_eq!(
            at_local(zone, day, 0),
            Utc.with_ymd_and_hms(2026, 9, 30, 16, 0, 0).unwrap()
        );
        // 2026-03-08 02:00 does not exist in New York: the hour after stands in for it.
        let ny = chrono_tz::America::New_York;
        let spring = NaiveDate::from_ymd_opt(2026, 3, 8).unwrap();
        assert_eq!(
            at_local(ny, spring, 2),
            Utc.with_ymd_and_hms(2026, 3, 8, 7, 0, 0).unwrap()
        );
    }
}
