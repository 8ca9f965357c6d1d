//! Cases a district referred up to the city (上报市级, interchange v1.6, docs/ESCALATION.md):
//! the district's `refer` record arrives with its stream and waits here for a city
//! leader, who sends the case back or reassigns it to another district. A reassignment
//! is a `city_problem` to the new district (with `referred_from`, not 上级发现) and a
//! `referral_decision` to the old one, which cancels its case: both commands and the
//! decision commit together, so the problem is never in both districts' hands or in
//! neither's. Blocking (diesel).

use chrono::{DateTime, Utc};
use citygrid_kit::Error as HttpError;
use citygrid_schemas::{self as v1, CITY_PHOTO_BYTES, CITY_PHOTOS, InlinePhoto};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Text, Uuid as SqlUuid};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::Result;
use crate::problems::{self, NewProblem, Outgoing, Reporter};
use crate::registry::Registry;
use crate::schema::{cases, referrals};
use crate::warehouse::enqueue_command;

/// Longest reason a leader gives, in characters (a district record's comment limit).
const REASON_CHARS: usize = 2000;

/// A referral as the city tracks it.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Serialize, ToSchema)]
#[diesel(table_name = referrals)]
pub struct Referral {
    pub district: String,
    /// The district's `refer` record: with `district`, the referral's name.
    pub record_id: i64,
    pub case_id: Uuid,
    /// The shift leader's reason.
    pub reason: String,
    /// The district user who referred it (their id there).
    pub referred_by: Option<String>,
    pub referred_at: DateTime<Utc>,
    /// `returned` or `reassigned`; null while it waits.
    pub outcome: Option<String>,
    pub decision_reason: Option<String>,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    /// The new district's case, when reassigned.
    pub reassigned_case: Option<Uuid>,
}

/// What a city leader decides.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(tag = "outcome", rename_all = "snake_case", deny_unknown_fields)]
pub enum Decision {
    /// 退回: the district keeps the case.
    Returned { reason: String },
    /// 改派: `district` takes it. The point and category are the case's unless given (the
    /// point must lie in `district`, the category be one of its edition; a case not yet
    /// filed has no category, so one is required).
    Reassigned {
        reason: String,
        district: String,
        #[serde(default)]
        category: Option<String>,
        #[serde(default)]
        lon: Option<f64>,
        #[serde(default)]
        lat: Option<f64>,
    },
}

/// Takes the `refer` records among the district's stream messages `seqs` (just applied to
/// the warehouse) as waiting referrals; a record seen before changes nothing.
pub fn take_in(conn: &mut PgConnection, district: &str, seqs: &[i64]) -> Result<()> {
    diesel::sql_query(
        "INSERT INTO referrals (district, record_id, case_id, reason, referred_by, referred_at) \
         SELECT $1, (envelope->'body'->>'record_id')::bigint, \
                (envelope->'body'->>'case_id')::uuid, \
                COALESCE(envelope->'body'->>'comment', ''), envelope->'body'->>'actor_id', \
                (envelope->'body'->>'at')::timestamptz \
           FROM stream WHERE district = $1 AND seq = ANY($2) \
            AND envelope->'body'->>'action' = 'refer' \
         ON CONFLICT DO NOTHING",
    )
    .bind::<Text, _>(district)
    .bind::<Array<BigInt>, _>(seqs)
    .execute(conn)?;
    Ok(())
}

/// Referrals oldest first: those still waiting, or all (newest first) of one district.
pub fn list(
    conn: &mut PgConnection,
    district: Option<&str>,
    waiting: bool,
    limit: i64,
) -> Result<Vec<Referral>> {
    let mut query = referrals::table.select(Referral::as_select()).into_boxed();
    if let Some(district) = district {
        query = query.filter(referrals::district.eq(district.to_owned()));
    }
    query = if waiting {
        query
            .filter(referrals::outcome.is_null())
            .order(referrals::referred_at.asc())
    } else {
        query.order(referrals::referred_at.desc())
    };
    Ok(query.limit(limit).load(conn)?)
}

