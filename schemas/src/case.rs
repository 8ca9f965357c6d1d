//! Cases and their business records: what the city appraises.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{Body, Kind};

/// Where a case is in the loop (闭环流程).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CaseState {
    /// 上报
    Reported,
    /// 核实中
    Verifying,
    /// 已核实
    Verified,
    /// 已立案
    Filed,
    /// 不予立案 (final)
    Rejected,
    /// 已派遣
    Dispatched,
    /// 挂账/缓办: the clock stands still.
    Suspended,
    /// 已处置
    Handled,
    /// 核查通过
    Checked,
    /// 已回访
    CalledBack,
    /// 结案 (final)
    Closed,
    /// 作废 (final)
    Cancelled,
}

/// Who found the problem (问题来源).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// 监督员上报
    Supervisor,
    /// 公众举报 (app, web)
    Public,
    /// 热线 (12345 and the like), entered by an operator.
    Hotline,
    /// 上级发现 (since v1.5): found by the city's own supervisors and sent to the district
    /// as a [`crate::CityProblem`]. Like a supervisor's report it needs no verification
    /// and no call-back; the city counts it against the district (上级发现数).
    City,
}

/// 紧急程度.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    /// 一般
    Normal,
    /// 紧急
    Urgent,
}

/// 部件 (components, fixed objects) or 事件 (events), GB/T 30428.2 / CJ/T 214.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CategoryKind {
    /// 部件: a physical object with an owner (manhole cover, street lamp…).
    Component,
    /// 事件: something that happens (illegal dumping, street vending…).
    Event,
}

impl CategoryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CategoryKind::Component => "component",
            CategoryKind::Event => "event",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "component" => Some(CategoryKind::Component),
            "event" => Some(CategoryKind::Event),
            _ => None,
        }
    }
}

/// An edition of the national category standard. Districts move from the legacy edition
/// to GB/T 47678.5 at their own pace, so the city holds both and compares across them.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    JsonSchema,
)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub enum Edition {
    /// GB/T 30428.2-2013 / CJ/T 214-2007: 4-digit codes (major 2 + minor 2). What a v1
    /// message without an edition means.
    #[default]
    #[serde(rename = "GB/T 30428.2-2013")]
    Gbt30428,
    /// GB/T 47678.5-2026, in force since 2026-07-01: 5-digit codes (major 2 + minor 3).
    #[serde(rename = "GB/T 47678.5-2026")]
    Gbt47678,
}

impl Edition {
    pub const ALL: [Edition; 2] = [Edition::Gbt30428, Edition::Gbt47678];

    pub fn as_str(self) -> &'static str {
        match self {
            Edition::Gbt30428 => "GB/T 30428.2-2013",
            Edition::Gbt47678 => "GB/T 47678.5-2026",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == s)
    }

    /// Digits of a minor (小类) code in this edition.
    pub fn minor_digits(self) -> usize {
        match self {
            Edition::Gbt30428 => 2,
            Edition::Gbt47678 => 3,
        }
    }
}

impl std::fmt::Display for Edition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A case's category: kind, 2-digit major (大类) and minor (小类) code of `edition`: two
/// digits in GB/T 30428.2, three in GB/T 47678.5 (the schema says so with `if`/`then`).
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[schemars(extend(
    "if" = { "required": ["edition"], "properties": { "edition": { "const": "GB/T 47678.5-2026" } } },
    "then" = { "properties": { "minor": { "pattern": "^[0-9]{3}$" } } },
    "else" = { "properties": { "minor": { "pattern": "^[0-9]{2}$" } } }
))]
pub struct Category {
    pub kind: CategoryKind,
    /// 大类 code, two digits (e.g. `01` 市容环境 for events).
    #[schemars(regex(pattern = r"^[0-9]{2}$"))]
    pub major: String,
    /// 小类 code: two digits in GB/T 30428.2, three in GB/T 47678.5.
    #[schemars(regex(pattern = r"^[0-9]{2,3}$"))]
    pub minor: String,
    /// The edition the codes are of (since v1.1). Absent: GB/T 30428.2-2013, as every v1
    /// message before editions. A CityGrid district always sends it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edition: Option<Edition>,
}

impl Category {
    /// The edition the codes are of, absent meaning the legacy one.
    pub fn edition(&self) -> Edition {
        self.edition.unwrap_or_default()
    }

    /// The same category without its edition: the key inside one edition's tables.
    pub fn bare(&self) -> Category {
        Category {
            edition: None,
            ..self.clone()
        }
    }

    /// `event:0102`, the category as people and tables write it (kind, major, minor).
    pub fn label(&self) -> String {
        format!("{}:{}{}", self.kind.as_str(), self.major, self.minor)
    }
}

