//! The district's vocabulary: every closed set of words the loop uses — states, roles,
//! actions, stages, clocks, urgencies, sources, category kinds… — as Rust enums.
//!
//! At the bottom of the crate on purpose: the workflow, the store, the API and the
//! interchange mapping all speak these types, never strings. Each is stored as its
//! snake_case name in a `TEXT` column that diesel reads and writes directly; a CHECK
//! constraint in the migrations (2026-11-26-000001_vocabulary, replaced by a later migration
//! when an enum grows, e.g. 2026-12-03-000002_department_kinds) refuses a name the code
//! does not know, and reading an unknown name is an error, never a silent default. Each
//! maps to the interchange standard's type with `From`, checked at compile time.

use citygrid_kit::vocabulary;
use citygrid_schemas as v1;
use diesel::sql_types::Text;
use diesel::{AsExpression, FromSqlRow};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Maps a vocabulary enum to the interchange type of the same variants; a variant missing
/// on either side fails to compile.
macro_rules! to_standard {
    ($name:ident => $standard:path { $($variant:ident),+ $(,)? }) => {
        impl From<$name> for $standard {
            fn from(value: $name) -> Self {
                match value {
                    $($name::$variant => <$standard>::$variant),+
                }
            }
        }
    };
}

/// Where a case is in the loop (案件状态).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    ToSchema,
    AsExpression,
    FromSqlRow,
)]
#[diesel(sql_type = Text)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// 上报
    Reported,
    /// 核实中: an operator asked a supervisor to verify a public report on site.
    Verifying,
    /// 已核实
    Verified,
    /// 立案
    Filed,
    /// 不予立案
    Rejected,
    /// 已派遣
    Dispatched,
    /// 挂账: handling suspended with the command center's approval.
    Suspended,
    /// 已处置
    Handled,
    /// 核查通过
    Checked,
    /// 已回访
    CalledBack,
    /// 结案
    Closed,
    /// 作废
    Cancelled,
}

vocabulary!(State {
    Reported => "reported",
    Verifying => "verifying",
    Verified => "verified",
    Filed => "filed",
    Rejected => "rejected",
    Dispatched => "dispatched",
    Suspended => "suspended",
    Handled => "handled",
    Checked => "checked",
    CalledBack => "called_back",
    Closed => "closed",
    Cancelled => "cancelled",
});
to_standard!(State => v1::CaseState {
    Reported, Verifying, Verified, Filed, Rejected, Dispatched, Suspended, Handled, Checked,
    CalledBack, Closed, Cancelled,
});

impl State {
    pub fn is_open(self) -> bool {
        !matches!(self, State::Rejected | State::Closed | State::Cancelled)
    }
}

/// What a signed-in person may do (角色). Nobody judges their own work: the supervision
/// axis (supervisor, operator) and the command axis (dispatcher, handler) are apart.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    ToSchema,
    AsExpression,
    FromSqlRow,
)]
#[diesel(sql_type = Text)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 监督员
    Supervisor,
    /// 受理员
    Operator,
    /// 派遣员
    Dispatcher,
    /// 专业部门处置人员
    Handler,
    /// 值班长: decides the operators' cancellation requests
    ShiftLeader,
    /// 领导
    Leader,
    /// 管理员
    Admin,
}

vocabulary!(Role {
    Supervisor => "supervisor",
    Operator => "operator",
    Dispatcher => "dispatcher",
    Handler => "handler",
    ShiftLeader => "shift_leader",
    Leader => "leader",
    Admin => "admin",
});
to_standard!(Role => v1::Role { Supervisor, Operator, Dispatcher, Handler, ShiftLeader, Leader, Admin });

/// Who took a recorded step: a role, or the public for an anonymous report.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    ToSchema,
    AsExpression,
    FromSqlRow,
)]
#[diesel(sql_type = Text)]
#[serde(rename_all = "snake_case")]
pub enum ActorRole {
    Supervisor,
    Operator,
    Dispatcher,
    Handler,
    ShiftLeader,
    Leader,
    Admin,
    /// 公众
    Public,
}

