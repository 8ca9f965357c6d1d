//! HTTP handlers for cases: thin wrappers that parse, call `store`, and answer.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use citygrid_kit::http::{NoParams, Path, Query, page};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::api::json::Json;
use crate::app::AppState;
use crate::auth::{Caller, MaybeCaller};
use crate::case::model::{Case, Record, SupervisionOrder};
use crate::case::privacy::ContactAccess;
use crate::case::requests::*;
use crate::case::similar::{self, Similar};
use crate::case::steps::{Step, StepRequest, Urgency};
use crate::case::store::{self, CaseFilter, Idempotency, NewReport};
use crate::case::text;
use crate::case::view::CaseView;
use crate::case::workflow::{Role, Source, State};
use crate::catalogue::CategoryRef;
use crate::db;
use crate::error::{Error, ErrorBody, Result};
use crate::grid::CELL_CODE_LEN;
use crate::media::sha256_hex;
use crate::reminder::{self, Notification};
use crate::vocab::{ActorRole, CategoryKind};

/// 上报: a problem seen in the street.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportRequest {
    /// supervisor (default for supervisors), hotline (default for operators: a 12319 call
    /// entered for a citizen) or public (anonymous callers; the only choice without a token).
    #[serde(default)]
    pub source: Option<Source>,
    /// At most 4,000 characters.
    #[serde(deserialize_with = "text::description")]
    pub description: String,
    /// WGS84 longitude; must fall inside the district. Required with `lat`, unless an
    /// `address` is given that the district's gazetteer places (score ≥ 0.8).
    #[serde(default)]
    pub lon: Option<f64>,
    /// WGS84 latitude.
    #[serde(default)]
    pub lat: Option<f64>,
    /// At most 500 characters. Without `lon` and `lat`, the case is placed at this
    /// address (`GET /api/v1/geo/geocode`); with them, the point wins and this stays text.
    #[serde(default, deserialize_with = "text::address_opt")]
    pub address: Option<String>,
    /// 9-digit street code, if known.
    #[serde(default)]
    pub street: Option<String>,
    /// The reporter's guess; the operator decides at filing.
    #[serde(default)]
    pub category: Option<CategoryRef>,
    #[serde(default)]
    pub urgency: Option<Urgency>,
    /// SHA-256 of photos uploaded to `/api/v1/media` (at most 20). Required for supervisors.
    #[serde(default, deserialize_with = "text::photos")]
    pub photos: Vec<String>,
    #[serde(default, deserialize_with = "text::name_opt")]
    pub reporter_name: Option<String>,
    #[serde(default, deserialize_with = "text::phone_opt")]
    pub reporter_phone: Option<String>,
    /// 部件标识码 of the component the problem is with (16 or 17 digits, in this
    /// district's inventory, `GET /api/v1/components`): the case gets its class as the
    /// category when it gives none, and its department first at dispatch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CaseDetail {
    pub case: CaseView,
    /// The full timeline (办理记录), oldest first.
    pub records: Vec<Record>,
    /// Supervision orders (督办) on the case, oldest first.
    pub supervision_orders: Vec<SupervisionOrder>,
    /// Reminders written for the case (arrival, urge, overdue), oldest first.
    pub notifications: Vec<Notification>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CasePage {
    #[schema(value_type = Vec<CaseView>)]
    pub items: Vec<Box<RawValue>>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<i64>,
    /// The page stopped early to stay under `[limits] page_kib` (1 MiB): fewer than
    /// `limit` items, and `next_cursor` continues after the last one.
    pub truncated: bool,
}

