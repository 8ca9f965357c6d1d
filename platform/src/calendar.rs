//! The working-time calendar is the kit's (`citygrid_kit::calendar`): the city counts
//! working hours too. Here for the district's paths, with the test calendars.

pub use citygrid_kit::calendar::*;

#[cfg(test)]
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};

/// The working calendar of the sample tenants with the given years of
/// `tenants/calendars`, for tests.
#[cfg(test)]
pub(crate) fn sample_calendar(years: &[i32]) -> WorkCalendar {
    let mut cal = WorkCalendar::new(chrono_tz::Asia::Shanghai, WorkCalendar::default_periods())
        .expect("calendar");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tenants/calendars");
    for year in years {
        cal.load_year(&dir.join(format!("cn-{year}.toml")))
            .expect("year file");
    }
    cal
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
