//! Case queries. Every function takes a connection and runs in its own transaction, so
//! the case row and its business record always change together.
//!
//! Writes: `report` creates a case from a report, `step` takes one step on it, and
//! `effects` holds what a step does to other capabilities (supervision orders,
//! reminder notifications). Reads are in `read`.

mod effects;
mod read;
mod report;
mod step;

pub use read::{
    CaseFilter, LightCount, LightGroup, Page, count_by_state, get, light_counts, list, queue,
    queue_states, records, supervision_orders,
};
pub use report::{
    Idempotency, NewReport, check_point, create_report, filing_stage, place_report, validate_report,
};
pub use step::apply_step;