fn report_source(caller: Option<&Caller>, asked: Option<Source>) -> Result<Source> {
    let Some(caller) = caller else {
        return match asked {
            None | Some(Source::Public) => Ok(Source::Public),
            Some(other) => Err(Error::unauthenticated(format!(
                "a {} report needs a signed-in user",
                other.as_str()
            ))),
        };
    };
    let source = asked.or_else(|| {
        if caller.has(Role::Supervisor) {
            Some(Source::Supervisor)
        } else if caller.has(Role::Operator) {
            Some(Source::Hotline)
        } else {
            None
        }
    });
    match source {
        Some(Source::Supervisor) => caller.require(Role::Supervisor).map(|_| Source::Supervisor),
        Some(Source::Hotline) => caller.require(Role::Operator).map(|_| Source::Hotline),
        Some(Source::Public) => Err(Error::invalid(
            "source",
            "public reports are made without signing in",
        )),
        Some(Source::City) => Err(Error::invalid(
            "source",
            "problems the city found come from the city exchange, not through this API",
        )),
        None => Err(Error::forbidden(
            "wrong_role",
            "reports come from supervisors, operators (hotline) or the public",
        )),
    }
}

/// Report a problem (上报). Send an `Idempotency-Key` header to make retries safe: the
/// same key and body return the case the first attempt created (200 instead of 201).
/// Anonymous keys belong to the client address, so use a random one (a UUID).
#[utoipa::path(post, path = "/api/v1/cases", tag = "cases", request_body = ReportRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "client-chosen retry key, at most 128 characters")),
    responses((status = 201, body = CaseView), (status = 200, body = Case, description = "replayed"),
        (status = 422, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 429, body = ErrorBody, description = "over a write limit; see Retry-After")))]
