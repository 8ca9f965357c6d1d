//! The city API: the command center reads every district's cases and the exchange's
//! state; Prometheus scrapes `/metrics`. Read-only: the city acts on districts through the
//! interchange (commands), never by writing their data. Errors follow the districts'
//! contract (`{"error": {"code", "message", "field"?}}`): the kit's error type and JSON
//! extractor serve both sides.

use std::net::TcpListener;

use actix_web::{FromRequest, HttpRequest, HttpResponse, dev::Payload, dev::Server, web};
use chrono::{DateTime, Duration, Utc};
use citygrid_kit::Error as HttpError;
use citygrid_kit::db::DbPool;
use citygrid_kit::http::{Contract, ErrorBody};
use citygrid_kit::http::{Json, Path, Query, edge};
use citygrid_kit::password;
use citygrid_kit::session::{self, Refresh, RefreshRequest};
use citygrid_kit::token::{Keys, bearer};
use citygrid_schemas::Edition;
use citygrid_schemas::catalogue::Mapping;
use diesel::prelude::*;
use futures::future::LocalBoxFuture;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tracing_actix_web::TracingLogger;
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;

use crate::config::City;
use crate::schema::{cases, city_users, media, records};
use crate::{Error, blocking, users, warehouse};

mod appraisal;
mod ledger;
mod orders;
mod page;
mod problems;
mod referrals;
mod reports;

type HttpResult<T> = std::result::Result<T, HttpError>;

impl From<Error> for HttpError {
    fn from(e: Error) -> Self {
        match e {
            Error::Kit(e) => e,
            Error::Database(e) => HttpError::Database(e),
            other => HttpError::Internal(other.to_string()),
        }
    }
}

/// Roles of the city command center, stored by name (a CHECK constraint on
/// `city_users.roles` refuses others).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    ToSchema,
    diesel::AsExpression,
    diesel::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
#[serde(rename_all = "snake_case")]
pub enum CityRole {
    /// 市级监督员: watches every district's cases.
    CitySupervisor,
    /// 市级领导
    CityLeader,
    /// 区级联络员: a district's person at the city, who reads that district's ledger
    /// statement and nothing else here (the only role of such a user, with their district).
    DistrictOfficer,
}

citygrid_kit::vocabulary!(CityRole {
    CitySupervisor => "city_supervisor",
    CityLeader => "city_leader",
    DistrictOfficer => "district_officer",
});

/// A city token: the city's code instead of a district's.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CityClaims {
    pub sub: Uuid,
    pub username: String,
    pub city: String,
    pub roles: Vec<CityRole>,
    /// The user's token version when the token was issued (`city_users.token_version`).
    pub ver: i32,
    pub iat: i64,
    pub exp: i64,
    /// A district officer's district: the token reaches only that district's statement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub district: Option<String>,
}

pub struct CityState {
    pub pool: DbPool,
    pub keys: Keys,
    pub city: String,
    /// The life of an access token.
    pub ttl: Duration,
    /// The life of a session (its refresh tokens), from sign-in.
    pub session_ttl: Duration,
    pub catalogues: Catalogues,
    /// Sign-in: bounded password checks and the failure throttle (`[auth.login]`).
    pub login: citygrid_kit::login::Gate,
    /// Users' token versions as lately read: the revocation check of every request.
    pub versions: citygrid_kit::session::Versions,
    /// What appraisal needs: the districts, the city's days and the rules.
    pub registry: crate::registry::Registry,
    pub time_zone: chrono_tz::Tz,
    pub appraisal: citygrid_appraisal::Config,
    pub archive: Option<std::path::PathBuf>,
    /// Who the city's orders name as their issuer (`[escalation] issued_by`).
    pub issued_by: String,
}

impl CityState {
    pub fn appraiser(&self) -> crate::appraisal::Appraiser<'_> {
        crate::appraisal::Appraiser {
            registry: &self.registry,
            zone: self.time_zone,
            config: &self.appraisal,
            archive: self.archive.as_deref(),
        }
    }
}

