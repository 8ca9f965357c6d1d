//! The escalation rules (`[escalation]` in the city file; docs/ESCALATION.md): which open
//! cases the city supervises, at what level, and how long the district has to acknowledge
//! and to finish. Pure: a case's latest snapshot and the time in, a yes or no out.

use std::path::PathBuf;

use chrono::{DateTime, Duration, Utc};
use citygrid_kit::calendar::{UnpublishedYear, WorkCalendar};
use citygrid_schemas::{CaseSnapshot, CaseState, Stage, SupervisionLevel};
use serde::{Deserialize, Serialize};

/// The rule name of an order a city leader gives by hand (`city supervise`, the API).
pub const INSTRUCTION: &str = "instruction";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Escalation {
    /// Who the orders name as their issuer.
    #[serde(default = "default_issued_by")]
    pub issued_by: String,
    /// How often `city serve` runs the rules; 0 turns the schedule off (`city escalate`
    /// still runs them by hand).
    #[serde(default = "default_every_seconds")]
    pub every_seconds: u64,
    #[serde(default)]
    pub rules: Vec<Rule>,
    /// The working calendar `overdue_working_hours` counts in (`[escalation.calendar]`).
    #[serde(default)]
    pub calendar: Option<CalendarSection>,
    /// That calendar, loaded (`City::load`).
    #[serde(skip)]
    pub working: Option<WorkCalendar>,
}

/// `[escalation.calendar]`: the city's working day and the yearly holiday files, as a
/// district's `[calendar]` (the State Council's arrangement is the same for every
/// district of a city).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarSection {
    #[serde(default = "citygrid_kit::calendar::default_working_hours")]
    pub working_hours: Vec<String>,
    /// Relative to the city file.
    pub holidays: Vec<PathBuf>,
    /// `refuse` (default: a rule counting into a year without a file does not fire, and
    /// says so in the log) or `weekdays` (demo cities).
    #[serde(default)]
    pub unpublished_year: UnpublishedYear,
}

/// One rule: a condition on an open case, the order's level, its text, and its two
/// deadlines.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Lower-case letters, digits and `-`: part of what makes an order unique (one per
    /// case, rule and level).
    pub name: String,
    /// Red (超时) in handling for at least this many hours past the stage's deadline.
    #[serde(default)]
    pub overdue_hours: Option<u32>,
    /// The same in working hours of `[escalation.calendar]` (nights, weekends and holidays
    /// do not count), as the district's own time limits are counted.
    #[serde(default)]
    pub overdue_working_hours: Option<u32>,
    /// Sent back for rework (返工) at least this many times.
    #[serde(default)]
    pub reworked: Option<u32>,
    /// Reported again by the public (重复举报) at least this many times: public reports the
    /// district rejected as duplicates of this case.
    #[serde(default)]
    pub reported_again: Option<u32>,
    pub level: SupervisionLevel,
    pub text: String,
    /// The department acknowledges (签收) within this many hours, …
    pub acknowledge_hours: u32,
    /// … and finishes the case within this many, or the order is overdue and goes one
    /// level up.
    pub due_hours: u32,
}

fn default_issued_by() -> String {
    "市数字城管监督指挥中心".to_owned()
}

fn default_every_seconds() -> u64 {
    60
}

impl Default for Escalation {
    fn default() -> Self {
        Escalation {
            issued_by: default_issued_by(),
            every_seconds: default_every_seconds(),
            rules: Vec::new(),
            calendar: None,
            working: None,
        }
    }
}

/// A rule name or `instruction`: lower-case letters, digits and `-`.
pub fn is_rule_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 40
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The level above `level`, if any: 一般 → 重点 → 挂牌.
pub fn next_level(level: SupervisionLevel) -> Option<SupervisionLevel> {
    match level {
        SupervisionLevel::General => Some(SupervisionLevel::Key),
        SupervisionLevel::Key => Some(SupervisionLevel::Listed),
        SupervisionLevel::Listed => None,
    }
}

