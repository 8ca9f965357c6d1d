//! Case and record rows, and the changes a step may make to a case.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::schema::{case_records, cases, supervision_orders};
use crate::vocab::{
    Action, ActorRole, CategoryKind, Clock, Pending, Satisfaction, Source, Stage, State,
    SupervisionLevel, SupervisionOrigin, Urgency,
};

/// 案件: the current state of one case, derived from its records.
#[derive(Debug, Clone, Queryable, Selectable, Serialize, Deserialize, ToSchema)]
#[diesel(table_name = cases)]
pub struct Case {
    pub id: Uuid,
    /// Per-district running number, for people.
    pub number: i64,
    pub state: State,
    /// Incremented by every step; a step must quote the version it saw.
    pub version: i32,
    pub source: Source,
    pub urgency: Urgency,
    pub category_kind: Option<CategoryKind>,
    pub category_major: Option<String>,
    pub category_minor: Option<String>,
    pub description: String,
    pub address: Option<String>,
    /// WGS84 longitude.
    pub lon: f64,
    /// WGS84 latitude.
    pub lat: f64,
    /// 9-digit street code.
    pub street_code: Option<String>,
    /// The department it is dispatched to.
    pub department_code: Option<String>,
    pub reporter_id: Option<Uuid>,
    pub reporter_name: Option<String>,
    pub reporter_phone: Option<String>,
    /// The on-site verification answer (核实), once given.
    pub verified: Option<bool>,
    /// Times the check failed and the case went back (返工).
    pub rework_count: i32,
    /// From the call-back (回访).
    pub satisfaction: Option<Satisfaction>,
    pub duplicate_of: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The command-manual version the case was filed under.
    pub manual_version: Option<String>,
    /// The limits of that manual row, fixed at filing (clock and minutes per stage).
    #[schema(value_type = Option<Object>)]
    pub manual_limits: Option<serde_json::Value>,
    /// The filing condition (立案条件) of that manual row: its two-digit code within the
    /// category (`tenant.manual.condition`). None before filing, and for cases filed
    /// before manuals had conditions.
    pub manual_condition: Option<String>,
    /// The timed stage running now; none when untimed.
    pub stage: Option<Stage>,
    pub clock: Option<Clock>,
    pub stage_started_at: Option<DateTime<Utc>>,
    pub stage_limit_minutes: Option<i32>,
    /// When the light turns yellow.
    pub stage_yellow_at: Option<DateTime<Utc>>,
    /// When the light turns red.
    pub stage_deadline: Option<DateTime<Utc>>,
    /// A request waiting for a decision: the dispatcher's, the shift leader's or the city's.
    pub pending_request: Option<Pending>,
    /// Minutes asked for by a pending extension request.
    pub pending_minutes: Option<i32>,
    /// While suspended: the stage time that was left (negative if it was overdue).
    pub suspended_remaining_minutes: Option<i32>,
    /// Total minutes of approved extensions (延期).
    pub extension_minutes: i32,
    /// A supervision order (督办) waits for the department's acknowledgement.
    pub supervision_pending: bool,
    /// The level of the latest supervision order, once there is one.
    pub supervision_level: Option<SupervisionLevel>,
    /// When the reminder timer looks at the case next (yellow, then red instant).
    pub next_reminder_at: Option<DateTime<Utc>>,
    /// 15-digit unit grid cell (万米单元网格) the point lies in, found when reported; none
    /// without a grid or in a gap of it.
    pub cell_code: Option<String>,
    /// 12-digit community (社区) of that cell.
    pub community_code: Option<String>,
    /// The supervisor holding the case's on-site task (核实 while verifying, 核查 while
    /// handled): the one answering for its cell's patrol area, or whom it was reassigned
    /// to. None: any supervisor may take it.
    pub task_assignee: Option<Uuid>,
    /// 部件标识码 of the component a component case is about (crate::component).
    pub component_id: Option<String>,
    /// The department the component's cases go to (its maintainer when that is a
    /// department here, else its competent department): the dispatch suggestion's first
    /// choice.
    pub component_department: Option<String>,
}

