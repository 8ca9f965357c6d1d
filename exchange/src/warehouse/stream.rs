//! A district's stream in the warehouse: registering districts, storing a batch of
//! accepted messages and applying them in seq order (snapshots, records, the rare kinds),
//! each district's cursor, and asking a district to fill a gap that does not close.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use citygrid_schemas::{self as v1, Kind};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::serialize::{IsNull, Output, ToSql};
use diesel::sql_types::{Array, BigInt, Jsonb, Text};
use serde_json::Value;

use super::commands::{enqueue_command, record_refusal};
use super::media;
use crate::error::Result;
use crate::intake::validate::{Accepted, Body, Refusal};
use crate::registry::Registry;
use crate::schema::{digests, districts, stream};

/// Registers the city's districts (code, name, broker user); keeps cursors of known ones.
pub fn register_districts(conn: &mut PgConnection, registry: &Registry) -> Result<()> {
    for d in registry.iter() {
        diesel::insert_into(districts::table)
            .values((
                districts::code.eq(&d.code),
                districts::name.eq(&d.name),
                districts::broker_user.eq(&d.broker_user),
            ))
            .on_conflict(districts::code)
            .do_update()
            .set((
                districts::name.eq(&d.name),
                districts::broker_user.eq(&d.broker_user),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// A JSON document as received, written to a `jsonb` column as it is: the intake parsed
/// it once into typed values to check it, PostgreSQL parses it once to store it, and
/// nothing re-serialises it in between.
#[derive(Debug, diesel::AsExpression)]
#[diesel(sql_type = Jsonb)]
pub struct RawJson<'a>(pub &'a [u8]);

impl ToSql<Jsonb, Pg> for RawJson<'_> {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> diesel::serialize::Result {
        // jsonb's binary input: a version byte, then the JSON text.
        std::io::Write::write_all(out, &[1])?;
        std::io::Write::write_all(out, self.0)?;
        Ok(IsNull::No)
    }
}

/// Accepted messages with their position in the batch.
type Indexed<'a> = Vec<(usize, &'a Accepted)>;

