//! 办理明细: the `details` of a [`BusinessRecord`](crate::BusinessRecord), one type per
//! [`Action`].
//!
//! A record's `details` is a JSON object whose shape the record's `action` decides: the
//! type of the same name here (`file` → [`File`], `approve_extension` →
//! [`ApproveExtension`], …). `schemas/json/v1/details.json` holds their JSON Schema under
//! `$defs.<action>`. Readers ignore keys they do not know, so a later minor revision can
//! add optional keys; [`check`] reads a record's details as its action's type.

use std::num::NonZeroU32;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::{Action, Category, Satisfaction, Source, SupervisionLevel, Urgency};

/// The details type of one action.
pub trait ActionDetails: Serialize + DeserializeOwned + JsonSchema {
    /// The action whose records carry it.
    const ACTION: Action;

    /// What the type alone does not say: a value the action fixes (`passed` of a check).
    fn validate(&self) -> Result<(), DetailsError> {
        Ok(())
    }
}

/// Details that are not what their action's type says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetailsError {
    /// JSON path of the value at fault, from the record: `details`, `details.minutes`,
    /// `details.category.major`.
    pub field: String,
    pub message: String,
}

impl std::fmt::Display for DetailsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for DetailsError {}

/// Reads `details` as the type of `T`'s action.
pub fn read<T: ActionDetails>(details: &Value) -> Result<T, DetailsError> {
    let read: T = serde_path_to_error::deserialize(details).map_err(|e| DetailsError {
        field: crate::field_path("details", &e),
        message: e.into_inner().to_string(),
    })?;
    read.validate()?;
    Ok(read)
}

/// Calls `$m!` with the details type of every action, in the order of [`Action`]: the one
/// list of actions the functions below expand (a new action fails to compile until it is
/// here: `check` expands it into an exhaustive `match`).
macro_rules! every_action {
    ($m:ident) => {
        $m!(
            Report,
            RequestVerification,
            Verify,
            File,
            Reject,
            Dispatch,
            Return,
            Handle,
            CheckPass,
            Rework,
            Callback,
            Close,
            Cancel,
            RequestExtension,
            ApproveExtension,
            RejectExtension,
            RequestSuspension,
            ApproveSuspension,
            RejectSuspension,
            Resume,
            Supervise,
            AcknowledgeSupervision,
            Urge,
            RequestCancellation,
            RejectCancellation,
            Rehandle,
            Refer,
            ReturnReferral,
        )
    };
}

/// Checks a record's `details` against its action's type: `Ok` if the action's type reads
/// them (unknown keys are ignored). Types and required keys are checked here; patterns and
/// ranges of nested types (a category's codes) are the JSON Schema's, as everywhere in the
/// standard.
pub fn check(action: Action, details: &Value) -> Result<(), DetailsError> {
    macro_rules! check {
        ($($action:ident),+ $(,)?) => {
            match action {
                $(Action::$action => read::<$action>(details).map(drop),)+
            }
        };
    }
    every_action!(check)
}

/// `(action, JSON Schema)` of every action's details, in the order of [`Action`]; the types
/// they use (`Category`, `Source`, …) go into the generator's definitions.
pub(crate) fn schemas(generator: &mut schemars::SchemaGenerator) -> Vec<(Action, Value)> {
    fn one<T: ActionDetails>(generator: &mut schemars::SchemaGenerator) -> (Action, Value) {
        (T::ACTION, generator.subschema_for::<T>().to_value())
    }
    macro_rules! all {
        ($($action:ident),+ $(,)?) => {
            vec![$(one::<$action>(generator),)+]
        };
    }
    every_action!(all)
}

