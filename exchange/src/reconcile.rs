//! Reconciliation (对账): comparing each district's daily digest with what the warehouse
//! holds. The warehouse side is computed from the stored stream itself — for the cases
//! created on that day, the newest snapshot among the messages up to the digest's
//! `up_to_seq` — so it compares like with like however far the stream has moved on.
//! A day that differs is asked for again (a sync request from seq 1 up to `up_to_seq`;
//! replays are idempotent, and a replayed message the warehouse lacked below its cursor
//! is applied when it arrives).

use chrono::{DateTime, NaiveDate, Utc};
use citygrid_schemas as v1;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Text, Timestamptz};
use serde::Serialize;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::registry::Registry;
use crate::schema::{digests, districts};
use crate::warehouse;

/// One digest compared.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub district: String,
    pub day: NaiveDate,
    pub up_to_seq: i64,
    pub district_cases: i64,
    /// None while the warehouse has not reached `up_to_seq` yet.
    pub city_cases: Option<i64>,
    pub matches: Option<bool>,
}

#[derive(QueryableByName)]
struct Pair {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: Uuid,
    #[diesel(sql_type = Integer)]
    version: i32,
}

/// The warehouse's digest of a district's day as of `up_to_seq`.
pub fn city_digest(
    conn: &mut PgConnection,
    district: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    up_to_seq: i64,
) -> Result<(i64, String)> {
    let pairs: Vec<Pair> = diesel::sql_query(
        "SELECT (envelope->'body'->>'case_id')::uuid AS id, \
                max((envelope->'body'->>'version')::int) AS version \
         FROM stream \
         WHERE district = $1 AND kind = 'case_snapshot' AND seq <= $2 \
           AND (envelope->'body'->>'created_at')::timestamptz >= $3 \
           AND (envelope->'body'->>'created_at')::timestamptz < $4 \
         GROUP BY 1",
    )
    .bind::<Text, _>(district)
    .bind::<BigInt, _>(up_to_seq)
    .bind::<Timestamptz, _>(from)
    .bind::<Timestamptz, _>(to)
    .load(conn)?;
    let pairs: Vec<(Uuid, u32)> = pairs
        .into_iter()
        .map(|p| (p.id, p.version.max(0) as u32))
        .collect();
    Ok((pairs.len() as i64, v1::digest_hash(&pairs)))
}

/// Compares the latest digest of each (district, day) — all of them, or the ones asked
/// for — that the warehouse can compare now, records the result, and asks for a resync
/// of any day that differs. `recheck` compares again digests compared before.
pub fn reconcile(
    conn: &mut PgConnection,
    registry: &Registry,
    district: Option<&str>,
    day: Option<NaiveDate>,
    recheck: bool,
) -> Result<Vec<Outcome>> {
    conn.transaction(|conn| {
        let mut query = digests::table
            .inner_join(districts::table)
            .select((
                digests::district,
                digests::seq,
                digests::day,
                digests::up_to_seq,
                digests::cases,
                digests::sha256,
                digests::compared_at,
                districts::cursor,
            ))
            .order((digests::district.asc(), digests::day.asc(), digests::seq.desc()))
            .into_boxed();
        if let Some(d) = district {
            query = query.filter(digests::district.eq(d.to_owned()));
        }
        if let Some(day) = day {
            query = query.filter(digests::day.eq(day));
        }
        if !recheck {
            query = query.filter(digests::compared_at.is_null());
        }
        type Row = (String, i64, NaiveDate, i64, i64, String, Option<DateTime<Utc>>, i64);
        let rows: Vec<Row> = query.load(conn)?;
        let mut outcomes: Vec<Outcome> = Vec::new();
        for (code, seq, day, up_to, cases, sha256, compared, cursor) in rows {
            // Only the newest digest of a day counts.
            if outcomes.last().is_some_and(|o| o.district == code && o.day == day) {
                continue;
            }
            let mut outcome = Outcome {
                district: code.clone(),
                day,
                up_to_seq: up_to,
                district_cases: cases,
                city_cases: None,
                matches: None,
            };
            let Some(registered) = registry.get(&code) else {
                outcomes.push(outcome);
                continue;
            };
            if cursor >= up_to && (recheck || compared.is_none()) {
                let (from, to) = v1::day_bounds(&registered.time_zone, day).ok_or_else(|| Error::Internal(format!("no local day {day} in {}", registered.time_zone)))?;
                let (city_cases, city_sha) = city_digest(conn, &code, from, to, up_to)?;
                let matches = city_cases == cases && city_sha == sha256;
                diesel::update(digests::table.find((&code, seq)))
                    .set((
                        digests::compared_at.eq(Utc::now()),
                        digests::city_cases.eq(city_cases),
                        digests::city_sha256.eq(&city_sha),
                        digests::matches.eq(matches),
                    ))
                    .execute(conn)?;
                if !matches {
                    tracing::warn!(district = %code, %day, cases, city_cases, "reconciliation differs; resync requested");
                    warehouse::enqueue_command(
                        conn,
                        &code,
                        v1::SyncRequest {
                            request_id: Uuid::new_v4(),
                            from_seq: 1,
                            to_seq: Some(up_to as u64),
                        },
                    )?;
                }
                outcome.city_cases = Some(city_cases);
                outcome.matches = Some(matches);
            } else if compared.is_some() {
                let (city_cases, matches): (Option<i64>, Option<bool>) = digests::table
                    .find((&code, seq))
                    .select((digests::city_cases, digests::matches))
                    .first(conn)?;
                outcome.city_cases = city_cases;
                outcome.matches = matches;
            }
            outcomes.push(outcome);
        }
        Ok(outcomes)
    })
}
