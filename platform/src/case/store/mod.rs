//! Case queries. Every function takes a connection and runs in its own transaction, so
//! the case row and its business record always change together.
//!
//! Writes: `report` creates a case from a report, `step` takes one step on it,
//! `city_order` takes in a supervision order from the city, `city_problem` opens a case
//! for a problem the city found (or reassigned), `referral` applies the city's decision
//! on a case referred up to it, and
//! `effects` holds what a step does to other capabilities (supervision orders,
//! reminder notifications). Reads are in `read`.

mod city_order;
mod city_problem;
mod effects;
mod read;
mod referral;
mod report;
mod step;

pub use city_order::{Taken, take_city_order};
pub use city_problem::{Opened, take_city_problem};
pub use referral::{Decided, take_referral_decision};

use diesel::prelude::*;

use crate::case::model::{Case, NewRecord, Record};
use crate::config::Tenant;
use crate::error::Result;
use crate::schema::case_records;
use crate::uplink::outbox;

/// Writes the business record of a change from `before` (none: the case is new) to
/// `after`, then its interchange messages (last: from here to the commit other writers
/// wait for the outbox's seq counter). Every write of a case ends here.
fn record_change(
    conn: &mut PgConnection,
    tenant: &Tenant,
    before: Option<&Case>,
    after: &Case,
    record: NewRecord<'_>,
) -> Result<Record> {
    let record = diesel::insert_into(case_records::table)
        .values(record)
        .returning(Record::as_returning())
        .get_result(conn)?;
    outbox::write_change(conn, tenant, before, after, &record)?;
    Ok(record)
}
pub use read::{
    CaseFilter, LightCount, LightGroup, Page, count_by_state, get, light_counts, list, queue,
    queue_states, records, supervision_orders,
};
pub use report::{
    Idempotency, NewReport, check_point, create_report, filing_stage, place_report, validate_report,
};
pub use step::apply_step;