/// Stores accepted messages (one transaction with the refusals), then applies every
/// district's contiguous run. Returns, by position in `items`, the messages that conflict
/// with what was received before under the same seq: those are refused too.
///
/// Written for throughput: one multi-row insert for the stream, and the contiguous run of
/// the batch applied from memory with one statement per table; only messages that had
/// waited behind a gap are read back from the stream.
pub fn store(
    conn: &mut PgConnection,
    items: &[Accepted],
    refusals: &[Refusal],
) -> Result<Vec<(usize, Refusal)>> {
    conn.transaction(|conn| {
        // Lock the districts of this batch first, in code order: a second intake (a
        // standby, or a process not yet dead) then waits here instead of deadlocking on
        // the stream rows.
        let mut codes: Vec<&str> = items
            .iter()
            .map(|i| i.district.as_str())
            .chain(refusals.iter().filter_map(|r| r.district.as_deref()))
            .collect();
        codes.sort_unstable();
        codes.dedup();
        let cursors: HashMap<String, i64> = districts::table
            .filter(districts::code.eq_any(&codes))
            .order(districts::code.asc())
            .select((districts::code, districts::cursor))
            .for_update()
            .load::<(String, i64)>(conn)?
            .into_iter()
            .collect();
        for refusal in refusals {
            record_refusal(conn, refusal)?;
        }
        let (chunks, messages): (Indexed<'_>, Indexed<'_>) = items
            .iter()
            .enumerate()
            .partition(|(_, item)| matches!(item.body, Body::Chunk(_)));
        let chunks: Vec<&v1::MediaChunk> = chunks
            .iter()
            .filter_map(|(_, item)| match &item.body {
                Body::Chunk(chunk) => Some(chunk),
                _ => None,
            })
            .collect();
        media::store_chunks(conn, &chunks)?;
        let rows: Vec<_> = messages
            .iter()
            .map(|(_, item)| {
                (
                    stream::district.eq(&item.district),
                    stream::seq.eq(item.seq),
                    stream::kind.eq(item.kind.as_str()),
                    stream::message_id.eq(&item.message_id),
                    stream::envelope.eq(RawJson(&item.raw)),
                )
            })
            .collect();
        let inserted: HashSet<(String, i64)> = if rows.is_empty() {
            HashSet::new()
        } else {
            diesel::insert_into(stream::table)
                .values(&rows)
                .on_conflict_do_nothing()
                .returning((stream::district, stream::seq))
                .get_results::<(String, i64)>(conn)?
                .into_iter()
                .collect()
        };
        let mut conflicts = Vec::new();
        let mut fresh: HashMap<&str, Vec<&Accepted>> = HashMap::new();
        for (i, item) in &messages {
            if inserted.contains(&(item.district.clone(), item.seq)) {
                fresh.entry(item.district.as_str()).or_default().push(item);
                continue;
            }
            let same: bool = stream::table
                .find((&item.district, item.seq))
                .select(stream::envelope.eq(RawJson(&item.raw)))
                .first(conn)?;
            if !same {
                let refusal = Refusal {
                    district: Some(item.district.clone()),
                    dead_lettered: true,
                    rejection: Box::new(v1::Rejection {
                        message_id: item.message_id.clone(),
                        kind: Some(item.kind.as_str().to_owned()),
                        seq: Some(item.seq as u64),
                        code: v1::RejectionCode::Conflict,
                        message: format!(
                            "seq {} was received before with different content; the first one stands",
                            item.seq
                        ),
                        field: None,
                    }),
                };
                record_refusal(conn, &refusal)?;
                conflicts.push((*i, refusal));
            }
        }
        let now = Utc::now();
        for code in codes {
            let Some(&start) = cursors.get(code) else {
                continue;
            };
            let mut batch = fresh.remove(code).unwrap_or_default();
            batch.sort_by_key(|item| item.seq);
            // The batch's contiguous run from the cursor, and any replay of a message the
            // warehouse had lost below it (found by reconciliation): applying is idempotent.
            let mut cursor = start;
            let mut run = Vec::new();
            for item in batch {
                let below = item.seq <= start;
                if below || item.seq == cursor + 1 {
                    cursor = cursor.max(item.seq);
                    run.push(Pending {
                        seq: item.seq,
                        kind: item.kind,
                        body: Some(Cow::Borrowed(&item.body)),
                    });
                }
            }
            apply_run(conn, code, &run)?;
            let cursor = advance(conn, code, cursor)?;
            diesel::update(districts::table.find(code))
                .set((
                    districts::cursor.eq(cursor),
                    districts::last_received_at.eq(now),
                ))
                .execute(conn)?;
        }
        Ok(conflicts)
    })
}

/// A stored stream message about to be applied. Snapshots and records are applied from
/// the stream rows themselves; the rare kinds need their typed body.
struct Pending<'a> {
    seq: i64,
    kind: Kind,
    body: Option<Cow<'a, Body>>,
}