/// A case that can still be worked on (not closed, rejected or cancelled).
pub fn is_open(case: &CaseSnapshot) -> bool {
    !matches!(
        case.state,
        CaseState::Closed | CaseState::Rejected | CaseState::Cancelled
    )
}

impl Escalation {
    pub fn validate(&self) -> Result<(), String> {
        for (i, rule) in self.rules.iter().enumerate() {
            let at = format!("escalation.rules[{i}]");
            if !is_rule_name(&rule.name) || rule.name == INSTRUCTION {
                return Err(format!(
                    "{at}.name: lower-case letters, digits and -, not {INSTRUCTION:?}"
                ));
            }
            if self.rules[..i].iter().any(|r| r.name == rule.name) {
                return Err(format!("{at}.name: {} twice", rule.name));
            }
            let conditions = [
                rule.overdue_hours.is_some(),
                rule.overdue_working_hours.is_some(),
                rule.reworked.is_some(),
                rule.reported_again.is_some(),
            ];
            if conditions.iter().filter(|c| **c).count() != 1 {
                return Err(format!(
                    "{at}: one condition, overdue_hours, overdue_working_hours, reworked or reported_again"
                ));
            }
            if rule.overdue_working_hours.is_some() && self.calendar.is_none() {
                return Err(format!(
                    "{at}.overdue_working_hours: counts in [escalation.calendar], which is missing"
                ));
            }
            if rule.reworked == Some(0) || rule.reported_again == Some(0) {
                return Err(format!("{at}: a count of 1 or more"));
            }
            if rule.acknowledge_hours == 0 || rule.due_hours < rule.acknowledge_hours {
                return Err(format!("{at}: 0 < acknowledge_hours ≤ due_hours"));
            }
            if rule.text.trim().is_empty() {
                return Err(format!("{at}.text: what the department must do"));
            }
        }
        Ok(())
    }
}

