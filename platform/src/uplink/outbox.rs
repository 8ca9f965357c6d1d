//! Writing the interchange messages of a case change into the outbox, inside the change's
//! own transaction: if the change commits, its messages exist; if not, neither do their
//! seqs.

use chrono::{DateTime, Utc};
use citygrid_schemas as v1;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Timestamptz};
use serde::Serialize;

use crate::calendar::WorkCalendar;
use crate::case::model::{Case, Record};
use crate::config::Tenant;
use crate::error::{Error, Result};
use crate::manual::Clock;
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
/// stage started again (rework, return), while a deadline was running. `calendar` is the
/// district's, for the working time the stage used.
pub fn stage_outcome(
    calendar: &WorkCalendar,
    before: Option<&Case>,
    after: &Case,
    at: DateTime<Utc>,
) -> Result<Option<v1::StageOutcome>> {
    Ok(stage_ended(
        calendar,
        before.and_then(stage_clock).as_ref(),
        stage_clock(after).as_ref(),
        at,
    ))
}

/// The same from the stage clocks of the snapshots before and after a step taken at `at`
/// (the business record's `stage_ended`). The appraisal rebuilds its records' outcomes
/// from the snapshots in `case_history` with this, as `case_records` does not keep them,
/// so both must pass the district's calendar.
///
/// `working_minutes` is [`deadline::used`](crate::deadline::used) in whole minutes
/// (rounded down): on the working clock the limit less the time left, so a suspension is
/// left out; on the natural clock the working time since the stage started or last
/// resumed. Absent when the calendar does not cover that time: the step goes on without it.
pub fn stage_ended(
    calendar: &WorkCalendar,
    before: Option<&v1::StageClock>,
    after: Option<&v1::StageClock>,
    at: DateTime<Utc>,
) -> Option<v1::StageOutcome> {
    let before = before?;
    let deadline = before.deadline?;
    if after.is_some_and(|a| a.stage == before.stage && a.started_at == before.started_at) {
        return None;
    }
    let clock = match before.clock {
        v1::Clock::Working => Clock::Working,
        v1::Clock::Natural => Clock::Natural,
    };
    let working_minutes = crate::deadline::used(
        calendar,
        clock,
        before.started_at,
        chrono::Duration::minutes(i64::from(before.limit_minutes)),
        deadline,
        at,
    )
    .ok()
    .map(|used| used.num_minutes());
    Some(v1::StageOutcome {
        stage: before.stage,
        clock: before.clock,
        started_at: before.started_at,
        deadline,
        ended_at: at,
        on_time: at <= deadline,
        working_minutes,
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
    let record_body = business_record(
        record,
        stage_outcome(&tenant.calendar, before, after, record.at)?,
    )?;
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

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::calendar::beijing as bj;
    use crate::calendar::sample_calendar;
    use crate::deadline::{self, StageTimes};
    use crate::manual::Stage;

    fn calendar() -> WorkCalendar {
        sample_calendar(&[2025, 2026])
    }

    /// A handling stage of `limit` on `clock` started at `at` (yellow at 80 %).
    fn handling(
        cal: &WorkCalendar,
        clock: Clock,
        limit: Duration,
        at: DateTime<Utc>,
    ) -> StageTimes {
        deadline::start(cal, Stage::Handling, clock, limit, 0.8, at).expect("start")
    }

    /// The snapshot's clock of a running stage.
    fn clock_of(t: &StageTimes) -> v1::StageClock {
        v1::StageClock {
            stage: t.stage.into(),
            clock: t.clock.into(),
            started_at: t.started_at,
            limit_minutes: t.limit.num_minutes() as u32,
            yellow_at: Some(t.yellow_at),
            deadline: Some(t.deadline),
        }
    }

    /// The check stage a `handle` at `at` starts (only its stage and start matter here).
    fn check_from(at: DateTime<Utc>) -> v1::StageClock {
        v1::StageClock {
            stage: v1::Stage::Check,
            clock: v1::Clock::Working,
            started_at: at,
            limit_minutes: 120,
            yellow_at: Some(at + Duration::minutes(96)),
            deadline: Some(at + Duration::hours(2)),
        }
    }

    /// (`working_minutes`, `on_time`) of the handling stage `stage` ended by a `handle` at
    /// `at`.
    fn ended(cal: &WorkCalendar, stage: &StageTimes, at: DateTime<Utc>) -> (Option<i64>, bool) {
        let outcome = stage_ended(cal, Some(&clock_of(stage)), Some(&check_from(at)), at)
            .expect("the handle ends the handling stage");
        (outcome.working_minutes, outcome.on_time)
    }

    #[test]
    fn a_working_stage_used_its_limit_less_the_time_left() {
        let cal = calendar();
        // Mon 2026-11-23 09:00, 4 working hours: red at 14:30 (lunch 12:00-13:30).
        let stage = handling(
            &cal,
            Clock::Working,
            Duration::hours(4),
            bj("2026-11-23 09:00"),
        );
        assert_eq!(stage.deadline, bj("2026-11-23 14:30"));
        let table = [
            // At its deadline: exactly its limit.
            (bj("2026-11-23 14:30"), Some(240), true),
            // Early: 2 working hours left, so 2 used.
            (bj("2026-11-23 11:00"), Some(120), true),
            // Within the lunch break: the morning's 3 hours.
            (bj("2026-11-23 13:00"), Some(180), true),
            // Rounded down: 1 h 59 min 20 s left, 2 h 0 min 40 s used.
            (
                bj("2026-11-23 11:00") + Duration::seconds(40),
                Some(120),
                true,
            ),
            // Overdue into Tuesday: 3 h of Monday afternoon and 30 min of Tuesday morning
            // beyond the limit, the night not counted.
            (bj("2026-11-24 09:00"), Some(450), false),
        ];
        for (at, minutes, on_time) in table {
            assert_eq!(ended(&cal, &stage, at), (minutes, on_time), "ended at {at}");
        }
        // An extension of 2 h moves the deadline to 16:30 and the limit to 6 h.
        let extended = deadline::extend(&cal, &stage, Duration::hours(2), 0.8).expect("extend");
        assert_eq!(
            ended(&cal, &extended, bj("2026-11-23 16:30")),
            (Some(360), true)
        );
        assert_eq!(
            ended(&cal, &extended, bj("2026-11-23 11:00")),
            (Some(120), true)
        );
    }

    #[test]
    fn a_resumed_stage_counts_the_time_before_the_suspension_and_not_the_suspension() {
        let cal = calendar();
        let limit = Duration::hours(4);
        let started = handling(&cal, Clock::Working, limit, bj("2026-11-23 09:00"));
        // Suspended (挂账) after 1 working hour, Monday 10:00: 3 h left.
        let left = deadline::remaining(
            &cal,
            Clock::Working,
            started.deadline,
            bj("2026-11-23 10:00"),
        )
        .expect("left");
        assert_eq!(left, Duration::hours(3));
        // Resumed on Wednesday 14:00, with the 3 h left: red at 17:00.
        let resumed = deadline::resume(
            &cal,
            Stage::Handling,
            Clock::Working,
            limit,
            left,
            0.8,
            bj("2026-11-25 14:00"),
        )
        .expect("resume");
        assert_eq!(resumed.deadline, bj("2026-11-25 17:00"));
        // Handled an hour after the resume: 1 h before the suspension + 1 h after it. The
        // suspension's working time (Monday 10:00 to Wednesday 14:00) is not counted.
        let at = bj("2026-11-25 15:00");
        assert_eq!(ended(&cal, &resumed, at), (Some(120), true));
        assert!(cal.elapsed(started.started_at, at).expect("covered") > Duration::hours(12));
        // Overdue after the resume: the 4 h were used by 17:00, then 30 min more on
        // Wednesday and 30 min on Thursday morning.
        assert_eq!(
            ended(&cal, &resumed, bj("2026-11-26 09:00")),
            (Some(300), false)
        );
    }

    #[test]
    fn a_natural_stage_counts_only_the_working_periods_it_spanned() {
        let cal = calendar();
        // An urgent case: 24 natural hours from Monday 16:00.
        let stage = handling(
            &cal,
            Clock::Natural,
            Duration::hours(24),
            bj("2026-11-23 16:00"),
        );
        assert_eq!(stage.deadline, bj("2026-11-24 16:00"));
        // Handled on Tuesday 10:00, 18 natural hours later: Monday 16:00-17:30 and Tuesday
        // 08:30-10:00 are working time, the night is not.
        assert_eq!(
            ended(&cal, &stage, bj("2026-11-24 10:00")),
            (Some(180), true)
        );
        // Over a weekend: Friday 17:00 to Monday 09:00 is 30 + 30 min.
        let stage = handling(
            &cal,
            Clock::Natural,
            Duration::hours(72),
            bj("2026-11-20 17:00"),
        );
        assert_eq!(
            ended(&cal, &stage, bj("2026-11-23 09:00")),
            (Some(60), true)
        );
    }

    #[test]
    fn a_stage_the_calendar_does_not_cover_has_no_working_minutes_but_still_ends() {
        let cal = calendar();
        // Dispatched on Thursday 2026-12-31 09:00 with 4 working hours: red at 14:30.
        let working = handling(
            &cal,
            Clock::Working,
            Duration::hours(4),
            bj("2026-12-31 09:00"),
        );
        assert_eq!(working.deadline, bj("2026-12-31 14:30"));
        // Handled in January 2027, a year without a holiday file.
        let late = bj("2027-01-04 09:00");
        assert_eq!(ended(&cal, &working, late), (None, false));
        let natural = handling(
            &cal,
            Clock::Natural,
            Duration::hours(96),
            bj("2026-12-31 09:00"),
        );
        assert_eq!(ended(&cal, &natural, late), (None, true));
        // A calendar without the stage's year at all.
        let old = sample_calendar(&[2025]);
        assert_eq!(ended(&old, &working, bj("2026-12-31 11:00")), (None, true));
        assert_eq!(ended(&old, &natural, bj("2026-12-31 11:00")), (None, true));
        // Within the covered year the same stages have their minutes.
        assert_eq!(
            ended(&cal, &working, bj("2026-12-31 11:00")),
            (Some(120), true)
        );
    }
}