/// A point in WGS-84 degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Point {
    /// Longitude, degrees east.
    #[schemars(range(min = -180.0, max = 180.0))]
    pub lon: f64,
    /// Latitude, degrees north.
    #[schemars(range(min = -90.0, max = 90.0))]
    pub lat: f64,
}

/// The timed stages of the loop, each with its limit from the command manual.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// 立案 (operator: from report to filing)
    Filing,
    /// 派遣 (dispatcher: from filing to dispatch)
    Dispatch,
    /// 处置 (department: from dispatch to handled)
    Handling,
    /// 核查 (supervisor: from handled to the check)
    Check,
}

/// How a limit is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Clock {
    /// 工作时: only the district's working hours count (holidays and 调休 observed).
    Working,
    /// 自然时: every minute counts (emergencies).
    Natural,
}

/// The stage running now and its deadline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct StageClock {
    pub stage: Stage,
    pub clock: Clock,
    pub started_at: DateTime<Utc>,
    /// The limit in minutes of `clock`, extensions included.
    pub limit_minutes: u32,
    /// When the light turns yellow (预警). Null while suspended.
    pub yellow_at: Option<DateTime<Utc>>,
    /// When the light turns red (超时). Null while suspended.
    pub deadline: Option<DateTime<Utc>>,
}

/// 回访 result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Satisfaction {
    /// 满意
    Satisfied,
    /// 不满意
    Unsatisfied,
}

/// 督办级别.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SupervisionLevel {
    /// 一般督办
    General,
    /// 重点督办
    Key,
    /// 挂牌督办: named publicly.
    Listed,
}

/// The last time each step happened (UTC); null when it has not.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Milestones {
    /// 上报
    pub reported_at: Option<DateTime<Utc>>,
    /// 立案
    pub filed_at: Option<DateTime<Utc>>,
    /// 派遣 (the latest, after a return)
    pub dispatched_at: Option<DateTime<Utc>>,
    /// 处置 (the latest, after a rework)
    pub handled_at: Option<DateTime<Utc>>,
    /// 核查通过
    pub checked_at: Option<DateTime<Utc>>,
    /// 结案, 不予立案 or 作废: when the case became final.
    pub finished_at: Option<DateTime<Utc>>,
}

/// 案件快照: the case as it is after the change that produced this message. The city
/// keeps the highest `version` per `case_id`; an older or equal version is a redelivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CaseSnapshot {
    /// Stable id of the case, unique across districts.
    pub case_id: Uuid,
    /// The district's running case number (案件编号), for people.
    pub number: i64,
    /// Incremented by every step, from 1.
    #[schemars(range(min = 1))]
    pub version: u32,
    pub state: CaseState,
    pub source: Source,
    pub urgency: Urgency,
    /// Null until filed (立案).
    pub category: Option<Category>,
    pub description: String,
    pub address: Option<String>,
    pub location: Point,
    /// 9-digit street (街道) code the point falls in.
    #[schemars(regex(pattern = r"^[0-9]{9}$"))]
    pub street_code: Option<String>,
    /// 12-digit community (社区) code: the first 12 digits of `cell_code` (since v1.2).
    #[schemars(regex(pattern = r"^[0-9]{12}$"))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub community_code: Option<String>,
    /// 15-digit unit grid cell (万米单元网格) the point falls in (since v1.2): district 6,
    /// street 3, community 3 and serial 3 digits, so it begins with `street_code`. Absent
    /// when the district has no grid or the point lies in none of its cells.
    #[schemars(regex(pattern = r"^[0-9]{15}$"))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cell_code: Option<String>,
    /// Code of the department it is dispatched to (district-local; see the district's
    /// department list).
    pub department_code: Option<String>,
    /// The supervisor who reported it (user id in the district), for supervisor reports.
    pub reporter_id: Option<Uuid>,
    /// The on-site verification (核实) answer for public and hotline reports.
    pub verified: Option<bool>,
    /// The case this one duplicates, when rejected as 重复.
    pub duplicate_of: Option<Uuid>,
    /// Times the check failed and the case went back (返工).
    pub rework_count: u32,
    /// Times a department returned a dispatch (退回).
    pub return_count: u32,
    /// Total minutes of approved extensions (延期).
    pub extension_minutes: u32,
    /// 回访 result, public and hotline reports only.
    pub satisfaction: Option<Satisfaction>,
    /// The command-manual (指挥手册) version its limits come from.
    pub manual_version: Option<String>,
    /// The manual's filing-condition row (立案条件) it was filed under, 2 digits, unique
    /// within its category (since v1.3): with `manual_version`, whose limits it runs on.
    #[schemars(regex(pattern = r"^(0[1-9]|[1-9][0-9])$"))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manual_condition: Option<String>,
    /// 部件标识码 of the component a component case is about (since v1.3): 16 digits
    /// (GB/T 30428.2) or 17 (GB/T 47678.5), beginning with the district's code, of the
    /// case's component class (`component_id`).
    #[schemars(regex(pattern = r"^[0-9]{16,17}$"))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component_id: Option<String>,
    /// The timed stage running now; null when none is (final states, waiting for the
    /// call-back).
    pub current_stage: Option<StageClock>,
    /// A supervision order (督办) waits for the department's acknowledgement.
    pub supervision_pending: bool,
    pub supervision_level: Option<SupervisionLevel>,
    pub milestones: Milestones,
    pub created_at: DateTime<Utc>,
    /// When this version was written.
    pub updated_at: DateTime<Utc>,
}

