//! Case queries. Every function takes a connection and runs in its own transaction, so
//! the case row and its business record always change together.

use chrono::{DateTime, Utc};
use diesel::dsl::count_star;
use diesel::prelude::*;
use serde_json::json;
use uuid::Uuid;

use crate::auth::Claims;
use crate::case::model::{Case, NewRecord, Record, SupervisionOrder};
use crate::case::steps::{self, StepRequest, Urgency};
use crate::case::workflow::{Action, Role, Source, State};
use crate::catalogue::CategoryRef;
use crate::config::Tenant;
use crate::deadline::{self, StageTimes};
use crate::error::{Error, Result};
use crate::manual::{Clock, Stage};
use crate::reminder;
use crate::schema::{case_records, cases, media, supervision_orders};
use crate::uplink::outbox;
use crate::vocab::{ActorRole, CategoryKind, SupervisionOrigin};

/// A report as it enters the system (上报).
#[derive(Debug, Clone)]
pub struct NewReport {
    pub source: Source,
    pub description: String,
    pub lon: f64,
    pub lat: f64,
    pub address: Option<String>,
    pub street: Option<String>,
    pub category: Option<CategoryRef>,
    pub urgency: Urgency,
    pub photos: Vec<String>,
    pub reporter_id: Option<Uuid>,
    pub reporter_name: Option<String>,
    pub reporter_phone: Option<String>,
    /// The role the reporter acted in (`public` when anonymous).
    pub actor_role: ActorRole,
}

/// A client-chosen key that makes a report safe to retry.
#[derive(Debug, Clone)]
pub struct Idempotency {
    /// Who the key belongs to (user id, or `public`): keys of different callers never clash.
    pub scope: String,
    pub key: String,
    /// Hash of the request body: the same key with another body is a client bug.
    pub request_hash: String,
}

/// Checks that every referenced photo was uploaded; names the first missing one.
fn require_media(conn: &mut PgConnection, field: &str, hashes: &[String]) -> Result<()> {
    if hashes.is_empty() {
        return Ok(());
    }
    let found: Vec<String> = media::table
        .filter(media::sha256.eq_any(hashes))
        .select(media::sha256)
        .load(conn)?;
    match hashes.iter().enumerate().find(|(_, h)| !found.contains(h)) {
        Some((i, h)) => Err(Error::invalid(
            format!("{field}[{i}]"),
            format!("no uploaded photo {h}; upload it to /api/v1/media first"),
        )),
        None => Ok(()),
    }
}

/// Validates a report against the district (inside the boundary, known street and
/// category). Pure, so the HTTP layer and tests share it.
pub fn validate_report(tenant: &Tenant, report: &NewReport) -> Result<()> {
    if report.description.trim().is_empty() {
        return Err(Error::invalid("description", "describe the problem"));
    }
    if !(-180.0..=180.0).contains(&report.lon) || !report.lon.is_finite() {
        return Err(Error::invalid("lon", "longitude must be within -180..180"));
    }
    if !(-90.0..=90.0).contains(&report.lat) || !report.lat.is_finite() {
        return Err(Error::invalid("lat", "latitude must be within -90..90"));
    }
    if !tenant.contains(report.lon, report.lat) {
        return Err(Error::invalid(
            "lon",
            format!(
                "the point ({}, {}) is outside district {} {}",
                report.lon,
                report.lat,
                tenant.code(),
                tenant.config.district.name
            ),
        ));
    }
    if let Some(street) = &report.street
        && tenant.street(street).is_none()
    {
        return Err(Error::invalid(
            "street",
            format!("no street {street} in district {}", tenant.code()),
        ));
    }
    if let Some(category) = &report.category
        && tenant.catalogue.get(category).is_none()
    {
        return Err(Error::invalid(
            "category",
            format!(
                "no {} category {}{} in the catalogue",
                category.kind.as_str(),
                category.major,
                category.minor
            ),
        ));
    }
    if report.source == Source::Supervisor && report.photos.is_empty() {
        return Err(Error::invalid(
            "photos",
            "a supervisor report needs at least one photo",
        ));
    }
    Ok(())
}

