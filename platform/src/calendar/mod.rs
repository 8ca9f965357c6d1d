//! The working-time calendar (工作时): time limits of the command manual are counted only
//! in a district's working periods, on working days — weekends and public holidays off,
//! make-up working days (调休) on. Pure: no I/O beyond loading the yearly data files.

use std::collections::BTreeSet;
use std::path::Path;

use chrono::{
    DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc, Weekday,
};
use chrono_tz::Tz;
use serde::Deserialize;

use crate::error::{Error, Result};

/// How far `add` looks ahead before deciding the calendar has no working time at all.
const HORIZON_DAYS: i64 = 3 * 366;

/// One working period of a day, e.g. 08:30–12:00.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Period {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

impl Period {
    /// Parses `HH:MM-HH:MM`.
    pub fn parse(text: &str) -> Option<Period> {
        let (a, b) = text.split_once('-')?;
        let start = NaiveTime::parse_from_str(a.trim(), "%H:%M").ok()?;
        let end = NaiveTime::parse_from_str(b.trim(), "%H:%M").ok()?;
        (start < end).then_some(Period { start, end })
    }
}

/// A district's working calendar.
#[derive(Debug, Clone)]
pub struct WorkCalendar {
    time_zone: Tz,
    /// Sorted, non-overlapping.
    periods: Vec<Period>,
    holidays: BTreeSet<NaiveDate>,
    workdays: BTreeSet<NaiveDate>,
}

/// A yearly holiday file (`tenants/calendars/cn-YYYY.toml`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct YearFile {
    year: i32,
    #[expect(
        dead_code,
        reason = "kept in the file for people; not needed to compute"
    )]
    source: String,
    holidays: Vec<HolidayRange>,
    workdays: Vec<NaiveDate>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HolidayRange {
    #[expect(
        dead_code,
        reason = "kept in the file for people; not needed to compute"
    )]
    name: String,
    from: NaiveDate,
    to: NaiveDate,
}

impl WorkCalendar {
    /// The default working day: 08:30–12:00 and 13:30–17:30.
    pub fn default_periods() -> Vec<Period> {
        ["08:30-12:00", "13:30-17:30"]
            .into_iter()
            .filter_map(Period::parse)
            .collect()
    }

    pub fn new(time_zone: Tz, mut periods: Vec<Period>) -> Result<WorkCalendar> {
        periods.sort();
        if periods.is_empty() {
            return Err(Error::invalid(
                "working_hours",
                "a calendar needs at least one working period",
            ));
        }
        if periods.windows(2).any(|w| w[0].end > w[1].start) {
            return Err(Error::invalid("working_hours", "working periods overlap"));
        }
        Ok(WorkCalendar {
            time_zone,
            periods,
            holidays: BTreeSet::new(),
            workdays: BTreeSet::new(),
        })
    }

    pub fn add_holidays(&mut self, dates: impl IntoIterator<Item = NaiveDate>) {
        self.holidays.extend(dates);
    }

    pub fn add_workdays(&mut self, dates: impl IntoIterator<Item = NaiveDate>) {
        self.workdays.extend(dates);
    }

