//! The city's appraisal of its districts (综合评价, docs/APPRAISAL.md). A period is its
//! months, each as the warehouse stood at the month's end — each case's newest applied
//! snapshot sent before the cut-off and its business records before it — read from the
//! Parquet archive once a month is archived, else from PostgreSQL, through the shared
//! engine (citygrid-appraisal). Later steps of a case never change an appraised month,
//! so appraising it again, from either source, gives the same input digest.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use chrono::{DateTime, Utc};
use citygrid_appraisal::archive::{self, Partition};
use citygrid_appraisal::{
    Appraisal, CaseFacts, Config, Input, Level, Period, Request, Size, Slice,
};
use citygrid_schemas as v1;
use diesel::prelude::*;
use diesel::sql_types::{Array, Jsonb, Text, Timestamptz};

use crate::error::{Error, Result};
use crate::registry::Registry;

/// The levels the city appraises at.
pub const CITY_LEVELS: [Level; 2] = [Level::District, Level::Category];

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = Text)]
    district: String,
    #[diesel(sql_type = Jsonb)]
    snapshot: serde_json::Value,
    #[diesel(sql_type = Jsonb)]
    records: serde_json::Value,
    /// One of the city's own problems (`city_problems`).
    #[diesel(sql_type = diesel::sql_types::Bool)]
    city_found: bool,
}

