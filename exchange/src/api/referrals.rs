//! `/api/v1/city/referrals`: cases districts referred up to the city (上报市级,
//! docs/ESCALATION.md). City roles read them; a city leader sends one back or reassigns it.

use actix_web::{HttpResponse, web};
use chrono::Utc;
use citygrid_kit::Error as HttpError;
use citygrid_kit::http::{ErrorBody, Json, Path, Query};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{CityCaller, CityRole, CityState, HttpResult};
use crate::blocking;
use crate::referrals::{self, Decider, Decision, Referral};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReferralsQuery {
    /// 6-digit district code.
    district: Option<String>,
    /// `waiting` (default: oldest first) or `all` (newest first).
    status: Option<String>,
    /// At most this many (1–500, default 100).
    limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReferralList {
    items: Vec<Referral>,
}

/// The referrals waiting for a decision, or all of them.
#[utoipa::path(get, path = "/api/v1/city/referrals", tag = "city", params(ReferralsQuery),
    responses((status = 200, body = ReferralList), (status = 400, body = ErrorBody, description = "unknown parameter"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody, description = "a district officer"),
        (status = 422, body = ErrorBody)))]
pub async fn list(
    state: web::Data<CityState>,
    _caller: CityCaller,
    query: Query<ReferralsQuery>,
) -> HttpResult<HttpResponse> {
    let q = query.into_inner();
    let waiting = match q.status.as_deref() {
        None | Some("waiting") => true,
        Some("all") => false,
        Some(other) => {
            return Err(HttpError::invalid(
                "status",
                format!("{other:?}: `waiting` or `all`"),
            ));
        }
    };
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(HttpError::invalid("limit", "between 1 and 500"));
    }
    let items = blocking(&state.pool, move |conn| {
        referrals::list(conn, q.district.as_deref(), waiting, limit)
    })
    .await?;
    Ok(HttpResponse::Ok().json(ReferralList { items }))
}

/// A city leader's decision on a waiting referral: `{"outcome": "returned", "reason"}`
/// sends the case back; `{"outcome": "reassigned", "reason", "district", "category"?,
/// "lon"?, "lat"?}` sends it to `district` as a city problem and has the referring
/// district cancel its case. Once per referral.
#[utoipa::path(post, path = "/api/v1/city/referrals/{district}/{record_id}", tag = "city",
    params(("district" = String, Path), ("record_id" = i64, Path, description = "the district's `refer` record")),
    request_body = Decision,
    responses((status = 200, body = Referral), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "not a city leader (`wrong_role`)"),
        (status = 404, body = ErrorBody, description = "no such referral"),
        (status = 409, body = ErrorBody, description = "decided before (`already_decided`), or the case's snapshot has not arrived (`case_not_received`)"),
        (status = 422, body = ErrorBody, description = "no reason, the same or an unknown district, a point outside it, a category it does not have")))]
pub async fn decide(
    state: web::Data<CityState>,
    caller: CityCaller,
    path: Path<(String, i64)>,
    Json(decision): Json<Decision>,
) -> HttpResult<HttpResponse> {
    if !caller.0.roles.contains(&CityRole::CityLeader) {
        return Err(HttpError::forbidden(
            "wrong_role",
            "a city leader decides referrals",
        ));
    }
    let (district, record_id) = path.into_inner();
    let name = format!("{} ({})", state.issued_by, caller.0.username);
    let decider_id = caller.0.sub;
    let city = state.clone();
    let decided = blocking(&state.pool, move |conn| {
        let decider = Decider {
            id: decider_id,
            name: &name,
        };
        referrals::decide(
            conn,
            &city.registry,
            (&district, record_id),
            &decision,
            &decider,
            Utc::now(),
        )
    })
    .await?;
    Ok(HttpResponse::Ok().json(decided))
}
