//! `/api/v1/city/orders`: the city's supervision orders (docs/ESCALATION.md). City roles
//! read them; a city leader gives an order on one case by hand (领导批示).

use actix_web::{HttpResponse, web};
use chrono::{Duration, Utc};
use citygrid_kit::Error as HttpError;
use citygrid_kit::http::{ErrorBody, Json, Query};
use citygrid_schemas::SupervisionLevel;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{CityCaller, CityRole, CityState, HttpResult};
use crate::blocking;
use crate::escalation::orders::{self, NewOrder, Order};
use crate::escalation::rules::INSTRUCTION;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrdersQuery {
    /// 6-digit district code.
    district: Option<String>,
    /// `open` (default: neither resolved nor overdue) or `all`.
    status: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderView {
    #[serde(flatten)]
    order: Order,
    /// `issued`, `acknowledged`, `resolved` or `overdue` (escalated to `escalated_to`
    /// when a level was left above it).
    status: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderList {
    items: Vec<OrderView>,
}

fn view(order: Order) -> OrderView {
    OrderView {
        status: order.status(),
        order,
    }
}

/// The city's supervision orders, newest first.
#[utoipa::path(get, path = "/api/v1/city/orders", tag = "city", params(OrdersQuery),
    responses((status = 200, body = OrderList), (status = 400, body = ErrorBody, description = "unknown parameter"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody, description = "a district officer"),
        (status = 422, body = ErrorBody)))]
pub async fn list(
    state: web::Data<CityState>,
    _caller: CityCaller,
    query: Query<OrdersQuery>,
) -> HttpResult<HttpResponse> {
    let q = query.into_inner();
    let open_only = match q.status.as_deref() {
        None | Some("open") => true,
        Some("all") => false,
        Some(_) => return Err(HttpError::invalid("status", "open or all")),
    };
    let found = blocking(&state.pool, move |conn| {
        orders::list(conn, q.district.as_deref(), open_only)
    })
    .await?;
    Ok(HttpResponse::Ok().json(OrderList {
        items: found.into_iter().map(view).collect(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InstructionRequest {
    district: String,
    case_id: Uuid,
    /// `general` (一般), `key` (重点) or `listed` (挂牌).
    #[schema(value_type = String)]
    level: SupervisionLevel,
    /// What the department must do.
    text: String,
    /// Hours to acknowledge (签收), default 4.
    acknowledge_hours: Option<u32>,
    /// Hours to finish the case, default 48.
    due_hours: Option<u32>,
}

/// A city leader's order on one open case (rule `instruction`), sent to the district at
/// once. One per case and level.
#[utoipa::path(post, path = "/api/v1/city/orders", tag = "city", request_body = InstructionRequest,
    responses((status = 201, body = OrderView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "not a city leader (`wrong_role`)"),
        (status = 404, body = ErrorBody, description = "no such case of that district in the warehouse"),
        (status = 409, body = ErrorBody, description = "the case is finished (`case_finished`) or already has an instruction at this level (`already_ordered`)"),
        (status = 422, body = ErrorBody)))]
pub async fn instruct(
    state: web::Data<CityState>,
    caller: CityCaller,
    Json(body): Json<InstructionRequest>,
) -> HttpResult<HttpResponse> {
    if !caller.0.roles.contains(&CityRole::CityLeader) {
        return Err(HttpError::forbidden(
            "wrong_role",
            "a city leader gives supervision orders",
        ));
    }
    let acknowledge = body
        .acknowledge_hours
        .unwrap_or(orders::INSTRUCTION_HOURS.0);
    let due = body.due_hours.unwrap_or(orders::INSTRUCTION_HOURS.1);
    let issued_by = format!("{} ({})", state.issued_by, caller.0.username);
    let order = blocking(&state.pool, move |conn| {
        let new = NewOrder {
            district: &body.district,
            case_id: body.case_id,
            rule: INSTRUCTION,
            level: body.level,
            text: body.text.clone(),
            issued_by: &issued_by,
            acknowledge_within: Duration::hours(i64::from(acknowledge)),
            due_within: Duration::hours(i64::from(due)),
        };
        orders::instruct(conn, &new, Utc::now())
    })
    .await?;
    Ok(HttpResponse::Created().json(view(order)))
}