/// A details type named after its action; `where field = value` when the action fixes the
/// value of a field.
macro_rules! details {
    ($(#[$meta:meta])* $name:ident { $($body:tt)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
        pub struct $name { $($body)* }

        impl ActionDetails for $name {
            const ACTION: Action = Action::$name;
        }
    };
    ($(#[$meta:meta])* $name:ident { $($body:tt)* } where $field:ident = $value:expr) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
        pub struct $name { $($body)* }

        impl ActionDetails for $name {
            const ACTION: Action = Action::$name;

            fn validate(&self) -> Result<(), DetailsError> {
                fixed(stringify!($field), &self.$field, &$value, Self::ACTION)
            }
        }
    };
}

/// `Ok` if `value` is the one `action` fixes for `field`.
fn fixed<T: PartialEq + Serialize>(
    field: &str,
    value: &T,
    expected: &T,
    action: Action,
) -> Result<(), DetailsError> {
    if value == expected {
        return Ok(());
    }
    let show = |v: &T| serde_json::to_string(v).unwrap_or_default();
    let action = serde_json::to_value(action).unwrap_or_default();
    Err(DetailsError {
        field: format!("details.{field}"),
        message: format!(
            "is {}, and a {} record has {}",
            show(value),
            action.as_str().unwrap_or("-"),
            show(expected)
        ),
    })
}

details! {
    /// 上报: the record that opens a case.
    Report {
        /// 问题来源: who found the problem (the case's `source`).
        pub source: Source,
    }
}

details! {
    /// 申请核实 (派核实): an operator asks a supervisor to verify a public or hotline report
    /// on site. No details.
    RequestVerification {}
}

details! {
    /// 核实: the supervisor's answer on site.
    Verify {
        /// 核实结果: whether the problem is there as reported. Only a confirmed report can be
        /// filed; an unconfirmed one is rejected (不予立案).
        pub confirmed: bool,
    }
}

details! {
    /// 立案: the case is filed under a category of the catalogue.
    File {
        /// 分类: the category filed under (the snapshot's `category` from now on), with its
        /// `edition` since v1.1.
        pub category: Category,
        /// 小类名称: the category's name in the district's catalogue (e.g. `暴露垃圾`).
        pub category_name: String,
        /// 分类标准: the standard the catalogue follows (e.g. `GB/T 30428.2-2013`); the same
        /// as `category.edition`, kept for v1 readers.
        pub standard: String,
        /// 立案条件 (since v1.3): the code, two digits, of the command manual's (指挥手册)
        /// filing-condition row the case was filed under, unique within the category; its
        /// row gave the case's limits and urgency. Absent from older records.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(regex(pattern = r"^[0-9]{2}$"))]
        pub condition: Option<String>,
        /// 立案条件 (since v1.3): that row's filing-condition text (e.g. `井盖缺失`), as the
        /// district's manual says it. Absent from older records.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub condition_text: Option<String>,
    }
}

/// 不予立案原因: why a report is not filed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    /// 重复: the same problem is already a case (`duplicate_of`).
    Duplicate,
    /// 非受理范围: outside what the command center handles.
    OutOfScope,
    /// 无效: nothing found, or not a real problem.
    Invalid,
}

details! {
    /// 不予立案: the report is not filed (final).
    Reject {
        /// 原因
        pub reason: RejectReason,
        /// 重复案件: the case this one duplicates; set exactly when `reason` is `duplicate`,
        /// null otherwise.
        pub duplicate_of: Option<Uuid>,
    }
}

details! {
    /// 派遣: the case goes to a department.
    Dispatch {
        /// 处置部门: code of the department it is dispatched to (the snapshot's
        /// `department_code`).
        pub department: String,
    }
}

details! {
    /// 退回: the department sends the case back as not its own; the case is filed again
    /// (`to_state` `filed`) without a department. The reason is the record's `comment`.
    Return {
        /// 退回部门: code of the department that returned it.
        pub department: String,
    }
}

details! {
    /// 处置: the department reports the problem fixed; the record's `media` holds at least
    /// one photo of the result. No details.
    Handle {}
}

details! {
    /// 核查通过: the supervisor finds the problem fixed.
    CheckPass {
        /// 核查结果: always `true` for this action.
        #[schemars(extend("const" = true))]
        pub passed: bool,
        /// 处置部门: code of the department whose work was checked.
        pub department: String,
    } where passed = true
}

details! {
    /// 核查不通过, 返工: the supervisor finds the problem not fixed; the case goes back to
    /// the same department (`to_state` `dispatched`). What is still wrong is the record's
    /// `comment`.
    Rework {
        /// 核查结果: always `false` for this action.
        #[schemars(extend("const" = false))]
        pub passed: bool,
        /// 处置部门: code of the department that must rework.
        pub department: String,
    } where passed = false
}

details! {
    /// 回访: the operator calls the public reporter back (public and hotline reports). Since
    /// v1.3 a CityGrid district records only `satisfied` here: an unsatisfied call-back is
    /// `rehandle`. A v1.2 district's `unsatisfied` call-back stays valid.
    Callback {
        /// 满意度: the reporter's verdict (the snapshot's `satisfaction`).
        pub satisfaction: Satisfaction,
    }
}

details! {
    /// 回访不满意, 重办 (since v1.3): the reporter is not satisfied, so the case goes back to
    /// the department that handled it (`to_state` `dispatched`) for re-handling with the
    /// full handling limit, instead of being closed.
    Rehandle {
        /// 满意度: always `unsatisfied` for this action (the snapshot's `satisfaction`).
        #[schemars(extend("const" = "unsatisfied"))]
        pub satisfaction: Satisfaction,
        /// 处置部门: code of the department that handles it again.
        pub department: String,
    } where satisfaction = Satisfaction::Unsatisfied
}

details! {
    /// 结案 (final). No details.
    Close {}
}

details! {
    /// 作废 (final). Since v1.3 a shift leader's (值班长) approval of an operator's
    /// `request_cancellation`, whose `comment` gives the reason; this record's `comment` is
    /// the leader's note, if any. Since v1.6 also the city's reassignment of a referred
    /// case (actor role `leader`, no actor id), which names the case that replaces it.
    Cancel {
        /// 改派: the other district's case that replaces this one (since v1.6).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub reassigned_to: Option<crate::CaseRef>,
    }
}

details! {
    /// 上报市级 (since v1.6): the shift leader refers the case up to the city (it spans
    /// districts, or it is not the district's); the reason is the record's `comment`.
    /// The case waits where it is until the city decides (`referral_decision`):
    /// `return_referral`, or `cancel` with `reassigned_to`. No details.
    Refer {}
}

details! {
    /// 市级退回 (since v1.6): the city sends a referred case back; it goes on where it
    /// was. The city's reason is the record's `comment`; actor role `leader`, no actor id.
    ReturnReferral {
        /// The `record_id` of the `refer` record decided.
        pub referral: u64,
    }
}

details! {
    /// 申请作废 (since v1.3): an operator asks the shift leader to cancel the case; the
    /// reason is the record's `comment`. Nothing changes until the shift leader decides.
    /// No details.
    RequestCancellation {}
}

details! {
    /// 作废不批准 (since v1.3): the shift leader refuses the cancellation; the case goes on
    /// where it was. The reason is the record's `comment`.
    RejectCancellation {
        /// 申请类型: always `cancellation` for this action.
        #[schemars(extend("const" = "cancellation"))]
        pub request: RequestKind,
    } where request = RequestKind::Cancellation
}

details! {
    /// 申请延期: the department asks for more time on the running stage; the reason is the
    /// record's `comment`. Nothing changes until the dispatcher decides.
    RequestExtension {
        /// 申请时长: minutes asked for, on the running stage's clock (at least 1; a CityGrid
        /// district allows up to 13 500, 30 working days of 450 minutes).
        pub minutes: NonZeroU32,
    }
}

details! {
    /// 延期批准: the running stage's deadline moves later.
    ApproveExtension {
        /// 批准时长: minutes granted, on the stage's clock (what was asked, or what the
        /// dispatcher granted instead); added to the snapshot's `extension_minutes`.
        pub minutes: NonZeroU32,
        /// 新时限: the stage's deadline after the extension (UTC).
        pub deadline: DateTime<Utc>,
    }
}

/// 申请类型: which request a dispatcher (or, for a cancellation, the shift leader) refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RequestKind {
    /// 延期申请
    Extension,
    /// 挂账申请
    Suspension,
    /// 作废申请 (since v1.3)
    Cancellation,
}