/// The category catalogues the city knows, one per edition, and how each other edition
/// maps to the one the city compares districts in.
#[derive(Debug, Serialize, ToSchema)]
pub struct Catalogues {
    pub compare_edition: Edition,
    pub catalogues: Vec<CatalogueSummary>,
    pub mappings: Vec<Mapping>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CatalogueSummary {
    pub edition: Edition,
    pub version: String,
    /// How many categories it has.
    pub categories: usize,
    /// The districts that file under it (registry).
    pub districts: Vec<String>,
}

impl Catalogues {
    fn of(city: &City) -> Catalogues {
        Catalogues {
            compare_edition: city.file.city.compare_edition,
            catalogues: city
                .catalogues
                .iter()
                .map(|c| CatalogueSummary {
                    edition: c.edition,
                    version: c.version.clone(),
                    categories: c.categories.len(),
                    districts: city
                        .registry
                        .iter()
                        .filter(|d| d.catalogue.edition == c.edition)
                        .map(|d| d.code.clone())
                        .collect(),
                })
                .collect(),
            mappings: city.mappings.clone(),
        }
    }
}

/// A signed-in person of this city: a token signed with the city's key, for this city,
/// of a user that exists, at the user's current token version.
fn authenticate(req: &HttpRequest) -> LocalBoxFuture<'static, HttpResult<CityClaims>> {
    let parts = bearer(req).map(|token| {
        (
            token.map(str::to_owned),
            req.app_data::<web::Data<CityState>>().cloned(),
        )
    });
    Box::pin(async move {
        let (token, state) = parts?;
        let token =
            token.ok_or_else(|| HttpError::Unauthenticated("a bearer token is required".into()))?;
        let state = state.ok_or_else(|| HttpError::Internal("application state missing".into()))?;
        let claims: CityClaims = state.keys.verify(&token)?;
        if claims.city != state.city || claims.roles.is_empty() {
            return Err(HttpError::forbidden(
                "wrong_city",
                format!("this token is not for city {}", state.city),
            ));
        }
        let (user, pool) = (claims.sub, state.pool.clone());
        state
            .versions
            .admit(user, claims.ver, || async move {
                blocking(&pool, move |conn| users::token_version(conn, user))
                    .await
                    .map_err(HttpError::from)
            })
            .await?;
        Ok(claims)
    })
}

/// A person of the city command center (a city supervisor or leader), who sees every
/// district. A district officer's token is refused (403 `wrong_role`).
pub struct CityCaller(pub CityClaims);

impl FromRequest for CityCaller {
    type Error = HttpError;
    type Future = LocalBoxFuture<'static, HttpResult<Self>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let claims = authenticate(req);
        Box::pin(async move {
            let claims = claims.await?;
            if claims.district.is_some() {
                return Err(HttpError::forbidden(
                    "wrong_role",
                    "a district officer reads only their district's ledger statement",
                ));
            }
            Ok(CityCaller(claims))
        })
    }
}

/// Anyone signed in to the city, a district officer included: the endpoint itself limits
/// what a district officer sees to their district.
pub struct AnyCaller(pub CityClaims);

impl FromRequest for AnyCaller {
    type Error = HttpError;
    type Future = LocalBoxFuture<'static, HttpResult<Self>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let claims = authenticate(req);
        Box::pin(async move { Ok(AnyCaller(claims.await?)) })
    }
}

/// Brings the seed users of the city file into the warehouse (new ones only).
pub fn sync_users(conn: &mut PgConnection, city: &City) -> crate::Result<usize> {
    let mut created = 0;
    for user in &city.file.users {
        let hash = password::hash(user.password.expose_secret())?;
        created += diesel::insert_into(city_users::table)
            .values((
                city_users::id.eq(Uuid::new_v4()),
                city_users::username.eq(&user.username),
                city_users::display_name.eq(&user.name),
                city_users::password_hash.eq(hash),
                city_users::roles.eq(&user.roles),
                city_users::district.eq(&user.district),
            ))
            .on_conflict_do_nothing()
            .execute(conn)?;
    }
    Ok(created)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    username: String,
    password: String,
}

