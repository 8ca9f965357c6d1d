//! The working-time calendar (工作时): time limits of the command manual are counted only
//! in a district's working periods, on working days — weekends and public holidays off,
//! make-up working days (调休) on. Pure: no I/O beyond loading the yearly data files. In
//! the kit because the city counts working time too (escalation after N working hours).
//!
//! Holidays are data, one file per year (the State Council publishes the next year's
//! arrangement each November). A year without a file is *not covered*: a working-time
//! computation that reaches into it is an error ([`CalendarError::NotCovered`]), never a
//! plain Monday-to-Friday count, and [`WorkCalendar::coverage`] says how far ahead the
//! loaded files reach so the district can warn before the year turns.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chrono::{
    DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc, Weekday,
};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

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

/// Why a working-time computation has no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// The computation runs into a year for which no holiday file is loaded.
    #[error("the working calendar does not cover {year}: the holiday file {file} is not loaded")]
    NotCovered {
        year: i32,
        /// The file name the missing year's data is expected under, e.g. `cn-2027.toml`.
        file: String,
    },
    /// Covered years with no working time at all within three years (all holidays).
    #[error("the working calendar has no working time within three years")]
    NoWorkingTime,
}

/// How far ahead the loaded holiday files reach, seen from one day of the district.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Coverage {
    /// The district's local date the coverage is seen from.
    pub today: NaiveDate,
    /// The last day of the run of covered years that contains `today`; null when today's
    /// own year has no holiday file (working-time deadlines are refused altogether).
    pub covers_until: Option<NaiveDate>,
    /// Days from `today` to the first day no holiday file covers (0 when today is one).
    pub days_left: i64,
    /// The year after today's has no holiday file yet.
    pub missing_next_year: bool,
    /// The first year without a holiday file.
    pub missing_year: i32,
    /// The file name that year is expected under, e.g. `cn-2027.toml`.
    pub missing_file: String,
    /// `days_left` is within the configured lead (`calendar.missing_year_alarm_days`,
    /// default 31 days, so from 1 December): someone must add the next year's file.
    pub alarm: bool,
    /// What to do, for people; present when `alarm` is.
    pub warning: Option<String>,
    /// Years without a file count Monday to Friday as working days instead of being
    /// refused (`calendar.unpublished_year = "weekdays"`, demo tenants only).
    pub weekdays_assumed: bool,
}

/// A district's working calendar.
#[derive(Debug, Clone)]
pub struct WorkCalendar {
    time_zone: Tz,
    /// Sorted, non-overlapping.
    periods: Vec<Period>,
    holidays: BTreeSet<NaiveDate>,
    workdays: BTreeSet<NaiveDate>,
    /// The years with a loaded holiday file, and the file each came from.
    years: BTreeMap<i32, PathBuf>,
    /// What a year with no file counts as (`calendar.unpublished_year`).
    unpublished: UnpublishedYear,
}

