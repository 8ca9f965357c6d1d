//! The appraised period: a month, quarter or year of the tenant's calendar, so that a
//! case due at 23:30 on 31 October in Asia/Shanghai (15:30 UTC) is October's.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Period {
    Month { year: i32, month: u32 },
    Quarter { year: i32, quarter: u32 },
    Year { year: i32 },
}

impl Period {
    /// First day (inclusive) and the day after the last, in the local calendar.
    fn days(self) -> (NaiveDate, NaiveDate) {
        let date = |y, m| NaiveDate::from_ymd_opt(y, m, 1).expect("a valid first of month");
        let (year, first, months) = match self {
            Period::Month { year, month } => (year, month, 1),
            Period::Quarter { year, quarter } => (year, (quarter - 1) * 3 + 1, 3),
            Period::Year { year } => (year, 1, 12),
        };
        let end = first + months;
        let after = if end > 12 {
            date(year + 1, end - 12)
        } else {
            date(year, end)
        };
        (date(year, first), after)
    }

    /// The months the period is made of, in order: a quarter or a year is appraised as
    /// its months were, each as it stood at its own end (docs/APPRAISAL.md).
    pub fn months(self) -> Vec<Period> {
        let (year, first, count) = match self {
            Period::Month { year, month } => (year, month, 1),
            Period::Quarter { year, quarter } => (year, (quarter - 1) * 3 + 1, 3),
            Period::Year { year } => (year, 1, 12),
        };
        (first..first + count)
            .map(|month| Period::Month { year, month })
            .collect()
    }

    /// `[start, end)` in UTC: local midnights of the first day and of the day after the
    /// last in `zone`.
    pub fn bounds(self, zone: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
        let (first, after) = self.days();
        let midnight = |day: NaiveDate| {
            zone.from_local_datetime(&day.and_hms_opt(0, 0, 0).expect("midnight"))
                .earliest()
                .expect("a zone without midnight gaps")
                .with_timezone(&Utc)
        };
        (midnight(first), midnight(after))
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Period::Month { year, month } => write!(f, "{year}-{month:02}"),
            Period::Quarter { year, quarter } => write!(f, "{year}-Q{quarter}"),
            Period::Year { year } => write!(f, "{year}"),
        }
    }
}

impl FromStr for Period {
    type Err = String;

    /// `2026-10`, `2026-Q4` or `2026`.
    fn from_str(text: &str) -> Result<Period, String> {
        let bad = || format!("{text:?} is not a period: use 2026-10, 2026-Q4 or 2026");
        let year = |y: &str| {
            (y.len() == 4 && y.bytes().all(|b| b.is_ascii_digit()))
                .then(|| y.parse::<i32>().ok())
                .flatten()
                .filter(|y| (2000..=2999).contains(y))
                .ok_or_else(bad)
        };
        match text.split_once('-') {
            None => Ok(Period::Year { year: year(text)? }),
            Some((y, rest)) => {
                let year = year(y)?;
                if let Some(q) = rest.strip_prefix('Q') {
                    let quarter = q
                        .parse()
                        .ok()
                        .filter(|q| (1..=4).contains(q))
                        .ok_or_else(bad)?;
                    Ok(Period::Quarter { year, quarter })
                } else if rest.len() == 2 {
                    let month = rest
                        .parse()
                        .ok()
                        .filter(|m| (1..=12).contains(m))
                        .ok_or_else(bad)?;
                    Ok(Period::Month { year, month })
                } else {
                    Err(bad())
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_parse_print_and_bound_in_the_local_calendar() {
        let shanghai = chrono_tz::Asia::Shanghai;
        for (text, start, end) in [
            ("2026-10", "2026-09-30T16:00:00Z", "2026-10-31T16:00:00Z"),
            ("2026-12", "2026-11-30T16:00:00Z", "2026-12-31T16:00:00Z"),
            ("2026-Q4", "2026-09-30T16:00:00Z", "2026-12-31T16:00:00Z"),
            ("2026", "2025-12-31T16:00:00Z", "2026-12-31T16:00:00Z"),
        ] {
            let period: Period = text.parse().expect(text);
            assert_eq!(period.to_string(), text);
            let (s, e) = period.bounds(shanghai);
            assert_eq!(
                (s.to_rfc3339(), e.to_rfc3339()),
                (
                    DateTime::parse_from_rfc3339(start)
                        .unwrap()
                        .with_timezone(&Utc)
                        .to_rfc3339(),
                    DateTime::parse_from_rfc3339(end)
                        .unwrap()
                        .with_timezone(&Utc)
                        .to_rfc3339(),
                )
            );
        }
        assert_eq!(
            Period::Quarter {
                year: 2026,
                quarter: 4
            }
            .months()
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
            ["2026-10", "2026-11", "2026-12"]
        );
        assert_eq!(Period::Year { year: 2026 }.months().len(), 12);
        for bad in ["2026-13", "2026-Q5", "26-10", "2026-1", "", "2026-10-01"] {
            assert!(bad.parse::<Period>().is_err(), "{bad}");
        }
    }
}