    /// Loads one yearly file; errors name the file and the entry.
    pub fn load_year(&mut self, path: &Path) -> Result<i32> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::config(&file, "-", format!("cannot read: {e}")))?;
        let year: YearFile =
            toml::from_str(&text).map_err(|e| Error::config(&file, "-", e.to_string()))?;
        for (i, range) in year.holidays.iter().enumerate() {
            if range.to < range.from || range.from.year() != year.year {
                return Err(Error::config(
                    &file,
                    format!("holidays[{i}]"),
                    "range must run forward within the file's year",
                ));
            }
            self.holidays
                .extend(range.from.iter_days().take_while(|d| *d <= range.to));
        }
        for (i, day) in year.workdays.iter().enumerate() {
            if !matches!(day.weekday(), Weekday::Sat | Weekday::Sun) || day.year() != year.year {
                return Err(Error::config(
                    &file,
                    format!("workdays[{i}]"),
                    format!("{day} is not a weekend day of {}", year.year),
                ));
            }
        }
        self.workdays.extend(year.workdays);
        Ok(year.year)
    }

    pub fn is_working_day(&self, day: NaiveDate) -> bool {
        if self.holidays.contains(&day) {
            return false;
        }
        self.workdays.contains(&day) || !matches!(day.weekday(), Weekday::Sat | Weekday::Sun)
    }

    fn local(&self, t: DateTime<Utc>) -> NaiveDateTime {
        t.with_timezone(&self.time_zone).naive_local()
    }

    fn utc(&self, local: NaiveDateTime) -> DateTime<Utc> {
        self.time_zone
            .from_local_datetime(&local)
            .earliest()
            .map_or_else(|| Utc.from_utc_datetime(&local), |t| t.with_timezone(&Utc))
    }

    /// The working windows from `from` onwards, in local time, day by day.
    fn windows_from(
        &self,
        from: NaiveDateTime,
    ) -> impl Iterator<Item = (NaiveDateTime, NaiveDateTime)> + '_ {
        from.date()
            .iter_days()
            .take(HORIZON_DAYS as usize)
            .filter(|day| self.is_working_day(*day))
            .flat_map(move |day| {
                self.periods.iter().filter_map(move |p| {
                    let start = day.and_time(p.start).max(from);
                    let end = day.and_time(p.end);
                    (start < end).then_some((start, end))
                })
            })
    }

    /// The instant `amount` of working time after `start` (the earliest such instant).
    /// `None` only if the calendar has no working time within three years.
    pub fn add(&self, start: DateTime<Utc>, amount: Duration) -> Option<DateTime<Utc>> {
        if amount <= Duration::zero() {
            return Some(start);
        }
        let mut left = amount;
        for (a, b) in self.windows_from(self.local(start)) {
            let window = b - a;
            if left <= window {
                return Some(self.utc(a + left));
            }
            left -= window;
        }
        None
    }

    /// Working time between two instants (zero when `to` is not after `from`).
    pub fn elapsed(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
        if to <= from {
            return Duration::zero();
        }
        let end = self.local(to);
        let mut total = Duration::zero();
        for (a, b) in self.windows_from(self.local(from)) {
            if a >= end {
                break;
            }
            total += b.min(end) - a;
        }
        total
    }
}

/// Beijing local time (`YYYY-MM-DD HH:MM`) → UTC, for tests written in local time.
#[cfg(test)]
pub(crate) fn beijing(s: &str) -> DateTime<Utc> {
    let local = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").expect("time");
    chrono_tz::Asia::Shanghai
        .from_local_datetime(&local)
        .single()
        .expect("unique")
        .with_timezone(&Utc)
}

#[cfg(test)]
mod tests {
    use super::beijing as bj;
    use super::*;
    use proptest::prelude::*;

    fn calendar() -> WorkCalendar {
        let mut cal = WorkCalendar::new(chrono_tz::Asia::Shanghai, WorkCalendar::default_periods())
            .expect("calendar");
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tenants/calendars");
        cal.load_year(&dir.join("cn-2025.toml")).expect("2025");
        cal.load_year(&dir.join("cn-2026.toml")).expect("2026");
        cal
    }

    fn hours(h: i64) -> Duration {
        Duration::hours(h)
    }

    #[test]
    fn a_limit_crosses_the_lunch_break_and_a_weekend() {
        let cal = calendar();
        // Fri 2026-11-20 11:00 + 4 h: 1 h before lunch, 3 h after → 16:30 the same day.
        assert_eq!(
            cal.add(bj("2026-11-20 11:00"), hours(4)),
            Some(bj("2026-11-20 16:30"))
        );
        // Fri 16:30 + 2 h: 1 h on Friday, then Monday 08:30 + 1 h.
        assert_eq!(
            cal.add(bj("2026-11-20 16:30"), hours(2)),
            Some(bj("2026-11-23 09:30"))
        );
        // Starting in the lunch break or at night counts from the next period.
        assert_eq!(
            cal.add(bj("2026-11-23 12:30"), Duration::minutes(30)),
            Some(bj("2026-11-23 14:00"))
        );
        assert_eq!(
            cal.add(bj("2026-11-23 22:00"), hours(1)),
            Some(bj("2026-11-24 09:30"))
        );
        // A full working day is 7.5 h.
        assert_eq!(
            cal.elapsed(bj("2026-11-23 00:00"), bj("2026-11-24 00:00")),
            Duration::minutes(450)
        );
    }

