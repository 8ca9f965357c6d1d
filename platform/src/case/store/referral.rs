//! The city's decision on a case the shift leader referred up (`referral_decision` over the
//! interchange, v1.6): sent back, the case goes on where it was (`return_referral`);
//! reassigned, another district takes the problem and this one cancels its case (`cancel`
//! naming the replacement). Both are recorded like the city's orders: under the leader
//! role, with no actor.

use chrono::Utc;
use citygrid_schemas::{self as v1, details};
use diesel::dsl::max;
use diesel::prelude::*;

use super::read::get_for_update;
use crate::case::model::{Case, CaseChanges, NewRecord};
use crate::case::workflow::{Action, Pending, State};
use crate::config::Tenant;
use crate::error::Result;
use crate::patrol;
use crate::schema::{case_records, cases};
use crate::vocab::ActorRole;

/// What became of a decision.
#[derive(Debug)]
pub enum Decided {
    /// The case took it.
    Applied,
    /// Nothing waits for it: a redelivery, or a referral already settled.
    Again,
    /// A reassignment that names no case: the standard requires one.
    Invalid,
    /// No such case here.
    Unknown,
}

/// Applies `decision` once, while the referral it answers waits (the case's pending
/// request, and its newest `refer` record): the case, its record and the outbox messages
/// commit together.
pub fn take_referral_decision(
    conn: &mut PgConnection,
    tenant: &Tenant,
    decision: &v1::ReferralDecision,
) -> Result<Decided> {
    let reassigned_to = match (decision.outcome, &decision.reassigned_to) {
        (v1::ReferralOutcome::Returned, _) => None,
        (v1::ReferralOutcome::Reassigned, Some(to)) => Some(to.clone()),
        (v1::ReferralOutcome::Reassigned, None) => return Ok(Decided::Invalid),
    };
    conn.transaction(|conn| {
        let Some(case) = get_for_update(conn, decision.case_id)? else {
            return Ok(Decided::Unknown);
        };
        let newest: Option<i64> = case_records::table
            .filter(case_records::case_id.eq(case.id))
            .filter(case_records::action.eq(Action::Refer))
            .select(max(case_records::id))
            .first(conn)?;
        if case.pending_request != Some(Pending::Referral)
            || newest != i64::try_from(decision.record_id).ok()
        {
            return Ok(Decided::Again);
        }
        let now = Utc::now();
        let mut changes = CaseChanges {
            pending_request: Some(None),
            pending_minutes: Some(None),
            ..CaseChanges::default()
        };
        let (action, to, details) = match reassigned_to {
            None => (
                Action::ReturnReferral,
                case.state,
                serde_json::to_value(details::ReturnReferral {
                    referral: decision.record_id,
                })?,
            ),
            Some(to) => {
                // As an approved cancellation: the clock stops and no task is left open.
                changes.set_stage(None);
                patrol::store::on_step(conn, tenant, &case, State::Cancelled, &mut changes)?;
                (
                    Action::Cancel,
                    State::Cancelled,
                    serde_json::to_value(details::Cancel {
                        reassigned_to: Some(to),
                    })?,
                )
            }
        };
        let updated: Case = diesel::update(cases::table.find(case.id))
            .set((
                changes,
                cases::state.eq(to),
                cases::version.eq(cases::version + 1),
                cases::updated_at.eq(now),
            ))
            .returning(Case::as_returning())
            .get_result(conn)?;
        let comment = format!("{}: {}", decision.decided_by, decision.reason);
        super::record_change(
            conn,
            tenant,
            Some(&case),
            &updated,
            NewRecord {
                case_id: case.id,
                case_version: updated.version,
                action,
                from_state: Some(case.state),
                to_state: to,
                actor_id: None,
                actor_role: ActorRole::Leader,
                comment: Some(&comment),
                media: &[],
                details,
                at: now,
            },
        )?;
        tracing::info!(case = %case.id, outcome = ?decision.outcome, "the city decided a referral");
        Ok(Decided::Applied)
    })
}
