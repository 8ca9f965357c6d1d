//! The steps of the loop as requests, and what each one changes.
//!
//! `plan` is pure: given the case as read, the tenant and the caller, it decides the next
//! state (via `workflow`), checks the step's own rules, and returns the changes and
//! record details. The store then applies the plan under optimistic concurrency.
//!
//! A record's details are built from the standard's type for its action
//! (`citygrid_schemas::details`), so what the district records is what the standard says.

use std::num::NonZeroU32;

use citygrid_schemas::details::{self, ActionDetails};
use uuid::Uuid;

use crate::auth::Claims;
use crate::case::model::{Case, CaseChanges};
use crate::case::workflow::{self, Action, Facts, Pending, Role, State, WorkflowError};
use crate::catalogue::CategoryRef;
use crate::component::ComponentId;
use crate::config::Tenant;
use crate::deadline::{self, LimitSnapshot, StageChange, StageTimes};
use crate::error::{Error, Result};
use crate::manual::ManualRow;
use crate::vocab::Satisfaction;
use chrono::{DateTime, Duration, Utc};

pub use crate::vocab::{SupervisionLevel, Urgency};
/// Why a report is not filed (不予立案): the standard's reasons.
pub use citygrid_schemas::details::RejectReason;

#[derive(Debug, Clone)]
pub enum Step {
    RequestVerification,
    Verify {
        confirmed: bool,
    },
    File {
        category: CategoryRef,
        /// The manual's filing condition (立案条件) for the category, two digits; without
        /// one, the category's first row of the urgency (see `filing_row`).
        condition: Option<String>,
        description: Option<String>,
        street: Option<String>,
        urgency: Option<Urgency>,
    },
    Reject {
        reason: RejectReason,
        duplicate_of: Option<Uuid>,
    },
    /// Without a department, the one the command manual names.
    Dispatch {
        department: Option<String>,
    },
    Return,
    Handle,
    Check {
        passed: bool,
    },
    Callback {
        satisfied: bool,
    },
    Close,
    /// 申请作废 (operator), the reason in the comment.
    RequestCancellation,
    /// 作废: the shift leader approves the waiting request.
    Cancel,
    /// 作废不批准 (shift leader), the reason in the comment.
    RejectCancellation,
    /// 上报市级 (shift leader): the city decides, the reason in the comment.
    Refer,
    /// 申请延期: `minutes` more on the running stage's clock.
    RequestExtension {
        minutes: i64,
    },
    /// Grants the request, or `minutes` instead of what was asked.
    ApproveExtension {
        minutes: Option<i64>,
    },
    RejectExtension,
    RequestSuspension,
    ApproveSuspension,
    RejectSuspension,
    Resume,
    /// 督办 by a leader: raises urgency and heads the department's queue until acknowledged.
    Supervise {
        level: SupervisionLevel,
        text: String,
        due_at: DateTime<Utc>,
    },
    AcknowledgeSupervision,
    /// 催办 by hand.
    Urge,
}

impl Step {
    pub fn action(&self) -> Action {
        match self {
            Step::RequestVerification => Action::RequestVerification,
            Step::Verify { .. } => Action::Verify,
            Step::File { .. } => Action::File,
            Step::Reject { .. } => Action::Reject,
            Step::Dispatch { .. } => Action::Dispatch,
            Step::Return => Action::Return,
            Step::Handle => Action::Handle,
            Step::Check { passed: true } => Action::CheckPass,
            Step::Check { passed: false } => Action::Rework,
            Step::Callback { satisfied: true } => Action::Callback,
            Step::Callback { satisfied: false } => Action::Rehandle,
            Step::Close => Action::Close,
            Step::RequestCancellation => Action::RequestCancellation,
            Step::Cancel => Action::Cancel,
            Step::RejectCancellation => Action::RejectCancellation,
            Step::Refer => Action::Refer,
            Step::RequestExtension { .. } => Action::RequestExtension,
            Step::ApproveExtension { .. } => Action::ApproveExtension,
            Step::RejectExtension => Action::RejectExtension,
            Step::RequestSuspension => Action::RequestSuspension,
            Step::ApproveSuspension => Action::ApproveSuspension,
            Step::RejectSuspension => Action::RejectSuspension,
            Step::Resume => Action::Resume,
            Step::Supervise { .. } => Action::Supervise,
            Step::AcknowledgeSupervision => Action::AcknowledgeSupervision,
            Step::Urge => Action::Urge,
        }
    }
}