pub async fn report_case(
    state: web::Data<AppState>,
    caller: MaybeCaller,
    req: HttpRequest,
    body: Json<ReportRequest>,
) -> Result<HttpResponse> {
    let body = body.0;
    let caller = caller.0;
    let client = state.login.client(&req);
    match &caller {
        Some(c) => state.limits.staff_write(c.0.sub)?,
        None => state.limits.public_report(client)?,
    }
    let source = report_source(caller.as_ref(), body.source)?;
    let idempotency = match citygrid_kit::http::idempotency_key(&req)? {
        None => None,
        Some(key) => {
            let canonical =
                serde_json::to_vec(&body).map_err(|e| Error::internal(e.to_string()))?;
            Some(Idempotency {
                // Anonymous keys are scoped to the client address: strangers never share.
                scope: caller.as_ref().map_or_else(
                    || {
                        format!(
                            "public:{}",
                            client.map_or("unknown".into(), |ip| ip.to_string())
                        )
                    },
                    |c| c.0.sub.to_string(),
                ),
                key,
                request_hash: sha256_hex(&canonical),
            })
        }
    };
    let (lon, lat) =
        store::place_report(&state.tenant, body.lon, body.lat, body.address.as_deref())?;
    let report = NewReport {
        case_id: None,
        source,
        description: body.description,
        lon,
        lat,
        address: body.address,
        street: body.street,
        category: body.category,
        urgency: body.urgency.unwrap_or(Urgency::Normal),
        photos: body.photos,
        reporter_id: caller.as_ref().map(|c| c.0.sub),
        reporter_name: body.reporter_name,
        reporter_phone: body.reporter_phone,
        actor_role: match source {
            Source::Supervisor => ActorRole::Supervisor,
            Source::Hotline => ActorRole::Operator,
            Source::Public => ActorRole::Public,
            // Refused by `report_source`: a city problem comes over the interchange.
            Source::City => ActorRole::Supervisor,
        },
        component_id: None,
        component_department: None,
    };
    let access = ContactAccess::of_caller(caller.as_ref().map(|c| &c.0));
    store::validate_report(&state.tenant, &report)?;
    let mut report = report;
    if let Some(id) = body.component_id {
        let (tenant, category) = (state.tenant.clone(), report.category.clone());
        let (component, department) = db::run(&state.pool, move |conn| {
            crate::component::for_case(conn, &tenant, &id, category.as_ref())
        })
        .await?;
        report.category = report.category.or_else(|| {
            Some(CategoryRef {
                kind: crate::catalogue::CategoryKind::Component,
                major: component.category_major.clone(),
                minor: component.category_minor.clone(),
                edition: None,
            })
        });
        report.component_id = Some(component.id);
        report.component_department = department;
    }
    let now = Utc::now();
    let filing = store::filing_stage(&state.tenant, &report, now)?;
    let tenant = state.tenant.clone();
    let (case, created) = db::run(&state.pool, move |conn| {
        store::create_report(conn, &tenant, &report, &filing, idempotency.as_ref(), now)
    })
    .await?;
    state.outbox_written();
    if created {
        tracing::info!(case.id = %case.id, case.number = case.number, source = source.as_str(), "case reported");
        Ok(HttpResponse::Created().json(CaseView::new(case, &state.tenant, Utc::now(), access)))
    } else {
        Ok(HttpResponse::Ok().json(CaseView::new(case, &state.tenant, Utc::now(), access)))
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Comma-separated states, e.g. `filed,dispatched`.
    pub state: Option<String>,
    /// `kind:major[minor]`, e.g. `event:01` or `component:0101`.
    pub category: Option<String>,
    pub department: Option<String>,
    /// 9-digit street code.
    pub street: Option<String>,
    /// 12-digit community code.
    pub community: Option<String>,
    /// 15-digit unit grid cell code.
    pub cell: Option<String>,
    /// Reported at or after (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Reported before (RFC 3339).
    pub to: Option<DateTime<Utc>>,
    /// Text in the description or address.
    pub q: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<i64>,
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<i64>,
}

fn parse_filter(q: &ListQuery) -> Result<CaseFilter> {
    let mut filter = CaseFilter::default();
    if let Some(states) = &q.state {
        for name in states.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            filter.states.push(
                State::parse(name)
                    .ok_or_else(|| Error::invalid("state", format!("unknown state {name:?}")))?,
            );
        }
    }
    if let Some(category) = &q.category {
        let bad = || {
            Error::invalid(
                "category",
                "use kind:major or kind:majorminor, e.g. event:01 or component:0101",
            )
        };
        let (kind, code) = category.split_once(':').ok_or_else(bad)?;
        filter.category_kind = Some(CategoryKind::parse(kind).ok_or_else(bad)?);
        if !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        match code.len() {
            2 => filter.category_major = Some(code.to_owned()),
            4 => {
                filter.category_major = Some(code[..2].to_owned());
                filter.category_minor = Some(code[2..].to_owned());
            }
            _ => return Err(bad()),
        }
    }
    filter.department = q.department.clone();
    filter.street = q.street.clone();
    for (field, value, digits) in [
        ("community", &q.community, 12),
        ("cell", &q.cell, CELL_CODE_LEN),
    ] {
        if let Some(code) = value
            && !crate::config::digits(code, digits)
        {
            return Err(Error::invalid(
                field,
                format!("a {field} code is {digits} digits"),
            ));
        }
    }
    filter.community = q.community.clone();
    filter.cell = q.cell.clone();
    filter.from = q.from;
    filter.to = q.to;
    filter.text = q.q.clone().filter(|t| !t.trim().is_empty());
    Ok(filter)
}

/// List cases, newest first, with filters and cursor paging.
#[utoipa::path(get, path = "/api/v1/cases", tag = "cases", params(ListQuery),
    responses((status = 200, body = CasePage), (status = 400, body = ErrorBody, description = "unknown parameter"), (status = 422, body = ErrorBody)))]
pub async fn list_cases(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<ListQuery>,
) -> Result<HttpResponse> {
    let filter = parse_filter(&query)?;
    let limit = query.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(Error::invalid("limit", "must be between 1 and 200"));
    }
    let cursor = query.cursor;
    let page = db::run(&state.pool, move |conn| {
        store::list(conn, &filter, cursor, limit)
    })
    .await?;
    let numbers: Vec<i64> = page.items.iter().map(|c| c.number).collect();
    let views = CaseView::many(
        page.items,
        &state.tenant,
        ContactAccess::of(&caller.0.roles),
    );
    let fitted = page::fit(&views, state.tenant.config.limits.page_bytes())?;
    // Cut by bytes: go on after the last case sent.
    let next_cursor = if fitted.truncated {
        fitted
            .items
            .len()
            .checked_sub(1)
            .and_then(|last| numbers.get(last).copied())
    } else {
        page.next_cursor
    };
    Ok(HttpResponse::Ok().json(CasePage {
        items: fitted.items,
        next_cursor,
        truncated: fitted.truncated,
    }))
}