impl Body for CaseSnapshot {
    const KIND: Kind = Kind::CaseSnapshot;
}

/// The steps of the loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// 上报
    Report,
    /// 申请核实
    RequestVerification,
    /// 核实
    Verify,
    /// 立案
    File,
    /// 不予立案
    Reject,
    /// 派遣
    Dispatch,
    /// 退回
    Return,
    /// 处置
    Handle,
    /// 核查通过
    CheckPass,
    /// 核查不通过, 返工
    Rework,
    /// 回访
    Callback,
    /// 结案
    Close,
    /// 作废
    Cancel,
    /// 申请延期
    RequestExtension,
    /// 延期批准
    ApproveExtension,
    /// 延期不批准
    RejectExtension,
    /// 申请挂账/缓办
    RequestSuspension,
    /// 挂账批准
    ApproveSuspension,
    /// 挂账不批准
    RejectSuspension,
    /// 恢复办理
    Resume,
    /// 督办
    Supervise,
    /// 督办签收
    AcknowledgeSupervision,
    /// 催办
    Urge,
    /// 申请作废 (since v1.3)
    RequestCancellation,
    /// 作废不批准 (since v1.3)
    RejectCancellation,
    /// 回访不满意, 重办 (since v1.3)
    Rehandle,
    /// 上报市级 (since v1.6): the shift leader refers the case up to the city
    Refer,
    /// 市级退回 (since v1.6): the city sends a referred case back to the district
    ReturnReferral,
}

/// 岗位: the role a step was taken in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 监督员
    Supervisor,
    /// 受理员
    Operator,
    /// 派遣员
    Dispatcher,
    /// 专业部门 (处置人员)
    Handler,
    /// 值班长: approves cancellations (since v1.3)
    ShiftLeader,
    /// 领导
    Leader,
    /// 管理员
    Admin,
    /// 公众 (anonymous or phone-identified)
    Public,
}

/// How a timed stage ended: what the on-time (按时/按期) indicators count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct StageOutcome {
    pub stage: Stage,
    pub clock: Clock,
    pub started_at: DateTime<Utc>,
    /// The deadline in force when the stage ended (extensions included).
    pub deadline: DateTime<Utc>,
    pub ended_at: DateTime<Utc>,
    /// `ended_at <= deadline`.
    pub on_time: bool,
    /// The working time the stage used, in whole minutes of the district's working calendar,
    /// suspensions excluded (since v1.4). Absent from districts before v1.4, and when the
    /// district's calendar does not cover the stage's time.
    #[schemars(range(min = 0))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_minutes: Option<i64>,
}

/// 办理记录: one step of the loop, append-only. Identified by (`case_id`, `record_id`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BusinessRecord {
    /// The district's record number, increasing.
    pub record_id: i64,
    pub case_id: Uuid,
    /// The case version this step produced.
    #[schemars(range(min = 1))]
    pub case_version: u32,
    pub action: Action,
    /// Null for the report that created the case.
    pub from_state: Option<CaseState>,
    pub to_state: CaseState,
    /// The user (district user id); null for an anonymous public report.
    pub actor_id: Option<Uuid>,
    pub actor_role: Role,
    pub comment: Option<String>,
    /// SHA-256 (lowercase hex) of the photos attached; each is announced by a
    /// `media_manifest` before this record.
    pub media: Vec<String>,
    /// Step-specific facts (category, department, reason code, extension minutes, …) as
    /// the district recorded them.
    pub details: serde_json::Value,
    /// Set when this step ended a timed stage.
    pub stage_ended: Option<StageOutcome>,
    pub at: DateTime<Utc>,
}

impl Body for BusinessRecord {
    const KIND: Kind = Kind::BusinessRecord;
}
