//! Writing the interchange messages of a case change into the outbox, inside the change's
//! own transaction: if the change commits, its messages exist; if not, neither do their
//! seqs.

use chrono::{DateTime, Utc};
use citygrid_schemas as v1;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Timestamptz};
use serde::Serialize;

use crate::case::model::{Case, Record};
use crate::config::Tenant;
use crate::error::{Error, Result};
use crate::schema::{media, outbox, outbox_counter};

fn count(n: i32) -> u32 {
    n.max(0) as u32
}

#[derive(QueryableByName, Default)]
struct Facts {
    #[diesel(sql_type = Nullable<Timestamptz>)]
    filed_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    dispatched_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    handled_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    checked_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    finished_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = BigInt)]
    returns: i64,
}

/// Milestones and the return count, from the case's records (one indexed query).
fn facts(conn: &mut PgConnection, case: &Case) -> Result<Facts> {
    Ok(diesel::sql_query(
        "SELECT max(at) FILTER (WHERE action = 'file') AS filed_at, \
                max(at) FILTER (WHERE action = 'dispatch') AS dispatched_at, \
                max(at) FILTER (WHERE action = 'handle') AS handled_at, \
                max(at) FILTER (WHERE action = 'check_pass') AS checked_at, \
                max(at) FILTER (WHERE to_state IN ('closed', 'rejected', 'cancelled')) AS finished_at, \
                count(*) FILTER (WHERE action = 'return') AS returns \
         FROM case_records WHERE case_id = $1",
    )
    .bind::<diesel::sql_types::Uuid, _>(case.id)
    .get_result(conn)?)
}

/// The interchange snapshot of a case as it is now, given the milestones its records make.
/// `edition` is the district's catalogue edition: every category it files is of it.
fn snapshot_with(case: &Case, edition: v1::Edition, facts: Facts) -> Result<v1::CaseSnapshot> {
    let category = match (
        case.category_kind,
        &case.category_major,
        &case.category_minor,
    ) {
        (Some(kind), Some(major), Some(minor)) => Some(v1::Category {
            kind: kind.into(),
            major: major.clone(),
            minor: minor.clone(),
            edition: Some(edition),
        }),
        _ => None,
    };
    Ok(v1::CaseSnapshot {
        case_id: case.id,
        number: case.number,
        version: count(case.version),
        state: case.state.into(),
        source: case.source.into(),
        urgency: case.urgency.into(),
        category,
        description: case.description.clone(),
        address: case.address.clone(),
        location: v1::Point {
            lon: case.lon,
            lat: case.lat,
        },
        street_code: case.street_code.clone(),
        community_code: case.community_code.clone(),
        cell_code: case.cell_code.clone(),
        department_code: case.department_code.clone(),
        reporter_id: case.reporter_id,
        verified: case.verified,
        duplicate_of: case.duplicate_of,
        rework_count: count(case.rework_count),
        return_count: facts.returns.max(0) as u32,
        extension_minutes: count(case.extension_minutes),
        satisfaction: case.satisfaction.map(Into::into),
        manual_version: case.manual_version.clone(),
        manual_condition: case.manual_condition.clone(),
        component_id: case.component_id.clone(),
        current_stage: stage_clock(case),
        supervision_pending: case.supervision_pending,
        supervision_level: case.supervision_level.map(Into::into),
        milestones: v1::Milestones {
            reported_at: Some(case.created_at),
            filed_at: facts.filed_at,
            dispatched_at: facts.dispatched_at,
            handled_at: facts.handled_at,
            checked_at: facts.checked_at,
            finished_at: facts.finished_at,
        },
        created_at: case.created_at,
        updated_at: case.updated_at,
    })
}

/// The stage running on a case and its clock, as the snapshot shows it.
fn stage_clock(case: &Case) -> Option<v1::StageClock> {
    match (case.stage, case.clock, case.stage_started_at) {
        (Some(stage), Some(clock), Some(started_at)) => Some(v1::StageClock {
            stage: stage.into(),
            clock: clock.into(),
            started_at,
            limit_minutes: count(case.stage_limit_minutes.unwrap_or(0)),
            yellow_at: case.stage_yellow_at,
            deadline: case.stage_deadline,
        }),
        _ => None,
    }
}

