//! HTTP handlers for the on-site tasks: reassignment and its history.

use actix_web::{HttpResponse, web};
use chrono::Utc;
use citygrid_kit::http::{NoParams, Path, Query};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::store::{self, Assignment};
use crate::api::json::Json;
use crate::app::AppState;
use crate::auth::Caller;
use crate::case::privacy::ContactAccess;
use crate::case::store as cases;
use crate::case::text;
use crate::case::view::CaseView;
use crate::db;
use crate::error::{Error, ErrorBody, Result};
use crate::vocab::Role;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignBody {
    /// Username of the supervisor who takes the task over.
    pub supervisor: String,
    /// Why (the assigned supervisor is away, the cell's area is wrong…).
    #[serde(deserialize_with = "text::comment")]
    pub reason: String,
}

/// 改派: hand the case's waiting verification (核实) or check (核查) to another
/// supervisor (operator or shift leader). Not a step of the loop: the version stays.
#[utoipa::path(post, path = "/api/v1/cases/{id}/task/assign", tag = "steps", params(("id" = Uuid, Path)), request_body = AssignBody,
    responses((status = 200, body = CaseView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn assign_task(
    state: web::Data<AppState>,
    caller: Caller,
    id: Path<Uuid>,
    body: Json<AssignBody>,
) -> Result<HttpResponse> {
    if !(caller.has(Role::Operator) || caller.has(Role::ShiftLeader)) {
        return Err(Error::forbidden(
            "wrong_role",
            "reassigning a task needs the operator or shift_leader role",
        ));
    }
    if body.0.reason.trim().is_empty() {
        return Err(Error::invalid("reason", "say why the task is reassigned"));
    }
    state.limits.staff_write(caller.0.sub)?;
    let access = ContactAccess::of(&caller.0.roles);
    let (claims, id, body) = (caller.0, id.into_inner(), body.0);
    let case = db::run(&state.pool, move |conn| {
        store::reassign(conn, &claims, id, &body.supervisor, &body.reason)
    })
    .await?;
    tracing::info!(case.id = %case.id, assignee = ?case.task_assignee, "task reassigned");
    Ok(HttpResponse::Ok().json(CaseView::new(case, &state.tenant, Utc::now(), access)))
}

/// Who was given the case's on-site tasks, by the patrol areas or by hand, oldest first.
#[utoipa::path(get, path = "/api/v1/cases/{id}/assignments", tag = "cases", params(("id" = Uuid, Path)),
    responses((status = 200, body = Vec<Assignment>), (status = 404, body = ErrorBody)))]
pub async fn assignments(
    state: web::Data<AppState>,
    _caller: Caller,
    id: Path<Uuid>,
    _: Query<NoParams>,
) -> Result<HttpResponse> {
    let id = id.into_inner();
    let history = db::run(&state.pool, move |conn| {
        cases::get(conn, id)?;
        store::history(conn, id)
    })
    .await?;
    Ok(HttpResponse::Ok().json(history))
}