/// A step as requested: the step, the case version the caller saw, a comment and photos.
#[derive(Debug, Clone)]
pub struct StepRequest {
    pub step: Step,
    pub version: i32,
    pub comment: Option<String>,
    pub media: Vec<String>,
}

/// What applying a step will do.
#[derive(Debug)]
pub struct Plan {
    pub action: Action,
    pub from: State,
    pub to: State,
    pub changes: CaseChanges,
    pub details: serde_json::Value,
}

fn required_text(value: &Option<String>, field: &str, why: &str) -> Result<()> {
    match value {
        Some(text) if !text.trim().is_empty() => Ok(()),
        _ => Err(Error::invalid(field, why)),
    }
}

/// The department the manual names for a filed case, if it has a category; for a case
/// about a component, the component's department first when it is one of the district's.
pub fn suggested_department(case: &Case, tenant: &Tenant) -> Option<String> {
    if let Some(department) = &case.component_department
        && tenant.department(department).is_some()
    {
        return Some(department.clone());
    }
    let category = CategoryRef {
        kind: case.category_kind?.into(),
        major: case.category_major.clone()?,
        minor: case.category_minor.clone()?,
        edition: None,
    };
    case_row(case, &category, tenant).map(|row| row.department_for(case.street_code.as_deref()))
}

/// The text of the filing condition (立案条件) a case was filed under, from the manual.
pub fn manual_condition_text(case: &Case, tenant: &Tenant) -> Option<String> {
    let category = CategoryRef {
        kind: case.category_kind?.into(),
        major: case.category_major.clone()?,
        minor: case.category_minor.clone()?,
        edition: None,
    };
    let code = case.manual_condition.as_deref()?;
    tenant
        .manual
        .condition(&category, code)
        .map(|row| row.filing_condition.clone())
}

/// The manual row of a filed case: the filing condition it was filed under, or (filed
/// before manuals had conditions, or a condition the manual no longer has) the category's
/// row for its urgency.
fn case_row<'a>(case: &Case, category: &CategoryRef, tenant: &'a Tenant) -> Option<&'a ManualRow> {
    case.manual_condition
        .as_deref()
        .and_then(|code| tenant.manual.condition(category, code))
        .or_else(|| tenant.manual.row(category, case.urgency))
}

/// The manual row a filing takes and the urgency the case gets.
///
/// With a `condition`, that row of the category (unknown: 422 `condition`); the case takes
/// the row's urgency, or the requested one when it raises it (`urgent` on a normal
/// condition: the case is urgent, the limits stay the row's); asking `normal` on an urgent
/// condition is refused (422 `urgency`): the condition is what makes it urgent. Without a
/// condition, as before conditions: the category's first row of the requested urgency (the
/// case's when none is asked), else its first row; the case's urgency is the requested one.
fn filing_row<'a>(
    case: &Case,
    tenant: &'a Tenant,
    category: &CategoryRef,
    condition: Option<&str>,
    urgency: Option<Urgency>,
) -> Result<(&'a ManualRow, Urgency)> {
    let manual = &tenant.manual;
    let Some(code) = condition else {
        let urgency = urgency.unwrap_or(case.urgency);
        let row = manual.row(category, urgency).ok_or_else(|| {
            Error::invalid(
                "category",
                format!("the manual {} has no row for this category", manual.version),
            )
        })?;
        return Ok((row, urgency));
    };
    let row = manual.condition(category, code).ok_or_else(|| {
        let known: Vec<&str> = manual
            .conditions(category)
            .map(|r| r.condition.as_str())
            .collect();
        Error::invalid(
            "condition",
            format!(
                "the manual {} has no filing condition {code:?} for {} (it has {})",
                manual.version,
                category.label(),
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            ),
        )
    })?;
    let urgency = match (row.urgency, urgency) {
        (Urgency::Urgent, Some(Urgency::Normal)) => {
            return Err(Error::invalid(
                "urgency",
                format!(
                    "filing condition {code} of {} is urgent ({}): choose a normal condition",
                    category.label(),
                    row.filing_condition
                ),
            ));
        }
        (_, Some(Urgency::Urgent)) => Urgency::Urgent,
        (own, _) => own,
    };
    Ok((row, urgency))
}