/// How the step ended the stage that ran before it, if it did: a new stage, or the same
/// stage started again (rework, return), while a deadline was running.
pub fn stage_outcome(
    before: Option<&Case>,
    after: &Case,
    at: DateTime<Utc>,
) -> Result<Option<v1::StageOutcome>> {
    Ok(stage_ended(
        before.and_then(stage_clock).as_ref(),
        stage_clock(after).as_ref(),
        at,
    ))
}

/// The same from the stage clocks of the snapshots before and after a step taken at `at`
/// (the business record's `stage_ended`). The appraisal rebuilds its records' outcomes
/// from the snapshots in `case_history` with this, as `case_records` does not keep them.
pub fn stage_ended(
    before: Option<&v1::StageClock>,
    after: Option<&v1::StageClock>,
    at: DateTime<Utc>,
) -> Option<v1::StageOutcome> {
    let before = before?;
    let deadline = before.deadline?;
    if after.is_some_and(|a| a.stage == before.stage && a.started_at == before.started_at) {
        return None;
    }
    Some(v1::StageOutcome {
        stage: before.stage,
        clock: before.clock,
        started_at: before.started_at,
        deadline,
        ended_at: at,
        on_time: at <= deadline,
    })
}

/// The interchange form of a business record.
pub fn business_record(
    record: &Record,
    stage_ended: Option<v1::StageOutcome>,
) -> Result<v1::BusinessRecord> {
    Ok(v1::BusinessRecord {
        record_id: record.id,
        case_id: record.case_id,
        case_version: count(record.case_version),
        action: record.action.into(),
        from_state: record.from_state.map(Into::into),
        to_state: record.to_state.into(),
        actor_id: record.actor_id,
        actor_role: record.actor_role.into(),
        comment: record.comment.clone(),
        media: record.media.clone(),
        details: record.details.clone(),
        stage_ended,
        at: record.at,
    })
}

/// The interchange snapshot of a case as it is now (what the next change would send).
pub fn current_snapshot(
    conn: &mut PgConnection,
    tenant: &Tenant,
    case: &Case,
) -> Result<v1::CaseSnapshot> {
    let facts = facts(conn, case)?;
    snapshot_with(case, tenant.catalogue.edition, facts)
}

/// A message waiting for its seq.
pub(crate) struct Pending {
    kind: v1::Kind,
    body: serde_json::Value,
    media_sha256: Option<String>,
}

pub(crate) fn pending<B: v1::Body + Serialize>(
    body: &B,
    media_sha256: Option<String>,
) -> Result<Pending> {
    Ok(Pending {
        kind: B::KIND,
        body: serde_json::to_value(body)?,
        media_sha256,
    })
}

/// Writes the messages of one case change: a manifest for each photo the record is the
/// first to reference, the business record, then the case snapshot. Call it last in the
/// transaction: from here to the commit, other writers wait for the seq counter.
pub fn write_change(
    conn: &mut PgConnection,
    tenant: &Tenant,
    before: Option<&Case>,
    after: &Case,
    record: &Record,
) -> Result<()> {
    // A case just reported has no milestone yet: its one record is the report.
    let facts = match before {
        None => Facts::default(),
        Some(_) => facts(conn, after)?,
    };
    let snapshot = snapshot_with(after, tenant.catalogue.edition, facts)?;
    crate::appraisal::history::write(conn, &snapshot)?;
    let district = tenant.code();
    let record_body = business_record(record, stage_outcome(before, after, record.at)?)?;
    let mut messages = Vec::with_capacity(record.media.len() + 2);
    if !record.media.is_empty() {
        let fresh: Vec<(String, String, i64)> = media::table
            .filter(media::sha256.eq_any(&record.media))
            .filter(media::announced_seq.is_null())
            .order(media::sha256.asc())
            .select((media::sha256, media::content_type, media::size_bytes))
            // Not FOR UPDATE: that would wait on the KEY SHARE locks `require_media` takes
            // (and two changes naming one photo would deadlock); this still serialises the
            // announcements, and the expiry's DELETE still waits for both.
            .for_no_key_update()
            .load(conn)?;
        for (sha256, content_type, size_bytes) in fresh {
            let size = size_bytes.max(0) as u64;
            let chunks = size.div_ceil(v1::MEDIA_CHUNK_BYTES as u64).max(1) as u32;
            let manifest = v1::MediaManifest {
                sha256: sha256.clone(),
                content_type,
                size_bytes: size,
                chunk_bytes: v1::MEDIA_CHUNK_BYTES as u32,
                chunks,
                case_id: after.id,
            };
            messages.push(pending(&manifest, Some(sha256))?);
        }
    }
    messages.push(pending(&record_body, None)?);
    messages.push(pending(&snapshot, None)?);
    append(conn, district, record.at, messages)
}