vocabulary!(ActorRole {
    Supervisor => "supervisor",
    Operator => "operator",
    Dispatcher => "dispatcher",
    Handler => "handler",
    ShiftLeader => "shift_leader",
    Leader => "leader",
    Admin => "admin",
    Public => "public",
});
to_standard!(ActorRole => v1::Role {
    Supervisor, Operator, Dispatcher, Handler, ShiftLeader, Leader, Admin, Public,
});

impl From<Role> for ActorRole {
    fn from(role: Role) -> Self {
        match role {
            Role::Supervisor => ActorRole::Supervisor,
            Role::Operator => ActorRole::Operator,
            Role::Dispatcher => ActorRole::Dispatcher,
            Role::Handler => ActorRole::Handler,
            Role::ShiftLeader => ActorRole::ShiftLeader,
            Role::Leader => ActorRole::Leader,
            Role::Admin => ActorRole::Admin,
        }
    }
}

/// Where a report came from (信息来源).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    ToSchema,
    AsExpression,
    FromSqlRow,
)]
#[diesel(sql_type = Text)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// 监督员上报
    Supervisor,
    /// 公众举报
    Public,
    /// 12319 热线
    Hotline,
    /// 上级发现: found by the city's supervisors, sent over the interchange
    /// (`city_problem`); nobody in the district reports it.
    City,
}

vocabulary!(Source {
    Supervisor => "supervisor",
    Public => "public",
    Hotline => "hotline",
    City => "city",
});
to_standard!(Source => v1::Source { Supervisor, Public, Hotline, City });

impl Source {
    /// Public and hotline reports are verified on site before filing and called back
    /// before closing; a supervisor's, the district's or the city's, is neither.
    pub fn from_public(self) -> bool {
        matches!(self, Source::Public | Source::Hotline)
    }
}

/// A step of the loop as the business record names it (办理动作).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    ToSchema,
    AsExpression,
    FromSqlRow,
)]
#[diesel(sql_type = Text)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// 上报 (the record that opens a case)
    Report,
    /// 派核实
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
    /// 申请挂账
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
    /// 申请作废
    RequestCancellation,
    /// 作废不批准
    RejectCancellation,
    /// 回访不满意, 重办
    Rehandle,
    /// 上报市级: the shift leader refers the case up to the city
    Refer,
    /// 市级退回: the city sends a referred case back (never a district user's step)
    ReturnReferral,
}

vocabulary!(Action {
    Report => "report",
    RequestVerification => "request_verification",
    Verify => "verify",
    File => "file",
    Reject => "reject",
    Dispatch => "dispatch",
    Return => "return",
    Handle => "handle",
    CheckPass => "check_pass",
    Rework => "rework",
    Callback => "callback",
    Close => "close",
    Cancel => "cancel",
    RequestExtension => "request_extension",
    ApproveExtension => "approve_extension",
    RejectExtension => "reject_extension",
    RequestSuspension => "request_suspension",
    ApproveSuspension => "approve_suspension",
    RejectSuspension => "reject_suspension",
    Resume => "resume",
    Supervise => "supervise",
    AcknowledgeSupervision => "acknowledge_supervision",
    Urge => "urge",
    RequestCancellation => "request_cancellation",
    RejectCancellation => "reject_cancellation",
    Rehandle => "rehandle",
    Refer => "refer",
    ReturnReferral => "return_referral",
});
to_standard!(Action => v1::Action {
    Report, RequestVerification, Verify, File, Reject, Dispatch, Return, Handle, CheckPass,
    Rework, Callback, Close, Cancel, RequestExtension, ApproveExtension, RejectExtension,
    RequestSuspension, ApproveSuspension, RejectSuspension, Resume, Supervise,
    AcknowledgeSupervision, Urge, RequestCancellation, RejectCancellation, Rehandle, Refer,
    ReturnReferral,
});

/// A request waiting for a decision: a department's (extension, suspension) for the
/// dispatcher, an operator's cancellation for the shift leader, or the shift leader's
/// referral for the city.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    ToSchema,
    AsExpression,
    FromSqlRow,
)]
#[diesel(sql_type = Text)]
#[serde(rename_all = "snake_case")]
pub enum Pending {
    /// 延期申请
    Extension,
    /// 挂账申请
    Suspension,
    /// 作废申请 (an operator's, for the shift leader)
    Cancellation,
    /// 上报市级 (the shift leader's, for the city)
    Referral,
}

