//! Problems the city's own supervisors find (上级发现, docs/ESCALATION.md): a photo, a point
//! and a category. The city decides whose problem it is by the district boundaries of its
//! registry and sends it to that district as a `city_problem` command, queued in the same
//! transaction as its row; the district opens a case of source `city` under the same id,
//! and the case comes back through the stream like any other, counted as 上级发现.
//! Blocking (diesel).

use chrono::{DateTime, Utc};
use citygrid_kit::Error as HttpError;
use citygrid_schemas::{
    self as v1, CITY_PHOTO_BYTES, CITY_PHOTOS, InlinePhoto, PHOTO_TYPES, catalogue,
};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::registry::{District, Registry};
use crate::schema::{cases, city_photos, city_problems};
use crate::warehouse::enqueue_command;

/// Longest description and address, in characters (a district refuses longer text).
pub(crate) const DESCRIPTION_CHARS: usize = 1000;
pub(crate) const ADDRESS_CHARS: usize = 200;

/// What a city supervisor reports.
#[derive(Debug, Clone, Serialize)]
pub struct NewProblem {
    /// `component:0101`, in the edition of the district the point falls in.
    pub category: String,
    pub urgency: v1::Urgency,
    pub description: String,
    pub address: Option<String>,
    pub lon: f64,
    pub lat: f64,
    /// SHA-256 of each photo, uploaded before (`store_photo`).
    pub photos: Vec<String>,
}

/// A problem as the city tracks it.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Serialize, ToSchema)]
#[diesel(table_name = city_problems)]
pub struct Problem {
    /// The case's id, in the district too.
    pub case_id: Uuid,
    pub district: String,
    pub category: String,
    pub edition: String,
    pub urgency: String,
    pub description: String,
    pub address: Option<String>,
    pub lon: f64,
    pub lat: f64,
    pub photos: Vec<String>,
    pub reported_by: String,
    pub reporter: Uuid,
    pub reported_at: DateTime<Utc>,
    /// The `city_problem` command that carried it.
    pub command_seq: i64,
    /// The district and case it replaces, when the city reassigned a referred case (then
    /// it is not 上级发现).
    pub referred_district: Option<String>,
    pub referred_case: Option<Uuid>,
}

/// A problem and where its case is.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Tracked {
    #[serde(flatten)]
    pub problem: Problem,
    /// The case's state in the warehouse (`reported`, `filed`, … `closed`), or `sent` while
    /// the district has not opened it yet.
    pub state: String,
}

/// Stores a photo a city supervisor took, once per content: the type read from the bytes
/// must be one the districts accept and agree with `declared`; at most
/// [`CITY_PHOTO_BYTES`]. Returns its hash and whether it was new.
pub fn store_photo(
    conn: &mut PgConnection,
    bytes: &[u8],
    declared: &str,
    uploader: Uuid,
) -> Result<(String, bool)> {
    if bytes.is_empty() {
        return Err(HttpError::invalid("body", "the upload is empty").into());
    }
    if bytes.len() > CITY_PHOTO_BYTES {
        return Err(HttpError::PayloadTooLarge {
            limit: CITY_PHOTO_BYTES,
        }
        .into());
    }
    let sniffed = infer::get(bytes)
        .map(|k| k.mime_type())
        .filter(|t| PHOTO_TYPES.contains(t))
        .ok_or_else(|| {
            HttpError::UnsupportedMedia(format!(
                "the bytes are not a photo of {}",
                PHOTO_TYPES.join(", ")
            ))
        })?;
    if sniffed != declared {
        return Err(HttpError::UnsupportedMedia(format!(
            "the bytes are {sniffed}, not the {declared} the Content-Type says"
        ))
        .into());
    }
    let sha256 = v1::sha256_hex(bytes);
    let inserted = diesel::insert_into(city_photos::table)
        .values((
            city_photos::sha256.eq(&sha256),
            city_photos::content_type.eq(sniffed),
            city_photos::bytes.eq(bytes),
            city_photos::uploaded_by.eq(uploader),
        ))
        .on_conflict_do_nothing()
        .execute(conn)?;
    Ok((sha256, inserted == 1))
}

/// How long an uploaded photo waits for the problem that names it.
pub const ORPHAN_PHOTO_HOURS: i64 = 24;

/// Deletes the photos uploaded before `before` that no problem names (an upload whose
/// report never came); how many. A report naming one afterwards is refused as naming an
/// unknown photo, and the supervisor uploads it again.
pub fn expire_orphan_photos(conn: &mut PgConnection, before: DateTime<Utc>) -> Result<usize> {
    Ok(diesel::delete(
        city_photos::table
            .filter(city_photos::uploaded_at.lt(before))
            .filter(diesel::dsl::not(diesel::dsl::exists(
                city_problems::table.filter(city_photos::sha256.eq(diesel::dsl::sql::<
                    diesel::sql_types::Text,
                >(
                    "ANY(city_problems.photos)"
                ))),
            ))),
    )
    .execute(conn)?)
}