/// 督办单: a supervision order on a case.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize, Deserialize, ToSchema)]
#[diesel(table_name = supervision_orders)]
pub struct SupervisionOrder {
    pub id: Uuid,
    pub case_id: Uuid,
    pub origin: SupervisionOrigin,
    pub level: SupervisionLevel,
    pub text: String,
    /// When the leader expects the case resolved.
    pub due_at: DateTime<Utc>,
    pub issued_by: Option<Uuid>,
    pub issued_at: DateTime<Utc>,
    pub acknowledged_by: Option<Uuid>,
    pub acknowledged_at: Option<DateTime<Utc>>,
}

/// 办理记录: one step taken on a case. Append-only; the database refuses changes.
#[derive(Debug, Clone, Queryable, Selectable, Serialize, Deserialize, ToSchema)]
#[diesel(table_name = case_records)]
pub struct Record {
    pub id: i64,
    pub case_id: Uuid,
    /// The case version this step produced.
    pub case_version: i32,
    pub action: Action,
    pub from_state: Option<State>,
    pub to_state: State,
    /// Null for anonymous public reports.
    pub actor_id: Option<Uuid>,
    /// The role the step was taken in (`public` for anonymous reports).
    pub actor_role: ActorRole,
    pub comment: Option<String>,
    /// SHA-256 hashes of the photos attached to the step.
    pub media: Vec<String>,
    /// Step-specific facts (reason codes, department, category…).
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = case_records)]
pub struct NewRecord<'a> {
    pub case_id: Uuid,
    pub case_version: i32,
    pub action: Action,
    pub from_state: Option<State>,
    pub to_state: State,
    pub actor_id: Option<Uuid>,
    pub actor_role: ActorRole,
    pub comment: Option<&'a str>,
    pub media: &'a [String],
    pub details: serde_json::Value,
    pub at: DateTime<Utc>,
}

/// What a step changes besides state and version. `None` leaves a column alone;
/// `Some(None)` clears a nullable one.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = cases)]
pub struct CaseChanges {
    pub category_kind: Option<Option<CategoryKind>>,
    pub category_major: Option<Option<String>>,
    pub category_minor: Option<Option<String>>,
    pub description: Option<String>,
    pub street_code: Option<Option<String>>,
    pub department_code: Option<Option<String>>,
    pub urgency: Option<Urgency>,
    pub verified: Option<Option<bool>>,
    pub rework_count: Option<i32>,
    pub satisfaction: Option<Option<Satisfaction>>,
    pub duplicate_of: Option<Option<Uuid>>,
    pub manual_version: Option<Option<String>>,
    pub manual_limits: Option<Option<serde_json::Value>>,
    pub manual_condition: Option<Option<String>>,
    pub stage: Option<Option<Stage>>,
    pub clock: Option<Option<Clock>>,
    pub stage_started_at: Option<Option<DateTime<Utc>>>,
    pub stage_limit_minutes: Option<Option<i32>>,
    pub stage_yellow_at: Option<Option<DateTime<Utc>>>,
    pub stage_deadline: Option<Option<DateTime<Utc>>>,
    pub pending_request: Option<Option<Pending>>,
    pub pending_minutes: Option<Option<i32>>,
    pub suspended_remaining_minutes: Option<Option<i32>>,
    pub extension_minutes: Option<i32>,
    pub supervision_pending: Option<bool>,
    pub supervision_level: Option<Option<SupervisionLevel>>,
    pub next_reminder_at: Option<Option<DateTime<Utc>>>,
    pub task_assignee: Option<Option<Uuid>>,
}

impl CaseChanges {
    /// Starts a new timed stage (`Some`) or stops the clock (`None`).
    pub fn set_stage(&mut self, times: Option<&crate::deadline::StageTimes>) {
        self.stage = Some(times.map(|t| t.stage));
        self.clock = Some(times.map(|t| t.clock));
        self.stage_started_at = Some(times.map(|t| t.started_at));
        self.stage_limit_minutes = Some(times.map(|t| t.limit.num_minutes() as i32));
        self.stage_yellow_at = Some(times.map(|t| t.yellow_at));
        self.stage_deadline = Some(times.map(|t| t.deadline));
        self.next_reminder_at = Some(times.map(|t| t.yellow_at));
    }
}