/// What a working-time count does in a year whose holiday file is not loaded
/// (`calendar.unpublished_year`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UnpublishedYear {
    /// Refuse the count (503 `calendar_not_covered`): a deadline that ignores the Spring
    /// Festival is worse than none. Every real district.
    #[default]
    Refuse,
    /// Count Monday to Friday as working days, with the alarm kept on. Demo tenants only
    /// (`demo = true`), so a demo runs on any day of the year, including before the
    /// State Council has published the coming year's arrangement.
    Weekdays,
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
            years: BTreeMap::new(),
            unpublished: UnpublishedYear::Refuse,
        })
    }

    /// Loads one yearly file; errors name the file and the entry.
    pub fn load_year(&mut self, path: &Path) -> Result<i32> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::config(&file, "-", format!("cannot read: {e}")))?;
        let year: YearFile =
            toml::from_str(&text).map_err(|e| Error::config(&file, "-", e.to_string()))?;
        if let Some(earlier) = self.years.get(&year.year) {
            return Err(Error::config(
                &file,
                "year",
                format!("{} is already loaded from {}", year.year, earlier.display()),
            ));
        }
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
        self.years.insert(year.year, path.to_owned());
        Ok(year.year)
    }

    /// The years a holiday file was loaded for, in order.
    pub fn years(&self) -> impl DoubleEndedIterator<Item = i32> + '_ {
        self.years.keys().copied()
    }

    /// Whether a holiday file covers `day`'s year.
    pub fn covers(&self, day: NaiveDate) -> bool {
        self.years.contains_key(&day.year())
    }

    /// Sets what a year with no holiday file counts as (refused unless told otherwise).
    pub fn set_unpublished_year(&mut self, unpublished: UnpublishedYear) {
        self.unpublished = unpublished;
    }

    /// Whether a working-time count may run through `day`: its year has a file, or the
    /// tenant (a demo) counts such years as weekdays.
    fn countable(&self, day: NaiveDate) -> bool {
        self.covers(day) || self.unpublished == UnpublishedYear::Weekdays
    }

    /// The file name `year`'s data is expected under: named like the last file loaded
    /// (`cn-2026.toml` → `cn-2027.toml`), `cn-YYYY.toml` when there is none.
    pub fn file_for(&self, year: i32) -> String {
        self.years
            .iter()
            .next_back()
            .and_then(|(loaded, path)| renamed_for_year(path, *loaded, year))
            .and_then(|path| path.file_name()?.to_str().map(str::to_owned))
            .unwrap_or_else(|| format!("cn-{year}.toml"))
    }

    fn not_covered(&self, year: i32) -> CalendarError {
        CalendarError::NotCovered {
            year,
            file: self.file_for(year),
        }
    }

    /// The district's local date at `now`.
    pub fn local_date(&self, now: DateTime<Utc>) -> NaiveDate {
        self.local(now).date()
    }

    /// How far ahead the holiday files reach from `today`, and whether that is within
    /// `alarm_days` (the lead before an uncovered year at which to warn).
    pub fn coverage(&self, today: NaiveDate, alarm_days: u32) -> Coverage {
        let mut missing_year = today.year();
        while self.years.contains_key(&missing_year) {
            missing_year += 1;
        }
        let covers_until = (missing_year > today.year())
            .then(|| NaiveDate::from_ymd_opt(missing_year - 1, 12, 31))
            .flatten();
        let days_left = covers_until.map_or(0, |last| (last - today).num_days() + 1);
        let alarm = days_left <= i64::from(alarm_days);
        let missing_file = self.file_for(missing_year);
        let weekdays_assumed = self.unpublished == UnpublishedYear::Weekdays;
        let warning = alarm.then(|| match covers_until {
            None if weekdays_assumed => format!(
                "the working calendar does not cover {missing_year}, the current year: this \
                 demo district counts Monday to Friday as working days, ignoring holidays, \
                 until {missing_file} (the State Council's {missing_year} holiday \
                 arrangement) is added to calendar.holidays"
            ),
            None => format!(
                "the working calendar does not cover {missing_year}, the current year: \
                 working-time deadlines are refused until {missing_file} (the State \
                 Council's {missing_year} holiday arrangement) is added to calendar.holidays \
                 and the district restarted"
            ),
            Some(last) if weekdays_assumed => format!(
                "no holiday file for {missing_year}: after {last} this demo district will \
                 count Monday to Friday as working days, ignoring holidays; add \
                 {missing_file} (the State Council's {missing_year} holiday arrangement, \
                 published each November) to calendar.holidays"
            ),
            Some(last) => format!(
                "no holiday file for {missing_year}: working-time deadlines after {last} \
                 will be refused in {days_left} day(s); add {missing_file} (the State \
                 Council's {missing_year} holiday arrangement, published each November) \
                 to calendar.holidays and restart the district"
            ),
        });
        Coverage {
            today,
            covers_until,
            days_left,
            missing_next_year: !self.years.contains_key(&(today.year() + 1)),
            missing_year,
            missing_file,
            alarm,
            warning,
            weekdays_assumed,
        }
    }

    /// Whether `day` is a working day (a plain weekday count for a year with no file:
    /// `add` and `elapsed` refuse such years before asking).
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

    /// The working windows of `day` from `from` on, in local time; an error if no holiday
    /// file covers the day.
    fn day_windows(
        &self,
        day: NaiveDate,
        from: NaiveDateTime,
    ) -> Result<impl Iterator<Item = (NaiveDateTime, NaiveDateTime)> + '_, CalendarError> {
        if !self.countable(day) {
            return Err(self.not_covered(day.year()));
        }
        let working = self.is_working_day(day);
        Ok(self
            .periods
            .iter()
            .filter(move |_| working)
            .filter_map(move |p| {
                let start = day.and_time(p.start).max(from);
                let end = day.and_time(p.end);
                (start < end).then_some((start, end))
            }))
    }

    /// The instant `amount` of working time after `start` (the earliest such instant).
    /// An error when the count reaches a year no holiday file covers (the deadline cannot
    /// be known), or when there is no working time within three years.
    pub fn add(
        &self,
        start: DateTime<Utc>,
        amount: Duration,
    ) -> Result<DateTime<Utc>, CalendarError> {
        if amount <= Duration::zero() {
            return Ok(start);
        }
        let from = self.local(start);
        let mut left = amount;
        for day in from.date().iter_days().take(HORIZON_DAYS as usize) {
            for (a, b) in self.day_windows(day, from)? {
                let window = b - a;
                if left <= window {
                    return Ok(self.utc(a + left));
                }
                left -= window;
            }
        }
        Err(CalendarError::NoWorkingTime)
    }

    /// Working time between two instants (zero when `to` is not after `from`); an error
    /// when a day between them is in a year no holiday file covers.
    pub fn elapsed(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Duration, CalendarError> {
        if to <= from {
            return Ok(Duration::zero());
        }
        let (from, end) = (self.local(from), self.local(to));
        let mut total = Duration::zero();
        for day in from.date().iter_days() {
            if day.and_time(NaiveTime::MIN) >= end {
                break;
            }
            for (a, b) in self.day_windows(day, from)? {
                if a < end {
                    total += b.min(end) - a;
                }
            }
        }
        Ok(total)
    }
}