/// The largest extension one request may ask for or a dispatcher grant: 30 working days.
pub const MAX_EXTENSION_MINUTES: i64 = 30 * 450;

/// A record's details as JSON, from the standard's type for the step's action.
fn record<T: ActionDetails>(details: T) -> Result<serde_json::Value> {
    Ok(serde_json::to_value(details)?)
}

/// Minutes of an extension, checked to be within 1..=`MAX_EXTENSION_MINUTES`.
fn extension_minutes(minutes: i64, verb: &str) -> Result<NonZeroU32> {
    (1..=MAX_EXTENSION_MINUTES)
        .contains(&minutes)
        .then(|| u32::try_from(minutes).ok().and_then(NonZeroU32::new))
        .flatten()
        .ok_or_else(|| {
            Error::invalid(
                "minutes",
                format!("{verb} 1 to {MAX_EXTENSION_MINUTES} minutes"),
            )
        })
}

/// The department a case is with, for the records of the steps a department's work is
/// about (return, check): a dispatched or handled case always has one.
fn department_of(case: &Case) -> Result<String> {
    case.department_code
        .clone()
        .ok_or_else(|| Error::internal(format!("case {} has no department", case.id)))
}

/// The running stage of a case as stored.
fn running_stage(case: &Case) -> Result<StageTimes> {
    let missing = || Error::internal(format!("case {} has no running stage", case.id));
    Ok(StageTimes {
        stage: case.stage.ok_or_else(missing)?,
        clock: case.clock.ok_or_else(missing)?,
        started_at: case.stage_started_at.ok_or_else(missing)?,
        limit: Duration::minutes(i64::from(case.stage_limit_minutes.ok_or_else(missing)?)),
        yellow_at: case.stage_yellow_at.ok_or_else(missing)?,
        deadline: case.stage_deadline.ok_or_else(missing)?,
    })
}

/// Who may take the step on this case now, in the order a caller should learn it: role,
/// then version (a caller who acted on an old view refreshes), then the state machine, then
/// the department a handler acts for. Returns the state the step leads to.
fn authorize(case: &Case, caller: &Claims, req: &StepRequest, action: Action) -> Result<State> {
    let (from, source) = (case.state, case.source);
    // Role, then version, then state: a caller who acted on an old view is told to
    // refresh (stale_version), not that the step is illegal in a state they never saw.
    if !caller.roles.contains(&action.role()) {
        return Err(WorkflowError::WrongRole {
            action,
            role: action.role(),
        }
        .into());
    }
    if req.version != case.version {
        return Err(Error::StaleVersion {
            version: case.version,
            state: from,
        });
    }
    let facts = Facts {
        source,
        verified: case.verified,
        pending: case.pending_request,
        supervision_pending: case.supervision_pending,
    };
    let to = workflow::next_state(from, action, &caller.roles, facts)?;
    if action.role() == Role::Handler
        && caller.department.as_deref() != case.department_code.as_deref()
    {
        return Err(Error::forbidden(
            "not_your_department",
            format!(
                "the case is with department {}, you act for {}",
                case.department_code.as_deref().unwrap_or("-"),
                caller.department.as_deref().unwrap_or("no department")
            ),
        ));
    }
    Ok(to)
}

