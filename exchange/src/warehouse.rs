//! Writing what the intake accepted into the warehouse, idempotently and in each
//! district's seq order, and the commands (rejections, sync requests) that go back.

use chrono::{DateTime, Duration, Utc};
use citygrid_schemas::{self as v1, Kind};
use diesel::prelude::*;
use std::collections::{HashMap, HashSet};

use serde::Serialize;
use serde_json::{Value, json};

use crate::error::Result;
use crate::intake::validate::{Accepted, Body, Refusal};
use crate::registry::Registry;
use crate::schema::{commands, digests, districts, media, media_chunks, rejections, stream};

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

/// Queues a command for a district under the city's next seq for it.
pub fn enqueue_command<B: v1::Body + Serialize>(
    conn: &mut PgConnection,
    district: &str,
    body: B,
) -> Result<i64> {
    let seq: i64 = diesel::update(districts::table.find(district))
        .set(districts::command_seq.eq(districts::command_seq + 1))
        .returning(districts::command_seq)
        .get_result(conn)?;
    let envelope = v1::Envelope::new(district, seq as u64, Utc::now(), body);
    diesel::insert_into(commands::table)
        .values((
            commands::district.eq(district),
            commands::seq.eq(seq),
            commands::kind.eq(B::KIND.as_str()),
            commands::message.eq(serde_json::to_string(&envelope)?),
        ))
        .execute(conn)?;
    Ok(seq)
}