/// Applies messages already in the stream, in seq order: snapshots and records with one
/// statement each, straight from the stored rows (PostgreSQL reads the fields out of the
/// jsonb it holds; nothing is sent twice), the rare kinds one by one. A message counts as
/// applied once the district's cursor has passed it. The bodies are stored as received,
/// fields of later minor versions included.
fn apply_run(conn: &mut PgConnection, district: &str, run: &[Pending<'_>]) -> Result<()> {
    if run.is_empty() {
        return Ok(());
    }
    let seqs_of = |kind: Kind| -> Vec<i64> {
        run.iter()
            .filter(|item| item.kind == kind)
            .map(|item| item.seq)
            .collect()
    };
    let (snapshots, records) = (seqs_of(Kind::CaseSnapshot), seqs_of(Kind::BusinessRecord));
    for item in run {
        if let Some(body) = &item.body {
            apply(conn, district, item.seq, body)?;
        }
    }
    if !snapshots.is_empty() {
        // One row per case, the highest version: one statement may not update a row twice.
        // A category without `edition` is of GB/T 30428.2 (v1); its counterpart in the
        // city's compare edition comes from category_map (warehouse::catalogue).
        diesel::sql_query(
            "INSERT INTO cases (district, case_id, version, state, source, urgency, category_kind, \
                category_major, category_minor, category_edition, category_compared, street_code, \
                community_code, cell_code, department_code, created_at, updated_at, snapshot) \
             SELECT DISTINCT ON (case_id) $1, case_id, version, s->>'state', s->>'source', \
                s->>'urgency', c->>'kind', c->>'major', c->>'minor', edition, \
                (SELECT compared FROM category_map m WHERE m.edition = body.edition \
                    AND m.kind = c->>'kind' AND m.code = (c->>'major') || (c->>'minor')), \
                s->>'street_code', s->>'community_code', s->>'cell_code', s->>'department_code', \
                (s->>'created_at')::timestamptz, \
                (s->>'updated_at')::timestamptz, s \
             FROM (SELECT envelope->'body' AS s, envelope->'body'->'category' AS c, \
                          CASE WHEN envelope->'body'->'category'->>'kind' IS NOT NULL THEN \
                              COALESCE(envelope->'body'->'category'->>'edition', 'GB/T 30428.2-2013') \
                          END AS edition, \
                          (envelope->'body'->>'case_id')::uuid AS case_id, \
                          (envelope->'body'->>'version')::int AS version \
                   FROM stream WHERE district = $1 AND seq = ANY($2)) AS body \
             ORDER BY case_id, version DESC \
             ON CONFLICT (district, case_id) DO UPDATE SET version = EXCLUDED.version, \
                state = EXCLUDED.state, source = EXCLUDED.source, urgency = EXCLUDED.urgency, \
                category_kind = EXCLUDED.category_kind, category_major = EXCLUDED.category_major, \
                category_minor = EXCLUDED.category_minor, \
                category_edition = EXCLUDED.category_edition, \
                category_compared = EXCLUDED.category_compared, street_code = EXCLUDED.street_code, \
                community_code = EXCLUDED.community_code, cell_code = EXCLUDED.cell_code, \
                department_code = EXCLUDED.department_code, created_at = EXCLUDED.created_at, \
                updated_at = EXCLUDED.updated_at, snapshot = EXCLUDED.snapshot \
             WHERE cases.version < EXCLUDED.version",
        )
        .bind::<Text, _>(district)
        .bind::<Array<BigInt>, _>(&snapshots)
        .execute(conn)?;
    }
    if !records.is_empty() {
        diesel::sql_query(
            "INSERT INTO records (district, seq, record_id, case_id, action, at, record) \
             SELECT $1, seq, (envelope->'body'->>'record_id')::bigint, \
                (envelope->'body'->>'case_id')::uuid, envelope->'body'->>'action', \
                (envelope->'body'->>'at')::timestamptz, envelope->'body' \
             FROM stream WHERE district = $1 AND seq = ANY($2) \
             ON CONFLICT DO NOTHING",
        )
        .bind::<Text, _>(district)
        .bind::<Array<BigInt>, _>(&records)
        .execute(conn)?;
        crate::referrals::take_in(conn, district, &records)?;
    }
    Ok(())
}

/// Applies messages that had waited behind a gap, from `cursor` on while they are
/// contiguous; returns the new cursor.
fn advance(conn: &mut PgConnection, district: &str, mut cursor: i64) -> Result<i64> {
    loop {
        let waiting: Vec<(i64, String, Value)> = stream::table
            .filter(stream::district.eq(district))
            .filter(stream::seq.gt(cursor))
            .order(stream::seq.asc())
            .limit(500)
            .select((stream::seq, stream::kind, stream::envelope))
            .load(conn)?;
        let n = waiting.len();
        let before = cursor;
        let mut run = Vec::new();
        for (seq, kind, envelope) in &waiting {
            let Some(kind) = Kind::parse(kind).filter(|_| *seq == cursor + 1) else {
                break;
            };
            run.push(Pending {
                seq: *seq,
                kind,
                body: rare_body(kind, envelope)?.map(Cow::Owned),
            });
            cursor = *seq;
        }
        apply_run(conn, district, &run)?;
        if n < 500 || cursor == before {
            break;
        }
    }
    Ok(cursor)
}

/// The typed body of a stored message of a rare kind (read back after waiting behind a
/// gap); snapshots and records are applied from the stored row and need none.
fn rare_body(kind: Kind, envelope: &Value) -> Result<Option<Body>> {
    let body = envelope["body"].clone();
    Ok(match kind {
        Kind::MediaManifest => Some(Body::Manifest(serde_json::from_value(body)?)),
        Kind::ReconciliationDigest => Some(Body::Digest(serde_json::from_value(body)?)),
        Kind::SupervisionAck => Some(Body::Ack(serde_json::from_value(body)?)),
        _ => None,
    })
}

/// Applies the kinds that are neither snapshots nor records, one message at a time.
fn apply(conn: &mut PgConnection, district: &str, seq: i64, body: &Body) -> Result<()> {
    match body {
        Body::Manifest(m) => media::store_manifest(conn, district, seq, m)?,
        Body::Digest(d) => {
            diesel::insert_into(digests::table)
                .values((
                    digests::district.eq(district),
                    digests::seq.eq(seq),
                    digests::day.eq(d.day),
                    digests::up_to_seq.eq(d.up_to_seq as i64),
                    digests::cases.eq(d.cases as i64),
                    digests::sha256.eq(&d.sha256),
                ))
                .on_conflict_do_nothing()
                .execute(conn)?;
        }
        Body::Ack(a) => crate::escalation::orders::acknowledge(conn, district, a)?,
        // Snapshots and records are applied from the stream; chunks are stored before it.
        Body::Snapshot(_) | Body::Record(_) | Body::Chunk(_) => {}
    }
    Ok(())
}

/// Districts whose stream has had a gap for longer than `gap`: asks each to send again
/// from its cursor up to the first message waiting, at most once per `gap`.
pub fn request_missing(conn: &mut PgConnection, gap: Duration) -> Result<Vec<(String, u64, u64)>> {
    conn.transaction(|conn| {
        let now = Utc::now();
        let rows: Vec<(String, i64, Option<DateTime<Utc>>)> = districts::table
            .select((
                districts::code,
                districts::cursor,
                districts::last_sync_request_at,
            ))
            .order(districts::code.asc())
            // A district whose row another transaction holds (a month's run queueing its
            // notices, a command being queued) is looked at on the next tick: waiting
            // here could close a cycle with it.
            .for_update()
            .skip_locked()
            .load(conn)?;
        let mut asked = Vec::new();
        for (district, cursor, last_asked) in rows {
            if last_asked.is_some_and(|t| t > now - gap) {
                continue;
            }
            let first_waiting: Option<(i64, DateTime<Utc>)> = stream::table
                .filter(stream::district.eq(&district))
                .filter(stream::seq.gt(cursor))
                .order(stream::seq.asc())
                .select((stream::seq, stream::received_at))
                .first(conn)
                .optional()?;
            let Some((first, received_at)) = first_waiting else {
                continue;
            };
            if first <= cursor + 1 || received_at > now - gap {
                continue;
            }
            let (from, to) = ((cursor + 1) as u64, (first - 1) as u64);
            enqueue_command(
                conn,
                &district,
                v1::SyncRequest {
                    request_id: uuid::Uuid::new_v4(),
                    from_seq: from,
                    to_seq: Some(to),
                },
            )?;
            diesel::update(districts::table.find(&district))
                .set(districts::last_sync_request_at.eq(now))
                .execute(conn)?;
            asked.push((district, from, to));
        }
        Ok(asked)
    })
}