    #[test]
    fn a_holiday_week_is_skipped() {
        let cal = calendar();
        // National Day 2026: Oct 1–7 off. Wed Sep 30 17:00 + 1 h → Thu Oct 8 09:00.
        assert_eq!(
            cal.add(bj("2026-09-30 17:00"), hours(1)),
            Some(bj("2026-10-08 09:00"))
        );
        assert_eq!(
            cal.elapsed(bj("2026-10-01 00:00"), bj("2026-10-08 00:00")),
            Duration::zero()
        );
        // Spring Festival 2026 (Feb 15–23): nothing counts.
        assert!(
            (15..=23)
                .all(|d| !cal.is_working_day(NaiveDate::from_ymd_opt(2026, 2, d).expect("date")))
        );
    }

    #[test]
    fn a_make_up_saturday_is_a_working_day() {
        let cal = calendar();
        let sat = NaiveDate::from_ymd_opt(2026, 10, 10).expect("date");
        assert_eq!(sat.weekday(), Weekday::Sat);
        assert!(cal.is_working_day(sat));
        assert!(!cal.is_working_day(NaiveDate::from_ymd_opt(2026, 10, 11).expect("date")));
        // Fri Oct 9 17:00 + 1 h → Sat Oct 10 09:00 (调休上班).
        assert_eq!(
            cal.add(bj("2026-10-09 17:00"), hours(1)),
            Some(bj("2026-10-10 09:00"))
        );
    }

    #[test]
    fn bad_working_hours_and_year_files_are_refused() {
        assert!(Period::parse("12:00-08:30").is_none());
        assert!(Period::parse("8h-12h").is_none());
        let overlapping = ["08:30-12:00", "11:00-17:30"]
            .into_iter()
            .filter_map(Period::parse)
            .collect();
        assert!(WorkCalendar::new(chrono_tz::Asia::Shanghai, overlapping).is_err());
        let dir = std::env::temp_dir().join(format!("citygrid-cal-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("cn-2026.toml");
        std::fs::write(
            &path,
            "year = 2026\nsource = \"x\"\nholidays = []\nworkdays = [\"2026-10-12\"]\n",
        )
        .expect("write");
        let mut cal = calendar();
        let err = cal
            .load_year(&path)
            .expect_err("a Monday is no make-up day")
            .to_string();
        assert!(
            err.contains("cn-2026.toml") && err.contains("workdays[0]"),
            "{err}"
        );
        std::fs::remove_dir_all(dir).ok();
    }

    fn instant() -> impl Strategy<Value = DateTime<Utc>> {
        // Any minute of 2025–2026.
        (0i64..(2 * 365 * 24 * 60)).prop_map(|m| bj("2025-01-01 00:00") + Duration::minutes(m))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn adding_a_then_b_is_adding_a_plus_b(t in instant(), a in 0i64..5000, b in 0i64..5000) {
            let cal = calendar();
            let step = cal.add(t, Duration::minutes(a)).and_then(|x| cal.add(x, Duration::minutes(b)));
            prop_assert_eq!(step, cal.add(t, Duration::minutes(a + b)));
        }

        #[test]
        fn elapsed_undoes_add(t in instant(), n in 0i64..10_000) {
            let cal = calendar();
            let end = cal.add(t, Duration::minutes(n)).expect("working time exists");
            prop_assert_eq!(cal.elapsed(t, end), Duration::minutes(n));
        }

        #[test]
        fn add_is_monotonic(t in instant(), a in 0i64..5000, b in 0i64..5000) {
            let cal = calendar();
            let (lo, hi) = (a.min(b), a.max(b));
            prop_assert!(cal.add(t, Duration::minutes(lo)) <= cal.add(t, Duration::minutes(hi)));
            prop_assert!(cal.add(t, Duration::minutes(lo)).expect("exists") >= t);
        }
    }
}