/// The filing stage a new report starts: the manual row's filing limit when the reporter
/// named a category, the manual's general filing limit otherwise.
pub fn filing_stage(tenant: &Tenant, report: &NewReport, now: DateTime<Utc>) -> Result<StageTimes> {
    let row = report
        .category
        .as_ref()
        .and_then(|c| tenant.manual.row(c, report.urgency));
    let (clock, limit) = row.map_or((Clock::Working, tenant.manual.filing_limit), |r| {
        (r.clock, r.limits.filing)
    });
    deadline::start(
        &tenant.calendar,
        Stage::Filing,
        clock,
        limit,
        tenant.config.calendar.yellow_share,
        now,
    )
}

/// Creates a case from a report, or returns the case an earlier attempt with the same
/// idempotency key created (`false` = not new).
pub fn create_report(
    conn: &mut PgConnection,
    district: &str,
    report: &NewReport,
    filing: &StageTimes,
    idempotency: Option<&Idempotency>,
) -> Result<(Case, bool)> {
    conn.transaction(|conn| {
        require_media(conn, "photos", &report.photos)?;
        let now = Utc::now();
        let id = Uuid::new_v4();
        let inserted: Option<Case> = diesel::insert_into(cases::table)
            .values((
                cases::id.eq(id),
                cases::state.eq(State::Reported),
                cases::source.eq(report.source),
                cases::urgency.eq(report.urgency),
                cases::category_kind
                    .eq(report.category.as_ref().map(|c| CategoryKind::from(c.kind))),
                cases::category_major.eq(report.category.as_ref().map(|c| c.major.as_str())),
                cases::category_minor.eq(report.category.as_ref().map(|c| c.minor.as_str())),
                cases::description.eq(&report.description),
                cases::address.eq(&report.address),
                cases::lon.eq(report.lon),
                cases::lat.eq(report.lat),
                cases::street_code.eq(&report.street),
                cases::reporter_id.eq(report.reporter_id),
                cases::reporter_name.eq(&report.reporter_name),
                cases::reporter_phone.eq(&report.reporter_phone),
                cases::idempotency_scope.eq(idempotency.map(|k| k.scope.as_str())),
                cases::idempotency_key.eq(idempotency.map(|k| k.key.as_str())),
                cases::request_hash.eq(idempotency.map(|k| k.request_hash.as_str())),
                cases::created_at.eq(now),
                cases::updated_at.eq(now),
                cases::stage.eq(filing.stage),
                cases::clock.eq(filing.clock),
                cases::stage_started_at.eq(filing.started_at),
                cases::stage_limit_minutes.eq(filing.limit.num_minutes() as i32),
                cases::stage_yellow_at.eq(filing.yellow_at),
                cases::stage_deadline.eq(filing.deadline),
                cases::next_reminder_at.eq(filing.yellow_at),
            ))
            .on_conflict((cases::idempotency_scope, cases::idempotency_key))
            .do_nothing()
            .returning(Case::as_returning())
            .get_result(conn)
            .optional()?;
        let Some(case) = inserted else {
            // The key was used before (a retry, possibly concurrent): answer with that case.
            // Inserting first and looking up only on conflict keeps the common path one
            // round trip shorter.
            let key = idempotency.ok_or_else(|| Error::internal("insert skipped without a key"))?;
            let existing = find_by_idempotency(conn, key)?
                .ok_or_else(|| Error::internal("idempotent case vanished"))?;
            return Ok((existing, false));
        };
        let record = diesel::insert_into(case_records::table)
            .values(NewRecord {
                case_id: case.id,
                case_version: case.version,
                action: Action::Report,
                from_state: None,
                to_state: State::Reported,
                actor_id: report.reporter_id,
                actor_role: report.actor_role,
                comment: None,
                media: &report.photos,
                details: json!({ "source": report.source }),
                at: now,
            })
            .returning(Record::as_returning())
            .get_result(conn)?;
        outbox::write_change(conn, district, None, &case, &record)?;
        Ok((case, true))
    })
}