/// What the step itself says, checked against the tenant (catalogue, streets, departments)
/// and the case: the columns it changes and the facts its record keeps (`None` for the
/// steps whose facts are their clock change: see `clock_changes`).
fn content(
    case: &Case,
    tenant: &Tenant,
    req: &StepRequest,
    now: DateTime<Utc>,
) -> Result<(CaseChanges, Option<serde_json::Value>)> {
    let mut changes = CaseChanges::default();
    let details = match &req.step {
        Step::RequestVerification => record(details::RequestVerification {})?,
        Step::Close => record(details::Close {})?,
        Step::Verify { confirmed } => {
            // Not by the reporter: the separation of duties (`duties`, in the store).
            changes.verified = Some(Some(*confirmed));
            record(details::Verify {
                confirmed: *confirmed,
            })?
        }
        Step::File {
            category,
            condition,
            description,
            street,
            urgency,
        } => {
            let entry = crate::catalogue::entry(&tenant.catalogue, category)?;
            if let Some(component) = &case.component_id {
                let id = ComponentId::parse(component, tenant.code(), &[&tenant.catalogue])
                    .map_err(|e| Error::internal(format!("case {}: {e}", case.id)))?;
                crate::component::check_class(&id, category, "category")?;
            }
            let (row, urgency) =
                filing_row(case, tenant, category, condition.as_deref(), *urgency)?;
            if let Some(street) = street
                && tenant.street(street).is_none()
            {
                return Err(Error::invalid(
                    "street",
                    format!("no street {street} in district {}", tenant.code()),
                ));
            }
            if let Some(d) = description
                && d.trim().is_empty()
            {
                return Err(Error::invalid("description", "must not be empty"));
            }
            changes.category_kind = Some(Some(category.kind.into()));
            changes.category_major = Some(Some(category.major.clone()));
            changes.category_minor = Some(Some(category.minor.clone()));
            changes.description = description.clone();
            changes.street_code = street.clone().map(Some);
            changes.urgency = Some(urgency);
            changes.manual_condition = Some(Some(row.condition.clone()));
            record(details::File {
                category: CategoryRef {
                    edition: Some(tenant.catalogue.edition),
                    ..category.clone()
                },
                category_name: entry.name.clone(),
                standard: tenant.catalogue.standard.clone(),
                condition: Some(row.condition.clone()),
                condition_text: Some(row.filing_condition.clone()),
            })?
        }
        Step::Reject {
            reason,
            duplicate_of,
        } => {
            match (reason, duplicate_of) {
                (RejectReason::Duplicate, None) => {
                    return Err(Error::invalid(
                        "duplicate_of",
                        "a duplicate names the case it duplicates",
                    ));
                }
                (RejectReason::Duplicate, Some(other)) if *other == case.id => {
                    return Err(Error::invalid(
                        "duplicate_of",
                        "a case cannot duplicate itself",
                    ));
                }
                (RejectReason::Duplicate, Some(_)) => {}
                (_, Some(_)) => {
                    return Err(Error::invalid(
                        "duplicate_of",
                        "only a duplicate names another case",
                    ));
                }
                (_, None) => {}
            }
            changes.duplicate_of = duplicate_of.map(Some);
            record(details::Reject {
                reason: *reason,
                duplicate_of: *duplicate_of,
            })?
        }
        Step::Dispatch { department } => {
            let department = match department {
                Some(d) => d.clone(),
                None => suggested_department(case, tenant).ok_or_else(|| {
                    Error::invalid(
                        "department",
                        "the manual names no department for this case: choose one",
                    )
                })?,
            };
            if tenant.department(&department).is_none() {
                return Err(Error::invalid(
                    "department",
                    format!("no department {department:?} in district {}", tenant.code()),
                ));
            }
            changes.department_code = Some(Some(department.clone()));
            record(details::Dispatch { department })?
        }
        Step::Return => {
            required_text(
                &req.comment,
                "reason",
                "say why the case is not your department's",
            )?;
            changes.department_code = Some(None);
            record(details::Return {
                department: department_of(case)?,
            })?
        }
        Step::Handle => {
            if req.media.is_empty() {
                return Err(Error::invalid(
                    "media",
                    "handling needs at least one photo of the result",
                ));
            }
            record(details::Handle {})?
        }
        Step::Check { passed } => {
            if !passed {
                required_text(
                    &req.comment,
                    "comment",
                    "say what is still wrong, for the rework",
                )?;
                changes.rework_count = Some(case.rework_count + 1);
            }
            let department = department_of(case)?;
            if *passed {
                record(details::CheckPass {
                    passed: true,
                    department,
                })?
            } else {
                record(details::Rework {
                    passed: false,
                    department,
                })?
            }
        }
        Step::Callback { satisfied: true } => {
            changes.satisfaction = Some(Some(Satisfaction::Satisfied));
            record(details::Callback {
                satisfaction: Satisfaction::Satisfied.into(),
            })?
        }
        // 重办: back to the department whose work the reporter is not satisfied with.
        Step::Callback { satisfied: false } => {
            required_text(
                &req.comment,
                "comment",
                "say what the reporter is not satisfied with, for the re-handling",
            )?;
            changes.satisfaction = Some(Some(Satisfaction::Unsatisfied));
            record(details::Rehandle {
                satisfaction: Satisfaction::Unsatisfied.into(),
                department: department_of(case)?,
            })?
        }
        Step::RequestCancellation => {
            required_text(
                &req.comment,
                "reason",
                "say why the case should be cancelled",
            )?;
            changes.pending_request = Some(Some(Pending::Cancellation));
            record(details::RequestCancellation {})?
        }
        Step::Cancel => record(details::Cancel {
            reassigned_to: None,
        })?,
        Step::Refer => {
            required_text(
                &req.comment,
                "reason",
                "say why the city should decide: which districts the case spans, or whose it is",
            )?;
            changes.pending_request = Some(Some(Pending::Referral));
            record(details::Refer {})?
        }
        Step::RejectCancellation => {
            required_text(&req.comment, "reason", "say why the case is not cancelled")?;
            record(details::RejectCancellation {
                request: details::RequestKind::Cancellation,
            })?
        }
        Step::RequestExtension { minutes } => {
            let minutes = extension_minutes(*minutes, "ask for")?;
            required_text(&req.comment, "reason", "say why more time is needed")?;
            changes.pending_request = Some(Some(Pending::Extension));
            changes.pending_minutes = Some(Some(minutes.get() as i32));
            record(details::RequestExtension { minutes })?
        }
        Step::RequestSuspension => {
            required_text(
                &req.comment,
                "reason",
                "say why the case cannot be handled now",
            )?;
            changes.pending_request = Some(Some(Pending::Suspension));
            record(details::RequestSuspension {})?
        }
        Step::RejectExtension => {
            required_text(&req.comment, "reason", "say why the request is refused")?;
            record(details::RejectExtension {
                request: details::RequestKind::Extension,
            })?
        }
        Step::RejectSuspension => {
            required_text(&req.comment, "reason", "say why the request is refused")?;
            record(details::RejectSuspension {
                request: details::RequestKind::Suspension,
            })?
        }
        Step::ApproveExtension { .. } | Step::ApproveSuspension | Step::Resume => {
            return Ok((changes, None));
        }
        Step::Supervise {
            level,
            text,
            due_at,
        } => {
            if text.trim().is_empty() {
                return Err(Error::invalid("text", "say what the department must do"));
            }
            if *due_at <= now {
                return Err(Error::invalid(
                    "due_at",
                    "the order's deadline must be in the future",
                ));
            }
            changes.supervision_pending = Some(true);
            changes.supervision_level = Some(Some(*level));
            changes.urgency = Some(Urgency::Urgent);
            record(details::Supervise {
                level: (*level).into(),
                text: text.clone(),
                due_at: *due_at,
                urgency_before: case.urgency.into(),
            })?
        }
        Step::AcknowledgeSupervision => {
            changes.supervision_pending = Some(false);
            record(details::AcknowledgeSupervision {})?
        }
        Step::Urge => record(details::Urge {})?,
    };
    Ok((changes, Some(details)))
}

