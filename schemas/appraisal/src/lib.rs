//! 综合评价: the appraisal of districts (at the city) and of departments, streets,
//! communities, cells and categories (in a district) with the standard indicators
//! (docs/APPRAISAL.md). Input is the interchange standard — case snapshots and business
//! records — so both sides count the same way; polars does the grouping and lives only
//! in this crate, so the district and city services build without it unless they appraise.

pub mod archive;
pub mod config;
pub mod digest;
pub mod engine;
pub mod facts;
pub mod indicator;
pub mod input;
pub mod level;
pub mod period;
pub mod post;
pub mod report;

use std::collections::{BTreeMap, BTreeSet};

pub use config::{Config, SuspendedRule};
pub use facts::CaseFacts;
pub use indicator::Indicator;
pub use input::{Input, Slice};
pub use level::Level;
pub use period::Period;
pub use report::{Appraisal, Size, Unit};

/// What to appraise: the period, the level and the rules.
pub struct Request<'a> {
    pub period: Period,
    pub level: Level,
    pub config: &'a Config,
    /// Units whose data does not reach the cut-off: shown, not ranked.
    pub incomplete: &'a BTreeSet<String>,
    /// Units' population and area, for the figures per 10,000 residents and per km².
    pub sizes: &'a BTreeMap<String, Size>,
}

/// Appraises `input`: every month of `request.period`, each counted over its own window.
pub fn appraise(input: &Input, request: &Request<'_>) -> Result<Appraisal, String> {
    input.check(request.period)?;
    let rows = input
        .rows_frame()
        .map_err(|e| format!("appraisal input: {e}"))?;
    let (units, total) = engine::count(rows, request.level, request.config.suspended)
        .map_err(|e| format!("appraisal counts: {e}"))?;
    Ok(Appraisal::build(
        request.period,
        request.level,
        request.config,
        input.digest(),
        input.rows(),
        units,
        total,
        request.incomplete,
        request.sizes,
    ))
}

/// An appraisal at a unit level or at the post level: what the district and city
/// commands print and the APIs answer.
#[derive(Debug, Clone)]
pub enum Report {
    Units(Appraisal),
    Posts(post::PostAppraisal),
}

impl Report {
    pub fn to_csv(&self) -> String {
        match self {
            Report::Units(a) => a.to_csv(),
            Report::Posts(a) => a.to_csv(),
        }
    }

    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Report::Units(a) => a.to_json(),
            Report::Posts(a) => a.to_json(),
        }
    }

    pub fn to_table(&self) -> String {
        match self {
            Report::Units(a) => a.to_table(),
            Report::Posts(a) => a.to_table(),
        }
    }

    pub fn input_digest(&self) -> &str {
        match self {
            Report::Units(a) => &a.input_digest,
            Report::Posts(a) => &a.input_digest,
        }
    }
}