/// Who decides: a city leader.
pub struct Decider<'a> {
    pub id: Uuid,
    /// Name or office, as the districts' records show it.
    pub name: &'a str,
}

/// Decides the referral `(district, record_id)`: 404 if there is none, 409
/// `already_decided` if it was decided. Returns the referral as decided.
pub fn decide(
    conn: &mut PgConnection,
    registry: &Registry,
    (district, record_id): (&str, i64),
    decision: &Decision,
    decider: &Decider<'_>,
    now: DateTime<Utc>,
) -> Result<Referral> {
    let reason = match decision {
        Decision::Returned { reason } | Decision::Reassigned { reason, .. } => reason,
    };
    if reason.trim().is_empty() || reason.chars().count() > REASON_CHARS {
        return Err(HttpError::invalid(
            "reason",
            format!("say why, in 1 to {REASON_CHARS} characters"),
        )
        .into());
    }
    conn.transaction(|conn| {
        let referral: Referral = referrals::table
            .find((district, record_id))
            .select(Referral::as_select())
            .for_update()
            .first(conn)
            .optional()?
            .ok_or_else(|| {
                HttpError::NotFound(format!("referral {record_id} of district {district}"))
            })?;
        if let Some(outcome) = &referral.outcome {
            return Err(HttpError::conflict(
                "already_decided",
                format!("the referral was {outcome} already"),
            )
            .into());
        }
        let (outcome, reassigned_to) = match decision {
            Decision::Returned { .. } => (v1::ReferralOutcome::Returned, None),
            Decision::Reassigned {
                district: target,
                category,
                lon,
                lat,
                ..
            } => {
                let point = (*lon, *lat);
                let new_case = reassign(
                    conn, registry, &referral, target, category, point, decider, now,
                )?;
                (v1::ReferralOutcome::Reassigned, Some(new_case))
            }
        };
        let seq = enqueue_command(
            conn,
            district,
            v1::ReferralDecision {
                case_id: referral.case_id,
                record_id: record_id as u64,
                outcome,
                reassigned_to: reassigned_to.clone(),
                reason: reason.clone(),
                decided_at: now,
                decided_by: decider.name.to_owned(),
            },
        )?;
        let decided: Referral = diesel::update(referrals::table.find((district, record_id)))
            .set((
                referrals::outcome.eq(outcome_name(outcome)),
                referrals::decision_reason.eq(reason),
                referrals::decider.eq(decider.id),
                referrals::decided_by.eq(decider.name),
                referrals::decided_at.eq(now),
                referrals::reassigned_case.eq(reassigned_to.as_ref().map(|t| t.case_id)),
                referrals::command_seq.eq(seq),
            ))
            .returning(Referral::as_returning())
            .get_result(conn)?;
        tracing::info!(district, record_id, case = %referral.case_id, ?outcome, "referral decided");
        Ok(decided)
    })
}

