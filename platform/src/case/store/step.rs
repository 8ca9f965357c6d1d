//! Taking one step on a case under optimistic concurrency: the conditional update, the
//! step's effects on other capabilities (`effects`), and the business record.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::effects;
use super::read::get;
use super::report::require_media;
use crate::auth::Claims;
use crate::case::duties;
use crate::case::model::{Case, NewRecord};
use crate::case::steps::{self, StepRequest};
use crate::case::workflow::Action;
use crate::config::Tenant;
use crate::error::{Error, Result};
use crate::patrol;
use crate::schema::{case_records, cases};

/// Takes one step on a case at `now` (the handlers' clock; a simulation's own). The
/// update is conditional on the version the caller saw, so of two concurrent steps
/// exactly one commits; the other gets `StaleVersion`.
pub fn apply_step(
    conn: &mut PgConnection,
    tenant: &Tenant,
    caller: &Claims,
    case_id: Uuid,
    req: &StepRequest,
    now: DateTime<Utc>,
) -> Result<Case> {
    conn.transaction(|conn| {
        let case = get(conn, case_id)?;
        let mut plan = steps::plan(&case, tenant, caller, req, now)?;
        if let steps::Step::Reject {
            duplicate_of: Some(other),
            ..
        } = &req.step
        {
            cases::table
                .find(other)
                .select(cases::id)
                .first::<Uuid>(conn)
                .optional()?
                .ok_or_else(|| {
                    Error::invalid("duplicate_of", format!("no case {other} in this district"))
                })?;
        }
        // Separation of duties: the caller's earlier steps on this case, when a rule
        // restricts this one (one read on the records' (case_id, …) index).
        if duties::restricted(plan.action) {
            let mine: Vec<Action> = case_records::table
                .filter(case_records::case_id.eq(case_id))
                .filter(case_records::actor_id.eq(caller.sub))
                .select(case_records::action)
                .distinct()
                .load(conn)?;
            if let Some(rule) = duties::conflict(plan.action, case.source, &mine) {
                return Err(Error::forbidden(
                    "own_work",
                    format!("separation of duties: {}", rule.rule),
                ));
            }
        }
        // Grid-based acceptance: the on-site step is the assigned supervisor's.
        if matches!(
            plan.action,
            Action::Verify | Action::CheckPass | Action::Rework
        ) {
            patrol::store::require_assignee(conn, &case, caller)?;
        }
        require_media(conn, "media", &req.media)?;
        let assignment = patrol::store::on_step(conn, tenant, &case, plan.to, &mut plan.changes)?;
        let updated: Option<Case> = diesel::update(cases::table)
            .filter(cases::id.eq(case_id))
            .filter(cases::version.eq(req.version))
            .set((
                plan.changes,
                cases::state.eq(plan.to),
                cases::version.eq(cases::version + 1),
                cases::updated_at.eq(now),
            ))
            .returning(Case::as_returning())
            .get_result(conn)
            .optional()?;
        let Some(updated) = updated else {
            let current = get(conn, case_id)?;
            return Err(Error::StaleVersion {
                version: current.version,
                state: current.state,
            });
        };
        if let Some(assignment) = assignment {
            patrol::store::record(conn, case_id, assignment, now)?;
        }
        effects::after_step(conn, caller, req, plan.action, &updated, now)?;
        let role = plan.action.role();
        super::record_change(
            conn,
            tenant,
            Some(&case),
            &updated,
            NewRecord {
                case_id,
                case_version: updated.version,
                action: plan.action,
                from_state: Some(plan.from),
                to_state: plan.to,
                actor_id: Some(caller.sub),
                actor_role: role.into(),
                comment: req.comment.as_deref(),
                media: &req.media,
                details: plan.details,
                at: now,
            },
        )?;
        Ok(updated)
    })
}