/// A signed-in session of the command center.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// HS256 JWT; send it as `Authorization: Bearer <token>`, until `expires_at`.
    token: String,
    /// Always `Bearer`.
    token_type: &'static str,
    expires_at: Option<DateTime<Utc>>,
    /// Opaque; `POST /api/v1/auth/refresh` trades it, once, for a new pair.
    refresh_token: String,
    /// When the session ends (sign-in + `[auth] refresh_ttl_minutes`); refreshing does not
    /// move it.
    refresh_expires_at: DateTime<Utc>,
    city: String,
    roles: Vec<CityRole>,
    /// A district officer's district.
    #[serde(skip_serializing_if = "Option::is_none")]
    district: Option<String>,
}

/// An access token for `user` (at their current token version) and the session's refresh.
fn respond(
    state: &CityState,
    user: users::CityUserRow,
    refresh: Refresh,
) -> HttpResult<HttpResponse> {
    let now = Utc::now();
    let claims = CityClaims {
        sub: user.id,
        username: user.username,
        city: state.city.clone(),
        roles: user.roles,
        ver: user.token_version,
        iat: now.timestamp(),
        exp: (now + state.ttl).timestamp(),
        district: user.district,
    };
    let token = state.keys.issue(&claims)?;
    state.versions.remember(user.id, user.token_version);
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(TokenResponse {
            token,
            token_type: "Bearer",
            expires_at: DateTime::<Utc>::from_timestamp(claims.exp, 0),
            refresh_token: refresh.token,
            refresh_expires_at: refresh.expires_at,
            city: claims.city,
            roles: claims.roles,
            district: claims.district,
        }))
}

/// One case as the warehouse holds it: the district's newest snapshot.
#[derive(Debug, Serialize, ToSchema)]
pub struct CityCase {
    district: String,
    /// A `case_snapshot` body (schemas/json/v1/case_snapshot.json), as the district sent it.
    #[schema(value_type = Object)]
    case: Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CaseList {
    #[schema(value_type = Vec<CityCase>)]
    items: Vec<Box<serde_json::value::RawValue>>,
    /// Pass as `cursor` for the next page; absent on the last page.
    next_cursor: Option<String>,
    /// The page stopped early to stay under 1 MiB: fewer than `limit` items, and
    /// `next_cursor` continues after the last one.
    truncated: bool,
}

/// A case with its business records and the photos still missing.
#[derive(Debug, Serialize, ToSchema)]
pub struct CityCaseDetail {
    district: String,
    #[schema(value_type = Object)]
    case: Value,
    /// `business_record` bodies (schemas/json/v1/business_record.json), in seq order.
    #[schema(value_type = Vec<Object>)]
    records: Vec<Value>,
    /// SHA-256 of photos the records reference whose bytes have not arrived and verified.
    media_missing: Vec<String>,
}

/// Where every district's stream stands.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExchangeStatus {
    city: String,
    districts: Vec<warehouse::DistrictStatus>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    status: &'static str,
}

/// Sign in to the city API (市级指挥中心). Failures are throttled per username and per
/// client address (429 with `Retry-After`): the kit's `login` gate, as at the districts.
#[utoipa::path(post, path = "/api/v1/auth/token", tag = "city", request_body = TokenRequest,
    responses((status = 200, body = TokenResponse), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody, description = "too many failed sign-ins; see `Retry-After`"),
        (status = 503, body = ErrorBody, description = "every password check is busy")))]
async fn issue_token(
    state: web::Data<CityState>,
    request: HttpRequest,
    Json(body): Json<TokenRequest>,
) -> HttpResult<HttpResponse> {
    let username = body.username.clone();
    // The row is read on the blocking pool and its connection returned; the password is
    // checked after, under the gate's memory budget.
    let lookup = blocking(&state.pool, move |conn| {
        users::find_by_username(conn, &username)
    });
    let lookup = async { lookup.await.map_err(HttpError::from) };
    let client = state.login.client(&request);
    let user = state
        .login
        .sign_in(client, &body.username, body.password, lookup)
        .await?;
    let (id, version, life) = (user.id, user.token_version, state.session_ttl);
    let refresh = blocking(&state.pool, move |conn| {
        Ok(session::start(conn, id, version, Utc::now(), life)?)
    })
    .await?;
    respond(&state, user, refresh)
}