vocabulary!(Pending {
    Extension => "extension",
    Suspension => "suspension",
    Cancellation => "cancellation",
    Referral => "referral",
});

/// 紧急程度.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    ToSchema,
    AsExpression,
    FromSqlRow,
)]
#[diesel(sql_type = Text)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    /// 一般
    Normal,
    /// 紧急
    Urgent,
}

vocabulary!(Urgency {
    Normal => "normal",
    Urgent => "urgent",
});
to_standard!(Urgency => v1::Urgency { Normal, Urgent });

/// The timed stages of the loop.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    ToSchema,
    AsExpression,
    FromSqlRow,
)]
#[diesel(sql_type = Text)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// 立案: from report to filing (or rejection).
    Filing,
    /// 派遣: from filing to dispatch.
    Dispatch,
    /// 处置: from dispatch to the department's report of the fix.
    Handling,
    /// 核查: from handling to the supervisor's check.
    Check,
}

vocabulary!(Stage {
    Filing => "filing",
    Dispatch => "dispatch",
    Handling => "handling",
    Check => "check",
});
to_standard!(Stage => v1::Stage { Filing, Dispatch, Handling, Check });

/// Which clock a limit runs on.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    ToSchema,
    AsExpression,
    FromSqlRow,
)]
#[diesel(sql_type = Text)]
#[serde(rename_all = "snake_case")]
pub enum Clock {
    /// 工作时: only working periods of working days count.
    Working,
    /// 自然时: every minute counts (emergencies).
    Natural,
}

vocabulary!(Clock {
    Working => "working",
    Natural => "natural",
});
to_standard!(Clock => v1::Clock { Working, Natural });

/// 部件 or 事件: the two kinds of category (GB/T 30428.2).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    ToSchema,
    AsExpression,
    FromSqlRow,
)]
#[diesel(sql_type = Text)]
#[serde(rename_all = "snake_case")]
pub enum CategoryKind {
    /// 部件: a physical object with an owner (manhole cover, street lamp…).
    Component,
    /// 事件: something that happens (illegal dumping, street vending…).
    Event,
}

vocabulary!(CategoryKind {
    Component => "component",
    Event => "event",
});
to_standard!(CategoryKind => v1::CategoryKind { Component, Event });

impl From<v1::CategoryKind> for CategoryKind {
    fn from(kind: v1::CategoryKind) -> Self {
        match kind {
            v1::CategoryKind::Component => CategoryKind::Component,
            v1::CategoryKind::Event => CategoryKind::Event,
        }
    }
}

/// The public's verdict at the call-back (回访满意度).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    ToSchema,
    AsExpression,
    FromSqlRow,
)]
#[diesel(sql_type = Text)]
#[serde(rename_all = "snake_case")]
pub enum Satisfaction {
    /// 满意
    Satisfied,
    /// 不满意
    Unsatisfied,
}

vocabulary!(Satisfaction {
    Satisfied => "satisfied",
    Unsatisfied => "unsatisfied",
});
to_standard!(Satisfaction => v1::Satisfaction { Satisfied, Unsatisfied });

/// How hard a supervision order presses (督办级别).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    ToSchema,
    AsExpression,
    FromSqlRow,
)]
#[diesel(sql_type = Text)]
#[serde(rename_all = "snake_case")]
pub enum SupervisionLevel {
    /// 一般督办
    General,
    /// 重点督办
    Key,
    /// 挂牌督办: named publicly.
    Listed,
}

vocabulary!(SupervisionLevel {
    General => "general",
    Key => "key",
    Listed => "listed",
});
to_standard!(SupervisionLevel => v1::SupervisionLevel { General, Key, Listed });

/// Who issued a supervision order: the district's own leader or the city.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    ToSchema,
    AsExpression,
    FromSqlRow,
)]
#[diesel(sql_type = Text)]
#[serde(rename_all = "snake_case")]
pub enum SupervisionOrigin {
    /// 区级督办
    District,
    /// 市级督办, through the interchange
    City,
}

