//! `GET /api/v1/geo/geocode` and `/geo/reverse`: the gazetteer over HTTP. Staff and
//! anonymous callers (the public report form) alike; anonymous ones within the lookup
//! limit of their address (docs/API.md, "Limits").

use actix_web::{HttpRequest, HttpResponse, web};
use citygrid_kit::http::Query;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{AddressPoint, Gazetteer, MatchKind};
use crate::app::AppState;
use crate::auth::MaybeCaller;
use crate::case::text;
use crate::config::Tenant;
use crate::error::{Error, ErrorBody, Result};

/// At most this many candidates an answer.
pub const MAX_LIMIT: i64 = 20;
const DEFAULT_LIMIT: i64 = 5;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GeocodeQuery {
    /// The address as free text (`浙江省杭州市上城区解放路120号`, `解放路１２０号`), at most
    /// 500 characters. Required.
    // An `Option` so that its absence is refused naming it (422 `q`).
    #[param(required = true)]
    pub q: Option<String>,
    /// How many candidates, 1 to 20 (default 5).
    pub limit: Option<i64>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReverseQuery {
    /// WGS84 longitude. Required.
    #[param(required = true)]
    pub lon: Option<f64>,
    /// WGS84 latitude. Required.
    #[param(required = true)]
    pub lat: Option<f64>,
}

/// One address point as an answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct AddressView {
    pub id: String,
    pub address: String,
    pub lon: f64,
    pub lat: f64,
    /// 9-digit street code, when the address file gives it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub street: Option<String>,
    /// 12-digit community code, when the address file gives it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub community: Option<String>,
    /// The unit grid cell (15 digits) at the point, when the district has a grid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cell: Option<String>,
}

impl AddressView {
    pub fn new(point: &AddressPoint, tenant: &Tenant) -> AddressView {
        AddressView {
            id: point.id.clone(),
            address: point.address.clone(),
            lon: point.lon,
            lat: point.lat,
            street: point.street.clone(),
            community: point.community.clone(),
            cell: tenant
                .cell_at(point.lon, point.lat)
                .map(|c| c.code.as_str().to_owned()),
        }
    }
}

/// A geocoding candidate.
#[derive(Debug, Serialize, ToSchema)]
pub struct Candidate {
    #[serde(flatten)]
    pub address: AddressView,
    /// 0 to 1; a report without a point is placed from 0.8 up.
    pub score: f64,
    /// `exact`, `prefix` (same road, nearest house number) or `fuzzy` (similar road).
    #[serde(rename = "match")]
    pub kind: MatchKind,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Candidates {
    /// Best first; empty when nothing is alike.
    pub items: Vec<Candidate>,
}

/// The nearest address point.
#[derive(Debug, Serialize, ToSchema)]
pub struct Nearest {
    #[serde(flatten)]
    pub address: AddressView,
    /// Metres from the point asked about.
    pub distance_m: f64,
}

/// The district's gazetteer, or 404 when it has none.
fn gazetteer(tenant: &Tenant) -> Result<&Gazetteer> {
    tenant.addresses.as_ref().ok_or_else(|| {
        Error::not_found(format!(
            "district {} {} has no address data (地址库)",
            tenant.code(),
            tenant.config.district.name
        ))
    })
}

/// Anonymous callers spend from their address's lookups; staff do not.
fn admit(state: &AppState, caller: &MaybeCaller, req: &HttpRequest) -> Result<()> {
    match caller.0 {
        Some(_) => Ok(()),
        None => state.limits.public_lookup(state.login.client(req)),
    }
}

/// 地址解析: free text → address points, best first, with a score and how they matched.
#[utoipa::path(get, path = "/api/v1/geo/geocode", tag = "addresses", params(GeocodeQuery),
    responses((status = 200, body = Candidates), (status = 422, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "the district has no address data"),
        (status = 429, body = ErrorBody, description = "anonymous: over the lookup limit; see Retry-After")))]
pub async fn geocode(
    state: web::Data<AppState>,
    caller: MaybeCaller,
    req: HttpRequest,
    query: Query<GeocodeQuery>,
) -> Result<HttpResponse> {
    let query = query.into_inner();
    let q = query.q.unwrap_or_default();
    if q.trim().is_empty() {
        return Err(Error::invalid("q", "give an address to look for"));
    }
    text::check("q", &q, text::ADDRESS_CHARS)?;
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(Error::invalid("limit", format!("must be 1 to {MAX_LIMIT}")));
    }
    admit(&state, &caller, &req)?;
    let tenant = &state.tenant;
    let items = gazetteer(tenant)?
        .geocode(&q, limit as usize)
        .into_iter()
        .map(|hit| Candidate {
            address: AddressView::new(hit.point, tenant),
            score: hit.score,
            kind: hit.kind,
        })
        .collect();
    Ok(HttpResponse::Ok().json(Candidates { items }))
}

/// 逆地址解析: the address point nearest to a point, and how far it is.
#[utoipa::path(get, path = "/api/v1/geo/reverse", tag = "addresses", params(ReverseQuery),
    responses((status = 200, body = Nearest), (status = 422, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "the district has no address data"),
        (status = 429, body = ErrorBody, description = "anonymous: over the lookup limit; see Retry-After")))]
pub async fn reverse_geocode(
    state: web::Data<AppState>,
    caller: MaybeCaller,
    req: HttpRequest,
    query: Query<ReverseQuery>,
) -> Result<HttpResponse> {
    let ReverseQuery { lon, lat } = query.into_inner();
    let lon = lon.ok_or_else(|| Error::invalid("lon", "missing parameter `lon`"))?;
    let lat = lat.ok_or_else(|| Error::invalid("lat", "missing parameter `lat`"))?;
    crate::case::store::check_point(lon, lat)?;
    admit(&state, &caller, &req)?;
    let tenant = &state.tenant;
    let (point, metres) = gazetteer(tenant)?
        .reverse(lon, lat)
        .ok_or_else(|| Error::not_found("no address point"))?;
    Ok(HttpResponse::Ok().json(Nearest {
        address: AddressView::new(point, tenant),
        distance_m: (metres * 10.0).round() / 10.0,
    }))
}
