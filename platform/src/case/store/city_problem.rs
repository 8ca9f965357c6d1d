//! A problem the city's supervisors found (上级发现, `city_problem` over the interchange)
//! opened as a case of source `city` under the city's id: it waits for an operator to file
//! it, like a supervisor's report, and goes back to the city as the case's snapshots.

use chrono::{DateTime, Utc};
use citygrid_schemas as v1;
use diesel::prelude::*;

use super::report::{Idempotency, NewReport, create_report, filing_stage, validate_report};
use crate::case::workflow::Source;
use crate::config::Tenant;
use crate::error::{Error, Result};
use crate::media::{self, MediaStore};
use crate::vocab::{ActorRole, Urgency};

/// What became of a city problem.
#[derive(Debug)]
pub enum Opened {
    /// A new case.
    New,
    /// The same problem came before (a redelivery): its case stays as it is.
    Again,
    /// Not a problem of this district (outside its boundary, a category it does not
    /// have, a photo that is not what it says): nothing is written.
    Refused(Error),
}

/// Opens `problem` once: its photos, the case, its first record and the outbox messages
/// commit together (a redelivery finds the case by its key and changes nothing).
pub fn take_city_problem(
    conn: &mut PgConnection,
    tenant: &Tenant,
    store: &MediaStore,
    problem: &v1::CityProblem,
    now: DateTime<Utc>,
) -> Result<Opened> {
    let report = NewReport {
        case_id: Some(problem.case_id),
        source: Source::City,
        description: problem.description.clone(),
        lon: problem.location.lon,
        lat: problem.location.lat,
        address: problem.address.clone(),
        street: None,
        category: Some(problem.category.clone()),
        urgency: match problem.urgency {
            v1::Urgency::Normal => Urgency::Normal,
            v1::Urgency::Urgent => Urgency::Urgent,
        },
        photos: problem.photos.iter().map(|p| p.sha256.clone()).collect(),
        reporter_id: None,
        reporter_name: Some(problem.reported_by.clone()),
        reporter_phone: None,
        actor_role: ActorRole::Supervisor,
        component_id: None,
        component_department: None,
    };
    // Only a reassigned case may come without a photo (its district's may not have fit).
    if problem.photos.is_empty() && problem.referred_from.is_none() {
        let refusal = Error::invalid("photos", "a city-found problem carries 1 to 3 photos");
        return Ok(Opened::Refused(refusal));
    }
    let mut photos = Vec::with_capacity(problem.photos.len());
    for (i, photo) in problem.photos.iter().enumerate() {
        let bytes = match photo.decode(i as u32) {
            Ok(bytes) => bytes,
            Err(e) => {
                let field = format!("photos[{i}]");
                return Ok(Opened::Refused(Error::invalid(field, e.to_string())));
            }
        };
        if let Err(refusal) = media::sniff(&bytes) {
            return Ok(Opened::Refused(refusal));
        }
        photos.push(bytes);
    }
    if let Err(refusal) = validate_report(tenant, &report) {
        return Ok(Opened::Refused(refusal));
    }
    let filing = match filing_stage(tenant, &report, now) {
        Ok(filing) => filing,
        Err(refusal) => return Ok(Opened::Refused(refusal)),
    };
    // The city's id is the key: a redelivery answers with the case the first one opened.
    let key = Idempotency {
        scope: "city".to_owned(),
        key: problem.case_id.to_string(),
        request_hash: "city_problem".to_owned(),
    };
    conn.transaction(|conn| {
        for bytes in &photos {
            media::save(conn, store, bytes, None)?;
        }
        let (case, created) = create_report(conn, tenant, &report, &filing, Some(&key), now)?;
        if created {
            tracing::info!(case = %case.id, number = case.number, "city-found problem opened as a case");
            Ok(Opened::New)
        } else {
            Ok(Opened::Again)
        }
    })
}