/// Expires orphan photos at start and then daily at 03:15 in the city's time zone.
pub async fn expire_daily(pool: citygrid_kit::db::DbPool, zone: chrono_tz::Tz) {
    let tick = move || {
        let pool = pool.clone();
        async move {
            let before = Utc::now() - chrono::Duration::hours(ORPHAN_PHOTO_HOURS);
            match crate::blocking(&pool, move |conn| expire_orphan_photos(conn, before)).await {
                Ok(0) => {}
                Ok(expired) => tracing::info!(expired, "orphan city photos deleted"),
                Err(e) => tracing::warn!(error = %e, "orphan city photo expiry failed"),
            }
        }
    };
    citygrid_kit::schedule::every("orphan city photos", zone, &["0 15 3 * * *"], tick).await;
}

fn text(field: &str, value: &str, max: usize) -> Result<()> {
    if value.trim().is_empty() {
        return Err(HttpError::invalid(field, "must not be empty").into());
    }
    if value.chars().count() > max {
        return Err(HttpError::invalid(field, format!("at most {max} characters")).into());
    }
    Ok(())
}

/// The district the problem belongs to and its category in that district's edition, or a
/// 422 naming the field. Pure: no photo is looked at (a reassigned case's are the city's
/// choice, a supervisor's are counted by `report`).
pub fn place<'r>(registry: &'r Registry, new: &NewProblem) -> Result<(&'r District, v1::Category)> {
    text("description", &new.description, DESCRIPTION_CHARS)?;
    if let Some(address) = &new.address {
        text("address", address, ADDRESS_CHARS)?;
    }
    if !(-180.0..=180.0).contains(&new.lon) || !new.lon.is_finite() {
        return Err(HttpError::invalid("lon", "longitude must be within -180..180").into());
    }
    if !(-90.0..=90.0).contains(&new.lat) || !new.lat.is_finite() {
        return Err(HttpError::invalid("lat", "latitude must be within -90..90").into());
    }
    let district = registry.at(new.lon, new.lat).ok_or_else(|| {
        HttpError::invalid(
            "lon",
            format!(
                "no district of the city holds the point ({}, {})",
                new.lon, new.lat
            ),
        )
    })?;
    let category = catalogue::parse_label(&new.category)
        .filter(|c| c.minor.len() == district.catalogue.edition.minor_digits())
        .and_then(|c| district.catalogue.get(&c).map(|e| e.code.clone()))
        .ok_or_else(|| {
            HttpError::invalid(
                "category",
                format!(
                    "{:?} is no category of {} {}'s catalogue ({})",
                    new.category, district.code, district.name, district.catalogue.standard
                ),
            )
        })?;
    Ok((
        district,
        v1::Category {
            edition: Some(district.catalogue.edition),
            ..category
        },
    ))
}

/// The photos' bytes, in order, or a 422 naming the first missing one or their total.
fn photos(conn: &mut PgConnection, hashes: &[String]) -> Result<Vec<InlinePhoto>> {
    let found: Vec<(String, String, Vec<u8>)> = city_photos::table
        .filter(city_photos::sha256.eq_any(hashes))
        .select((
            city_photos::sha256,
            city_photos::content_type,
            city_photos::bytes,
        ))
        .load(conn)?;
    let mut out = Vec::with_capacity(hashes.len());
    let mut total = 0;
    for (i, hash) in hashes.iter().enumerate() {
        let (_, content_type, bytes) =
            found.iter().find(|(h, _, _)| h == hash).ok_or_else(|| {
                HttpError::invalid(
                    format!("photos[{i}]"),
                    format!("no uploaded photo {hash}; upload it to /api/v1/city/media first"),
                )
            })?;
        total += bytes.len();
        if total > CITY_PHOTO_BYTES {
            return Err(HttpError::invalid(
                "photos",
                format!(
                    "the photos together exceed {} KiB, what one message carries",
                    CITY_PHOTO_BYTES / 1024
                ),
            )
            .into());
        }
        out.push(InlinePhoto::new(bytes, content_type));
    }
    Ok(out)
}

/// Who reported, and the retry key of the request.
pub struct Reporter<'a> {
    pub id: Uuid,
    /// Name or office, as the district's record shows it.
    pub name: &'a str,
    /// A client-chosen `Idempotency-Key`, with the request's hash.
    pub key: Option<&'a str>,
    pub request_hash: &'a str,
}

/// Reports `new` to the district that owns its point: the row and its `city_problem`
/// command commit together. A retry with the same key and body returns the first problem
/// (`false`); the same key with another body is a 409.
pub fn report(
    conn: &mut PgConnection,
    registry: &Registry,
    new: &NewProblem,
    reporter: &Reporter<'_>,
    now: DateTime<Utc>,
) -> Result<(Problem, bool)> {
    let (district, category) = place(registry, new)?;
    if new.photos.is_empty() || new.photos.len() > CITY_PHOTOS {
        return Err(HttpError::invalid(
            "photos",
            format!("one to {CITY_PHOTOS} photos, uploaded to /api/v1/city/media first"),
        )
        .into());
    }
    let sent = conn.transaction(|conn| {
        if let Some(problem) = earlier(conn, reporter)? {
            return Ok((problem, false));
        }
        let photos = photos(conn, &new.photos)?;
        let outgoing = Outgoing {
            district,
            category,
            new,
            photos,
            referred_from: None,
        };
        Ok((send(conn, outgoing, reporter, now)?, true))
    });
    match sent {
        // A concurrent retry with the same key committed first: answer as it did.
        Err(Error::Database(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        ))) if reporter.key.is_some() => earlier(conn, reporter)?
            .map(|problem| (problem, false))
            .ok_or_else(|| Error::Internal("a retried problem vanished".into())),
        other => other,
    }
}