fn find_by_idempotency(conn: &mut PgConnection, key: &Idempotency) -> Result<Option<Case>> {
    let found: Option<(Case, Option<String>)> = cases::table
        .filter(cases::idempotency_scope.eq(&key.scope))
        .filter(cases::idempotency_key.eq(&key.key))
        .select((Case::as_select(), cases::request_hash))
        .first(conn)
        .optional()?;
    match found {
        Some((case, hash)) if hash.as_deref() == Some(key.request_hash.as_str()) => Ok(Some(case)),
        Some(_) => Err(Error::conflict(
            "idempotency_key_reused",
            format!(
                "Idempotency-Key {:?} was already used for a different report",
                key.key
            ),
        )),
        None => Ok(None),
    }
}

pub fn get(conn: &mut PgConnection, id: Uuid) -> Result<Case> {
    cases::table
        .find(id)
        .select(Case::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found(format!("case {id}")))
}

pub fn supervision_orders(conn: &mut PgConnection, id: Uuid) -> Result<Vec<SupervisionOrder>> {
    Ok(supervision_orders::table
        .filter(supervision_orders::case_id.eq(id))
        .order(supervision_orders::issued_at.asc())
        .select(SupervisionOrder::as_select())
        .load(conn)?)
}

pub fn records(conn: &mut PgConnection, id: Uuid) -> Result<Vec<Record>> {
    Ok(case_records::table
        .filter(case_records::case_id.eq(id))
        .order(case_records::case_version.asc())
        .select(Record::as_select())
        .load(conn)?)
}

/// Takes one step on a case. The update is conditional on the version the caller saw,
/// so of two concurrent steps exactly one commits; the other gets `StaleVersion`.
pub fn apply_step(
    conn: &mut PgConnection,
    tenant: &Tenant,
    caller: &Claims,
    case_id: Uuid,
    req: &StepRequest,
) -> Result<Case> {
    conn.transaction(|conn| {
        let case = get(conn, case_id)?;
        let now = Utc::now();
        let plan = steps::plan(&case, tenant, caller, req, now)?;
        if let steps::Step::Reject {
            duplicate_of: Some(other),
            ..
        } = &req.step
        {
            cases::table
                .find(other)
                .select(cases::id)
                .first::<Uuid>(conn)
                .optional()?
                .ok_or_else(|| {
                    Error::invalid("duplicate_of", format!("no case {other} in this district"))
                })?;
        }
        if plan.judges_handling {
            let handled_by: Option<Option<Uuid>> = case_records::table
                .filter(case_records::case_id.eq(case_id))
                .filter(case_records::action.eq(Action::Handle))
                .order(case_records::case_version.desc())
                .select(case_records::actor_id)
                .first(conn)
                .optional()?;
            if handled_by.flatten() == Some(caller.sub) {
                return Err(Error::forbidden(
                    "own_work",
                    "the check is done by someone other than the handler",
                ));
            }
        }
        require_media(conn, "media", &req.media)?;
        let updated: Option<Case> = diesel::update(cases::table)
            .filter(cases::id.eq(case_id))
            .filter(cases::version.eq(req.version))
            .set((
                plan.changes,
                cases::state.eq(plan.to),
                cases::version.eq(cases::version + 1),
                cases::updated_at.eq(now),
            ))
            .returning(Case::as_returning())
            .get_result(conn)
            .optional()?;
        let Some(updated) = updated else {
            let current = get(conn, case_id)?;
            return Err(Error::StaleVersion {
                version: current.version,
                state: current.state,
            });
        };
        match &req.step {
            steps::Step::Supervise {
                level,
                text,
                due_at,
            } => {
                diesel::insert_into(supervision_orders::table)
                    .values(SupervisionOrder {
                        id: Uuid::new_v4(),
                        case_id,
                        origin: SupervisionOrigin::District,
                        level: *level,
                        text: text.clone(),
                        due_at: *due_at,
                        issued_by: Some(caller.sub),
                        issued_at: now,
                        acknowledged_by: None,
                        acknowledged_at: None,
                    })
                    .execute(conn)?;
            }
            steps::Step::AcknowledgeSupervision => {
                diesel::update(supervision_orders::table)
                    .filter(supervision_orders::case_id.eq(case_id))
                    .filter(supervision_orders::acknowledged_at.is_null())
                    .set((
                        supervision_orders::acknowledged_by.eq(caller.sub),
                        supervision_orders::acknowledged_at.eq(now),
                    ))
                    .execute(conn)?;
            }
            steps::Step::Urge => {
                diesel::insert_into(crate::schema::notifications::table)
                    .values(reminder::NewNotification {
                        case_id,
                        kind: reminder::MANUAL_URGE,
                        stage: updated.stage,
                        stage_started_at: updated.stage_started_at,
                        department_code: updated.department_code.as_deref(),
                        message: format!(
                            "case {} urged by the command center (催办): {}",
                            updated.number,
                            req.comment.as_deref().unwrap_or("please speed up")
                        ),
                    })
                    .execute(conn)?;
            }
            _ => {}
        }
        if matches!(plan.action, Action::Dispatch | Action::Rework) {
            reminder::notify_once(
                conn,
                &reminder::NewNotification {
                    case_id,
                    kind: reminder::ARRIVAL,
                    stage: updated.stage,
                    stage_started_at: updated.stage_started_at,
                    department_code: updated.department_code.as_deref(),
                    message: format!(
                        "case {} has arrived (到达): due {}",
                        updated.number,
                        updated
                            .stage_deadline
                            .map_or_else(|| "-".to_owned(), |d| d.to_rfc3339())
                    ),
                },
            )?;
        }
        let role = plan.action.role();
        let record = diesel::insert_into(case_records::table)
            .values(NewRecord {
                case_id,
                case_version: updated.version,
                action: plan.action,
                from_state: Some(plan.from),
                to_state: plan.to,
                actor_id: Some(caller.sub),
                actor_role: role.into(),
                comment: req.comment.as_deref(),
                media: &req.media,
                details: plan.details,
                at: now,
            })
            .returning(Record::as_returning())
            .get_result(conn)?;
        outbox::write_change(conn, tenant.code(), Some(&case), &updated, &record)?;
        Ok(updated)
    })
}