/// Trades a refresh token for a new access token and the session's next refresh token
/// (the one presented is spent). A spent one presented again revokes the whole session.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "city", request_body = RefreshRequest,
    responses((status = 200, body = TokenResponse),
        (status = 401, body = ErrorBody, description = "unknown, spent, revoked or expired refresh token"),
        (status = 422, body = ErrorBody)))]
async fn refresh_token(
    state: web::Data<CityState>,
    Json(body): Json<RefreshRequest>,
) -> HttpResult<HttpResponse> {
    let rotated = blocking(&state.pool, move |conn| {
        session::rotate(conn, &body.refresh_token, Utc::now(), |conn, id| {
            users::find_by_id(conn, id).map(|user| {
                user.map(|u| {
                    let version = u.token_version;
                    (u, version)
                })
            })
        })
    })
    .await?;
    respond(&state, rotated.user, rotated.refresh)
}

/// Signs out: ends the session of the refresh token. The access token in hand stays valid
/// until it expires; `citygrid city revoke` ends every session and token of a user.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "city", request_body = RefreshRequest,
    responses((status = 204, description = "the session is over"), (status = 422, body = ErrorBody)))]
async fn logout(
    state: web::Data<CityState>,
    Json(body): Json<RefreshRequest>,
) -> HttpResult<HttpResponse> {
    blocking(&state.pool, move |conn| {
        Ok(session::end(conn, &body.refresh_token, Utc::now())?)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Filters of the case list; all optional, combined with AND.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CaseQuery {
    /// 6-digit district code.
    district: Option<String>,
    /// A `case_snapshot` state, e.g. `dispatched`.
    state: Option<String>,
    /// Department code, as the district names it.
    department: Option<String>,
    /// 9-digit street code.
    street: Option<String>,
    /// 12-digit community code (snapshots since interchange v1.2).
    community: Option<String>,
    /// 15-digit unit grid cell code (snapshots since interchange v1.2).
    cell: Option<String>,
    /// `component` or `event`.
    category_kind: Option<String>,
    /// 2-digit major class (of the district's own edition).
    category_major: Option<String>,
    /// A category of the city's compare edition (`[city] compare_edition`), e.g.
    /// `event:0102`: the cases filed under it or under its counterpart in another edition.
    category: Option<String>,
    /// Created at or after (RFC 3339).
    from: Option<DateTime<Utc>>,
    /// Created before (RFC 3339).
    to: Option<DateTime<Utc>>,
    /// 1 to 500, default 100.
    limit: Option<i64>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// Cases across districts, newest change first: each the latest snapshot with its district.
/// A page holds at most `limit` cases and 1 MiB; `next_cursor` continues it.
#[utoipa::path(get, path = "/api/v1/city/cases", tag = "city", params(CaseQuery),
    responses((status = 200, body = CaseList), (status = 400, body = ErrorBody, description = "unknown parameter"), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list_cases(
    state: web::Data<CityState>,
    _caller: CityCaller,
    query: Query<CaseQuery>,
) -> HttpResult<HttpResponse> {
    let q = query.into_inner();
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(HttpError::invalid("limit", "between 1 and 500"));
    }
    for (field, code, digits) in [("community", &q.community, 12), ("cell", &q.cell, 15)] {
        if code
            .as_ref()
            .is_some_and(|c| c.len() != digits || !c.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(HttpError::invalid(
                field,
                format!("a {field} code is {digits} digits"),
            ));
        }
    }
    let after = q
        .cursor
        .as_deref()
        .map(page::CaseCursor::parse)
        .transpose()?;
    let mut rows: Vec<(String, Value, DateTime<Utc>, Uuid)> = blocking(&state.pool, move |conn| {
        let mut sql = cases::table.into_boxed();
        if let Some(c) = after {
            sql = sql.filter(
                cases::updated_at
                    .lt(c.updated_at)
                    .or(cases::updated_at.eq(c.updated_at).and(
                        cases::case_id.gt(c.case_id).or(cases::case_id
                            .eq(c.case_id)
                            .and(cases::district.gt(c.district))),
                    )),
            );
        }
        if let Some(d) = q.district {
            sql = sql.filter(cases::district.eq(d));
        }
        if let Some(s) = q.state {
            sql = sql.filter(cases::state.eq(s));
        }
        if let Some(d) = q.department {
            sql = sql.filter(cases::department_code.eq(d));
        }
        if let Some(s) = q.street {
            sql = sql.filter(cases::street_code.eq(s));
        }
        if let Some(c) = q.community {
            sql = sql.filter(cases::community_code.eq(c));
        }
        if let Some(c) = q.cell {
            sql = sql.filter(cases::cell_code.eq(c));
        }
        if let Some(k) = q.category_kind {
            sql = sql.filter(cases::category_kind.eq(k));
        }
        if let Some(m) = q.category_major {
            sql = sql.filter(cases::category_major.eq(m));
        }
        if let Some(c) = q.category {
            sql = sql.filter(cases::category_compared.eq(c));
        }
        if let Some(from) = q.from {
            sql = sql.filter(cases::created_at.ge(from));
        }
        if let Some(to) = q.to {
            sql = sql.filter(cases::created_at.lt(to));
        }
        Ok(sql
            .order((
                cases::updated_at.desc(),
                cases::case_id.asc(),
                cases::district.asc(),
            ))
            .limit(limit + 1)
            .select((
                cases::district,
                cases::snapshot,
                cases::updated_at,
                cases::case_id,
            ))
            .load(conn)?)
    })
    .await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let keys: Vec<page::CaseCursor> = rows
        .iter()
        .map(|(district, _, updated_at, case_id)| page::CaseCursor {
            updated_at: *updated_at,
            case_id: *case_id,
            district: district.clone(),
        })
        .collect();
    let items = rows
        .into_iter()
        .map(|(district, case, _, _)| CityCase { district, case });
    // At most 1 MiB: the rest from `next_cursor`.
    let fitted = citygrid_kit::http::page::fit(items, citygrid_kit::http::page::PAGE_BYTES)?;
    let next_cursor = (more || fitted.truncated)
        .then(|| fitted.items.len().checked_sub(1))
        .flatten()
        .and_then(|last| keys.get(last))
        .map(page::CaseCursor::encode);
    Ok(HttpResponse::Ok().json(CaseList {
        items: fitted.items,
        next_cursor,
        truncated: fitted.truncated,
    }))
}

/// One case with its business records, as the district sent them.
#[utoipa::path(get, path = "/api/v1/city/cases/{district}/{id}", tag = "city",
    params(("district" = String, Path, description = "6-digit district code"), ("id" = Uuid, Path)),
    responses((status = 200, body = CityCaseDetail), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn get_case(
    state: web::Data<CityState>,
    _caller: CityCaller,
    path: Path<(String, Uuid)>,
) -> HttpResult<HttpResponse> {
    let (district, id) = path.into_inner();
    let found = blocking(&state.pool, move |conn| {
        let snapshot: Option<Value> = cases::table
            .find((&district, id))
            .select(cases::snapshot)
            .first(conn)
            .optional()?;
        let list: Vec<Value> = records::table
            .filter(records::district.eq(&district))
            .filter(records::case_id.eq(id))
            .order(records::seq.asc())
            .select(records::record)
            .load(conn)?;
        // A record is complete once the photos it references have arrived and verified.
        let mut referenced: Vec<String> = list
            .iter()
            .flat_map(|r| r["media"].as_array().cloned().unwrap_or_default())
            .filter_map(|h| h.as_str().map(str::to_owned))
            .collect();
        referenced.sort_unstable();
        referenced.dedup();
        let verified: Vec<String> = media::table
            .filter(media::sha256.eq_any(&referenced))
            .filter(media::verified_at.is_not_null())
            .select(media::sha256)
            .load(conn)?;
        let missing: Vec<String> = referenced
            .into_iter()
            .filter(|h| !verified.contains(h))
            .collect();
        Ok(snapshot.map(|s| (district, s, list, missing)))
    })
    .await?;
    let (district, snapshot, list, missing) =
        found.ok_or_else(|| HttpError::NotFound(format!("case {id}")))?;
    Ok(HttpResponse::Ok().json(CityCaseDetail {
        district,
        case: snapshot,
        records: list,
        media_missing: missing,
    }))
}

/// The catalogue editions, their districts, and each mapping to the compare edition:
/// which categories correspond (by published code or by name) and which have none.
#[utoipa::path(get, path = "/api/v1/city/catalogues", tag = "city",
    responses((status = 200, body = Catalogues), (status = 401, body = ErrorBody)))]
async fn catalogues(state: web::Data<CityState>, _caller: CityCaller) -> HttpResponse {
    HttpResponse::Ok().json(&state.catalogues)
}

/// Per district: last contiguous seq, lag, intake rate, rejections.
#[utoipa::path(get, path = "/api/v1/city/exchange/status", tag = "city",
    responses((status = 200, body = ExchangeStatus), (status = 401, body = ErrorBody)))]
async fn exchange_status(
    state: web::Data<CityState>,
    _caller: CityCaller,
) -> HttpResult<HttpResponse> {
    let rows = blocking(&state.pool, warehouse::status).await?;
    Ok(HttpResponse::Ok().json(ExchangeStatus {
        city: state.city.clone(),
        districts: rows,
    }))
}

/// Prometheus text format, computed from the warehouse on each scrape.
#[utoipa::path(get, path = "/metrics", tag = "ops", responses((status = 200, content_type = "text/plain", body = String),
    (status = 503, body = ErrorBody, description = "the warehouse does not answer")))]
