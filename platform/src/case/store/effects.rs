//! What a step does to other capabilities, inside the step's transaction: supervision
//! orders (督办) are issued and acknowledged, and the reminder capability gets its manual
//! urge (催办) and arrival (到达) notifications.

use chrono::{DateTime, Utc};
use citygrid_schemas as v1;
use diesel::prelude::*;
use uuid::Uuid;

use crate::auth::Claims;
use crate::case::model::{Case, SupervisionOrder};
use crate::case::steps::{Step, StepRequest};
use crate::case::workflow::Action;
use crate::error::Result;
use crate::reminder;
use crate::schema::{notifications, supervision_orders};
use crate::uplink::outbox;
use crate::vocab::SupervisionOrigin;

/// Runs the side effects of a step that has just updated the case to `updated` (same id,
/// new version), before its record is written: supervision orders first, then
/// notifications.
pub(super) fn after_step(
    conn: &mut PgConnection,
    caller: &Claims,
    req: &StepRequest,
    action: Action,
    updated: &Case,
    now: DateTime<Utc>,
) -> Result<()> {
    supervision(conn, caller, &req.step, updated, now)?;
    notify(conn, req, action, updated)
}

/// Issuing supervision inserts an order; acknowledging it closes every open one, and
/// tells the city of each of its own (`supervision_ack`).
fn supervision(
    conn: &mut PgConnection,
    caller: &Claims,
    step: &Step,
    case: &Case,
    now: DateTime<Utc>,
) -> Result<()> {
    let case_id = case.id;
    match step {
        Step::Supervise {
            level,
            text,
            due_at,
        } => {
            diesel::insert_into(supervision_orders::table)
                .values(SupervisionOrder {
                    id: Uuid::new_v4(),
                    case_id,
                    origin: SupervisionOrigin::District,
                    level: *level,
                    text: text.clone(),
                    due_at: *due_at,
                    issued_by: Some(caller.sub),
                    issued_at: now,
                    acknowledged_by: None,
                    acknowledged_at: None,
                })
                .execute(conn)?;
        }
        Step::AcknowledgeSupervision => {
            let acknowledged: Vec<(Uuid, SupervisionOrigin)> =
                diesel::update(supervision_orders::table)
                    .filter(supervision_orders::case_id.eq(case_id))
                    .filter(supervision_orders::acknowledged_at.is_null())
                    .set((
                        supervision_orders::acknowledged_by.eq(caller.sub),
                        supervision_orders::acknowledged_at.eq(now),
                    ))
                    .returning((supervision_orders::id, supervision_orders::origin))
                    .get_results(conn)?;
            let department = caller
                .department
                .clone()
                .or_else(|| case.department_code.clone())
                .unwrap_or_default();
            let acks = acknowledged
                .into_iter()
                .filter(|(_, origin)| *origin == SupervisionOrigin::City)
                .map(|(order_id, _)| {
                    outbox::pending(
                        &v1::SupervisionAck {
                            order_id,
                            case_id,
                            department_code: department.clone(),
                            acknowledged_at: now,
                        },
                        None,
                    )
                })
                .collect::<Result<Vec<_>>>()?;
            if !acks.is_empty() {
                outbox::append(conn, &caller.district, now, acks)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Notifications for the reminder capability: a manual urge every time, an arrival once
/// per stage when the case is dispatched or sent back for rework.
fn notify(
    conn: &mut PgConnection,
    req: &StepRequest,
    action: Action,
    updated: &Case,
) -> Result<()> {
    if matches!(req.step, Step::Urge) {
        diesel::insert_into(notifications::table)
            .values(reminder::NewNotification {
                case_id: updated.id,
                kind: reminder::MANUAL_URGE,
                stage: updated.stage,
                stage_started_at: updated.stage_started_at,
                department_code: updated.department_code.as_deref(),
                message: format!(
                    "case {} urged by the command center (催办): {}",
                    updated.number,
                    req.comment.as_deref().unwrap_or("please speed up")
                ),
            })
            .execute(conn)?;
    }
    if matches!(action, Action::Dispatch | Action::Rework) {
        reminder::notify_once(
            conn,
            &reminder::NewNotification {
                case_id: updated.id,
                kind: reminder::ARRIVAL,
                stage: updated.stage,
                stage_started_at: updated.stage_started_at,
                department_code: updated.department_code.as_deref(),
                message: format!(
                    "case {} has arrived (到达): due {}",
                    updated.number,
                    updated
                        .stage_deadline
                        .map_or_else(|| "-".to_owned(), |d| d.to_rfc3339())
                ),
            },
        )?;
    }
    Ok(())
}