/// Numbers the messages with the next seqs and inserts them.
pub(crate) fn append(
    conn: &mut PgConnection,
    district: &str,
    sent_at: DateTime<Utc>,
    messages: Vec<Pending>,
) -> Result<()> {
    let n = messages.len() as i64;
    let last: i64 = diesel::update(outbox_counter::table)
        .set(outbox_counter::last_seq.eq(outbox_counter::last_seq + n))
        .returning(outbox_counter::last_seq)
        .get_result(conn)?;
    let first = last - n + 1;
    let mut rows = Vec::with_capacity(messages.len());
    for (i, message) in messages.into_iter().enumerate() {
        let seq = first + i as i64;
        let envelope = v1::Envelope {
            schema: v1::SCHEMA.to_owned(),
            kind: message.kind,
            district: district.to_owned(),
            seq: seq as u64,
            sent_at,
            body: message.body,
        };
        if let Some(sha256) = &message.media_sha256 {
            diesel::update(media::table.find(sha256))
                .set(media::announced_seq.eq(seq))
                .execute(conn)?;
        }
        let text = serde_json::to_string(&envelope)?;
        if text.len() > v1::MAX_MESSAGE_BYTES {
            // Refused here, with the change, rather than stuck in the relay forever.
            return Err(too_large(message.kind, text.len(), &envelope.body));
        }
        rows.push((
            outbox::seq.eq(seq),
            outbox::kind.eq(message.kind.as_str()),
            outbox::message.eq(text),
            outbox::media_sha256.eq(message.media_sha256),
        ));
    }
    diesel::insert_into(outbox::table)
        .values(&rows)
        .execute(conn)?;
    Ok(())
}

/// The 422 for a message over the interchange limit: which message, how big, the limit,
/// and the field that made it big (the largest part of the body; within `details`, the
/// largest detail), named as the request field (`description`, `comment`, `text`, …).
fn too_large(kind: v1::Kind, size: usize, body: &serde_json::Value) -> Error {
    fn largest(value: &serde_json::Value) -> Option<(&str, &serde_json::Value, usize)> {
        value
            .as_object()?
            .iter()
            .map(|(key, v)| (key.as_str(), v, v.to_string().len()))
            .max_by_key(|(_, _, len)| *len)
    }
    let mut culprit = largest(body);
    if let Some((_, details, _)) = culprit.filter(|(key, _, _)| *key == "details") {
        culprit = largest(details).or(culprit);
    }
    let what = kind.as_str().replace('_', " ");
    let limit = v1::MAX_MESSAGE_BYTES;
    match culprit {
        Some((field, value, bytes)) => {
            let chars = value
                .as_str()
                .map(|t| format!(", {} characters", t.chars().count()))
                .unwrap_or_default();
            Error::invalid(
                field,
                format!(
                    "this step would make the {what} message {size} bytes, over the \
                     interchange limit of {limit} bytes (512 KiB): `{field}` is {bytes} \
                     bytes of it{chars}. Text is capped at input (description 4,000 characters, \
                     comment 2,000), so only text stored before the caps gets here: \
                     shorten it"
                ),
            )
        }
        None => Error::invalid(
            "body",
            format!(
                "this step would make the {what} message {size} bytes, over the \
                 interchange limit of {limit} bytes (512 KiB)"
            ),
        ),
    }
}

/// The newest seq handed out.
pub fn last_seq(conn: &mut PgConnection) -> Result<i64> {
    Ok(outbox_counter::table
        .select(outbox_counter::last_seq)
        .first(conn)?)
}