async fn metrics(state: web::Data<CityState>) -> HttpResult<HttpResponse> {
    let rows = blocking(&state.pool, warehouse::status).await?;
    let mut out = String::new();
    let mut family =
        |name: &str, help: &str, kind: &str, value: &dyn Fn(&warehouse::DistrictStatus) -> f64| {
            out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n"));
            for r in &rows {
                out.push_str(&format!(
                    "{name}{{district=\"{}\"}} {}\n",
                    r.district,
                    value(r)
                ));
            }
        };
    family(
        "citygrid_stream_seq",
        "Last contiguous seq applied per district.",
        "gauge",
        &|r| r.last_contiguous_seq as f64,
    );
    family(
        "citygrid_stream_waiting",
        "Messages waiting behind a gap.",
        "gauge",
        &|r| r.waiting as f64,
    );
    family(
        "citygrid_intake_lag_seconds",
        "Seconds from a district's sent_at to arrival, newest applied message.",
        "gauge",
        &|r| r.lag_seconds.unwrap_or(0.0),
    );
    family(
        "citygrid_intake_messages_per_second",
        "Stream messages received in the last minute, per second.",
        "gauge",
        &|r| r.messages_per_second,
    );
    family(
        "citygrid_rejections_total",
        "Messages refused (a rejection went back to the district).",
        "counter",
        &|r| r.rejections as f64,
    );
    family(
        "citygrid_dead_letters_total",
        "Refused deliveries sent to the dead-letter queue.",
        "counter",
        &|r| r.dead_letters as f64,
    );
    family(
        "citygrid_media_unrepaired",
        "Photos whose bytes never arrived or never matched their manifest, no longer asked for.",
        "gauge",
        &|r| r.media_unrepaired as f64,
    );
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(out))
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "ops", responses((status = 200, body = Health)))]
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