/// A calendar from configuration: working periods as `HH:MM-HH:MM` text (`[key].working_hours`
/// in errors), yearly holiday files relative to `dir`, and what an uncovered year does.
/// The district's `[calendar]` and the city's `[escalation.calendar]` both come here.
pub fn configured(
    file: &str,
    key: &str,
    dir: &Path,
    time_zone: Tz,
    working_hours: &[String],
    holidays: &[PathBuf],
    unpublished: UnpublishedYear,
) -> Result<WorkCalendar> {
    let periods = working_hours
        .iter()
        .enumerate()
        .map(|(i, text)| {
            Period::parse(text).ok_or_else(|| {
                Error::config(
                    file,
                    format!("{key}.working_hours[{i}]"),
                    format!("{text:?} is not a period such as 08:30-12:00"),
                )
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let mut calendar = WorkCalendar::new(time_zone, periods)
        .map_err(|e| Error::config(file, format!("{key}.working_hours"), e.to_string()))?;
    for path in holidays {
        calendar.load_year(&dir.join(path))?;
    }
    calendar.set_unpublished_year(unpublished);
    Ok(calendar)
}

/// The default working day as configuration text: 08:30–12:00 and 13:30–17:30.
pub fn default_working_hours() -> Vec<String> {
    vec!["08:30-12:00".into(), "13:30-17:30".into()]
}

/// `path` with `from_year` in its file name replaced by `year` (`cn-2026.toml` →
/// `cn-2027.toml`); `None` when the name does not carry the year.
pub fn renamed_for_year(path: &Path, from_year: i32, year: i32) -> Option<PathBuf> {
    let name = path.file_name()?.to_str()?;
    let from = from_year.to_string();
    name.contains(&from)
        .then(|| path.with_file_name(name.replacen(&from, &year.to_string(), 1)))
}

/// What tests on both sides build calendars with (`features = ["test-helpers"]` outside
/// the kit): the repository's holiday files, and Beijing local time.
#[cfg(any(test, feature = "test-helpers"))]
pub mod testing {
    use super::*;

    /// The working calendar of the sample tenants with the given years of
    /// `tenants/calendars`.
    pub fn sample_calendar(years: &[i32]) -> WorkCalendar {
        let mut cal = WorkCalendar::new(chrono_tz::Asia::Shanghai, WorkCalendar::default_periods())
            .expect("calendar");
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tenants/calendars");
        for year in years {
            cal.load_year(&dir.join(format!("cn-{year}.toml")))
                .expect("year file");
        }
        cal
    }

    /// Beijing local time (`YYYY-MM-DD HH:MM`) → UTC, for tests written in local time.
    pub fn beijing(s: &str) -> DateTime<Utc> {
        let local = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").expect("time");
        chrono_tz::Asia::Shanghai
            .from_local_datetime(&local)
            .single()
            .expect("unique")
            .with_timezone(&Utc)
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{beijing as bj, sample_calendar};
    use super::*;
    use proptest::prelude::*;

    fn calendar() -> WorkCalendar {
        sample_calendar(&[2025, 2026])
    }

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
    }

    /// A synthetic year file (no holidays) in a fresh folder, named `cn-YYYY.toml`.
    fn plain_year_file(year: i32) -> (PathBuf, PathBuf) {
        let dir = std::env::temp_dir().join(format!("citygrid-cal-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join(format!("cn-{year}.toml"));
        std::fs::write(
            &path,
            format!("year = {year}\nsource = \"test\"\nholidays = []\nworkdays = []\n"),
        )
        .expect("write");
        (dir, path)
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
            Ok(bj("2026-11-20 16:30"))
        );
        // Fri 16:30 + 2 h: 1 h on Friday, then Monday 08:30 + 1 h.
        assert_eq!(
            cal.add(bj("2026-11-20 16:30"), hours(2)),
            Ok(bj("2026-11-23 09:30"))
        );
        // Starting in the lunch break or at night counts from the next period.
        assert_eq!(
            cal.add(bj("2026-11-23 12:30"), Duration::minutes(30)),
            Ok(bj("2026-11-23 14:00"))
        );
        assert_eq!(
            cal.add(bj("2026-11-23 22:00"), hours(1)),
            Ok(bj("2026-11-24 09:30"))
        );
        // A full working day is 7.5 h.
        assert_eq!(
            cal.elapsed(bj("2026-11-23 00:00"), bj("2026-11-24 00:00")),
            Ok(Duration::minutes(450))
        );
    }

    #[test]
    fn a_holiday_week_is_skipped() {
        let cal = calendar();
        // National Day 2026: Oct 1–7 off. Wed Sep 30 17:00 + 1 h → Thu Oct 8 09:00.
        assert_eq!(
            cal.add(bj("2026-09-30 17:00"), hours(1)),
            Ok(bj("2026-10-08 09:00"))
        );
        assert_eq!(
            cal.elapsed(bj("2026-10-01 00:00"), bj("2026-10-08 00:00")),
            Ok(Duration::zero())
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
            Ok(bj("2026-10-10 09:00"))
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
        let mut cal = sample_calendar(&[2025]);
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

    #[test]
    fn a_deadline_in_a_year_without_a_file_is_an_error() {
        let cal = calendar();
        let missing = CalendarError::NotCovered {
            year: 2027,
            file: "cn-2027.toml".into(),
        };
        let not_2027 = Err(missing.clone());
        // Thu 2026-12-31 is the last covered working day; 17:30 is its last minute.
        assert_eq!(
            cal.add(bj("2026-12-31 16:30"), hours(1)),
            Ok(bj("2026-12-31 17:30"))
        );
        // One more minute would be counted in 2027.
        assert_eq!(
            cal.add(bj("2026-12-31 16:30"), Duration::minutes(61)),
            not_2027
        );
        // A 30-working-day extension granted in late December.
        assert_eq!(
            cal.add(bj("2026-12-21 09:00"), hours(30 * 15 / 2)),
            not_2027
        );
        // Starting after the last covered period is already in 2027.
        assert_eq!(
            cal.add(bj("2026-12-31 18:00"), Duration::minutes(1)),
            not_2027
        );
        // Nothing to add needs no calendar.
        assert_eq!(
            cal.add(bj("2027-01-04 09:00"), Duration::zero()),
            Ok(bj("2027-01-04 09:00"))
        );
        // Elapsed time that runs into 2027 is not counted either; up to its first minute is.
        assert_eq!(
            cal.elapsed(bj("2026-12-31 17:00"), bj("2027-01-01 00:00")),
            Ok(Duration::minutes(30))
        );
        assert_eq!(
            cal.elapsed(bj("2026-12-31 17:00"), bj("2027-01-04 10:00")),
            Err(missing)
        );
        // Years before the first file are not covered either.
        assert!(matches!(
            cal.add(bj("2024-12-31 09:00"), hours(1)),
            Err(CalendarError::NotCovered { year: 2024, .. })
        ));
        // A calendar with no file covers nothing.
        let bare = WorkCalendar::new(chrono_tz::Asia::Shanghai, WorkCalendar::default_periods())
            .expect("calendar");
        assert_eq!(
            bare.add(bj("2026-11-23 09:00"), hours(1)),
            Err(CalendarError::NotCovered {
                year: 2026,
                file: "cn-2026.toml".into()
            })
        );
    }

    /// A demo counts an unpublished year as weekdays: 1 January 2027 (a Friday, surely a
    /// holiday) is worked, the weekend is not; its coverage still raises the alarm.
    #[test]
    fn a_demo_counts_an_unpublished_year_as_weekdays() {
        let mut cal = calendar();
        cal.set_unpublished_year(UnpublishedYear::Weekdays);
        assert_eq!(
            cal.add(bj("2026-12-31 16:30"), Duration::minutes(61)),
            Ok(bj("2027-01-01 08:31"))
        );
        assert_eq!(
            cal.add(bj("2027-01-01 17:00"), hours(1)),
            Ok(bj("2027-01-04 09:00"))
        );
        let coverage = cal.coverage(NaiveDate::from_ymd_opt(2027, 1, 1).expect("date"), 31);
        assert!(coverage.alarm && coverage.weekdays_assumed && coverage.covers_until.is_none());
    }

    #[test]
    fn the_next_file_is_named_like_the_loaded_ones() {
        let cal = calendar();
        assert_eq!(cal.file_for(2027), "cn-2027.toml");
        assert_eq!(cal.years().collect::<Vec<_>>(), vec![2025, 2026]);
        assert_eq!(
            renamed_for_year(Path::new("../../calendars/cn-2026.toml"), 2026, 2027),
            Some(PathBuf::from("../../calendars/cn-2027.toml"))
        );
        assert_eq!(
            renamed_for_year(Path::new("holidays.toml"), 2026, 2027),
            None
        );
    }

    #[test]
    fn a_year_loaded_twice_is_refused() {
        let mut cal = calendar();
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tenants/calendars");
        let err = cal
            .load_year(&dir.join("cn-2026.toml"))
            .expect_err("2026 twice")
            .to_string();
        assert!(err.contains("already loaded"), "{err}");
    }

    /// (today, years loaded) → (covers_until, days_left, missing_next_year, alarm), with the
    /// default lead of 31 days.
    #[test]
    fn coverage_and_its_alarm() {
        let (dir, path_2027) = plain_year_file(2027);
        let mut with_2027 = calendar();
        with_2027.load_year(&path_2027).expect("2027");
        let cal = calendar();
        let table = [
            (&cal, "2025-06-01", Some("2026-12-31"), 579, false, false),
            (&cal, "2026-01-01", Some("2026-12-31"), 365, true, false),
            (&cal, "2026-11-25", Some("2026-12-31"), 37, true, false),
            (&cal, "2026-11-30", Some("2026-12-31"), 32, true, false),
            // From 1 December the missing file is an alarm.
            (&cal, "2026-12-01", Some("2026-12-31"), 31, true, true),
            (&cal, "2026-12-31", Some("2026-12-31"), 1, true, true),
            // Past the turn of the year nothing working-timed can be computed.
            (&cal, "2027-01-01", None, 0, true, true),
            (
                &with_2027,
                "2026-12-01",
                Some("2027-12-31"),
                396,
                false,
                false,
            ),
            (&with_2027, "2027-12-15", Some("2027-12-31"), 17, true, true),
        ];
        for (cal, today, until, days_left, missing_next, alarm) in table {
            let c = cal.coverage(day(today), 31);
            assert_eq!(
                (
                    c.covers_until,
                    c.days_left,
                    c.missing_next_year,
                    c.alarm,
                    c.warning.is_some()
                ),
                (until.map(day), days_left, missing_next, alarm, alarm),
                "{today}"
            );
        }
        let c = cal.coverage(day("2026-12-01"), 31);
        assert_eq!(
            (c.missing_year, c.missing_file.as_str()),
            (2027, "cn-2027.toml")
        );
        let warning = c.warning.expect("warning");
        assert!(
            warning.contains("cn-2027.toml") && warning.contains("31 day(s)"),
            "{warning}"
        );
        // The lead is configurable: 10 days warns from 22 December only.
        assert!(!cal.coverage(day("2026-12-21"), 10).alarm);
        assert!(cal.coverage(day("2026-12-22"), 10).alarm);
        std::fs::remove_dir_all(dir).ok();
    }

    fn instant() -> impl Strategy<Value = DateTime<Utc>> {
        // Any minute of 2025 to October 2026: the amounts below stay inside 2026.
        (0i64..(660 * 24 * 60)).prop_map(|m| bj("2025-01-01 00:00") + Duration::minutes(m))
    }

    fn instant_in_2026() -> impl Strategy<Value = DateTime<Utc>> {
        (0i64..(365 * 24 * 60)).prop_map(|m| bj("2026-01-01 00:00") + Duration::minutes(m))
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
            prop_assert_eq!(cal.elapsed(t, end), Ok(Duration::minutes(n)));
        }

        #[test]
        fn add_is_monotonic(t in instant(), a in 0i64..5000, b in 0i64..5000) {
            let cal = calendar();
            let (lo, hi) = (a.min(b), a.max(b));
            prop_assert!(cal.add(t, Duration::minutes(lo)).ok() <= cal.add(t, Duration::minutes(hi)).ok());
            prop_assert!(cal.add(t, Duration::minutes(lo)).expect("exists") >= t);
        }

        /// Up to 60 working days from any instant of 2026 (the last covered year): the
        /// deadline is in 2026, or the answer is that 2027 is not covered — never a date
        /// in 2027 counted on weekdays alone.
        #[test]
        fn a_deadline_is_never_counted_in_an_uncovered_year(t in instant_in_2026(), n in 0i64..(60 * 450)) {
            let cal = calendar();
            match cal.add(t, Duration::minutes(n)) {
                Ok(deadline) => prop_assert_eq!(cal.local_date(deadline).year(), 2026),
                Err(e) => prop_assert_eq!(e, CalendarError::NotCovered { year: 2027, file: "cn-2027.toml".into() }),
            }
        }
    }
}
