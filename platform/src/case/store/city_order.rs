//! A supervision order from the city (市级督办, `supervision_order` over the interchange)
//! taken into the district's own supervision model: the case becomes urgent and waits for
//! its department's acknowledgement, exactly as under a district leader's order, with a
//! `supervise` record whose actor is the city. The department's acknowledgement goes back
//! as `supervision_ack` (effects.rs).

use chrono::{DateTime, Utc};
use citygrid_schemas::{self as v1, details};
use diesel::prelude::*;

use super::read::get_for_update;
use crate::case::model::{Case, NewRecord, SupervisionOrder};
use crate::case::workflow::{Action, State};
use crate::config::Tenant;
use crate::error::Result;
use crate::schema::{cases, supervision_orders};
use crate::vocab::{ActorRole, SupervisionLevel, SupervisionOrigin, Urgency};

/// What became of a city order.
#[derive(Debug)]
pub enum Taken {
    /// The case is supervised now (its new version).
    Applied(Box<Case>),
    /// The same order came before (a redelivery): nothing changes.
    Again,
    /// The case is finished: there is nothing to supervise; the city resolves the order
    /// when it sees the case's end.
    Finished(State),
    /// No such case here.
    Unknown,
}

fn level(level: v1::SupervisionLevel) -> SupervisionLevel {
    match level {
        v1::SupervisionLevel::General => SupervisionLevel::General,
        v1::SupervisionLevel::Key => SupervisionLevel::Key,
        v1::SupervisionLevel::Listed => SupervisionLevel::Listed,
    }
}

/// Takes `order` in, once: the order row (under the city's id), the case's supervision
/// flags and urgency, its record and the outbox messages commit together.
pub fn take_city_order(
    conn: &mut PgConnection,
    tenant: &Tenant,
    order: &v1::SupervisionOrder,
    now: DateTime<Utc>,
) -> Result<Taken> {
    conn.transaction(|conn| {
        let seen: i64 = supervision_orders::table
            .find(order.order_id)
            .count()
            .get_result(conn)?;
        if seen > 0 {
            return Ok(Taken::Again);
        }
        let Some(case) = get_for_update(conn, order.case_id)? else {
            return Ok(Taken::Unknown);
        };
        if matches!(
            case.state,
            State::Closed | State::Rejected | State::Cancelled
        ) {
            return Ok(Taken::Finished(case.state));
        }
        let level = level(order.level);
        let updated: Case = diesel::update(cases::table.find(case.id))
            .set((
                cases::supervision_pending.eq(true),
                cases::supervision_level.eq(Some(level)),
                cases::urgency.eq(Urgency::Urgent),
                cases::version.eq(cases::version + 1),
                cases::updated_at.eq(now),
            ))
            .returning(Case::as_returning())
            .get_result(conn)?;
        diesel::insert_into(supervision_orders::table)
            .values(SupervisionOrder {
                id: order.order_id,
                case_id: case.id,
                origin: SupervisionOrigin::City,
                level,
                text: order.text.clone(),
                due_at: order.due_at,
                issued_by: None,
                issued_at: order.issued_at,
                acknowledged_by: None,
                acknowledged_at: None,
            })
            .execute(conn)?;
        let comment = format!("市级督办: {}", order.issued_by);
        super::record_change(
            conn,
            tenant,
            Some(&case),
            &updated,
            NewRecord {
                case_id: case.id,
                case_version: updated.version,
                action: Action::Supervise,
                from_state: Some(case.state),
                to_state: case.state,
                actor_id: None,
                actor_role: ActorRole::Leader,
                comment: Some(&comment),
                media: &[],
                details: serde_json::to_value(details::Supervise {
                    level: order.level,
                    text: order.text.clone(),
                    due_at: order.due_at,
                    urgency_before: case.urgency.into(),
                })?,
                at: now,
            },
        )?;
        tracing::info!(case = %case.id, order = %order.order_id, "city supervision order taken in");
        Ok(Taken::Applied(Box::new(updated)))
    })
}