impl Rule {
    /// Whether `case` (its latest snapshot, reported again by the public `reported_again`
    /// times) calls for this rule's order at `now`; `calendar` counts working hours. A
    /// suspended case's clock stands still, so it is never overdue here.
    pub fn applies(
        &self,
        case: &CaseSnapshot,
        reported_again: u32,
        now: DateTime<Utc>,
        calendar: Option<&WorkCalendar>,
    ) -> bool {
        if !is_open(case) {
            return false;
        }
        let red_since = case
            .current_stage
            .as_ref()
            .filter(|s| s.stage == Stage::Handling && case.state != CaseState::Suspended)
            .and_then(|s| s.deadline);
        if let Some(hours) = self.overdue_hours {
            return red_since.is_some_and(|d| now - d >= Duration::hours(i64::from(hours)));
        }
        if let Some(hours) = self.overdue_working_hours {
            let (Some(deadline), Some(calendar)) = (red_since, calendar) else {
                return false;
            };
            return match calendar.elapsed(deadline, now) {
                Ok(red) => red >= Duration::hours(i64::from(hours)),
                Err(e) => {
                    tracing::warn!(rule = %self.name, case = %case.case_id, error = %e,
                        "cannot count working hours; the rule waits");
                    false
                }
            };
        }
        if let Some(times) = self.reworked {
            return case.rework_count >= times;
        }
        if let Some(times) = self.reported_again {
            return reported_again >= times;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use citygrid_schemas::{Clock, StageClock};

    fn t(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn rule(overdue_hours: Option<u32>, reworked: Option<u32>) -> Rule {
        Rule {
            name: "r".into(),
            overdue_hours,
            overdue_working_hours: None,
            reworked,
            reported_again: None,
            level: SupervisionLevel::General,
            text: "do it".into(),
            acknowledge_hours: 4,
            due_hours: 24,
        }
    }

    fn handling(deadline: DateTime<Utc>) -> CaseSnapshot {
        let mut case = citygrid_schemas::json::example_snapshot();
        case.state = CaseState::Dispatched;
        case.current_stage = Some(StageClock {
            stage: Stage::Handling,
            clock: Clock::Working,
            started_at: deadline - Duration::hours(8),
            limit_minutes: 480,
            yellow_at: None,
            deadline: Some(deadline),
        });
        case
    }

    #[test]
    fn red_for_n_hours_is_exactly_n_hours_past_the_deadline() {
        let deadline = t("2026-10-20T10:00:00Z");
        let case = handling(deadline);
        let r = rule(Some(24), None);
        assert!(!r.applies(&case, 0, t("2026-10-21T09:59:59Z"), None));
        assert!(r.applies(&case, 0, t("2026-10-21T10:00:00Z"), None));
        let mut suspended = case.clone();
        suspended.state = CaseState::Suspended;
        assert!(!r.applies(&suspended, 0, t("2026-10-25T00:00:00Z"), None));
        let mut closed = case;
        closed.state = CaseState::Closed;
        assert!(!r.applies(&closed, 0, t("2026-10-25T00:00:00Z"), None));
    }

    #[test]
    fn red_for_n_working_hours_skips_the_weekend() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tenants");
        let calendar = citygrid_kit::calendar::configured(
            "test",
            "escalation.calendar",
            &dir,
            chrono_tz::Asia::Shanghai,
            &citygrid_kit::calendar::default_working_hours(),
            &["calendars/cn-2026.toml".into()],
            UnpublishedYear::Refuse,
        )
        .expect("calendar");
        // Due Friday 23 October 17:00 in Beijing: half an hour of Friday is left, then
        // Monday's 08:30–12:00 makes four working hours at Monday noon.
        let case = handling(t("2026-10-23T09:00:00Z"));
        let r = Rule {
            overdue_working_hours: Some(4),
            ..rule(None, None)
        };
        let saturday = t("2026-10-24T09:00:00Z");
        assert!(rule(Some(24), None).applies(&case, 0, saturday, Some(&calendar)));
        assert!(!r.applies(&case, 0, saturday, Some(&calendar)));
        assert!(!r.applies(&case, 0, t("2026-10-26T03:59:59Z"), Some(&calendar)));
        assert!(r.applies(&case, 0, t("2026-10-26T04:00:00Z"), Some(&calendar)));
        assert!(
            !r.applies(&case, 0, t("2026-10-26T04:00:00Z"), None),
            "no calendar, no count"
        );
        // A year without a holiday file: the count is refused, the rule waits.
        assert!(!r.applies(&case, 0, t("2027-01-05T04:00:00Z"), Some(&calendar)));
    }

    #[test]
    fn reworked_counts_the_times_sent_back() {
        let mut case = handling(t("2026-10-20T10:00:00Z"));
        let r = rule(None, Some(2));
        case.rework_count = 1;
        assert!(!r.applies(&case, 0, t("2026-10-20T00:00:00Z"), None));
        case.rework_count = 2;
        assert!(r.applies(&case, 0, t("2026-10-20T00:00:00Z"), None));
    }

    #[test]
    fn reported_again_counts_the_publics_duplicates() {
        let case = handling(t("2026-10-20T10:00:00Z"));
        let r = Rule {
            reported_again: Some(2),
            ..rule(None, None)
        };
        let now = t("2026-10-20T00:00:00Z");
        assert!(!r.applies(&case, 1, now, None));
        assert!(r.applies(&case, 2, now, None));
    }

    #[test]
    fn a_rule_has_one_condition_and_sane_deadlines() {
        let ok = Escalation {
            rules: vec![rule(Some(1), None)],
            ..Escalation::default()
        };
        assert_eq!(ok.validate(), Ok(()));
        for bad in [
            rule(None, None),
            rule(Some(1), Some(1)),
            Rule {
                reported_again: Some(1),
                ..rule(Some(1), None)
            },
            Rule {
                acknowledge_hours: 48,
                ..rule(Some(1), None)
            },
            Rule {
                name: INSTRUCTION.into(),
                ..rule(Some(1), None)
            },
        ] {
            let e = Escalation {
                rules: vec![bad],
                ..Escalation::default()
            };
            assert!(e.validate().is_err());
        }
        assert_eq!(
            next_level(SupervisionLevel::General),
            Some(SupervisionLevel::Key)
        );
        assert_eq!(next_level(SupervisionLevel::Listed), None);
    }
}
