//! `/api/v1/city/media` and `/api/v1/city/problems`: a city supervisor uploads a photo, then
//! reports the problem (上级发现, docs/ESCALATION.md); city roles follow the problems to
//! their districts' cases.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use citygrid_kit::Error as HttpError;
use citygrid_kit::http::{ErrorBody, Json, Query};
use citygrid_schemas::{self as v1, CITY_PHOTO_BYTES};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{CityCaller, CityRole, CityState, HttpResult};
use crate::blocking;
use crate::problems::{self, NewProblem, Reporter, Tracked};

fn require_supervisor(caller: &CityCaller) -> HttpResult<()> {
    if caller.0.roles.contains(&CityRole::CitySupervisor) {
        Ok(())
    } else {
        Err(HttpError::forbidden(
            "wrong_role",
            "city supervisors report the problems the city finds",
        ))
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Uploaded {
    /// Name the photo by this in the problem's `photos`.
    sha256: String,
}

/// A city supervisor's photo (JPEG, PNG or WebP, at most 360 KiB: it travels inside the
/// message to the district) as the raw body with its type as the `Content-Type`. The same
/// bytes twice are stored once (200).
#[utoipa::path(post, path = "/api/v1/city/media", tag = "city",
    request_body(content((Vec<u8> = "image/jpeg"), (Vec<u8> = "image/png"), (Vec<u8> = "image/webp"))),
    responses((status = 201, body = Uploaded), (status = 200, body = Uploaded, description = "already stored"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody, description = "not a city supervisor (`wrong_role`)"),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn upload(
    state: web::Data<CityState>,
    caller: CityCaller,
    req: HttpRequest,
    payload: web::Payload,
) -> HttpResult<HttpResponse> {
    require_supervisor(&caller)?;
    let declared = citygrid_kit::http::declared_type(&req, &v1::PHOTO_TYPES)?;
    let bytes = citygrid_kit::http::read_upload(&req, payload, CITY_PHOTO_BYTES).await?;
    let uploader = caller.0.sub;
    let (sha256, created) = blocking(&state.pool, move |conn| {
        problems::store_photo(conn, &bytes, declared, uploader)
    })
    .await?;
    let mut response = if created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    Ok(response.json(Uploaded { sha256 }))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProblemRequest {
    /// `component:0101` or `event:0102`, in the catalogue edition of the district the
    /// point falls in (`GET /api/v1/city/catalogues`).
    category: String,
    /// `normal` (default) or `urgent`.
    #[schema(value_type = Option<String>)]
    urgency: Option<v1::Urgency>,
    description: String,
    address: Option<String>,
    lon: f64,
    lat: f64,
    /// One to three photos uploaded to `/api/v1/city/media`, by SHA-256.
    photos: Vec<String>,
}

/// Report a problem the city found. The city sends it to the district whose boundary holds
/// the point, which opens it as a case of source `city` (id `case_id`) for its operator to
/// file. Send an `Idempotency-Key` header to make retries safe (200 with the first answer).
#[utoipa::path(post, path = "/api/v1/city/problems", tag = "city", request_body = ProblemRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "client-chosen retry key, at most 128 characters")),
    responses((status = 201, body = Tracked), (status = 200, body = Tracked, description = "replayed"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody, description = "not a city supervisor (`wrong_role`)"),
        (status = 409, body = ErrorBody, description = "the key was used for another problem (`idempotency_key_reused`)"),
        (status = 422, body = ErrorBody, description = "no district holds the point (`lon`), an unknown category, a photo not uploaded")))]
pub async fn report(
    state: web::Data<CityState>,
    caller: CityCaller,
    req: HttpRequest,
    Json(body): Json<ProblemRequest>,
) -> HttpResult<HttpResponse> {
    require_supervisor(&caller)?;
    let key = citygrid_kit::http::idempotency_key(&req)?;
    let request_hash = v1::sha256_hex(&serde_json::to_vec(&body).map_err(crate::Error::from)?);
    let name = format!("{} ({})", state.issued_by, caller.0.username);
    let reporter_id = caller.0.sub;
    let new = NewProblem {
        category: body.category,
        urgency: body.urgency.unwrap_or(v1::Urgency::Normal),
        description: body.description,
        address: body.address,
        lon: body.lon,
        lat: body.lat,
        photos: body.photos,
    };
    let city = state.clone();
    let (problem, created) = blocking(&state.pool, move |conn| {
        let reporter = Reporter {
            id: reporter_id,
            name: &name,
            key: key.as_deref(),
            request_hash: &request_hash,
        };
        problems::report(conn, &city.registry, &new, &reporter, Utc::now())
    })
    .await?;
    let tracked = Tracked {
        problem,
        state: "sent".to_owned(),
    };
    let mut response = if created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    Ok(response.json(tracked))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProblemsQuery {
    /// 6-digit district code.
    district: Option<String>,
    /// At most this many, newest first (1–500, default 100).
    limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProblemList {
    items: Vec<Tracked>,
}

/// The problems the city found, newest first, each with its case's state in the district
/// as the warehouse last heard (`sent` until the district opened it).
#[utoipa::path(get, path = "/api/v1/city/problems", tag = "city", params(ProblemsQuery),
    responses((status = 200, body = ProblemList), (status = 400, body = ErrorBody, description = "unknown parameter"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody, description = "a district officer"),
        (status = 422, body = ErrorBody)))]
pub async fn list(
    state: web::Data<CityState>,
    _caller: CityCaller,
    query: Query<ProblemsQuery>,
) -> HttpResult<HttpResponse> {
    let q = query.into_inner();
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(HttpError::invalid("limit", "between 1 and 500"));
    }
    let items = blocking(&state.pool, move |conn| {
        problems::list(conn, q.district.as_deref(), limit)
    })
    .await?;
    Ok(HttpResponse::Ok().json(ProblemList { items }))
}
