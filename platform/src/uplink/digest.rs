//! Daily reconciliation digests (日对账摘要): for one local day, the cases created that day
//! with their versions as of a given outbox seq, hashed, so the city can prove its copy
//! equals the district's without comparing case by case.
//!
//! The digest is computed while holding the outbox counter's row lock: no change can commit
//! in between, so the versions read are exactly those of `up_to_seq`, and the city can
//! compute the same from the messages it holds up to that seq.

use chrono::{NaiveDate, Utc};
use chrono_tz::Tz;
use citygrid_schemas as v1;
use diesel::prelude::*;
use uuid::Uuid;

use super::outbox;
use crate::db::{self, DbPool};
use crate::error::{Error, Result};
use crate::schema::{cases, digests, outbox_counter};

/// Writes the digest of `day` into the outbox (and remembers it). Redoing a day sends a
/// new digest with a newer `up_to_seq`.
pub fn publish_day(
    conn: &mut PgConnection,
    district: &str,
    zone: Tz,
    day: NaiveDate,
) -> Result<v1::ReconciliationDigest> {
    let (from, to) = v1::day_bounds(&zone, day)
        .ok_or_else(|| Error::internal(format!("no local day {day} in {zone}")))?;
    conn.transaction(|conn| {
        let up_to: i64 = outbox_counter::table
            .select(outbox_counter::last_seq)
            .for_update()
            .first(conn)?;
        let pairs: Vec<(Uuid, i32)> = cases::table
            .filter(cases::created_at.ge(from))
            .filter(cases::created_at.lt(to))
            .select((cases::id, cases::version))
            .load(conn)?;
        let pairs: Vec<(Uuid, u32)> = pairs
            .into_iter()
            .map(|(id, v)| (id, v.max(0) as u32))
            .collect();
        let digest = v1::ReconciliationDigest {
            day,
            cases: pairs.len() as u64,
            sha256: v1::digest_hash(&pairs),
            up_to_seq: up_to as u64,
        };
        outbox::append(
            conn,
            district,
            Utc::now(),
            vec![outbox::pending(&digest, None)?],
        )?;
        diesel::insert_into(digests::table)
            .values((
                digests::day.eq(day),
                digests::cases.eq(digest.cases as i64),
                digests::sha256.eq(&digest.sha256),
                digests::up_to_seq.eq(up_to),
                digests::seq.eq(up_to + 1),
            ))
            .on_conflict(digests::day)
            .do_update()
            .set((
                digests::cases.eq(digest.cases as i64),
                digests::sha256.eq(&digest.sha256),
                digests::up_to_seq.eq(up_to),
                digests::seq.eq(up_to + 1),
                digests::created_at.eq(Utc::now()),
            ))
            .execute(conn)?;
        Ok(digest)
    })
}

/// Writes every day's digest not yet written, up to yesterday (the days missed while the
/// instance was down included); the number written.
fn catch_up(conn: &mut PgConnection, district: &str, zone: Tz) -> Result<usize> {
    let today = Utc::now().with_timezone(&zone).date_naive();
    let Some(yesterday) = today.pred_opt() else {
        return Ok(0);
    };
    let last: Option<NaiveDate> = digests::table
        .select(diesel::dsl::max(digests::day))
        .first(conn)?;
    let mut day = last.and_then(|d| d.succ_opt()).unwrap_or(yesterday);
    let mut sent = 0;
    while day <= yesterday {
        publish_day(conn, district, zone, day)?;
        sent += 1;
        match day.succ_opt() {
            Some(next) => day = next,
            None => break,
        }
    }
    Ok(sent)
}

/// Sends yesterday's digest once the local day is over: at start, then five minutes into
/// every local hour (tokio-cron-scheduler), so the day's digest leaves at 00:05 and a
/// failed attempt is retried within the hour.
pub async fn run_daily(pool: DbPool, district: String, zone: Tz) {
    let tick = move || {
        let (pool, district) = (pool.clone(), district.clone());
        async move {
            let name = district.clone();
            match db::run(&pool, move |conn| catch_up(conn, &name, zone)).await {
                Ok(0) => {}
                Ok(sent) => {
                    tracing::info!(district = %district, sent, "reconciliation digests written")
                }
                Err(e) => {
                    tracing::warn!(district = %district, error = %e, "reconciliation digest failed")
                }
            }
        }
    };
    citygrid_kit::schedule::every("reconciliation digest", zone, &["0 5 * * * *"], tick).await;
}
