//! `/api/v1/city/reports`: the monthly appraisal reports (docs/MONTHLY.md). City roles
//! read the city's report and any district's section; a district officer reads only their
//! own district's section.

use actix_web::{HttpResponse, web};
use citygrid_appraisal::Period;
use citygrid_kit::Error as HttpError;
use citygrid_kit::http::{ErrorBody, Path, Query};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{AnyCaller, CityState, HttpResult};
use crate::blocking;
use crate::report::store::{self, Listed};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportsQuery {
    /// 6-digit district code: that district's section instead of the city's report (a
    /// district officer's own by default, and only).
    district: Option<String>,
    /// At most this many months, newest first (1–120, default 24); listing only.
    limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReportList {
    /// `city`, or the district whose sections these are.
    scope: String,
    items: Vec<Listed>,
}

/// The scope a caller asks for and may read.
fn scope(state: &CityState, caller: &AnyCaller, asked: Option<String>) -> HttpResult<String> {
    match (&caller.0.district, asked) {
        (Some(own), Some(asked)) if *own != asked => Err(HttpError::forbidden(
            "wrong_district",
            format!("district {own}'s officer reads only district {own}'s section"),
        )),
        (Some(own), _) => Ok(own.clone()),
        (None, Some(asked)) if state.registry.get(&asked).is_none() => {
            Err(HttpError::NotFound(format!("district {asked}")))
        }
        (None, Some(asked)) => Ok(asked),
        (None, None) => Ok(store::CITY.to_owned()),
    }
}

/// The months reported, newest first, each with its files (name, type, size, SHA-256).
#[utoipa::path(get, path = "/api/v1/city/reports", tag = "city", params(ReportsQuery),
    responses((status = 200, body = ReportList), (status = 400, body = ErrorBody, description = "unknown parameter"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "a district officer asking for another district (`wrong_district`)"),
        (status = 404, body = ErrorBody, description = "no such district"),
        (status = 422, body = ErrorBody)))]
pub async fn list(
    state: web::Data<CityState>,
    caller: AnyCaller,
    query: Query<ReportsQuery>,
) -> HttpResult<HttpResponse> {
    let q = query.into_inner();
    let limit = q.limit.unwrap_or(24);
    if !(1..=120).contains(&limit) {
        return Err(HttpError::invalid("limit", "between 1 and 120"));
    }
    let scope = scope(&state, &caller, q.district)?;
    let items = {
        let scope = scope.clone();
        blocking(&state.pool, move |conn| store::list(conn, &scope, limit)).await?
    };
    Ok(HttpResponse::Ok().json(ReportList { scope, items }))
}

/// One file of a month's report: `report.html`, `report.pdf`, `report.xlsx`,
/// `meta.json`, or a table's `<table>.csv` / `<table>.json`.
#[utoipa::path(get, path = "/api/v1/city/reports/{month}/{file}", tag = "city",
    params(("month" = String, Path, description = "`2026-10`"), ("file" = String, Path), ReportsQuery),
    responses((status = 200, description = "the file", content_type = "application/octet-stream"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "a district officer asking for another district (`wrong_district`)"),
        (status = 404, body = ErrorBody, description = "no report of that month, or no such file"),
        (status = 422, body = ErrorBody, description = "not a month")))]
pub async fn download(
    state: web::Data<CityState>,
    caller: AnyCaller,
    path: Path<(String, String)>,
    query: Query<ReportsQuery>,
) -> HttpResult<HttpResponse> {
    let (month, name) = path.into_inner();
    if !matches!(month.parse::<Period>(), Ok(Period::Month { .. })) {
        return Err(HttpError::invalid(
            "month",
            format!("{month:?}: a month, 2026-10"),
        ));
    }
    let scope = scope(&state, &caller, query.into_inner().district)?;
    let found = {
        let (month, scope, name) = (month.clone(), scope.clone(), name.clone());
        blocking(&state.pool, move |conn| {
            store::get(conn, &month, &scope, &name)
        })
        .await?
    };
    let Some((content_type, bytes)) = found else {
        return Err(HttpError::NotFound(format!(
            "{name} of the {month} report ({scope})"
        )));
    };
    Ok(citygrid_kit::http::document(
        content_type,
        bytes,
        format!("citygrid-{month}-{scope}-{name}"),
    ))
}