details! {
    /// 延期不批准: the extension request is refused; the deadline stays. The reason is the
    /// record's `comment`.
    RejectExtension {
        /// 申请类型: always `extension` for this action.
        #[schemars(extend("const" = "extension"))]
        pub request: RequestKind,
    } where request = RequestKind::Extension
}

details! {
    /// 申请挂账/缓办: the department asks to suspend handling; the reason is the record's
    /// `comment`. Nothing changes until the dispatcher decides. No details.
    RequestSuspension {}
}

details! {
    /// 挂账批准: the case is suspended (`to_state` `suspended`) and its clock stands still.
    ApproveSuspension {
        /// 剩余时长: minutes the running stage had left on its clock when it stopped;
        /// negative when it was already overdue.
        pub remaining_minutes: i64,
    }
}

details! {
    /// 挂账不批准: the suspension request is refused. The reason is the record's `comment`.
    RejectSuspension {
        /// 申请类型: always `suspension` for this action.
        #[schemars(extend("const" = "suspension"))]
        pub request: RequestKind,
    } where request = RequestKind::Suspension
}

details! {
    /// 恢复办理: a suspended case goes back to the department (`to_state` `dispatched`); the
    /// stage's clock runs again from now with the time it had left.
    Resume {
        /// 剩余时长: minutes the stage had left when it was suspended (as in the
        /// `approve_suspension` record; negative when it was overdue, which resumes overdue).
        pub remaining_minutes: i64,
        /// 新时限: the stage's deadline from now (UTC).
        pub deadline: DateTime<Utc>,
    }
}

