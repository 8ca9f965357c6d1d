//! `GET /api/v1/appraisal`: the district's appraisal (综合评价), as `citygrid district
//! appraise` prints it (docs/APPRAISAL.md), for whoever may see it (`super::scope`).

use actix_web::{HttpResponse, web};
use chrono::Utc;
use citygrid_appraisal::Period;
use citygrid_kit::http::Query;
use serde::Deserialize;
use utoipa::IntoParams;

use super::{DistrictLevel, appraise, scope};
use crate::app::AppState;
use crate::auth::Caller;
use crate::db;
use crate::error::{Error, Result};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AppraisalQuery {
    /// A month (`2026-10`), quarter (`2026-Q4`) or year (`2026`) in the district's time
    /// zone.
    period: String,
    /// `department` (default), `street`, `community`, `cell`, `category` or `post`.
    level: Option<String>,
    /// `json` (default) or `csv`.
    format: Option<String>,
}

/// The appraisal of a period with each case as it stood at the end of each month (now,
/// for the running month): every indicator per unit or per person, the composite, grade
/// and rank, the rules' version and the input digest. The command centre (operator,
/// dispatcher, shift leader, leader, admin) sees every level; a supervisor only their own
/// row at `level=post`; a department only its own row at `level=department`; anything
/// else is 403 `wrong_role`.
#[utoipa::path(get, path = "/api/v1/appraisal", tag = "appraisal", params(AppraisalQuery),
    responses((status = 200, description = "the appraisal (docs/APPRAISAL.md, \"Outputs\" and \"Posts\"): JSON, or CSV with `format=csv`",
        content((Object = "application/json"), (String = "text/csv")))))]
pub async fn appraisal(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<AppraisalQuery>,
) -> Result<HttpResponse> {
    let q = query.into_inner();
    let period: Period = q
        .period
        .parse()
        .map_err(|e: String| Error::invalid("period", e))?;
    let level: DistrictLevel = match q.level.as_deref() {
        None => DistrictLevel::Unit(citygrid_appraisal::Level::Department),
        Some(text) => text
            .parse()
            .map_err(|e: String| Error::invalid("level", e))?,
    };
    let csv = match q.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => return Err(Error::invalid("format", "json or csv")),
    };
    let scope = scope(&caller.0, level)?;
    let tenant = state.tenant.clone();
    let report = db::run(&state.pool, move |conn| {
        appraise(
            conn,
            &tenant,
            &tenant.appraisal,
            period,
            level,
            &scope,
            Utc::now(),
        )
    })
    .await?;
    Ok(if csv {
        HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .body(report.to_csv())
    } else {
        HttpResponse::Ok().json(report.to_json())
    })
}