/// Records a refusal and, when the district is known, queues the rejection for it.
pub fn record_refusal(conn: &mut PgConnection, refusal: &Refusal) -> Result<()> {
    let r = &refusal.rejection;
    let code = serde_json::to_value(r.code)?
        .as_str()
        .unwrap_or("malformed")
        .to_owned();
    diesel::insert_into(rejections::table)
        .values((
            rejections::district.eq(&refusal.district),
            rejections::message_id.eq(&r.message_id),
            rejections::kind.eq(&r.kind),
            rejections::seq.eq(r.seq.map(|s| s as i64)),
            rejections::code.eq(code),
            rejections::message.eq(&r.message),
            rejections::field.eq(&r.field),
            rejections::dead_lettered.eq(refusal.dead_lettered),
        ))
        .execute(conn)?;
    let known = match &refusal.district {
        Some(d) => districts::table
            .find(d)
            .select(districts::code)
            .first::<String>(conn)
            .optional()?,
        None => None,
    };
    if let Some(district) = known {
        enqueue_command(conn, &district, r.as_ref().clone())?;
    }
    Ok(())
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
        for (_, item) in &chunks {
            if let Body::Chunk(chunk) = &item.body {
                diesel::insert_into(media_chunks::table)
                    .values((
                        media_chunks::sha256.eq(&chunk.sha256),
                        media_chunks::index.eq(chunk.index as i32),
                        // Checked at intake: the data is base64.
                        media_chunks::data.eq(base64_decode(&chunk.data).unwrap_or_default()),
                    ))
                    .on_conflict_do_nothing()
                    .execute(conn)?;
            }
        }
        // Chunks that come after their manifest (asked for again): the photo may be whole now.
        let mut shas: Vec<&str> = chunks
            .iter()
            .filter_map(|(_, item)| match &item.body {
                Body::Chunk(chunk) => Some(chunk.sha256.as_str()),
                _ => None,
            })
            .collect();
        shas.sort_unstable();
        shas.dedup();
        for sha in shas {
            let known: Option<(String, String, i64, String)> = media::table
                .find(sha)
                .filter(media::verified_at.is_null())
                .select((media::sha256, media::content_type, media::size_bytes, media::first_district))
                .first(conn)
                .optional()?;
            if let Some((sha256, content_type, size, district)) = known {
                let manifest = v1::MediaManifest {
                    chunks: (size.max(0) as u64).div_ceil(v1::MEDIA_CHUNK_BYTES as u64).max(1) as u32,
                    sha256,
                    content_type,
                    size_bytes: size.max(0) as u64,
                    chunk_bytes: v1::MEDIA_CHUNK_BYTES as u32,
                    case_id: uuid::Uuid::nil(),
                };
                verify_media(conn, &district, &manifest)?;
            }
        }
        let rows: Vec<_> = messages
            .iter()
            .map(|(_, item)| {
                (
                    stream::district.eq(&item.district),
                    stream::seq.eq(item.seq),
                    stream::kind.eq(item.kind.as_str()),
                    stream::message_id.eq(&item.message_id),
                    stream::envelope.eq(&item.envelope),
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
            let earlier: Value = stream::table
                .find((&item.district, item.seq))
                .select(stream::envelope)
                .first(conn)?;
            if earlier != item.envelope {
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
                        envelope: &item.envelope,
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

/// A stored stream message about to be applied.
struct Pending<'a> {
    seq: i64,
    kind: Kind,
    envelope: &'a Value,
}

/// Applies messages already in the stream, in seq order: snapshots and records with one
/// statement each, the rare kinds one by one; then marks them applied. The bodies are
/// stored as received, fields of later minor versions included.
fn apply_run(conn: &mut PgConnection, district: &str, run: &[Pending<'_>]) -> Result<()> {
    if run.is_empty() {
        return Ok(());
    }
    // One row per case, the highest version: one statement may not update a row twice.
    let mut snapshots: HashMap<&str, (u64, &Value)> = HashMap::new();
    let mut recorded = Vec::new();
    for item in run {
        let body = &item.envelope["body"];
        match item.kind {
            Kind::CaseSnapshot => {
                let case = body["case_id"].as_str().unwrap_or_default();
                let version = body["version"].as_u64().unwrap_or_default();
                if snapshots.get(case).is_none_or(|(v, _)| *v < version) {
                    snapshots.insert(case, (version, body));
                }
            }
            Kind::BusinessRecord => recorded.push(json!({ "seq": item.seq, "record": body })),
            _ => apply(conn, district, item.seq, item.kind, body)?,
        }
    }
    if !snapshots.is_empty() {
        let list: Vec<&Value> = snapshots.values().map(|(_, body)| *body).collect();
        diesel::sql_query(
            "INSERT INTO cases (district, case_id, version, state, source, urgency, category_kind, \
                category_major, category_minor, street_code, department_code, created_at, updated_at, snapshot) \
             SELECT $1, (s->>'case_id')::uuid, (s->>'version')::int, s->>'state', s->>'source', \
                s->>'urgency', s->'category'->>'kind', s->'category'->>'major', s->'category'->>'minor', \
                s->>'street_code', s->>'department_code', (s->>'created_at')::timestamptz, \
                (s->>'updated_at')::timestamptz, s \
             FROM jsonb_array_elements($2) AS s \
             ON CONFLICT (district, case_id) DO UPDATE SET version = EXCLUDED.version, \
                state = EXCLUDED.state, source = EXCLUDED.source, urgency = EXCLUDED.urgency, \
                category_kind = EXCLUDED.category_kind, category_major = EXCLUDED.category_major, \
                category_minor = EXCLUDED.category_minor, street_code = EXCLUDED.street_code, \
                department_code = EXCLUDED.department_code, created_at = EXCLUDED.created_at, \
                updated_at = EXCLUDED.updated_at, snapshot = EXCLUDED.snapshot \
             WHERE cases.version < EXCLUDED.version",
        )
        .bind::<diesel::sql_types::Text, _>(district)
        .bind::<diesel::sql_types::Jsonb, _>(serde_json::to_value(&list)?)
        .execute(conn)?;
    }
    if !recorded.is_empty() {
        diesel::sql_query(
            "INSERT INTO records (district, seq, record_id, case_id, action, at, record) \
             SELECT $1, (r->>'seq')::bigint, (r->'record'->>'record_id')::bigint, \
                (r->'record'->>'case_id')::uuid, r->'record'->>'action', \
                (r->'record'->>'at')::timestamptz, r->'record' \
             FROM jsonb_array_elements($2) AS r \
             ON CONFLICT DO NOTHING",
        )
        .bind::<diesel::sql_types::Text, _>(district)
        .bind::<diesel::sql_types::Jsonb, _>(Value::Array(recorded))
        .execute(conn)?;
    }
    let seqs: Vec<i64> = run.iter().map(|item| item.seq).collect();
    diesel::update(stream::table)
        .filter(stream::district.eq(district))
        .filter(stream::seq.eq_any(&seqs))
        .set(stream::applied.eq(true))
        .execute(conn)?;
    Ok(())
}

fn base64_decode(data: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(data).ok()
}

/// Applies messages that had waited behind a gap, from `cursor` on while they are
/// contiguous; returns the new cursor.
fn advance(conn: &mut PgConnection, district: &str, mut cursor: i64) -> Result<i64> {
    loop {
        let waiting: Vec<(i64, String, Value)> = stream::table
            .filter(stream::district.eq(district))
            .filter(stream::seq.gt(cursor))
            .filter(stream::applied.eq(false))
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
                envelope,
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

/// Applies the kinds that are neither snapshots nor records, one message at a time.
fn apply(
    conn: &mut PgConnection,
    district: &str,
    seq: i64,
    kind: Kind,
    body: &Value,
) -> Result<()> {
    match kind {
        Kind::MediaManifest => {
            let m: v1::MediaManifest = serde_json::from_value(body.clone())?;
            diesel::insert_into(media::table)
                .values((
                    media::sha256.eq(&m.sha256),
                    media::content_type.eq(&m.content_type),
                    media::size_bytes.eq(m.size_bytes as i64),
                    media::first_district.eq(district),
                ))
                .on_conflict_do_nothing()
                .execute(conn)?;
            verify_media(conn, district, &m)?;
        }
        Kind::ReconciliationDigest => {
            let d: v1::ReconciliationDigest = serde_json::from_value(body.clone())?;
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
        // Supervision acknowledgements are kept in the stream; nothing else to apply.
        _ => {}
    }
    Ok(())
}

/// Assembles a photo from its chunks once all are there; a photo whose bytes do not
/// match its manifest is reported to the district.
fn verify_media(conn: &mut PgConnection, district: &str, m: &v1::MediaManifest) -> Result<()> {
    let done: Option<Option<DateTime<Utc>>> = media::table
        .find(&m.sha256)
        .select(media::verified_at)
        .first(conn)
        .optional()?;
    if matches!(done, Some(Some(_))) {
        return Ok(());
    }
    let chunks: Vec<(i32, Vec<u8>)> = media_chunks::table
        .filter(media_chunks::sha256.eq(&m.sha256))
        .order(media_chunks::index.asc())
        .select((media_chunks::index, media_chunks::data))
        .load(conn)?;
    if chunks.len() < m.chunks as usize {
        return Ok(());
    }
    let bytes: Vec<u8> = chunks.into_iter().flat_map(|(_, d)| d).collect();
    if bytes.len() as u64 != m.size_bytes || v1::sha256_hex(&bytes) != m.sha256 {
        return record_refusal(
            conn,
            &Refusal {
                district: Some(district.to_owned()),
                dead_lettered: false,
                rejection: Box::new(v1::Rejection {
                    message_id: None,
                    kind: Some("media_manifest".into()),
                    seq: None,
                    code: v1::RejectionCode::MediaMismatch,
                    message: format!("the chunks of {} do not add up to its manifest", m.sha256),
                    field: None,
                }),
            },
        );
    }
    diesel::update(media::table.find(&m.sha256))
        .set((media::bytes.eq(bytes), media::verified_at.eq(Utc::now())))
        .execute(conn)?;
    diesel::delete(media_chunks::table.filter(media_chunks::sha256.eq(&m.sha256))).execute(conn)?;
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
            .for_update()
            .load(conn)?;
        let mut asked = Vec::new();
        for (district, cursor, last_asked) in rows {
            if last_asked.is_some_and(|t| t > now - gap) {
                continue;
            }
            let first_waiting: Option<(i64, DateTime<Utc>)> = stream::table
                .filter(stream::district.eq(&district))
                .filter(stream::applied.eq(false))
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

/// Photos announced longer than `gap` ago whose bytes have not arrived: asks each district
/// for them again (at most 50 a request), at most once per `gap` per photo.
pub fn request_missing_media(conn: &mut PgConnection, gap: Duration) -> Result<usize> {
    conn.transaction(|conn| {
        let now = Utc::now();
        let due: Vec<(String, String)> = media::table
            .filter(media::verified_at.is_null())
            .filter(media::announced_at.lt(now - gap))
            .filter(
                media::requested_at
                    .is_null()
                    .or(media::requested_at.lt(now - gap)),
            )
            .order(media::announced_at.asc())
            .limit(500)
            .select((media::first_district, media::sha256))
            .for_update()
            .skip_locked()
            .load(conn)?;
        let mut by_district: HashMap<String, Vec<String>> = HashMap::new();
        for (district, sha) in &due {
            by_district
                .entry(district.clone())
                .or_default()
                .push(sha.clone());
        }
        let mut districts: Vec<_> = by_district.into_iter().collect();
        districts.sort();
        for (district, shas) in districts {
            for part in shas.chunks(50) {
                enqueue_command(
                    conn,
                    &district,
                    v1::MediaRequest {
                        sha256: part.to_vec(),
                    },
                )?;
            }
        }
        let shas: Vec<&String> = due.iter().map(|(_, sha)| sha).collect();
        diesel::update(media::table.filter(media::sha256.eq_any(&shas)))
            .set(media::requested_at.eq(now))
            .execute(conn)?;
        Ok(due.len())
    })
}

/// Commands not yet confirmed by the broker, oldest first.
pub fn unsent_commands(
    conn: &mut PgConnection,
    limit: i64,
) -> Result<Vec<(String, i64, String, String)>> {
    Ok(commands::table
        .filter(commands::sent_at.is_null())
        .order((commands::created_at.asc(), commands::seq.asc()))
        .limit(limit)
        .select((
            commands::district,
            commands::seq,
            commands::kind,
            commands::message,
        ))
        .load(conn)?)
}

pub fn mark_command_sent(conn: &mut PgConnection, district: &str, seq: i64) -> Result<()> {
    diesel::update(commands::table.find((district, seq)))
        .set(commands::sent_at.eq(Utc::now()))
        .execute(conn)?;
    Ok(())
}

/// Where one district's stream stands in the warehouse.
#[derive(Debug, Clone, Serialize, QueryableByName)]
pub struct DistrictStatus {
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub district: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub name: String,
    /// Every seq up to here is applied.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub last_contiguous_seq: i64,
    /// Messages received ahead of a gap, waiting for it to be filled.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub waiting: i64,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>)]
    pub last_received_at: Option<DateTime<Utc>>,
    /// Seconds between the newest applied message's `sent_at` and its arrival.
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Double>)]
    pub lag_seconds: Option<f64>,
    /// Stream messages received in the last minute, per second.
    #[diesel(sql_type = diesel::sql_types::Double)]
    pub messages_per_second: f64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub cases: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub records: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub media_verified: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub rejections: i64,
    /// Refused deliveries sent to the dead-letter queue.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub dead_letters: i64,
    /// The newest compared digest: its day and whether the warehouse matched.
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Date>)]
    pub last_digest_day: Option<chrono::NaiveDate>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Bool>)]
    pub last_digest_matches: Option<bool>,
}

/// Every district's stream status.
pub fn status(conn: &mut PgConnection) -> Result<Vec<DistrictStatus>> {
    Ok(diesel::sql_query(
        "SELECT d.code AS district, d.name, d.cursor AS last_contiguous_seq, \
            (SELECT count(*) FROM stream s WHERE s.district = d.code AND NOT s.applied) AS waiting, \
            d.last_received_at, \
            (SELECT extract(epoch FROM s.received_at - (s.envelope->>'sent_at')::timestamptz)::float8 \
               FROM stream s WHERE s.district = d.code AND s.seq = d.cursor) AS lag_seconds, \
            (SELECT count(*) FROM stream s WHERE s.district = d.code \
               AND s.received_at > now() - interval '1 minute')::float8 / 60 AS messages_per_second, \
            (SELECT count(*) FROM cases c WHERE c.district = d.code) AS cases, \
            (SELECT count(*) FROM records r WHERE r.district = d.code) AS records, \
            (SELECT count(*) FROM media m WHERE m.first_district = d.code AND m.verified_at IS NOT NULL) AS media_verified, \
            (SELECT count(*) FROM rejections j WHERE j.district = d.code) AS rejections, \
            (SELECT count(*) FROM rejections j WHERE j.district = d.code AND j.dead_lettered) AS dead_letters, \
            g.day AS last_digest_day, g.matches AS last_digest_matches \
         FROM districts d LEFT JOIN LATERAL ( \
            SELECT day, matches FROM digests WHERE district = d.code AND compared_at IS NOT NULL \
            ORDER BY day DESC, seq DESC LIMIT 1) g ON TRUE \
         ORDER BY d.code",
    )
    .load(conn)?)
}
