//! 综合评价: the appraisal of districts (at the city) and of departments, streets,
//! communities, cells and categories (in a district) with the standard indicators
//! (docs/APPRAISAL.md). Input is the interchange standard — case snapshots and business
//! records — so both sides count the same way; polars does the grouping and lives only
//! in this crate, so the district and city services build without it unless they appraise.

pub mod config;
pub mod digest;
pub mod engine;
pub mod facts;
pub mod indicator;
pub mod level;
pub mod period;
pub mod report;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

pub use config::{Config, SuspendedRule};
pub use facts::CaseFacts;
pub use indicator::Indicator;
pub use level::Level;
pub use period::Period;
pub use report::{Appraisal, Size, Unit};

/// What to appraise: the period, where its days begin, the level and the rules.
pub struct Request<'a> {
    pub period: Period,
    pub zone: chrono_tz::Tz,
    pub level: Level,
    pub config: &'a Config,
    /// When the facts were taken: the period's end for a closed period, else now.
    pub cutoff: DateTime<Utc>,
    /// Units whose data does not reach the cut-off: shown, not ranked.
    pub incomplete: &'a BTreeSet<String>,
    /// Units' population and area, for the figures per 10,000 residents and per km².
    pub sizes: &'a BTreeMap<String, Size>,
}

/// Appraises `facts` (taken at `request.cutoff`).
pub fn appraise(facts: &[CaseFacts], request: &Request<'_>) -> Result<Appraisal, String> {
    let (start, end) = request.period.bounds(request.zone);
    let window = engine::Window {
        start,
        end,
        cutoff: request.cutoff.min(end),
        suspended: request.config.suspended,
    };
    let frame = engine::frame(facts).map_err(|e| format!("appraisal frame: {e}"))?;
    let (units, total) = engine::count(&frame, request.level, &window)
        .map_err(|e| format!("appraisal counts: {e}"))?;
    Ok(Appraisal::build(
        request.period,
        request.level,
        request.config,
        digest::of(facts),
        facts.len(),
        units,
        total,
        request.incomplete,
        request.sizes,
    ))
}