/// Readiness: the warehouse answers.
#[utoipa::path(get, path = "/readyz", tag = "ops", responses((status = 200, body = Health), (status = 503, body = ErrorBody)))]
async fn readyz(state: web::Data<CityState>) -> HttpResult<HttpResponse> {
    blocking(&state.pool, |conn| {
        diesel::sql_query("SELECT 1").execute(conn)?;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::Ok().json(Health { status: "ready" }))
}

/// The city API's OpenAPI document (served at `/openapi.json`; docs/CITY-API.md explains it).
#[derive(OpenApi)]
#[openapi(
    info(title = "CityGrid city API", description = "The city exchange's read side: cases across districts, the interchange's status, metrics. Errors are `{\"error\": {\"code\", \"message\", \"field\"?}}`."),
    paths(healthz, readyz, metrics, issue_token, refresh_token, logout, list_cases, get_case, exchange_status, catalogues, appraisal::appraisal, ledger::balances, ledger::statement, orders::list, orders::instruct, problems::upload, problems::report, problems::list, referrals::list, referrals::decide, reports::list, reports::download),
    modifiers(&CONTRACT),
)]
pub struct CityApiDoc;

/// Who may call what (docs/CITY-API.md): the document's `security` per operation and the
/// refusals every operation shares, added by the kit (`citygrid_kit::http::openapi`).
/// Every operation not named needs a token; the city API has no write limits.
const CONTRACT: Contract = Contract {
    public: &[
        "GET /healthz",
        "GET /readyz",
        "GET /metrics",
        "POST /api/v1/auth/token",
        "POST /api/v1/auth/refresh",
        "POST /api/v1/auth/logout",
    ],
    optional: &[],
    rate_limited: &[],
};

