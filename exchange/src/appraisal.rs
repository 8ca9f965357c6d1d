//! The city's appraisal of its districts (综合评价, docs/APPRAISAL.md): the warehouse as it
//! stood at the period's end — each case's newest applied snapshot sent before the cut-off
//! and its business records before it — through the shared engine (citygrid-appraisal).
//! Later steps of a case never change an appraised period, so appraising it again gives
//! the same input digest.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use citygrid_appraisal::{Appraisal, CaseFacts, Config, Level, Period, Request, Size};
use citygrid_schemas as v1;
use diesel::prelude::*;
use diesel::sql_types::{Jsonb, Text, Timestamptz};

use crate::error::{Error, Result};
use crate::registry::Registry;

/// The levels the city appraises at.
pub const CITY_LEVELS: [Level; 2] = [Level::District, Level::Category];

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = Text)]
    district: String,
    #[diesel(sql_type = Jsonb)]
    body: serde_json::Value,
}

/// Each case's newest snapshot applied to the warehouse (`seq` up to the district's
/// cursor) whose `updated_at` is before `cutoff`, and the records before it, as facts.
pub fn facts(conn: &mut PgConnection, cutoff: DateTime<Utc>) -> Result<Vec<CaseFacts>> {
    let snapshots: Vec<Row> = diesel::sql_query(
        "SELECT DISTINCT ON (s.district, s.envelope->'body'->>'case_id') \
                s.district, s.envelope->'body' AS body \
           FROM stream s JOIN districts d ON d.code = s.district \
          WHERE s.kind = 'case_snapshot' AND s.seq <= d.cursor \
            AND (s.envelope->'body'->>'updated_at')::timestamptz < $1 \
          ORDER BY s.district, s.envelope->'body'->>'case_id', \
                   (s.envelope->'body'->>'version')::int DESC",
    )
    .bind::<Timestamptz, _>(cutoff)
    .load(conn)?;
    let records: Vec<Row> = diesel::sql_query(
        "SELECT district, record AS body FROM records WHERE at < $1 \
          ORDER BY district, case_id, record_id",
    )
    .bind::<Timestamptz, _>(cutoff)
    .load(conn)?;
    let mut by_case: BTreeMap<(String, uuid::Uuid), Vec<v1::BusinessRecord>> = BTreeMap::new();
    for row in records {
        let record: v1::BusinessRecord = serde_json::from_value(row.body)?;
        by_case
            .entry((row.district, record.case_id))
            .or_default()
            .push(record);
    }
    snapshots
        .into_iter()
        .map(|row| {
            let snapshot: v1::CaseSnapshot = serde_json::from_value(row.body)?;
            let records = by_case
                .remove(&(row.district.clone(), snapshot.case_id))
                .unwrap_or_default();
            Ok(CaseFacts::of(&row.district, &snapshot, &records))
        })
        .collect()
}

/// Districts whose stream is not known complete up to `cutoff`: none of their
/// reconciliation digests for the period's last local day or later is applied (its
/// `up_to_seq` within the cursor) and not found different. A district's digest of a day
/// is sent once that day is over, so everything before it is in the warehouse.
pub fn incomplete(
    conn: &mut PgConnection,
    registry: &Registry,
    last_day: chrono::NaiveDate,
) -> Result<BTreeSet<String>> {
    use crate::schema::{digests, districts};
    let complete: Vec<String> = digests::table
        .inner_join(districts::table)
        .filter(digests::day.ge(last_day))
        .filter(digests::up_to_seq.le(districts::cursor))
        .filter(digests::matches.is_distinct_from(Some(false)))
        .select(digests::district)
        .distinct()
        .load(conn)?;
    Ok(registry
        .iter()
        .map(|d| d.code.clone())
        .filter(|code| !complete.contains(code))
        .collect())
}

/// Appraises `period` at `level` as of `now` (a running period is appraised as far as it
/// has gone, and every district is incomplete for it).
pub fn appraise(
    conn: &mut PgConnection,
    registry: &Registry,
    zone: chrono_tz::Tz,
    config: &Config,
    period: Period,
    level: Level,
    now: DateTime<Utc>,
) -> Result<Appraisal> {
    if !CITY_LEVELS.contains(&level) {
        return Err(Error::Config(format!(
            "the city appraises by district or category, not {level}: a district appraises its {level}s"
        )));
    }
    let (_, end) = period.bounds(zone);
    let cutoff = now.min(end);
    let last_day = (end - chrono::Duration::seconds(1))
        .with_timezone(&zone)
        .date_naive();
    // Only the ranking of districts asks whether each district's stream is complete.
    let incomplete = match level {
        Level::District => incomplete(conn, registry, last_day)?,
        _ => BTreeSet::new(),
    };
    let sizes: BTreeMap<String, Size> = match level {
        Level::District => registry
            .iter()
            .map(|d| {
                let size = Size {
                    population: d.population,
                    area_km2: d.area_km2,
                };
                (d.code.clone(), size)
            })
            .collect(),
        _ => BTreeMap::new(),
    };
    let facts = facts(conn, cutoff)?;
    let appraisal = citygrid_appraisal::appraise(
        &facts,
        &Request {
            period,
            zone,
            level,
            config,
            cutoff,
            incomplete: &incomplete,
            sizes: &sizes,
        },
    )
    .map_err(Error::Internal)?;
    tracing::info!(
        %period, %level, cases = facts.len(), digest = %appraisal.input_digest, "appraised"
    );
    Ok(appraisal)
}