/// A problem placed and ready to go: its district, its category in that district's
/// edition, and the photos it carries.
pub(crate) struct Outgoing<'a> {
    pub district: &'a District,
    pub category: v1::Category,
    pub new: &'a NewProblem,
    pub photos: Vec<InlinePhoto>,
    /// The referred case it replaces (a reassignment), which is not 上级发现.
    pub referred_from: Option<v1::CaseRef>,
}

/// Queues the `city_problem` command and writes its row, under a new case id; the caller
/// holds the transaction.
pub(crate) fn send(
    conn: &mut PgConnection,
    out: Outgoing<'_>,
    reporter: &Reporter<'_>,
    now: DateTime<Utc>,
) -> Result<Problem> {
    let Outgoing {
        district,
        category,
        new,
        photos,
        referred_from,
    } = out;
    let case_id = Uuid::new_v4();
    let sent: Vec<String> = photos.iter().map(|p| p.sha256.clone()).collect();
    let seq = enqueue_command(
        conn,
        &district.code,
        v1::CityProblem {
            case_id,
            category: category.clone(),
            urgency: new.urgency,
            description: new.description.clone(),
            address: new.address.clone(),
            location: v1::Point {
                lon: new.lon,
                lat: new.lat,
            },
            photos,
            reported_at: now,
            reported_by: reporter.name.to_owned(),
            referred_from: referred_from.clone(),
        },
    )?;
    let problem: Problem = diesel::insert_into(city_problems::table)
        .values((
            city_problems::case_id.eq(case_id),
            city_problems::district.eq(&district.code),
            city_problems::category.eq(category.label()),
            city_problems::edition.eq(category.edition().as_str()),
            city_problems::urgency.eq(urgency_name(new.urgency)),
            city_problems::description.eq(&new.description),
            city_problems::address.eq(&new.address),
            city_problems::lon.eq(new.lon),
            city_problems::lat.eq(new.lat),
            city_problems::photos.eq(&sent),
            city_problems::reported_by.eq(reporter.name),
            city_problems::reporter.eq(reporter.id),
            city_problems::reported_at.eq(now),
            city_problems::command_seq.eq(seq),
            city_problems::idempotency_key.eq(reporter.key),
            city_problems::request_hash.eq(reporter.request_hash),
            city_problems::referred_district.eq(referred_from.as_ref().map(|r| &r.district)),
            city_problems::referred_case.eq(referred_from.as_ref().map(|r| r.case_id)),
        ))
        .returning(Problem::as_returning())
        .get_result(conn)?;
    tracing::info!(district = %district.code, case = %case_id, category = %problem.category,
        referred = referred_from.is_some(), "city problem sent to its district");
    Ok(problem)
}

/// The problem an earlier request with the reporter's key made, if any; a 409 when that
/// request had another body.
fn earlier(conn: &mut PgConnection, reporter: &Reporter<'_>) -> Result<Option<Problem>> {
    let Some(key) = reporter.key else {
        return Ok(None);
    };
    let found: Option<(Problem, String)> = city_problems::table
        .filter(city_problems::reporter.eq(reporter.id))
        .filter(city_problems::idempotency_key.eq(key))
        .select((Problem::as_select(), city_problems::request_hash))
        .first(conn)
        .optional()?;
    match found {
        Some((_, hash)) if hash != reporter.request_hash => Err(HttpError::conflict(
            "idempotency_key_reused",
            format!("Idempotency-Key {key:?} was already used for another problem"),
        )
        .into()),
        found => Ok(found.map(|(problem, _)| problem)),
    }
}

fn urgency_name(urgency: v1::Urgency) -> &'static str {
    match urgency {
        v1::Urgency::Normal => "normal",
        v1::Urgency::Urgent => "urgent",
    }
}

/// Problems newest first (of one district, or all), each with its case's state.
pub fn list(conn: &mut PgConnection, district: Option<&str>, limit: i64) -> Result<Vec<Tracked>> {
    let mut query = city_problems::table
        .left_join(
            cases::table.on(cases::district
                .eq(city_problems::district)
                .and(cases::case_id.eq(city_problems::case_id))),
        )
        .into_boxed();
    if let Some(d) = district {
        query = query.filter(city_problems::district.eq(d.to_owned()));
    }
    let rows: Vec<(Problem, Option<String>)> = query
        .order((city_problems::reported_at.desc(), city_problems::case_id))
        .limit(limit)
        .select((Problem::as_select(), cases::state.nullable()))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(problem, state)| Tracked {
            problem,
            state: state.unwrap_or_else(|| "sent".to_owned()),
        })
        .collect())
}