details! {
    /// 督办: a leader's supervision order. The case becomes urgent and waits for the
    /// department's acknowledgement (the snapshot's `supervision_pending`).
    Supervise {
        /// 督办级别
        pub level: SupervisionLevel,
        /// 督办内容: what the department must do.
        pub text: String,
        /// 办结期限: when it must be done (UTC).
        pub due_at: DateTime<Utc>,
        /// 原紧急程度: the case's urgency before the order made it `urgent`.
        pub urgency_before: Urgency,
    }
}

details! {
    /// 督办签收: the department acknowledges the open supervision orders. No details.
    AcknowledgeSupervision {}
}

details! {
    /// 催办: the dispatcher urges the department by hand; the message is the record's
    /// `comment`. No details.
    Urge {}
}

/// One example of every action's details, as a CityGrid district writes them.
pub fn examples() -> Vec<(Action, Value)> {
    use serde_json::json;
    vec![
        (Action::Report, json!({ "source": "supervisor" })),
        (Action::RequestVerification, json!({})),
        (Action::Verify, json!({ "confirmed": true })),
        (
            Action::File,
            json!({
                "category": { "kind": "event", "major": "01", "minor": "02" },
                "category_name": "暴露垃圾",
                "standard": "GB/T 30428.2-2013",
                "condition": "01",
                "condition_text": "道路、广场、绿地等公共区域有散落的暴露垃圾，或垃圾箱（桶）满溢",
            }),
        ),
        (
            Action::Reject,
            json!({ "reason": "duplicate", "duplicate_of": "01935a7e-4c1d-7b2a-9f00-3e51c0a80001" }),
        ),
        (Action::Dispatch, json!({ "department": "huanwei" })),
        (Action::Return, json!({ "department": "yuanlin" })),
        (Action::Handle, json!({})),
        (
            Action::CheckPass,
            json!({ "passed": true, "department": "huanwei" }),
        ),
        (
            Action::Rework,
            json!({ "passed": false, "department": "huanwei" }),
        ),
        (Action::Callback, json!({ "satisfaction": "satisfied" })),
        (Action::Close, json!({})),
        (Action::Cancel, json!({})),
        (Action::RequestExtension, json!({ "minutes": 120 })),
        (
            Action::ApproveExtension,
            json!({ "minutes": 120, "deadline": "2026-11-24T07:40:00Z" }),
        ),
        (Action::RejectExtension, json!({ "request": "extension" })),
        (Action::RequestSuspension, json!({})),
        (
            Action::ApproveSuspension,
            json!({ "remaining_minutes": 95 }),
        ),
        (Action::RejectSuspension, json!({ "request": "suspension" })),
        (
            Action::Resume,
            json!({ "remaining_minutes": 95, "deadline": "2026-11-25T02:35:00Z" }),
        ),
        (
            Action::Supervise,
            json!({
                "level": "key",
                "text": "限期清理",
                "due_at": "2026-11-25T09:00:00Z",
                "urgency_before": "normal",
            }),
        ),
        (Action::AcknowledgeSupervision, json!({})),
        (Action::Urge, json!({})),
        (Action::RequestCancellation, json!({})),
        (
            Action::RejectCancellation,
            json!({ "request": "cancellation" }),
        ),
        (
            Action::Rehandle,
            json!({ "satisfaction": "unsatisfied", "department": "huanwei" }),
        ),
        (Action::Refer, json!({})),
        (Action::ReturnReferral, json!({ "referral": 318 })),
    ]
}