/// One case with its full timeline of business records.
#[utoipa::path(get, path = "/api/v1/cases/{id}", tag = "cases", params(("id" = Uuid, Path)),
    responses((status = 200, body = CaseDetail), (status = 404, body = ErrorBody)))]
pub async fn get_case(
    state: web::Data<AppState>,
    caller: Caller,
    id: Path<Uuid>,
) -> Result<HttpResponse> {
    let id = id.into_inner();
    let (case, records, supervision_orders, notifications) = db::run(&state.pool, move |conn| {
        Ok((
            store::get(conn, id)?,
            store::records(conn, id)?,
            store::supervision_orders(conn, id)?,
            reminder::of_case(conn, id)?,
        ))
    })
    .await?;
    let access = ContactAccess::of(&caller.0.roles);
    let case = CaseView::new(case, &state.tenant, Utc::now(), access);
    Ok(HttpResponse::Ok().json(CaseDetail {
        case,
        records,
        supervision_orders,
        notifications,
    }))
}

/// 重复提示: open cases that may be the same problem — in the case's grid cell or within
/// 200 m, of the same category where both have one, reported in the last 7 days — same cell
/// first, then closest. For the operator deciding whether to file or reject as duplicate.
#[utoipa::path(get, path = "/api/v1/cases/{id}/similar", tag = "cases", params(("id" = Uuid, Path)),
    responses((status = 200, body = Vec<Similar>), (status = 404, body = ErrorBody)))]