/// The command manual's limits for the case: fixed at filing (recorded in `changes`),
/// read back from the case afterwards.
fn manual_limits(
    case: &Case,
    tenant: &Tenant,
    req: &StepRequest,
    changes: &mut CaseChanges,
) -> Result<Option<LimitSnapshot>> {
    Ok(match &req.step {
        Step::File {
            category,
            condition,
            urgency,
            ..
        } => {
            let (row, _) = filing_row(case, tenant, category, condition.as_deref(), *urgency)?;
            let snapshot = LimitSnapshot::new(row.clock, &row.limits);
            changes.manual_version = Some(Some(tenant.manual.version.clone()));
            changes.manual_limits = Some(Some(
                serde_json::to_value(snapshot).map_err(|e| Error::internal(e.to_string()))?,
            ));
            Some(snapshot)
        }
        _ => case
            .manual_limits
            .clone()
            .and_then(|v| serde_json::from_value::<LimitSnapshot>(v).ok()),
    })
}

/// What the step does to the stage clock (start, stop, extend, pause, resume); returns the
/// record's facts when the clock change is what the step is about.
fn clock_changes(
    case: &Case,
    tenant: &Tenant,
    req: &StepRequest,
    limits: Option<LimitSnapshot>,
    now: DateTime<Utc>,
    changes: &mut CaseChanges,
) -> Result<Option<serde_json::Value>> {
    let mut details = None;
    let yellow_share = tenant.config.calendar.yellow_share;
    match deadline::stage_after(req.step.action()) {
        StageChange::Keep => {}
        StageChange::Extend => {
            let granted = match &req.step {
                Step::ApproveExtension { minutes: Some(m) } => *m,
                _ => i64::from(case.pending_minutes.unwrap_or(0)),
            };
            let granted = extension_minutes(granted, "grant")?;
            let times = running_stage(case)?;
            let extended = deadline::extend(
                &tenant.calendar,
                &times,
                Duration::minutes(i64::from(granted.get())),
                yellow_share,
            )?;
            changes.set_stage(Some(&extended));
            changes.extension_minutes = Some(case.extension_minutes + granted.get() as i32);
            details = Some(record(details::ApproveExtension {
                minutes: granted,
                deadline: extended.deadline,
            })?);
        }
        StageChange::Pause => {
            let times = running_stage(case)?;
            let left = deadline::remaining(&tenant.calendar, times.clock, times.deadline, now)?;
            changes.suspended_remaining_minutes = Some(Some(left.num_minutes() as i32));
            changes.stage_yellow_at = Some(None);
            changes.stage_deadline = Some(None);
            changes.next_reminder_at = Some(None);
            details = Some(record(details::ApproveSuspension {
                remaining_minutes: left.num_minutes(),
            })?);
        }
        StageChange::Resume => {
            let missing = || Error::internal(format!("suspended case {} has no stage", case.id));
            let stage = case.stage.ok_or_else(missing)?;
            let clock = case.clock.ok_or_else(missing)?;
            let limit = Duration::minutes(i64::from(case.stage_limit_minutes.unwrap_or(0)));
            let left = Duration::minutes(i64::from(case.suspended_remaining_minutes.unwrap_or(0)));
            let times = deadline::resume(
                &tenant.calendar,
                stage,
                clock,
                limit,
                left,
                yellow_share,
                now,
            )?;
            changes.set_stage(Some(&times));
            changes.suspended_remaining_minutes = Some(None);
            details = Some(record(details::Resume {
                remaining_minutes: left.num_minutes(),
                deadline: times.deadline,
            })?);
        }
        StageChange::Stop => {
            changes.set_stage(None);
            changes.suspended_remaining_minutes = Some(None);
        }
        StageChange::Start(stage) => {
            let limits = limits
                .ok_or_else(|| Error::internal(format!("case {} has no manual limits", case.id)))?;
            let times = deadline::start(
                &tenant.calendar,
                stage,
                limits.clock,
                limits.of(stage),
                tenant.config.calendar.yellow_share,
                now,
            )?;
            changes.set_stage(Some(&times));
        }
    }
    Ok(details)
}