/// Sends the referred case to `target` as a city problem: its point (or the one given)
/// must lie in `target`, its category (or the one given) be of `target`'s edition. Returns
/// the new case.
#[allow(clippy::too_many_arguments)]
fn reassign(
    conn: &mut PgConnection,
    registry: &Registry,
    referral: &Referral,
    target: &str,
    category: &Option<String>,
    (lon, lat): (Option<f64>, Option<f64>),
    decider: &Decider<'_>,
    now: DateTime<Utc>,
) -> Result<v1::CaseRef> {
    if target == referral.district {
        return Err(HttpError::invalid(
            "district",
            "reassign to another district, or send the case back",
        )
        .into());
    }
    if registry.get(target).is_none() {
        return Err(
            HttpError::invalid("district", format!("no district {target} in the city")).into(),
        );
    }
    let snapshot: serde_json::Value = cases::table
        .find((&referral.district, referral.case_id))
        .select(cases::snapshot)
        .first(conn)
        .optional()?
        .ok_or_else(|| {
            HttpError::conflict(
                "case_not_received",
                "the warehouse has no snapshot of the case yet: try again when it has arrived",
            )
        })?;
    let snapshot: v1::CaseSnapshot = serde_json::from_value(snapshot)?;
    let category = match (category, &snapshot.category) {
        (Some(given), _) => given.clone(),
        (None, Some(filed)) => filed.label(),
        (None, None) => {
            return Err(HttpError::invalid(
                "category",
                "the case is not filed yet: name its category in the new district's catalogue",
            )
            .into());
        }
    };
    // A district takes longer text than a city problem carries: it goes cut to the limit.
    let cut = |text: &str, max: usize| text.chars().take(max).collect::<String>();
    let new = NewProblem {
        category,
        urgency: snapshot.urgency,
        description: cut(&snapshot.description, problems::DESCRIPTION_CHARS),
        address: snapshot
            .address
            .as_deref()
            .map(|a| cut(a, problems::ADDRESS_CHARS)),
        lon: lon.unwrap_or(snapshot.location.lon),
        lat: lat.unwrap_or(snapshot.location.lat),
        photos: Vec::new(),
    };
    let (district, category) = problems::place(registry, &new)?;
    if district.code != target {
        return Err(HttpError::invalid(
            "lon",
            format!(
                "the point ({}, {}) lies in {} {}, not in {target}: give a point in {target}",
                new.lon, new.lat, district.code, district.name
            ),
        )
        .into());
    }
    let referred_from = v1::CaseRef {
        district: referral.district.clone(),
        case_id: referral.case_id,
    };
    let reporter = Reporter {
        id: decider.id,
        name: decider.name,
        key: None,
        request_hash: "referral",
    };
    let outgoing = Outgoing {
        district,
        category,
        new: &new,
        photos: case_photos(conn, &referral.district, referral.case_id)?,
        referred_from: Some(referred_from),
    };
    let problem = problems::send(conn, outgoing, &reporter, now)?;
    Ok(v1::CaseRef {
        district: problem.district,
        case_id: problem.case_id,
    })
}

#[derive(QueryableByName)]
struct Photo {
    #[diesel(sql_type = Text)]
    content_type: String,
    #[diesel(sql_type = diesel::sql_types::Bytea)]
    bytes: Vec<u8>,
}

/// The case's photos the city holds, in the order its records attached them, as many as
/// one message carries (at most three, 360 KiB together); none when none fits.
fn case_photos(conn: &mut PgConnection, district: &str, case_id: Uuid) -> Result<Vec<InlinePhoto>> {
    let found: Vec<Photo> = diesel::sql_query(
        "SELECT m.content_type, m.bytes \
           FROM (SELECT h.sha256, min(r.record_id * 100 + h.n) AS first \
                   FROM records r, jsonb_array_elements_text(r.record->'media') \
                        WITH ORDINALITY AS h(sha256, n) \
                  WHERE r.district = $1 AND r.case_id = $2 GROUP BY h.sha256) AS p \
           JOIN media m ON m.sha256 = p.sha256 \
          WHERE m.bytes IS NOT NULL AND m.verified_at IS NOT NULL \
          ORDER BY p.first",
    )
    .bind::<Text, _>(district)
    .bind::<SqlUuid, _>(case_id)
    .load(conn)?;
    let mut out = Vec::new();
    let mut total = 0;
    for photo in found {
        if out.len() == CITY_PHOTOS {
            break;
        }
        if total + photo.bytes.len() <= CITY_PHOTO_BYTES {
            total += photo.bytes.len();
            out.push(InlinePhoto::new(&photo.bytes, &photo.content_type));
        }
    }
    Ok(out)
}

fn outcome_name(outcome: v1::ReferralOutcome) -> &'static str {
    match outcome {
        v1::ReferralOutcome::Returned => "returned",
        v1::ReferralOutcome::Reassigned => "reassigned",
    }
}
