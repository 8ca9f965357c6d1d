//! The HTTP surface: routes, OpenAPI document, and the small endpoints that belong to
//! no capability (health, catalogue).

pub mod routes;

/// The JSON body extractor whose errors name the field (the kit's, shared with the city).
pub mod json {
    pub use citygrid_kit::http::{Json, MAX_JSON_BYTES, parse};
}

use actix_web::{HttpResponse, web};
use citygrid_kit::http::Contract;
use diesel::prelude::*;
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use crate::app::AppState;
use crate::auth::Caller;
use crate::calendar::Coverage;
use crate::catalogue::Catalogue;
use crate::db;
use crate::error::{ErrorBody, Result};

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    pub status: &'static str,
    pub district: String,
    pub version: &'static str,
    /// How far the holiday files reach; `alarm` is true from
    /// `calendar.missing_year_alarm_days` (default 31) days before a year without one.
    /// An alarm does not make the instance unready: only deadlines past `covers_until`
    /// are refused (503 `calendar_not_covered`).
    pub calendar: Coverage,
}

impl Health {
    fn new(status: &'static str, state: &AppState) -> Health {
        Health {
            status,
            district: state.tenant.code().to_owned(),
            version: env!("CARGO_PKG_VERSION"),
            calendar: state.tenant.calendar_coverage(chrono::Utc::now()),
        }
    }
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "ops", responses((status = 200, body = Health)))]
pub async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(Health::new("ok", &state))
}

/// Readiness: the database answers.
#[utoipa::path(get, path = "/readyz", tag = "ops", responses((status = 200, body = Health), (status = 503, body = ErrorBody)))]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse> {
    db::run(&state.pool, |conn| {
        Ok(diesel::sql_query("SELECT 1").execute(conn)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(Health::new("ready", &state)))
}

/// The category catalogue this district files cases under.
#[utoipa::path(get, path = "/api/v1/categories", tag = "cases", responses((status = 200, body = Catalogue)))]
pub async fn categories(state: web::Data<AppState>, _caller: Caller) -> HttpResponse {
    HttpResponse::Ok().json(&state.tenant.catalogue)
}

#[derive(OpenApi)]
#[openapi(
    info(title = "CityGrid district API", description = "One district's 数字城管 case loop. Errors are `{\"error\": {\"code\", \"message\", \"field\"?}}`."),
    paths(
        healthz, readyz, categories, crate::manual::handlers::read_manual,
        crate::auth::handlers::issue_token, crate::auth::handlers::refresh_token,
        crate::auth::handlers::logout, crate::auth::handlers::revoke_tokens,
        crate::media::handlers::upload_media, crate::media::handlers::download_media,
        crate::case::handlers::report_case, crate::case::handlers::list_cases, crate::case::handlers::get_case,
        crate::case::handlers::similar_cases,
        crate::patrol::handlers::assign_task, crate::patrol::handlers::assignments,
        crate::case::handlers::my_queue, crate::case::handlers::light_stats,
        crate::appraisal::handlers::appraisal,
        crate::appraisal::city_reports::list_reports,
        crate::appraisal::city_reports::download_report,
        crate::case::handlers::request_verification, crate::case::handlers::verify_case,
        crate::case::handlers::file_case, crate::case::handlers::reject_case,
        crate::case::handlers::dispatch_case, crate::case::handlers::return_case,
        crate::case::handlers::handle_case, crate::case::handlers::check_case,
        crate::case::handlers::callback_case, crate::case::handlers::close_case,
        crate::case::handlers::request_cancellation, crate::case::handlers::approve_cancellation,
        crate::case::handlers::reject_cancellation, crate::case::handlers::refer_case,
        crate::case::handlers::request_extension, crate::case::handlers::approve_extension,
        crate::case::handlers::reject_extension, crate::case::handlers::request_suspension,
        crate::case::handlers::approve_suspension, crate::case::handlers::reject_suspension,
        crate::case::handlers::resume_case,
        crate::case::handlers::urge_case, crate::case::handlers::supervise_case, crate::case::handlers::acknowledge_supervision,
        crate::uplink::handlers::exchange_status, crate::uplink::handlers::exchange_rejections,
        crate::address::handlers::geocode, crate::address::handlers::reverse_geocode,
        crate::component::handlers::list_components, crate::component::handlers::get_component,
        crate::component::handlers::update_component,
    ),
    modifiers(&CONTRACT),
)]
pub struct ApiDoc;

/// Who may call what (docs/API.md, "Auth") and which writes are limited ("Limits"): the
/// document's `security` per operation and the refusals every operation shares, added by
/// the kit (`citygrid_kit::http::openapi`). Every operation not named needs a token.
const CONTRACT: Contract = Contract {
    public: &[
        "GET /healthz",
        "GET /readyz",
        "POST /api/v1/auth/token",
        "POST /api/v1/auth/refresh",
        "POST /api/v1/auth/logout",
    ],
    optional: &[
        "POST /api/v1/cases",
        "POST /api/v1/media",
        "GET /api/v1/geo/*",
    ],
    rate_limited: &[
        "POST /api/v1/cases",
        "POST /api/v1/media",
        "POST /api/v1/cases/{id}/*",
        "GET /api/v1/geo/*",
        "PATCH /api/v1/components/{id}",
    ],
};
