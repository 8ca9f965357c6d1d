//! `GET /api/v1/city/appraisal`: the districts' appraisal (综合评价) for any city role, as
//! `citygrid city appraise` prints it (docs/APPRAISAL.md).

use actix_web::{HttpResponse, web};
use chrono::Utc;
use citygrid_appraisal::{Level, Period};
use citygrid_kit::Error as HttpError;
use citygrid_kit::http::{ErrorBody, Query};
use serde::Deserialize;
use utoipa::IntoParams;

use super::{CityCaller, CityState, HttpResult};
use crate::appraisal::CITY_LEVELS;
use crate::blocking;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AppraisalQuery {
    /// A month (`2026-10`), quarter (`2026-Q4`) or year (`2026`) in the city's time zone.
    period: String,
    /// `district` (default: the ranking) or `category`.
    level: Option<String>,
    /// `json` (default) or `csv`.
    format: Option<String>,
}

/// The appraisal of a period, each month as the warehouse stood at its end (now, for the
/// running month), from the archive once archived: every indicator per unit, the composite, grade and rank, the
/// rules' version and the input digest. A district not reconciled past the period is
/// `complete: false` and unranked.
#[utoipa::path(get, path = "/api/v1/city/appraisal", tag = "city", params(AppraisalQuery),
    responses((status = 200, description = "the appraisal (docs/APPRAISAL.md, \"Outputs\"): JSON, or CSV with `format=csv`",
            content((Object = "application/json"), (String = "text/csv"))),
        (status = 400, body = ErrorBody, description = "unknown parameter"), (status = 401, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn appraisal(
    state: web::Data<CityState>,
    _caller: CityCaller,
    query: Query<AppraisalQuery>,
) -> HttpResult<HttpResponse> {
    let q = query.into_inner();
    let period: Period = q
        .period
        .parse()
        .map_err(|e: String| HttpError::invalid("period", e))?;
    let level: Level = match q.level.as_deref() {
        None => Level::District,
        Some(text) => text
            .parse()
            .ok()
            .filter(|l| CITY_LEVELS.contains(l))
            .ok_or_else(|| HttpError::invalid("level", "district or category"))?,
    };
    let csv = match q.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => return Err(HttpError::invalid("format", "json or csv")),
    };
    let shared = state.clone();
    let appraisal = blocking(&state.pool, move |conn| {
        shared.appraiser().appraise(conn, period, level, Utc::now())
    })
    .await?;
    Ok(if csv {
        HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .body(appraisal.to_csv())
    } else {
        HttpResponse::Ok().json(appraisal.to_json())
    })
}
