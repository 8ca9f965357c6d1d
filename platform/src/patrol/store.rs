//! The assignments of on-site tasks: made in the transaction of the step that opens a
//! task, checked in the transaction of the step that does it, changed by hand with a
//! record of who did it and why.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{Task, responsible};
use crate::auth::Claims;
use crate::case::model::{Case, CaseChanges};
use crate::config::Tenant;
use crate::error::{Error, Result};
use crate::schema::{case_assignments, cases, users};
use crate::vocab::{Role, State};

/// One assignment of a task, as the history shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Assignment {
    /// `verify` (核实) or `check` (核查).
    pub task: String,
    /// The supervisor's username; none: any supervisor may take it.
    pub assignee: Option<String>,
    /// The patrol area that decided it; none when assigned by hand.
    pub patrol: Option<String>,
    /// Who reassigned it by hand.
    pub assigned_by: Option<String>,
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
}

#[derive(Insertable)]
#[diesel(table_name = case_assignments)]
struct NewAssignment<'a> {
    case_id: Uuid,
    task: &'a str,
    assignee: Option<Uuid>,
    patrol: Option<&'a str>,
    assigned_by: Option<Uuid>,
    reason: Option<&'a str>,
    at: DateTime<Utc>,
}

/// A supervisor's id by username; `None` if there is no such user or they are not a
/// supervisor.
fn supervisor_id(conn: &mut PgConnection, username: &str) -> Result<Option<Uuid>> {
    Ok(users::table
        .filter(users::username.eq(username))
        .filter(users::roles.contains(vec![Role::Supervisor.as_str()]))
        .select(users::id)
        .first(conn)
        .optional()?)
}

/// An assignment made by the patrol areas, to record once the case is updated.
pub struct Made {
    task: Task,
    assignee: Option<Uuid>,
    patrol: Option<String>,
    reason: Option<&'static str>,
}

/// The task a step leaves the case waiting for, and to whom it goes. Called before the
/// step's update with its changes: a step into `verifying` or `handled` opens a task
/// (assigned by the cell's patrol area), a step out of them ends it.
///
/// The separation of duties wins over the area: a supervisor never verifies or checks
/// their own report (`case::duties`), so when the area's supervisor is the reporter the
/// task goes to any other supervisor rather than to someone who could not take it.
pub fn on_step(
    conn: &mut PgConnection,
    tenant: &Tenant,
    case: &Case,
    to: State,
    changes: &mut CaseChanges,
) -> Result<Option<Made>> {
    let (before, after) = (Task::of(case.state), Task::of(to));
    if before == after {
        return Ok(None);
    }
    let Some(task) = after else {
        changes.task_assignee = Some(None);
        return Ok(None);
    };
    let patrol = case
        .cell_code
        .as_deref()
        .and_then(|cell| responsible(&tenant.config.patrols, cell));
    let assignee = match patrol {
        Some(p) => {
            let id = supervisor_id(conn, &p.supervisor)?;
            if id.is_none() {
                tracing::warn!(
                    case.id = %case.id,
                    patrol = %p.code,
                    supervisor = %p.supervisor,
                    "the patrol area's supervisor is not a supervisor here: the task goes to all"
                );
            }
            id
        }
        None => None,
    };
    let reporter = assignee.is_some() && assignee == case.reporter_id;
    let assignee = assignee.filter(|_| !reporter);
    changes.task_assignee = Some(assignee);
    Ok(Some(Made {
        task,
        assignee,
        patrol: patrol.map(|p| p.code.clone()),
        reason: reporter.then_some("the area's supervisor reported the case: another one takes it"),
    }))
}

/// Records an assignment made by `on_step`.
pub fn record(conn: &mut PgConnection, case_id: Uuid, made: Made, at: DateTime<Utc>) -> Result<()> {
    diesel::insert_into(case_assignments::table)
        .values(NewAssignment {
            case_id,
            task: made.task.as_str(),
            assignee: made.assignee,
            patrol: made.patrol.as_deref(),
            assigned_by: None,
            reason: made.reason,
            at,
        })
        .execute(conn)?;
    Ok(())
}

/// Refuses the on-site step to a supervisor the task is not assigned to.
pub fn require_assignee(conn: &mut PgConnection, case: &Case, caller: &Claims) -> Result<()> {
    let (Some(task), Some(assignee)) = (Task::of(case.state), case.task_assignee) else {
        return Ok(());
    };
    // Whoever may reassign the task (an operator or shift leader who also patrols) may
    // take it without the detour of reassigning it to themselves first.
    if assignee == caller.sub
        || caller
            .roles
            .iter()
            .any(|r| matches!(r, Role::Operator | Role::ShiftLeader))
    {
        return Ok(());
    }
    let name: String = users::table
        .find(assignee)
        .select(users::username)
        .first(conn)?;
    Err(Error::forbidden(
        "not_assigned",
        format!(
            "the {} of case {} is assigned to {name} (patrol area of its cell): ask the \
             operator or the shift leader to reassign it",
            task.as_str(),
            case.number
        ),
    ))
}

/// Hands the case's waiting on-site task to another supervisor (operator or shift
/// leader), with a reason. Not a step of the loop: the case's version and records do not
/// change; `case_assignments` keeps who did it.
pub fn reassign(
    conn: &mut PgConnection,
    caller: &Claims,
    case_id: Uuid,
    supervisor: &str,
    reason: &str,
) -> Result<Case> {
    conn.transaction(|conn| {
        let case: Case = cases::table
            .find(case_id)
            .select(Case::as_select())
            .for_update()
            .first(conn)
            .optional()?
            .ok_or_else(|| Error::not_found(format!("case {case_id}")))?;
        let task = Task::of(case.state).ok_or_else(|| {
            Error::conflict(
                "no_task",
                format!(
                    "case {} is {}: it waits for no verification or check",
                    case.number,
                    case.state.as_str()
                ),
            )
        })?;
        let assignee = supervisor_id(conn, supervisor)?.ok_or_else(|| {
            Error::invalid(
                "supervisor",
                format!("{supervisor:?} is not a supervisor of this district"),
            )
        })?;
        let now = Utc::now();
        let updated = diesel::update(cases::table.find(case_id))
            .set(cases::task_assignee.eq(Some(assignee)))
            .returning(Case::as_returning())
            .get_result(conn)?;
        diesel::insert_into(case_assignments::table)
            .values(NewAssignment {
                case_id,
                task: task.as_str(),
                assignee: Some(assignee),
                patrol: None,
                assigned_by: Some(caller.sub),
                reason: Some(reason),
                at: now,
            })
            .execute(conn)?;
        Ok(updated)
    })
}

/// Every assignment of a case's tasks, oldest first.
pub fn history(conn: &mut PgConnection, case_id: Uuid) -> Result<Vec<Assignment>> {
    let (assignee, by) = diesel::alias!(users as assignee, users as by);
    type Row = (
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        DateTime<Utc>,
    );
    let rows: Vec<Row> = case_assignments::table
        .left_join(assignee.on(case_assignments::assignee.eq(assignee.field(users::id).nullable())))
        .left_join(by.on(case_assignments::assigned_by.eq(by.field(users::id).nullable())))
        .filter(case_assignments::case_id.eq(case_id))
        .order(case_assignments::id.asc())
        .select((
            case_assignments::task,
            assignee.field(users::username).nullable(),
            case_assignments::patrol,
            by.field(users::username).nullable(),
            case_assignments::reason,
            case_assignments::at,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(task, assignee, patrol, assigned_by, reason, at)| Assignment {
                task,
                assignee,
                patrol,
                assigned_by,
                reason,
                at,
            },
        )
        .collect())
}