/// Filters of the case list; all optional, combined with AND.
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    pub states: Vec<State>,
    pub category_kind: Option<CategoryKind>,
    pub category_major: Option<String>,
    pub category_minor: Option<String>,
    pub department: Option<String>,
    pub street: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub text: Option<String>,
}

/// A page of cases, newest first; `next_cursor` continues after the last one.
#[derive(Debug)]
pub struct Page {
    pub items: Vec<Case>,
    pub next_cursor: Option<i64>,
}

pub fn list(
    conn: &mut PgConnection,
    filter: &CaseFilter,
    cursor: Option<i64>,
    limit: i64,
) -> Result<Page> {
    let mut query = cases::table.select(Case::as_select()).into_boxed();
    if !filter.states.is_empty() {
        query = query.filter(cases::state.eq_any(filter.states.iter().copied()));
    }
    if let Some(kind) = filter.category_kind {
        query = query.filter(cases::category_kind.eq(kind));
    }
    if let Some(major) = &filter.category_major {
        query = query.filter(cases::category_major.eq(major.clone()));
    }
    if let Some(minor) = &filter.category_minor {
        query = query.filter(cases::category_minor.eq(minor.clone()));
    }
    if let Some(department) = &filter.department {
        query = query.filter(cases::department_code.eq(department.clone()));
    }
    if let Some(street) = &filter.street {
        query = query.filter(cases::street_code.eq(street.clone()));
    }
    if let Some(from) = filter.from {
        query = query.filter(cases::created_at.ge(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(cases::created_at.lt(to));
    }
    if let Some(text) = &filter.text {
        let escaped = text
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        let pattern = format!("%{escaped}%");
        query = query.filter(
            cases::description
                .ilike(pattern.clone())
                .or(cases::address.ilike(pattern)),
        );
    }
    if let Some(cursor) = cursor {
        query = query.filter(cases::number.lt(cursor));
    }
    let mut items: Vec<Case> = query
        .order(cases::number.desc())
        .limit(limit + 1)
        .load(conn)?;
    let next_cursor = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items.last().map(|c| c.number)
    } else {
        None
    };
    Ok(Page { items, next_cursor })
}

/// The states in which a role has work to do (待办).
pub fn queue_states(role: Role) -> &'static [State] {
    match role {
        Role::Operator => &[
            State::Reported,
            State::Verified,
            State::Checked,
            State::CalledBack,
        ],
        Role::Supervisor => &[State::Verifying, State::Handled],
        Role::Dispatcher => &[State::Filed, State::Suspended],
        Role::Handler => &[State::Dispatched],
        Role::Leader => &[
            State::Reported,
            State::Verifying,
            State::Verified,
            State::Filed,
            State::Dispatched,
            State::Suspended,
            State::Handled,
            State::Checked,
            State::CalledBack,
        ],
        Role::Admin => &[],
    }
}

