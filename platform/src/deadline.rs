//! Stage clocks and traffic lights (红黄绿灯). Pure: the store persists what `start`
//! computes, and lights are read back by comparing `now` with the stored instants.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::calendar::WorkCalendar;
use crate::case::workflow::Action;
use crate::error::Result;
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
    /// An approved extension moves the running stage's deadline.
    Extend,
    /// An approved suspension stops the clock, keeping the time left.
    Pause,
    /// Resuming restarts the clock with the time that was left.
    Resume,
}

pub fn stage_after(action: Action) -> StageChange {
    match action {
        Action::RequestVerification
        | Action::Verify
        | Action::Callback
        | Action::RequestExtension
        | Action::RejectExtension
        | Action::RequestSuspension
        | Action::RejectSuspension
        | Action::Supervise
        | Action::AcknowledgeSupervision
        | Action::Urge
        | Action::RequestCancellation
        | Action::RejectCancellation
        | Action::Refer
        | Action::ReturnReferral => StageChange::Keep,
        Action::ApproveExtension => StageChange::Extend,
        Action::ApproveSuspension => StageChange::Pause,
        Action::Resume => StageChange::Resume,
        Action::Report => StageChange::Start(Stage::Filing),
        Action::File | Action::Return => StageChange::Start(Stage::Dispatch),
        Action::Dispatch | Action::Rework | Action::Rehandle => StageChange::Start(Stage::Handling),
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
    Ok(StageTimes {
        stage,
        clock,
        started_at: now,
        limit,
        yellow_at: after(calendar, clock, now, share(limit, yellow_share))?,
        deadline: after(calendar, clock, now, limit)?,
    })
}

fn share(amount: Duration, fraction: f64) -> Duration {
    Duration::seconds((amount.num_seconds() as f64 * fraction).round() as i64)
}

/// The clock instant `amount` after `from` (working or natural).
fn after(
    calendar: &WorkCalendar,
    clock: Clock,
    from: DateTime<Utc>,
    amount: Duration,
) -> Result<DateTime<Utc>> {
    match clock {
        Clock::Natural => Ok(from + amount),
        Clock::Working => Ok(calendar.add(from, amount)?),
    }
}

/// An extension of `extra`: the stage now behaves as if its limit were `limit + extra`,
/// so both the red and the yellow instant move (the yellow one by the share of `extra`).
pub fn extend(
    calendar: &WorkCalendar,
    times: &StageTimes,
    extra: Duration,
    yellow_share: f64,
) -> Result<StageTimes> {
    Ok(StageTimes {
        limit: times.limit + extra,
        yellow_at: after(
            calendar,
            times.clock,
            times.yellow_at,
            share(extra, yellow_share),
        )?,
        deadline: after(calendar, times.clock, times.deadline, extra)?,
        ..*times
    })
}

/// Restarts a suspended stage at `now` with the time it had left: yellow once the share
/// of the whole limit is used, red when the time left runs out (at once if it had none).
pub fn resume(
    calendar: &WorkCalendar,
    stage: Stage,
    clock: Clock,
    limit: Duration,
    left: Duration,
    yellow_share: f64,
    now: DateTime<Utc>,
) -> Result<StageTimes> {
    let left = left.max(Duration::zero());
    let unused_at_yellow = share(limit, 1.0 - yellow_share);
    Ok(StageTimes {
        stage,
        clock,
        started_at: now,
        limit,
        yellow_at: after(
            calendar,
            clock,
            now,
            (left - unused_at_yellow).max(Duration::zero()),
        )?,
        deadline: after(calendar, clock, now, left)?,
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

/// Time left until the deadline on the stage's clock; negative once overdue. On the
/// working clock an error when the time between runs through a year without a holiday
/// file (an overdue case seen after the turn of the year).
pub fn remaining(
    calendar: &WorkCalendar,
    clock: Clock,
    deadline: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Duration> {
    let between = |a, b| match clock {
        Clock::Natural => Ok(b - a),
        Clock::Working => calendar.elapsed(a, b),
    };
    Ok(if now <= deadline {
        between(now, deadline)?
    } else {
        -between(deadline, now)?
    })
}

/// The working time a stage used when it ends at `at` (处置用时 in working hours; the
/// business record's `stage_ended.working_minutes`), at least zero. An error when the
/// calendar does not cover the time it counts.
///
/// - On the **working** clock: the limit less the working time left (negative once
///   overdue, [`remaining`]). `limit` is the whole limit, extensions included, and
///   `deadline` the instant it runs out; after a suspension the clock restarted at the
///   resume with the time that was left ([`resume`]), so this counts the time used before
///   the suspension and not the suspension itself.
/// - On the **natural** clock (urgent cases): the working time from `started_at` (when the
///   stage started or last resumed) to `at`. The natural limit says nothing of working time,
///   so the time used before a suspension is not known here; exact without a suspension,
///   which urgent cases practically never have.
pub fn used(
    calendar: &WorkCalendar,
    clock: Clock,
    started_at: DateTime<Utc>,
    limit: Duration,
    deadline: DateTime<Utc>,
    at: DateTime<Utc>,
) -> Result<Duration> {
    let used = match clock {
        Clock::Working => limit - remaining(calendar, clock, deadline, at)?,
        Clock::Natural => calendar.elapsed(started_at, at)?,
    };
    Ok(used.max(Duration::zero()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::beijing as bj;
    use crate::calendar::{CalendarError, WorkCalendar, sample_calendar};
    use crate::error::Error;

    fn calendar() -> WorkCalendar {
        sample_calendar(&[2025, 2026])
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
            remaining(&cal, Clock::Working, t.deadline, bj("2026-11-23 11:00")).ok(),
            Some(Duration::hours(2))
        );
        // Overdue into the next morning: 3 h of Monday afternoon + 30 min on Tuesday.
        assert_eq!(
            remaining(&cal, Clock::Working, t.deadline, bj("2026-11-24 09:00")).ok(),
            Some(-Duration::minutes(210))
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
        assert_eq!(stage_after(Action::ApproveExtension), StageChange::Extend);
        assert_eq!(stage_after(Action::ApproveSuspension), StageChange::Pause);
        assert_eq!(stage_after(Action::RequestExtension), StageChange::Keep);
    }

    #[test]
    fn an_extension_moves_red_and_yellow() {
        let cal = calendar();
        let t = start(
            &cal,
            Stage::Handling,
            Clock::Working,
            Duration::hours(4),
            0.8,
            bj("2026-11-23 09:00"),
        )
        .expect("start");
        let e = extend(&cal, &t, Duration::hours(2), 0.8).expect("extend");
        // 14:30 + 2 working hours → 16:30; yellow 13:42 + 96 min → 15:18; limit 6 h.
        assert_eq!(
            (e.deadline, e.yellow_at, e.limit),
            (
                bj("2026-11-23 16:30"),
                bj("2026-11-23 15:18"),
                Duration::hours(6)
            )
        );
        assert_eq!(e.started_at, t.started_at);
    }

    #[test]
    fn a_resumed_stage_gets_the_time_it_had_left() {
        let cal = calendar();
        // 4 h limit, 30 min left when suspended; resumed Tue 09:00: red at 09:30, yellow at
        // once (more than 80 % was already used).
        let r = resume(
            &cal,
            Stage::Handling,
            Clock::Working,
            Duration::hours(4),
            Duration::minutes(30),
            0.8,
            bj("2026-11-24 09:00"),
        )
        .expect("resume");
        assert_eq!(
            (r.deadline, r.yellow_at),
            (bj("2026-11-24 09:30"), bj("2026-11-24 09:00"))
        );
        // 3 h left: yellow after 3 h − 48 min = 2h12m.
        let r = resume(
            &cal,
            Stage::Handling,
            Clock::Working,
            Duration::hours(4),
            Duration::hours(3),
            0.8,
            bj("2026-11-24 09:00"),
        )
        .expect("resume");
        assert_eq!(
            (r.deadline, r.yellow_at),
            (bj("2026-11-24 12:00"), bj("2026-11-24 11:12"))
        );
        // Overdue when suspended: red as soon as it resumes.
        let r = resume(
            &cal,
            Stage::Handling,
            Clock::Natural,
            Duration::hours(4),
            -Duration::hours(1),
            0.8,
            bj("2026-11-24 09:00"),
        )
        .expect("resume");
        assert_eq!(r.deadline, bj("2026-11-24 09:00"));
    }

    fn not_covered(result: Result<StageTimes>) -> Option<(i32, String)> {
        match result {
            Err(Error::Calendar(CalendarError::NotCovered { year, file })) => Some((year, file)),
            _ => None,
        }
    }

    #[test]
    fn a_stage_running_into_an_uncovered_year_is_refused_on_the_working_clock_only() {
        let cal = calendar();
        let missing = Some((2027, "cn-2027.toml".to_owned()));
        // Dispatched on the afternoon of 2026-12-31 with 4 working hours to handle.
        let at = bj("2026-12-31 15:00");
        assert_eq!(
            not_covered(start(
                &cal,
                Stage::Handling,
                Clock::Working,
                Duration::hours(4),
                0.8,
                at
            )),
            missing
        );
        // A natural-time stage needs no holidays.
        let natural = start(
            &cal,
            Stage::Handling,
            Clock::Natural,
            Duration::hours(4),
            0.8,
            at,
        )
        .expect("natural");
        assert_eq!(natural.deadline, bj("2026-12-31 19:00"));
        // A 30-working-day extension approved in late December.
        let t = start(
            &cal,
            Stage::Handling,
            Clock::Working,
            Duration::hours(4),
            0.8,
            bj("2026-12-21 09:00"),
        )
        .expect("start");
        assert_eq!(
            not_covered(extend(&cal, &t, Duration::minutes(30 * 450), 0.8)),
            missing
        );
        // Resuming with more time left than the year has.
        assert_eq!(
            not_covered(resume(
                &cal,
                Stage::Handling,
                Clock::Working,
                Duration::hours(40),
                Duration::hours(40),
                0.8,
                bj("2026-12-28 09:00"),
            )),
            missing
        );
        // How overdue a case is cannot be counted past the covered years either.
        assert!(matches!(
            remaining(&cal, Clock::Working, t.deadline, bj("2027-01-05 09:00")),
            Err(Error::Calendar(CalendarError::NotCovered {
                year: 2027,
                ..
            }))
        ));
        assert_eq!(
            remaining(&cal, Clock::Natural, t.deadline, bj("2027-01-05 09:00")).ok(),
            Some(-(bj("2027-01-05 09:00") - t.deadline))
        );
    }
}