vocabulary!(SupervisionOrigin {
    District => "district",
    City => "city",
});

/// What a department is (部门类型).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    ToSchema,
    AsExpression,
    FromSqlRow,
)]
#[diesel(sql_type = Text)]
#[serde(rename_all = "snake_case")]
pub enum DepartmentKind {
    /// 市政
    Municipal,
    /// 园林绿化
    Landscaping,
    /// 环卫
    Sanitation,
    /// 城管执法
    Enforcement,
    /// 街道办事处
    StreetOffice,
    /// 公用事业企业: the owner of a network or its street furniture — water, gas, power,
    /// telecoms, cable, heat, public transport, post (a district branch or service centre).
    Utility,
    /// 公安、交警、消防救援: public security, traffic police, fire and rescue.
    PublicSafety,
    /// 政府职能部门: a district bureau that owns or regulates facilities — 住建, 应急管理,
    /// 生态环境…
    Bureau,
    Other,
}

vocabulary!(DepartmentKind {
    Municipal => "municipal",
    Landscaping => "landscaping",
    Sanitation => "sanitation",
    Enforcement => "enforcement",
    StreetOffice => "street_office",
    Utility => "utility",
    PublicSafety => "public_safety",
    Bureau => "bureau",
    Other => "other",
});

#[cfg(test)]
mod tests {
    use super::*;

    /// Every name parses back to its value, and serde writes the same name the database
    /// stores (the API and the columns never disagree).
    fn round_trips<T>(all: &[T], as_str: fn(T) -> &'static str, parse: fn(&str) -> Option<T>)
    where
        T: Copy + PartialEq + std::fmt::Debug + Serialize,
    {
        for &value in all {
            assert_eq!(parse(as_str(value)), Some(value));
            assert_eq!(
                serde_json::to_value(value).expect("serialise"),
                serde_json::Value::String(as_str(value).to_owned())
            );
        }
        assert_eq!(parse("no such name"), None);
    }

    #[test]
    fn every_name_round_trips() {
        round_trips(State::ALL, State::as_str, State::parse);
        round_trips(Role::ALL, Role::as_str, Role::parse);
        round_trips(ActorRole::ALL, ActorRole::as_str, ActorRole::parse);
        round_trips(Source::ALL, Source::as_str, Source::parse);
        round_trips(Action::ALL, Action::as_str, Action::parse);
        round_trips(Pending::ALL, Pending::as_str, Pending::parse);
        round_trips(Urgency::ALL, Urgency::as_str, Urgency::parse);
        round_trips(Stage::ALL, Stage::as_str, Stage::parse);
        round_trips(Clock::ALL, Clock::as_str, Clock::parse);
        round_trips(CategoryKind::ALL, CategoryKind::as_str, CategoryKind::parse);
        round_trips(Satisfaction::ALL, Satisfaction::as_str, Satisfaction::parse);
        round_trips(
            SupervisionLevel::ALL,
            SupervisionLevel::as_str,
            SupervisionLevel::parse,
        );
        round_trips(
            SupervisionOrigin::ALL,
            SupervisionOrigin::as_str,
            SupervisionOrigin::parse,
        );
        round_trips(
            DepartmentKind::ALL,
            DepartmentKind::as_str,
            DepartmentKind::parse,
        );
    }

    /// `From` makes every district value map to a standard one at compile time; this
    /// checks that the mapping keeps the word (the interchange is snake_case too).
    #[test]
    fn district_names_are_the_standards_names() {
        for &state in State::ALL {
            let standard: v1::CaseState = state.into();
            assert_eq!(
                serde_json::to_value(standard).ok(),
                serde_json::to_value(state).ok()
            );
        }
        for &action in Action::ALL {
            let standard: v1::Action = action.into();
            assert_eq!(
                serde_json::to_value(standard).ok(),
                serde_json::to_value(action).ok()
            );
        }
        for &role in ActorRole::ALL {
            let standard: v1::Role = role.into();
            assert_eq!(
                serde_json::to_value(standard).ok(),
                serde_json::to_value(role).ok()
            );
        }
    }
}