/// The caller's work queue: the union over their roles, nearest deadline first; handlers see only
/// their department's cases, dispatchers also the requests waiting for their decision.
/// Cases with an unacknowledged supervision order come first.
pub fn queue(conn: &mut PgConnection, caller: &Claims, limit: i64) -> Result<Vec<Case>> {
    let mut states: Vec<&str> = Vec::new();
    let mut handler_only = true;
    for role in &caller.roles {
        states.extend(queue_states(*role).iter().map(|s| s.as_str()));
        if *role != Role::Handler && !queue_states(*role).is_empty() {
            handler_only = false;
        }
    }
    let mut query = cases::table.select(Case::as_select()).into_boxed();
    if caller.roles.contains(&Role::Dispatcher) {
        // Requests for extension or suspension wait on dispatched cases.
        query = query.filter(
            cases::state
                .eq_any(states)
                .or(cases::pending_request.is_not_null()),
        );
    } else {
        query = query.filter(cases::state.eq_any(states));
    }
    if handler_only {
        query =
            query.filter(cases::department_code.eq(caller.department.clone().unwrap_or_default()));
    }
    Ok(query
        .order((
            cases::supervision_pending.desc(),
            cases::stage_deadline.asc().nulls_last(),
            cases::number.asc(),
        ))
        .limit(limit)
        .load(conn)?)
}

/// Cases per state, for the summary line of the demo and the big screen.
pub fn count_by_state(conn: &mut PgConnection) -> Result<Vec<(String, i64)>> {
    Ok(cases::table
        .group_by(cases::state)
        .select((cases::state, count_star()))
        .order(cases::state.asc())
        .load(conn)?)
}

/// Open timed cases per light for one group (a department or a street).
#[derive(Debug, Clone, QueryableByName, serde::Serialize, utoipa::ToSchema)]
pub struct LightCount {
    /// Department or street code; empty for cases without one (not yet dispatched, no street).
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub key: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub green: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub yellow: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub red: i64,
}

/// Which column `light_counts` groups by.
#[derive(Debug, Clone, Copy)]
pub enum LightGroup {
    Department,
    Street,
}

/// Light counts at `now`, straight from the precomputed yellow and red instants.
pub fn light_counts(
    conn: &mut PgConnection,
    group: LightGroup,
    now: DateTime<Utc>,
) -> Result<Vec<LightCount>> {
    let column = match group {
        LightGroup::Department => "department_code",
        LightGroup::Street => "street_code",
    };
    Ok(diesel::sql_query(format!(
        "SELECT COALESCE({column}, '') AS key, \
                count(*) FILTER (WHERE stage_yellow_at > $1) AS green, \
                count(*) FILTER (WHERE stage_yellow_at <= $1 AND stage_deadline >= $1) AS yellow, \
                count(*) FILTER (WHERE stage_deadline < $1) AS red \
         FROM cases WHERE stage IS NOT NULL GROUP BY 1 ORDER BY 1"
    ))
    .bind::<diesel::sql_types::Timestamptz, _>(now)
    .load(conn)?)
}