async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().json(CityApiDoc::openapi())
}

/// Input goes through the kit's extractors (`Json`, `Query`, `Path`): text PostgreSQL
/// cannot store, unknown query parameters and non-JSON bodies are refused in the envelope.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .route("/metrics", web::get().to(metrics))
        .route("/openapi.json", web::get().to(openapi_json))
        .service(
            web::scope("/api/v1")
                .route("/auth/token", web::post().to(issue_token))
                .route("/auth/refresh", web::post().to(refresh_token))
                .route("/auth/logout", web::post().to(logout))
                .route("/city/cases", web::get().to(list_cases))
                .route("/city/cases/{district}/{id}", web::get().to(get_case))
                .route("/city/exchange/status", web::get().to(exchange_status))
                .route("/city/catalogues", web::get().to(catalogues))
                .route("/city/appraisal", web::get().to(appraisal::appraisal))
                .route("/city/ledger/balances", web::get().to(ledger::balances))
                .route("/city/ledger/statement", web::get().to(ledger::statement))
                .route("/city/orders", web::get().to(orders::list))
                .route("/city/orders", web::post().to(orders::instruct))
                .route("/city/media", web::post().to(problems::upload))
                .route("/city/problems", web::get().to(problems::list))
                .route("/city/problems", web::post().to(problems::report))
                .route("/city/referrals", web::get().to(referrals::list))
                .route("/city/reports", web::get().to(reports::list))
                .route(
                    "/city/reports/{month}/{file}",
                    web::get().to(reports::download),
                )
                .route(
                    "/city/referrals/{district}/{record_id}",
                    web::post().to(referrals::decide),
                ),
        )
        .app_data(web::Data::new(
            edge::Allowed::from_openapi(&CityApiDoc::openapi()).with("/openapi.json", "GET"),
        ))
        .default_service(web::to(edge::unmatched));
}

/// The city API server on a bound listener (tests bind port 0).
pub fn server(pool: DbPool, city: &City, listener: TcpListener) -> std::io::Result<Server> {
    let state = web::Data::new(CityState {
        pool,
        keys: Keys::new(city.file.auth.jwt_secret.expose_secret().as_bytes()),
        city: city.file.city.code.clone(),
        ttl: city.file.auth.access_ttl(),
        session_ttl: city.file.auth.session_ttl(),
        catalogues: Catalogues::of(city),
        login: citygrid_kit::login::Gate::new(&city.file.auth.login),
        versions: citygrid_kit::session::Versions::new(city.file.auth.version_cache()),
        registry: city.registry.clone(),
        time_zone: city.time_zone,
        appraisal: city.appraisal.clone(),
        archive: city.archive.clone(),
        issued_by: city.file.escalation.issued_by.clone(),
    });
    Ok(actix_web::HttpServer::new(move || {
        actix_web::App::new()
            .wrap(edge::json_errors())
            .wrap(edge::default_headers())
            .wrap(TracingLogger::default())
            .app_data(state.clone())
            .configure(configure)
    })
    .listen(listener)?
    .workers(2)
    .run())
}