/// The facts of `districts` at `cutoff` for the cases that can touch a month starting at
/// `start`: each case's newest snapshot applied to the warehouse (`seq` up to the
/// district's cursor) whose `updated_at` is before `cutoff`, with its records before
/// `cutoff` — unless it finished before `start` with no handling deadline from `start` on
/// (a case closed early is due in the month of its deadline). One query, one row per case.
///
/// Whether a case is 上级发现 is the city's to say, not the snapshot's: a problem the
/// city's supervisors found is of source `city` whatever its district reports, and a
/// district cannot make its own case one. A referred case the city reassigned travels as
/// a city problem too but counts as the supervisor's report it is.
pub fn facts(
    conn: &mut PgConnection,
    districts: &[String],
    start: DateTime<Utc>,
    cutoff: DateTime<Utc>,
) -> Result<Vec<CaseFacts>> {
    let rows: Vec<Row> = diesel::sql_query(
        "WITH newest AS ( \
           SELECT DISTINCT ON (s.district, s.envelope->'body'->>'case_id') \
                  s.district, s.envelope->'body' AS body \
             FROM stream s JOIN districts d ON d.code = s.district \
            WHERE s.kind = 'case_snapshot' AND s.seq <= d.cursor AND s.district = ANY($3) \
              AND (s.envelope->'body'->>'updated_at')::timestamptz < $1 \
            ORDER BY s.district, s.envelope->'body'->>'case_id', \
                     (s.envelope->'body'->>'version')::int DESC) \
         SELECT n.district, n.body AS snapshot, \
                COALESCE((SELECT jsonb_agg(r.record ORDER BY r.record_id) FROM records r \
                           WHERE r.district = n.district \
                             AND r.case_id = (n.body->>'case_id')::uuid AND r.at < $1), \
                         '[]'::jsonb) AS records, \
                EXISTS (SELECT 1 FROM city_problems p WHERE p.case_id = (n.body->>'case_id')::uuid \
                           AND p.district = n.district AND p.referred_case IS NULL) AS city_found \
           FROM newest n \
          WHERE n.body->'milestones'->>'finished_at' IS NULL \
             OR (n.body->'milestones'->>'finished_at')::timestamptz >= $2 \
             OR EXISTS (SELECT 1 FROM records r \
                         WHERE r.district = n.district AND r.case_id = (n.body->>'case_id')::uuid \
                           AND r.action = 'handle' AND r.at < $1 \
                           AND (r.record->'stage_ended'->>'deadline')::timestamptz >= $2)",
    )
    .bind::<Timestamptz, _>(cutoff)
    .bind::<Timestamptz, _>(start)
    .bind::<Array<Text>, _>(districts)
    .load(conn)?;
    rows.into_iter()
        .map(|row| {
            let mut snapshot: v1::CaseSnapshot = serde_json::from_value(row.snapshot)?;
            if row.city_found {
                snapshot.source = v1::Source::City;
            } else if snapshot.source == v1::Source::City {
                snapshot.source = v1::Source::Supervisor;
            }
            let records: Vec<v1::BusinessRecord> = serde_json::from_value(row.records)?;
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

/// What the city appraises with.
pub struct Appraiser<'a> {
    pub registry: &'a Registry,
    pub zone: chrono_tz::Tz,
    pub config: &'a Config,
    /// The Parquet archive of closed months (`[city] archive`), if the city keeps one.
    pub archive: Option<&'a Path>,
}

/// What `archive_month` did with one district.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Archived {
    Written(Partition),
    /// Already archived, and the warehouse still gives the same digest.
    Unchanged(Partition),
    /// Already archived, but the warehouse now gives other facts (data that arrived after
    /// the archiving): the partition is rewritten and the old digest reported.
    Rewritten {
        old: String,
        new: Partition,
    },
    /// Not reconciled up to the month's end: left to a later run.
    Incomplete(String),
}

/// The local day a period ending at `end` ends on (its last day, not the day after).
pub(crate) fn last_day(end: DateTime<Utc>, zone: chrono_tz::Tz) -> chrono::NaiveDate {
    (end - chrono::Duration::seconds(1))
        .with_timezone(&zone)
        .date_naive()
}

impl Appraiser<'_> {
    fn codes(&self) -> Vec<String> {
        self.registry.iter().map(|d| d.code.clone()).collect()
    }

    /// The input of `period` as of `now`: each started month's archived partitions, and
    /// the rest of its districts from PostgreSQL in one query per month.
    pub fn input(
        &self,
        conn: &mut PgConnection,
        period: Period,
        now: DateTime<Utc>,
    ) -> Result<Input> {
        let mut input = Input::default();
        for month in period.months() {
            let (start, end) = month.bounds(self.zone);
            if start > now {
                break;
            }
            let mut live = Vec::new();
            for code in self.codes() {
                match self.archive.filter(|_| end <= now) {
                    Some(root) => {
                        match archive::partition(root, month, &code).map_err(Error::Internal)? {
                            Some(partition) => input.partitions.push(partition),
                            None => live.push(code),
                        }
                    }
                    None => live.push(code),
                }
            }
            if !live.is_empty() {
                let cutoff = now.min(end);
                let facts = facts(conn, &live, start, cutoff)?;
                input
                    .slices
                    .push(Slice::new(month, self.zone, cutoff, facts));
            }
        }
        Ok(input)
    }

    /// Appraises `period` at `level` as of `now` (a running period as far as it has gone;
    /// every district is incomplete for it).
    pub fn appraise(
        &self,
        conn: &mut PgConnection,
        period: Period,
        level: Level,
        now: DateTime<Utc>,
    ) -> Result<Appraisal> {
        if !CITY_LEVELS.contains(&level) {
            return Err(Error::Config(format!(
                "the city appraises by district or category, not {level}: a district appraises its {level}s"
            )));
        }
        self.appraise_unchecked(conn, period, level, now)
    }

    /// `appraise` at any level the facts carry: the monthly report's street breakdown.
    /// Only districts are checked for completeness.
    pub(crate) fn appraise_unchecked(
        &self,
        conn: &mut PgConnection,
        period: Period,
        level: Level,
        now: DateTime<Utc>,
    ) -> Result<Appraisal> {
        let (_, end) = period.bounds(self.zone);
        // Only the ranking of districts asks whether each district's stream is complete.
        let (incomplete, sizes) = match level {
            Level::District => (
                incomplete(conn, self.registry, last_day(end, self.zone))?,
                self.registry
                    .iter()
                    .map(|d| {
                        let size = Size {
                            population: Some(d.population),
                            area_km2: Some(d.area_km2),
                            cells: d.cells,
                        };
                        (d.code.clone(), size)
                    })
                    .collect(),
            ),
            _ => (BTreeSet::new(), BTreeMap::new()),
        };
        let input = self.input(conn, period, now)?;
        let appraisal = citygrid_appraisal::appraise(
            &input,
            &Request {
                period,
                level,
                config: self.config,
                incomplete: &incomplete,
                sizes: &sizes,
            },
        )
        .map_err(Error::Internal)?;
        tracing::info!(
            %period, %level, rows = input.rows(), archived = input.partitions.len(),
            digest = %appraisal.input_digest, "appraised"
        );
        Ok(appraisal)
    }

    /// Archives the closed `month` for every district reconciled up to its end; a
    /// district already archived is checked against the warehouse and rewritten only if
    /// the warehouse changed.
    pub fn archive_month(
        &self,
        conn: &mut PgConnection,
        month: Period,
        now: DateTime<Utc>,
    ) -> Result<Vec<Archived>> {
        let root = self
            .archive
            .ok_or_else(|| Error::Config("the city keeps no archive: set [city] archive".into()))?;
        let (start, end) = month.bounds(self.zone);
        if !matches!(month, Period::Month { .. }) || end > now {
            return Err(Error::Config(format!(
                "{month} is not a closed month: only months that have ended are archived"
            )));
        }
        let incomplete = incomplete(conn, self.registry, last_day(end, self.zone))?;
        let mut outcomes = Vec::new();
        for code in self.codes() {
            if incomplete.contains(&code) {
                outcomes.push(Archived::Incomplete(code));
                continue;
            }
            let old = archive::partition(root, month, &code).map_err(Error::Internal)?;
            let facts = facts(conn, std::slice::from_ref(&code), start, end)?;
            let slice = Slice::new(month, self.zone, end, facts);
            let fresh = citygrid_appraisal::digest::of(&slice.facts);
            let outcome = match old {
                Some(old) if old.digest == fresh => Archived::Unchanged(old),
                old => {
                    let new =
                        archive::write_district(root, &slice, &code).map_err(Error::Internal)?;
                    match old {
                        None => Archived::Written(new),
                        Some(old) => Archived::Rewritten {
                            old: old.digest,
                            new,
                        },
                    }
                }
            };
            outcomes.push(outcome);
        }
        Ok(outcomes)
    }
}