/// Plans a step: checks it, and says what it changes and records. Pure (no I/O): the store
/// applies the plan in one transaction.
pub fn plan(
    case: &Case,
    tenant: &Tenant,
    caller: &Claims,
    req: &StepRequest,
    now: DateTime<Utc>,
) -> Result<Plan> {
    let (from, action) = (case.state, req.step.action());
    let to = authorize(case, caller, req, action)?;
    let (mut changes, details) = content(case, tenant, req, now)?;
    let limits = manual_limits(case, tenant, req, &mut changes)?;
    let clock_details = clock_changes(case, tenant, req, limits, now, &mut changes)?;
    // Exactly one of the two says what the record keeps; the standard must read it.
    let details = match (details, clock_details) {
        (Some(details), None) | (None, Some(details)) => details,
        _ => {
            return Err(Error::internal(format!(
                "{} has details from both its content and its clock change, or from neither",
                action.as_str()
            )));
        }
    };
    details::check(action.into(), &details).map_err(|e| {
        Error::internal(format!(
            "{} details not as the standard says: {e}",
            action.as_str()
        ))
    })?;
    // A decision, or any step that moves the case on, settles a pending request.
    if matches!(
        action,
        Action::ApproveExtension
            | Action::RejectExtension
            | Action::ApproveSuspension
            | Action::RejectSuspension
            | Action::RejectCancellation
    ) || to != from
    {
        changes.pending_request = Some(None);
        changes.pending_minutes = Some(None);
    }
    Ok(Plan {
        action,
        from,
        to,
        changes,
        details,
    })
}