pub async fn similar_cases(
    state: web::Data<AppState>,
    _caller: Caller,
    id: Path<Uuid>,
) -> Result<HttpResponse> {
    let id = id.into_inner();
    let hints = db::run(&state.pool, move |conn| {
        let case = store::get(conn, id)?;
        similar::find(conn, &case, Utc::now())
    })
    .await?;
    Ok(HttpResponse::Ok().json(hints))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QueueQuery {
    /// `X-Next-Cursor` of the previous answer.
    pub cursor: Option<i64>,
}

/// The caller's work queue (待办), by role: operators see reports to file and checked
/// cases to close, supervisors what to verify or check, dispatchers what to dispatch,
/// handlers their department's cases. At most 200 cases and `[limits] page_kib` bytes;
/// when there are more, `X-Next-Cursor` (pass it as `cursor`) says where to go on, and
/// `X-Truncated: true` that the byte budget cut the answer.
#[utoipa::path(get, path = "/api/v1/queue", tag = "cases", params(QueueQuery), responses((status = 200, body = Vec<CaseView>)))]
pub async fn my_queue(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<QueueQuery>,
) -> Result<HttpResponse> {
    const ROWS: i64 = 200;
    let access = ContactAccess::of(&caller.0.roles);
    let claims = caller.0;
    let offset = query.cursor.unwrap_or(0);
    if !(0..=100_000).contains(&offset) {
        return Err(Error::invalid("cursor", "not a cursor this endpoint gave"));
    }
    let mut cases = db::run(&state.pool, move |conn| {
        store::queue(conn, &claims, offset, ROWS + 1)
    })
    .await?;
    let more = cases.len() as i64 > ROWS;
    cases.truncate(ROWS as usize);
    let views = CaseView::many(cases, &state.tenant, access);
    let fitted = page::fit(&views, state.tenant.config.limits.page_bytes())?;
    let next = (more || fitted.truncated).then(|| (offset + fitted.items.len() as i64).to_string());
    Ok(page::array(&fitted, next)?)
}

/// Every step endpoint: the body becomes a domain step, the store applies it.
async fn take_step(
    state: web::Data<AppState>,
    caller: Caller,
    id: Uuid,
    req: impl Into<StepRequest>,
) -> Result<HttpResponse> {
    let req = req.into();
    state.limits.staff_write(caller.0.sub)?;
    let tenant = state.tenant.clone();
    let access = ContactAccess::of(&caller.0.roles);
    let claims = caller.0;
    let action = req.step.action();
    let case = db::run(&state.pool, move |conn| {
        store::apply_step(conn, &tenant, &claims, id, &req, Utc::now())
    })
    .await?;
    state.outbox_written();
    tracing::info!(case.id = %case.id, action = action.as_str(), to = %case.state, "case step");
    Ok(HttpResponse::Ok().json(CaseView::new(case, &state.tenant, Utc::now(), access)))
}

/// 申请核实 (operator): ask a supervisor to confirm the report on site.
#[utoipa::path(post, path = "/api/v1/cases/{id}/request-verification", tag = "steps", params(("id" = Uuid, Path)), request_body = StepBody,
    responses((status = 200, body = CaseView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn request_verification(
    state: web::Data<AppState>,
    caller: Caller,
    id: Path<Uuid>,
    body: Json<StepBody>,
) -> Result<HttpResponse> {
    take_step(
        state,
        caller,
        id.into_inner(),
        body.0.into_step(Step::RequestVerification),
    )
    .await
}

/// 核实 (supervisor): the on-site answer.
#[utoipa::path(post, path = "/api/v1/cases/{id}/verify", tag = "steps", params(("id" = Uuid, Path)), request_body = VerifyBody,
    responses((status = 200, body = CaseView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn verify_case(
    state: web::Data<AppState>,
    caller: Caller,
    id: Path<Uuid>,
    body: Json<VerifyBody>,
) -> Result<HttpResponse> {
    take_step(state, caller, id.into_inner(), body.0).await
}

/// 立案 (operator): file the report as a case of a catalogue category.
#[utoipa::path(post, path = "/api/v1/cases/{id}/file", tag = "steps", params(("id" = Uuid, Path)), request_body = FileBody,
    responses((status = 200, body = CaseView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn file_case(
    state: web::Data<AppState>,
    caller: Caller,
    id: Path<Uuid>,
    body: Json<FileBody>,
) -> Result<HttpResponse> {
    take_step(state, caller, id.into_inner(), body.0).await
}

/// 不予立案 (operator): reject as duplicate, out of scope or invalid.
#[utoipa::path(post, path = "/api/v1/cases/{id}/reject", tag = "steps", params(("id" = Uuid, Path)), request_body = RejectBody,
    responses((status = 200, body = CaseView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn reject_case(
    state: web::Data<AppState>,
    caller: Caller,
    id: Path<Uuid>,
    body: Json<RejectBody>,
) -> Result<HttpResponse> {
    take_step(state, caller, id.into_inner(), body.0).await
}

/// 派遣 (dispatcher): send the case to a department.
#[utoipa::path(post, path = "/api/v1/cases/{id}/dispatch", tag = "steps", params(("id" = Uuid, Path)), request_body = DispatchBody,
    responses((status = 200, body = CaseView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn dispatch_case(
    state: web::Data<AppState>,
    caller: Caller,
    id: Path<Uuid>,
    body: Json<DispatchBody>,
) -> Result<HttpResponse> {
    take_step(state, caller, id.into_inner(), body.0).await
}

/// 退回 (handler of the department): not ours; back to the dispatcher with a reason.
#[utoipa::path(post, path = "/api/v1/cases/{id}/return", tag = "steps", params(("id" = Uuid, Path)), request_body = ReasonBody,
    responses((status = 200, body = CaseView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn return_case(
    state: web::Data<AppState>,
    caller: Caller,
    id: Path<Uuid>,
    body: Json<ReasonBody>,
) -> Result<HttpResponse> {
    take_step(
        state,
        caller,
        id.into_inner(),
        body.0.into_step(Step::Return),
    )
    .await
}

/// 处置 (handler of the department): fixed, with at least one photo of the result.
#[utoipa::path(post, path = "/api/v1/cases/{id}/handle", tag = "steps", params(("id" = Uuid, Path)), request_body = StepBody,
    responses((status = 200, body = CaseView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn handle_case(
    state: web::Data<AppState>,
    caller: Caller,
    id: Path<Uuid>,
    body: Json<StepBody>,
) -> Result<HttpResponse> {
    take_step(
        state,
        caller,
        id.into_inner(),
        body.0.into_step(Step::Handle),
    )
    .await
}

/// 核查 (supervisor, not the handler): pass, or fail and send back for rework (返工).
#[utoipa::path(post, path = "/api/v1/cases/{id}/check", tag = "steps", params(("id" = Uuid, Path)), request_body = CheckBody,
    responses((status = 200, body = CaseView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn check_case(
    state: web::Data<AppState>,
    caller: Caller,
    id: Path<Uuid>,
    body: Json<CheckBody>,
) -> Result<HttpResponse> {
    take_step(state, caller, id.into_inner(), body.0).await
}

/// 回访 (operator): the public reporter's satisfaction. Satisfied, the case can be closed;
/// not satisfied (with a comment), it goes back to its department for re-handling (重办).
#[utoipa::path(post, path = "/api/v1/cases/{id}/callback", tag = "steps", params(("id" = Uuid, Path)), request_body = CallbackBody,
    responses((status = 200, body = CaseView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn callback_case(
    state: web::Data<AppState>,
    caller: Caller,
    id: Path<Uuid>,
    body: Json<CallbackBody>,
) -> Result<HttpResponse> {
    take_step(state, caller, id.into_inner(), body.0).await
}

/// 结案 (operator): close a checked case.
#[utoipa::path(post, path = "/api/v1/cases/{id}/close", tag = "steps", params(("id" = Uuid, Path)), request_body = StepBody,
    responses((status = 200, body = CaseView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn close_case(
    state: web::Data<AppState>,
    caller: Caller,
    id: Path<Uuid>,
    body: Json<StepBody>,
) -> Result<HttpResponse> {
    take_step(
        state,
        caller,
        id.into_inner(),
        body.0.into_step(Step::Close),
    )
    .await
}

/// 申请作废 (operator): ask the shift leader to cancel an open case, with a reason.
#[utoipa::path(post, path = "/api/v1/cases/{id}/cancellation/request", tag = "steps", params(("id" = Uuid, Path)), request_body = ReasonBody,
    responses((status = 200, body = CaseView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn request_cancellation(
    state: web::Data<AppState>,
    caller: Caller,
    id: Path<Uuid>,
    body: Json<ReasonBody>,
) -> Result<HttpResponse> {
    take_step(
        state,
        caller,
        id.into_inner(),
        body.0.into_step(Step::RequestCancellation),
    )
    .await
}

/// 上报市级 (shift leader): refer a case not yet dispatched up to the city, with a reason
/// (it spans districts, or it is another district's). It waits for the city's decision:
/// sent back, or reassigned to another district and cancelled here (interchange v1.6).
#[utoipa::path(post, path = "/api/v1/cases/{id}/refer", tag = "steps", params(("id" = Uuid, Path)), request_body = ReasonBody,
    responses((status = 200, body = CaseView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn refer_case(
    state: web::Data<AppState>,
    caller: Caller,
    id: Path<Uuid>,
    body: Json<ReasonBody>,
) -> Result<HttpResponse> {
    take_step(
        state,
        caller,
        id.into_inner(),
        body.0.into_step(Step::Refer),
    )
    .await
}

/// 作废 (shift leader, not who asked): approve the waiting cancellation request.
#[utoipa::path(post, path = "/api/v1/cases/{id}/cancellation/approve", tag = "steps", params(("id" = Uuid, Path)), request_body = StepBody,
    responses((status = 200, body = CaseView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn approve_cancellation(
    state: web::Data<AppState>,
    caller: Caller,
    id: Path<Uuid>,
    body: Json<StepBody>,
) -> Result<HttpResponse> {
    take_step(
        state,
        caller,
        id.into_inner(),
        body.0.into_step(Step::Cancel),
    )
    .await
}

/// 作废不批准 (shift leader), with a reason: the case goes on where it was.
#[utoipa::path(post, path = "/api/v1/cases/{id}/cancellation/reject", tag = "steps", params(("id" = Uuid, Path)), request_body = ReasonBody,
    responses((status = 200, body = CaseView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn reject_cancellation(
    state: web::Data<AppState>,
    caller: Caller,
    id: Path<Uuid>,
    body: Json<ReasonBody>,
) -> Result<HttpResponse> {
    take_step(
        state,
        caller,
        id.into_inner(),
        body.0.into_step(Step::RejectCancellation),
    )
    .await
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LightStats {
    pub at: DateTime<Utc>,
    pub by_department: Vec<store::LightCount>,
    pub by_street: Vec<store::LightCount>,
}

/// Traffic lights of open timed cases per department and per street (for the big screen).
#[utoipa::path(get, path = "/api/v1/stats/lights", tag = "cases", responses((status = 200, body = LightStats)))]
pub async fn light_stats(
    state: web::Data<AppState>,
    _caller: Caller,
    _: Query<NoParams>,
) -> Result<HttpResponse> {
    let now = Utc::now();
    let (by_department, by_street) = db::run(&state.pool, move |conn| {
        Ok((
            store::light_counts(conn, store::LightGroup::Department, now)?,
            store::light_counts(conn, store::LightGroup::Street, now)?,
        ))
    })
    .await?;
    Ok(HttpResponse::Ok().json(LightStats {
        at: now,
        by_department,
        by_street,
    }))
}

/// 申请延期 (handler of the department): ask the dispatcher for more time.
#[utoipa::path(post, path = "/api/v1/cases/{id}/extension/request", tag = "steps", params(("id" = Uuid, Path)), request_body = ExtensionRequestBody,
    responses((status = 200, body = CaseView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn request_extension(
    state: web::Data<AppState>,
    caller: Caller,
    id: Path<Uuid>,
    body: Json<ExtensionRequestBody>,
) -> Result<HttpResponse> {
    take_step(state, caller, id.into_inner(), body.0).await
}

/// 延期审批通过 (dispatcher): the deadline and the yellow threshold move.
#[utoipa::path(post, path = "/api/v1/cases/{id}/extension/approve", tag = "steps", params(("id" = Uuid, Path)), request_body = ExtensionApprovalBody,
    responses((status = 200, body = CaseView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn approve_extension(
    state: web::Data<AppState>,
    caller: Caller,
    id: Path<Uuid>,
    body: Json<ExtensionApprovalBody>,
) -> Result<HttpResponse> {
    take_step(state, caller, id.into_inner(), body.0).await
}

/// 延期审批不通过 (dispatcher), with a reason.
#[utoipa::path(post, path = "/api/v1/cases/{id}/extension/reject", tag = "steps", params(("id" = Uuid, Path)), request_body = ReasonBody,
    responses((status = 200, body = CaseView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn reject_extension(
    state: web::Data<AppState>,
    caller: Caller,
    id: Path<Uuid>,
    body: Json<ReasonBody>,
) -> Result<HttpResponse> {
    take_step(
        state,
        caller,
        id.into_inner(),
        body.0.into_step(Step::RejectExtension),
    )
    .await
}

/// 申请挂账/缓办 (handler of the department): the case cannot be handled now.
#[utoipa::path(post, path = "/api/v1/cases/{id}/suspension/request", tag = "steps", params(("id" = Uuid, Path)), request_body = ReasonBody,
    responses((status = 200, body = CaseView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn request_suspension(
    state: web::Data<AppState>,
    caller: Caller,
    id: Path<Uuid>,
    body: Json<ReasonBody>,
) -> Result<HttpResponse> {
    take_step(
        state,
        caller,
        id.into_inner(),
        body.0.into_step(Step::RequestSuspension),
    )
    .await
}

/// 挂账审批通过 (dispatcher): the case is suspended and its clock stops.
#[utoipa::path(post, path = "/api/v1/cases/{id}/suspension/approve", tag = "steps", params(("id" = Uuid, Path)), request_body = StepBody,
    responses((status = 200, body = CaseView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn approve_suspension(
    state: web::Data<AppState>,
    caller: Caller,
    id: Path<Uuid>,
    body: Json<StepBody>,
) -> Result<HttpResponse> {
    take_step(
        state,
        caller,
        id.into_inner(),
        body.0.into_step(Step::ApproveSuspension),
    )
    .await
}

/// 挂账审批不通过 (dispatcher), with a reason.
#[utoipa::path(post, path = "/api/v1/cases/{id}/suspension/reject", tag = "steps", params(("id" = Uuid, Path)), request_body = ReasonBody,
    responses((status = 200, body = CaseView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn reject_suspension(
    state: web::Data<AppState>,
    caller: Caller,
    id: Path<Uuid>,
    body: Json<ReasonBody>,
) -> Result<HttpResponse> {
    take_step(
        state,
        caller,
        id.into_inner(),
        body.0.into_step(Step::RejectSuspension),
    )
    .await
}

/// 恢复办理 (dispatcher): a suspended case goes back to its department with the time it had left.
#[utoipa::path(post, path = "/api/v1/cases/{id}/resume", tag = "steps", params(("id" = Uuid, Path)), request_body = StepBody,
    responses((status = 200, body = CaseView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn resume_case(
    state: web::Data<AppState>,
    caller: Caller,
    id: Path<Uuid>,
    body: Json<StepBody>,
) -> Result<HttpResponse> {
    take_step(
        state,
        caller,
        id.into_inner(),
        body.0.into_step(Step::Resume),
    )
    .await
}

/// 督办 (leader): a supervision order; the case becomes urgent and heads the queues until
/// the department acknowledges it.
#[utoipa::path(post, path = "/api/v1/cases/{id}/supervise", tag = "steps", params(("id" = Uuid, Path)), request_body = SuperviseBody,
    responses((status = 200, body = CaseView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn supervise_case(
    state: web::Data<AppState>,
    caller: Caller,
    id: Path<Uuid>,
    body: Json<SuperviseBody>,
) -> Result<HttpResponse> {
    take_step(state, caller, id.into_inner(), body.0).await
}

/// 督办签收 (handler of the department holding the case).
#[utoipa::path(post, path = "/api/v1/cases/{id}/supervision/acknowledge", tag = "steps", params(("id" = Uuid, Path)), request_body = StepBody,
    responses((status = 200, body = CaseView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn acknowledge_supervision(
    state: web::Data<AppState>,
    caller: Caller,
    id: Path<Uuid>,
    body: Json<StepBody>,
) -> Result<HttpResponse> {
    take_step(
        state,
        caller,
        id.into_inner(),
        body.0.into_step(Step::AcknowledgeSupervision),
    )
    .await
}

/// 催办 (dispatcher): press the department by hand; a reminder goes out at the next tick.
#[utoipa::path(post, path = "/api/v1/cases/{id}/urge", tag = "steps", params(("id" = Uuid, Path)), request_body = StepBody,
    responses((status = 200, body = CaseView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn urge_case(
    state: web::Data<AppState>,
    caller: Caller,
    id: Path<Uuid>,
    body: Json<StepBody>,
) -> Result<HttpResponse> {
    take_step(state, caller, id.into_inner(), body.0.into_step(Step::Urge)).await
}
