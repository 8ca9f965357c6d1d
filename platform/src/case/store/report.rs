//! Creating a case from a report (上报): validating it against the district, starting its
//! filing clock, and inserting it with its idempotency key and first record.

use chrono::{DateTime, Utc};
use citygrid_schemas::details;
use diesel::prelude::*;
use uuid::Uuid;

use crate::address;
use crate::case::model::{Case, NewRecord};
use crate::case::steps::Urgency;
use crate::case::text;
use crate::case::workflow::{Action, Source, State};
use crate::catalogue::CategoryRef;
use crate::config::Tenant;
use crate::deadline::{self, StageTimes};
use crate::error::{Error, Result};
use crate::manual::{Clock, Stage};
use crate::schema::{cases, media};
use crate::vocab::{ActorRole, CategoryKind};

/// A report as it enters the system (上报).
#[derive(Debug, Clone)]
pub struct NewReport {
    /// The id the case is to have: the city's, for a problem the city found; a new one
    /// when none.
    pub case_id: Option<Uuid>,
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
    /// The component the report is about, checked by `component::for_case`.
    pub component_id: Option<String>,
    /// That component's department for dispatch (`component::store::case_department`).
    pub component_department: Option<String>,
}

/// A client-chosen key that makes a report safe to retry.
#[derive(Debug, Clone)]
pub struct Idempotency {
    /// Who the key belongs to (user id, or `public:<client address>`): keys of different
    /// callers never clash.
    pub scope: String,
    pub key: String,
    /// Hash of the request body: the same key with another body is a client bug.
    pub request_hash: String,
}

/// Checks that every referenced photo was uploaded; names the first missing one. The rows
/// stay locked `FOR KEY SHARE` until the transaction ends, so the expiry of orphan uploads
/// (`media::expire_orphans`) cannot delete a photo this change is about to reference.
pub(super) fn require_media(conn: &mut PgConnection, field: &str, hashes: &[String]) -> Result<()> {
    if hashes.is_empty() {
        return Ok(());
    }
    let found: Vec<String> = media::table
        .filter(media::sha256.eq_any(hashes))
        .select(media::sha256)
        .for_key_share()
        .load(conn)?;
    match hashes.iter().enumerate().find(|(_, h)| !found.contains(h)) {
        Some((i, h)) => Err(Error::invalid(
            format!("{field}[{i}]"),
            format!("no uploaded photo {h}; upload it to /api/v1/media first"),
        )),
        None => Ok(()),
    }
}

/// Where a report is: its point when it gives one, else the point of its `address` in the
/// district's gazetteer (地址库) when the best match scores at least
/// [`address::PLACE_SCORE`]. Refusals name the field: `lon` or `lat` for half a point or
/// neither a point nor an address (or an address in a district without address data),
/// `address` for an address that could not be placed, with up to three candidates.
pub fn place_report(
    tenant: &Tenant,
    lon: Option<f64>,
    lat: Option<f64>,
    address: Option<&str>,
) -> Result<(f64, f64)> {
    match (lon, lat) {
        (Some(lon), Some(lat)) => return Ok((lon, lat)),
        (Some(_), None) => return Err(Error::invalid("lat", "missing field `lat`")),
        (None, Some(_)) => return Err(Error::invalid("lon", "missing field `lon`")),
        (None, None) => {}
    }
    let Some(address) = address.filter(|a| !a.trim().is_empty()) else {
        return Err(Error::invalid(
            "lon",
            "missing field `lon`: give the point (lon and lat) or an address",
        ));
    };
    text::check("address", address, text::ADDRESS_CHARS)?;
    let district = format!("district {} {}", tenant.code(), tenant.config.district.name);
    let Some(gazetteer) = &tenant.addresses else {
        return Err(Error::invalid(
            "lon",
            format!(
                "{district} has no address data (地址库) to place an address: give lon and lat"
            ),
        ));
    };
    let hits = gazetteer.geocode(address, 3);
    if let Some(best) = hits.first().filter(|h| h.score >= address::PLACE_SCORE) {
        return Ok((best.point.lon, best.point.lat));
    }
    let candidates = if hits.is_empty() {
        "no address there is like it".to_owned()
    } else {
        let listed: Vec<String> = hits
            .iter()
            .map(|h| format!("{} ({})", h.point.address, h.score))
            .collect();
        format!("candidates: {}", listed.join(", "))
    };
    Err(Error::invalid(
        "address",
        format!(
            "cannot place {address:?} in {district} (a match needs a score of {}); {candidates}; give lon and lat, or one of the candidates",
            address::PLACE_SCORE
        ),
    ))
}

/// A WGS84 point at all (not yet whether it is in the district): 422 naming `lon` or `lat`.
pub fn check_point(lon: f64, lat: f64) -> Result<()> {
    if !(-180.0..=180.0).contains(&lon) || !lon.is_finite() {
        return Err(Error::invalid("lon", "longitude must be within -180..180"));
    }
    if !(-90.0..=90.0).contains(&lat) || !lat.is_finite() {
        return Err(Error::invalid("lat", "latitude must be within -90..90"));
    }
    Ok(())
}

/// Validates a report against the district (inside the boundary, known street and
/// category). Pure, so the HTTP layer and tests share it.
pub fn validate_report(tenant: &Tenant, report: &NewReport) -> Result<()> {
    if report.description.trim().is_empty() {
        return Err(Error::invalid("description", "describe the problem"));
    }
    text::check("description", &report.description, text::DESCRIPTION_CHARS)?;
    if let Some(address) = &report.address {
        text::check("address", address, text::ADDRESS_CHARS)?;
    }
    check_point(report.lon, report.lat)?;
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
    if let Some(category) = &report.category {
        crate::catalogue::entry(&tenant.catalogue, category)?;
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

/// Creates a case from a report received at `now`, or returns the case an earlier
/// attempt with the same idempotency key created (`false` = not new).
pub fn create_report(
    conn: &mut PgConnection,
    tenant: &Tenant,
    report: &NewReport,
    filing: &StageTimes,
    idempotency: Option<&Idempotency>,
    now: DateTime<Utc>,
) -> Result<(Case, bool)> {
    conn.transaction(|conn| {
        require_media(conn, "photos", &report.photos)?;
        let id = report.case_id.unwrap_or_else(Uuid::new_v4);
        // The grid knows the street better than the reporter: its cell decides when there
        // is one; the reporter's street stands only where the grid has none.
        let cell = tenant.cell_at(report.lon, report.lat);
        let street = cell.map_or(report.street.as_deref(), |c| Some(c.code.street()));
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
                cases::street_code.eq(street),
                cases::cell_code.eq(cell.map(|c| c.code.as_str())),
                cases::community_code.eq(cell.map(|c| c.code.community())),
                cases::component_id.eq(&report.component_id),
                cases::component_department.eq(&report.component_department),
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
        super::record_change(
            conn,
            tenant,
            None,
            &case,
            NewRecord {
                case_id: case.id,
                case_version: case.version,
                action: Action::Report,
                from_state: None,
                to_state: State::Reported,
                actor_id: report.reporter_id,
                actor_role: report.actor_role,
                comment: None,
                media: &report.photos,
                details: serde_json::to_value(details::Report {
                    source: report.source.into(),
                })?,
                at: now,
            },
        )?;
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
