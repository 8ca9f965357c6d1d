//! Stage clocks and traffic lights (红黄绿灯). Pure: the store persists what `start`
//! computes, and lights are read back by comparing `now` with the stored instants.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::calendar::WorkCalendar;
use crate::case::workflow::Action;
use crate::error::{Error, Result};
use crate::manual::{Clock, Limits, Stage};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Light {
    /// On time.
    Green,
    /// Most of the limit used (≥ the district's yellow share, default 80 %).
    Yellow,
    /// Overdue.
    Red,
}

impl Light {
    pub fn as_str(self) -> &'static str {
        match self {
            Light::Green => "green",
            Light::Yellow => "yellow",
            Light::Red => "red",
        }
    }
}

/// The limits of the manual row a case was filed under, copied onto the case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LimitSnapshot {
    pub clock: Clock,
    pub filing_minutes: i64,
    pub dispatch_minutes: i64,
    pub handling_minutes: i64,
    pub check_minutes: i64,
}

impl LimitSnapshot {
    pub fn new(clock: Clock, limits: &Limits) -> LimitSnapshot {
        LimitSnapshot {
            clock,
            filing_minutes: limits.filing.num_minutes(),
            dispatch_minutes: limits.dispatch.num_minutes(),
            handling_minutes: limits.handling.num_minutes(),
            check_minutes: limits.check.num_minutes(),
        }
    }

    pub fn of(&self, stage: Stage) -> Duration {
        Duration::minutes(match stage {
            Stage::Filing => self.filing_minutes,
            Stage::Dispatch => self.dispatch_minutes,
            Stage::Handling => self.handling_minutes,
            Stage::Check => self.check_minutes,
        })
    }
}

/// A running stage: when it started, its limit, and when it turns yellow and red.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StageTimes {
    pub stage: Stage,
    pub clock: Clock,
    pub started_at: DateTime<Utc>,
    pub limit: Duration,
    pub yellow_at: DateTime<Utc>,
    pub deadline: DateTime<Utc>,
}

/// What a step does to the stage clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StageChange {
    /// The running stage goes on (verification is part of filing).
    Keep,
    /// Untimed from here (closed, rejected, cancelled, or waiting for call-back/close).
    Stop,
    /// A new stage starts now with a fresh limit.
    Start(Stage),
}

pub fn stage_after(action: Action) -> StageChange {
    match action {
        Action::RequestVerification | Action::Verify | Action::Callback => StageChange::Keep,
        Action::File | Action::Return => StageChange::Start(Stage::Dispatch),
        Action::Dispatch | Action::Rework => StageChange::Start(Stage::Handling),
        Action::Handle => StageChange::Start(Stage::Check),
        Action::Reject | Action::CheckPass | Action::Close | Action::Cancel => StageChange::Stop,
    }
}

/// Starts a stage at `now`: the deadline is `limit` of the clock's time later, and the
/// light turns yellow when `yellow_share` of it is used.
pub fn start(
    calendar: &WorkCalendar,
    stage: Stage,
    clock: Clock,
    limit: Duration,
    yellow_share: f64,
    now: DateTime<Utc>,
) -> Result<StageTimes> {
    let yellow = Duration::seconds((limit.num_seconds() as f64 * yellow_share).round() as i64);
    let after = |d: Duration| match clock {
        Clock::Natural => Some(now + d),
        Clock::Working => calendar.add(now, d),
    };
    let no_time = || Error::Internal("the working calendar has no working time ahead".into());
    Ok(StageTimes {
        stage,
        clock,
        started_at: now,
        limit,
        yellow_at: after(yellow).ok_or_else(no_time)?,
        deadline: after(limit).ok_or_else(no_time)?,
    })
}

pub fn light(yellow_at: DateTime<Utc>, deadline: DateTime<Utc>, now: DateTime<Utc>) -> Light {
    if now > deadline {
        Light::Red
    } else if now >= yellow_at {
        Light::Yellow
    } else {
        Light::Green
    }
}

/// Time left until the deadline on the stage's clock; negative once overdue.
pub fn remaining(
    calendar: &WorkCalendar,
    clock: Clock,
    deadline: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Duration {
    let between = |a, b| match clock {
        Clock::Natural => b - a,
        Clock::Working => calendar.elapsed(a, b),
    };
    if now <= deadline {
        between(now, deadline)
    } else {
        -between(deadline, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::WorkCalendar;
    use chrono::{NaiveDateTime, TimeZone};

    fn bj(s: &str) -> DateTime<Utc> {
        let local = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").expect("time");
        chrono_tz::Asia::Shanghai
            .from_local_datetime(&local)
            .single()
            .expect("unique")
            .with_timezone(&Utc)
    }

    fn calendar() -> WorkCalendar {
        WorkCalendar::new(chrono_tz::Asia::Shanghai, WorkCalendar::default_periods())
            .expect("calendar")
    }

    #[test]
    fn a_working_stage_goes_yellow_then_red() {
        let cal = calendar();
        // Mon 2026-11-23 09:00 + 4 working hours: 3 h before lunch, 1 h after → 14:30;
        // yellow after 80 % = 3h12m → 13:42.
        let t = start(
            &cal,
            Stage::Handling,
            Clock::Working,
            Duration::hours(4),
            0.8,
            bj("2026-11-23 09:00"),
        )
        .expect("start");
        assert_eq!(t.deadline, bj("2026-11-23 14:30"));
        assert_eq!(t.yellow_at, bj("2026-11-23 13:42"));
        assert_eq!(
            light(t.yellow_at, t.deadline, bj("2026-11-23 11:59")),
            Light::Green
        );
        assert_eq!(
            light(t.yellow_at, t.deadline, bj("2026-11-23 13:42")),
            Light::Yellow
        );
        assert_eq!(
            light(t.yellow_at, t.deadline, bj("2026-11-23 14:30")),
            Light::Yellow
        );
        assert_eq!(
            light(t.yellow_at, t.deadline, bj("2026-11-23 14:31")),
            Light::Red
        );
        assert_eq!(
            remaining(&cal, Clock::Working, t.deadline, bj("2026-11-23 11:00")),
            Duration::hours(2)
        );
        // Overdue into the next morning: 3 h of Monday afternoon + 30 min on Tuesday.
        assert_eq!(
            remaining(&cal, Clock::Working, t.deadline, bj("2026-11-24 09:00")),
            -Duration::minutes(210)
        );
    }

    #[test]
    fn a_natural_stage_runs_through_the_night() {
        let cal = calendar();
        let t = start(
            &cal,
            Stage::Handling,
            Clock::Natural,
            Duration::hours(3),
            0.8,
            bj("2026-11-21 23:00"),
        )
        .expect("start");
        assert_eq!(t.deadline, bj("2026-11-22 02:00"));
        assert_eq!(t.yellow_at, bj("2026-11-22 01:24"));
    }

    #[test]
    fn steps_start_stop_or_keep_the_clock() {
        assert_eq!(
            stage_after(Action::File),
            StageChange::Start(Stage::Dispatch)
        );
        assert_eq!(
            stage_after(Action::Return),
            StageChange::Start(Stage::Dispatch)
        );
        assert_eq!(
            stage_after(Action::Dispatch),
            StageChange::Start(Stage::Handling)
        );
        assert_eq!(
            stage_after(Action::Rework),
            StageChange::Start(Stage::Handling)
        );
        assert_eq!(
            stage_after(Action::Handle),
            StageChange::Start(Stage::Check)
        );
        assert_eq!(stage_after(Action::Verify), StageChange::Keep);
        assert_eq!(stage_after(Action::CheckPass), StageChange::Stop);
    }
}