/// The steps table of the standard's transport page (schemas/AMQP.md, "The loop as the
/// standard sees it"): one row of cells per action, `\|` inside a cell not a separator.
/// Tests on both sides hold the page to the code with it (details here, the district's
/// workflow in the platform).
pub fn steps_table() -> Vec<Vec<String>> {
    const PAGE: &str = include_str!("../AMQP.md");
    let section = PAGE
        .split("### Steps")
        .nth(1)
        .and_then(|rest| rest.split("\n### ").next())
        .unwrap_or_default();
    section
        .lines()
        .filter(|line| line.starts_with("| `"))
        .map(|line| {
            let line = line.trim().trim_start_matches('|').trim_end_matches('|');
            let mut cells = Vec::new();
            let mut cell = String::new();
            let mut chars = line.chars().peekable();
            while let Some(c) = chars.next() {
                match c {
                    '\\' if chars.peek() == Some(&'|') => {
                        cell.push('|');
                        chars.next();
                    }
                    '|' => cells.push(std::mem::take(&mut cell).trim().to_owned()),
                    c => cell.push(c),
                }
            }
            cells.push(cell.trim().to_owned());
            cells
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::json::details_schema;

    /// Reads `value` as `T` and writes it again.
    fn round_trip<T: ActionDetails>(value: &Value) -> Value {
        let read: T = read(value).unwrap_or_else(|e| panic!("{:?}: {e}", T::ACTION));
        serde_json::to_value(read).expect("serialisable")
    }

    #[test]
    fn every_action_has_an_example_and_each_round_trips_through_its_type() {
        let examples = examples();
        let actions: Vec<Action> = examples.iter().map(|(a, _)| *a).collect();
        let schemas = details_schema();
        for (action, example) in &examples {
            check(*action, example).unwrap_or_else(|e| panic!("{action:?}: {e}"));
            macro_rules! again {
                ($($name:ident),+ $(,)?) => {
                    match action { $(Action::$name => round_trip::<$name>(example),)+ }
                };
            }
            let again = every_action!(again);
            assert_eq!(&again, example, "{action:?} is written as it was read");
            let name = serde_json::to_value(action).expect("a name");
            let name = name.as_str().expect("a string");
            assert!(
                schemas["$defs"][name].is_object(),
                "details.json defines {name}"
            );
        }
        // One example per action and none missing (the `match` above is exhaustive, this
        // list must be too): the 28 actions of v1.6.
        let distinct: std::collections::HashSet<Action> = actions.iter().copied().collect();
        assert_eq!((distinct.len(), actions.len()), (28, 28));
    }

    #[test]
    fn unknown_keys_are_ignored() {
        let mut details = json!({ "minutes": 30 });
        details["added_in_v1_1"] = json!({ "x": 1 });
        assert_eq!(check(Action::RequestExtension, &details), Ok(()));
        assert_eq!(check(Action::Handle, &json!({ "note": "v1.1" })), Ok(()));
    }

    #[test]
    fn errors_name_the_field_as_a_path_from_the_record() {
        let at = |action, details: Value| check(action, &details).map_err(|e| e.field);
        assert_eq!(
            at(Action::RequestExtension, json!({ "minutes": "2h" })),
            Err("details.minutes".into())
        );
        assert_eq!(
            at(Action::RequestExtension, json!({})),
            Err("details.minutes".into()),
            "a missing key is reported by its own path"
        );
        assert_eq!(
            at(
                Action::File,
                json!({ "category": { "kind": "place", "major": "01", "minor": "02" }, "category_name": "x", "standard": "y" })
            ),
            Err("details.category.kind".into())
        );
        assert_eq!(at(Action::Close, json!(null)), Err("details".into()));
        assert_eq!(
            at(
                Action::Rework,
                json!({ "passed": true, "department": "huanwei" })
            ),
            Err("details.passed".into())
        );
        assert_eq!(
            at(Action::RejectExtension, json!({ "request": "suspension" })),
            Err("details.request".into())
        );
        let error = check(
            Action::Rework,
            &json!({ "passed": true, "department": "x" }),
        )
        .expect_err("refused");
        assert_eq!(
            error.to_string(),
            "details.passed: is true, and a rework record has false"
        );
    }

    #[test]
    fn a_duplicate_of_may_be_null_or_absent() {
        for details in [
            json!({ "reason": "invalid", "duplicate_of": null }),
            json!({ "reason": "out_of_scope" }),
        ] {
            assert_eq!(check(Action::Reject, &details), Ok(()), "{details}");
        }
        // Written with the key, as the district always has.
        let written = serde_json::to_value(Reject {
            reason: RejectReason::Invalid,
            duplicate_of: None,
        })
        .expect("JSON");
        assert_eq!(
            written,
            json!({ "reason": "invalid", "duplicate_of": null })
        );
    }

    /// A v1.2 `file` record (no filing condition) stays valid and is written as it was;
    /// a v1.3 one carries the condition's code and text.
    #[test]
    fn a_file_records_condition_is_optional() {
        let v1_2 = json!({
            "category": { "kind": "component", "major": "01", "minor": "01" },
            "category_name": "上水井盖",
            "standard": "GB/T 30428.2-2013",
        });
        assert_eq!(check(Action::File, &v1_2), Ok(()));
        assert_eq!(round_trip::<File>(&v1_2), v1_2);
        let mut v1_3 = v1_2.clone();
        v1_3["condition"] = json!("02");
        v1_3["condition_text"] = json!("上水井盖缺失");
        let read: File = read(&v1_3).expect("v1.3");
        assert_eq!(
            (read.condition.as_deref(), read.condition_text.as_deref()),
            (Some("02"), Some("上水井盖缺失"))
        );
        assert_eq!(
            check(Action::File, &json!({ "category": { "kind": "component", "major": "01", "minor": "01" }, "category_name": "x", "standard": "y", "condition": 2 }))
                .map_err(|e| e.field),
            Err("details.condition".into())
        );
    }

    /// AMQP.md names, for every action, exactly the keys its details type has.
    #[test]
    fn the_amqp_page_lists_each_actions_details_keys() {
        let schema = details_schema();
        let rows = steps_table();
        assert_eq!(rows.len(), 28, "one row per action");
        for row in rows {
            let action = row[0].trim_matches('`');
            let cell = row.last().expect("a details cell");
            let said: std::collections::BTreeSet<&str> = cell
                .split("; ")
                .filter_map(|part| part.strip_prefix('`')?.split_once("`: ").map(|(k, _)| k))
                .collect();
            let definition = &schema["$defs"][action];
            assert!(definition.is_object(), "details.json defines {action}");
            let has: std::collections::BTreeSet<&str> = definition["properties"]
                .as_object()
                .map(|p| p.keys().map(String::as_str).collect())
                .unwrap_or_default();
            assert_eq!(said, has, "{action}: AMQP.md says {cell:?}");
        }
    }
}
