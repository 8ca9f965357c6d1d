//! What the API shows of a case: the row plus what is computed at read time.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::case::model::Case;
use crate::case::privacy::ContactAccess;
use crate::case::steps::{manual_condition_text, suggested_department};
use crate::config::Tenant;
use crate::deadline::{self, Light};
use crate::manual::Clock;

/// A case as one reader may see it: `reporter_name` and `reporter_phone` are masked
/// (`张*`, `138****0000`) unless the reader calls back or verifies (see `case::privacy`).
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseView {
    #[serde(flatten)]
    pub case: Case,
    /// green / yellow / red for the running stage; absent when untimed.
    pub light: Option<Light>,
    /// Time left in the running stage on its clock, in minutes; negative when overdue.
    /// Absent when untimed, or when the working time between now and the deadline runs
    /// through a year without a holiday file (see `/healthz` `calendar`).
    pub remaining_minutes: Option<i64>,
    /// The department the command manual names (派遣建议), once the case has a category.
    pub suggested_department: Option<String>,
    /// The filing condition (立案条件) of `manual_condition`, as the district's manual words
    /// it now; absent when the case has no condition or the manual no longer has it.
    pub manual_condition_text: Option<String>,
}

impl CaseView {
    pub fn new(case: Case, tenant: &Tenant, now: DateTime<Utc>, access: ContactAccess) -> CaseView {
        let case = access.apply(case);
        let (light, remaining_minutes) = match (case.stage_yellow_at, case.stage_deadline) {
            (Some(yellow), Some(deadline)) => {
                // A running deadline always has its clock; working time is the default.
                let clock = case.clock.unwrap_or(Clock::Working);
                let left = deadline::remaining(&tenant.calendar, clock, deadline, now).ok();
                (
                    Some(deadline::light(yellow, deadline, now)),
                    left.map(|l| l.num_minutes()),
                )
            }
            _ => (None, None),
        };
        let suggested_department = suggested_department(&case, tenant);
        let manual_condition_text = manual_condition_text(&case, tenant);
        CaseView {
            case,
            light,
            remaining_minutes,
            suggested_department,
            manual_condition_text,
        }
    }

    pub fn many(cases: Vec<Case>, tenant: &Tenant, access: ContactAccess) -> Vec<CaseView> {
        let now = Utc::now();
        cases
            .into_iter()
            .map(|c| CaseView::new(c, tenant, now, access))
            .collect()
    }
}
