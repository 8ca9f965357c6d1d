//! 案件历史 (`case_history`): every snapshot the district wrote for a case, kept for good,
//! so the district can read its cases as they stood at any cut-off.
//!
//! Why a table of its own: an appraisal of a closed period must not see the steps taken
//! after it (docs/APPRAISAL.md, "Input"), so it needs each case's newest snapshot before
//! the period's end — but `cases` holds only the newest, and the outbox, which holds the
//! same snapshots as sent to the city, is pruned after `exchange.retention_days`. A row is
//! written in the same transaction as the change and its outbox messages
//! ([`crate::uplink::outbox::write_change`]), so the history has exactly the versions the
//! city was sent.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use citygrid_schemas as v1;
use diesel::prelude::*;
use diesel::sql_types::{Int4, Jsonb, Nullable, Timestamptz};
use uuid::Uuid;

use crate::calendar::WorkCalendar;
use crate::case::model::{Case, Record};
use crate::config::Tenant;
use crate::error::Result;
use crate::schema::{case_history, case_records, cases};
use crate::uplink::outbox;

/// Keeps `snapshot` as its case's version (call it inside the change's transaction).
pub fn write(conn: &mut PgConnection, snapshot: &v1::CaseSnapshot) -> Result<()> {
    diesel::insert_into(case_history::table)
        .values((
            case_history::case_id.eq(snapshot.case_id),
            case_history::version.eq(snapshot.version as i32),
            case_history::updated_at.eq(snapshot.updated_at),
            case_history::snapshot.eq(serde_json::to_value(snapshot)?),
        ))
        .execute(conn)?;
    Ok(())
}

/// Cases with no history at all — changed last before the history began, with every
/// snapshot of theirs pruned from the outbox — get their current snapshot, so they are
/// appraised from their last change on. Run at start-up; idempotent, and a no-op once
/// every case has a row.
pub fn backfill(conn: &mut PgConnection, tenant: &Tenant) -> Result<usize> {
    let missing: Vec<Case> = cases::table
        .filter(diesel::dsl::not(diesel::dsl::exists(
            case_history::table.filter(case_history::case_id.eq(cases::id)),
        )))
        .select(Case::as_select())
        .load(conn)?;
    for case in &missing {
        let snapshot = outbox::current_snapshot(conn, tenant, case)?;
        diesel::insert_into(case_history::table)
            .values((
                case_history::case_id.eq(snapshot.case_id),
                case_history::version.eq(snapshot.version as i32),
                case_history::updated_at.eq(snapshot.updated_at),
                case_history::snapshot.eq(serde_json::to_value(&snapshot)?),
            ))
            .on_conflict_do_nothing()
            .execute(conn)?;
    }
    Ok(missing.len())
}

#[derive(QueryableByName)]
struct Newest {
    #[diesel(sql_type = Jsonb)]
    snapshot: serde_json::Value,
}

#[derive(QueryableByName)]
struct Clock {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    case_id: Uuid,
    #[diesel(sql_type = Int4)]
    version: i32,
    #[diesel(sql_type = Nullable<Jsonb>)]
    stage: Option<serde_json::Value>,
}

/// One case as it stood at a cut-off: its newest snapshot before it and its business
/// records before it, in the interchange form.
pub type AsOf = (v1::CaseSnapshot, Vec<v1::BusinessRecord>);

/// Every case as it stood at `cutoff` (those with a snapshot before it), by case id.
///
/// The records come from `case_records` (kept for good) in the outbox's own conversion
/// ([`outbox::business_record`]); the stage each step ended (`stage_ended`, which
/// `case_records` does not keep) is rebuilt from the stage clocks of the snapshots before
/// and after the step ([`outbox::stage_ended`]), which is how the outbox made it — with
/// the district's `calendar` for the working time the stage used, as the outbox did.
pub fn as_of(
    conn: &mut PgConnection,
    calendar: &WorkCalendar,
    cutoff: DateTime<Utc>,
) -> Result<Vec<AsOf>> {
    let newest: Vec<Newest> = diesel::sql_query(
        "SELECT DISTINCT ON (case_id) snapshot FROM case_history WHERE updated_at < $1 \
          ORDER BY case_id, updated_at DESC, version DESC",
    )
    .bind::<Timestamptz, _>(cutoff)
    .load(conn)?;
    let clocks: Vec<Clock> = diesel::sql_query(
        "SELECT case_id, version, snapshot->'current_stage' AS stage FROM case_history \
          WHERE updated_at < $1",
    )
    .bind::<Timestamptz, _>(cutoff)
    .load(conn)?;
    let mut stages: BTreeMap<(Uuid, i32), Option<v1::StageClock>> = BTreeMap::new();
    for c in clocks {
        let stage = match c.stage {
            None | Some(serde_json::Value::Null) => None,
            Some(value) => Some(serde_json::from_value(value)?),
        };
        stages.insert((c.case_id, c.version), stage);
    }
    let records: Vec<Record> = case_records::table
        .filter(case_records::at.lt(cutoff))
        .order((case_records::case_id, case_records::id))
        .select(Record::as_select())
        .load(conn)?;
    let mut by_case: BTreeMap<Uuid, Vec<v1::BusinessRecord>> = BTreeMap::new();
    for record in &records {
        // Both snapshots are needed: a version lost to the outbox's pruning before the
        // history began leaves the step's outcome unknown rather than guessed.
        let version = |v: i32| stages.get(&(record.case_id, v));
        let ended = match (
            version(record.case_version - 1),
            version(record.case_version),
        ) {
            (Some(before), Some(after)) => {
                outbox::stage_ended(calendar, before.as_ref(), after.as_ref(), record.at)
            }
            _ => None,
        };
        by_case
            .entry(record.case_id)
            .or_default()
            .push(outbox::business_record(record, ended)?);
    }
    newest
        .into_iter()
        .map(|row| {
            let snapshot: v1::CaseSnapshot = serde_json::from_value(row.snapshot)?;
            let records = by_case.remove(&snapshot.case_id).unwrap_or_default();
            Ok((snapshot, records))
        })
        .collect()
}
