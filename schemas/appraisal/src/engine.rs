//! The counting: the facts as a polars frame, one lazy group-by per level. Only counts
//! (and one sum of durations) come out of here; rates, composites and ranks are exact
//! integer arithmetic on them (crate::report), so no float ever decides a rank.
//!
//! polars' prelude clashes with diesel's: it stays in this module.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use citygrid_schemas::{CaseState, Satisfaction, Source};
use polars::prelude::*;

use crate::config::SuspendedRule;
use crate::facts::CaseFacts;
use crate::indicator::Indicator;
use crate::level::Level;

/// The counts of one unit (or of all of them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub values: BTreeMap<Indicator, i64>,
    /// Σ (end of handling − first dispatch) over the handled due cases, milliseconds.
    pub handling_millis: i64,
    /// Σ working minutes of handling over the handled due cases that report them
    /// (CaseFacts::handling_working_minutes), and how many those are.
    pub handling_working_minutes: i64,
    pub handling_working_timed: i64,
}

impl Counts {
    /// Every count zero.
    pub fn zero() -> Counts {
        Counts {
            values: Indicator::counts().map(|i| (i, 0)).collect(),
            handling_millis: 0,
            handling_working_minutes: 0,
            handling_working_timed: 0,
        }
    }

    fn add(&mut self, other: &Counts) {
        for (indicator, n) in &other.values {
            *self.values.entry(*indicator).or_insert(0) += n;
        }
        self.handling_millis += other.handling_millis;
        self.handling_working_minutes += other.handling_working_minutes;
        self.handling_working_timed += other.handling_working_timed;
    }

    pub fn get(&self, indicator: Indicator) -> i64 {
        self.values.get(&indicator).copied().unwrap_or(0)
    }
}

/// What a row is counted over: its month's `[start, end)` and the cut-off its facts were
/// taken at (the month's end, or now for the running month). Stored in every row, so a
/// quarter or a year is its months' rows together, each counted in its own month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub cutoff: DateTime<Utc>,
}

impl Window {
    /// An empty window: the shape of the rows when there are none.
    pub const NEVER: Window = Window {
        start: DateTime::<Utc>::UNIX_EPOCH,
        end: DateTime::<Utc>::UNIX_EPOCH,
        cutoff: DateTime::<Utc>::UNIX_EPOCH,
    };
}

const WINDOW_START: &str = "window_start";
const WINDOW_END: &str = "window_end";
const CUTOFF: &str = "cutoff";
const SOURCE: &str = "source";

fn millis(t: Option<DateTime<Utc>>) -> Option<i64> {
    t.map(|t| t.timestamp_millis())
}

fn source_key(source: Source) -> &'static str {
    match source {
        Source::Supervisor => "supervisor",
        Source::Public => "public",
        Source::Hotline => "hotline",
        Source::City => "city",
    }
}

/// The facts of one window as columns (the archive stores exactly these).
pub fn frame(facts: &[CaseFacts], window: &Window) -> PolarsResult<DataFrame> {
    let text = |name: &str, f: &dyn Fn(&CaseFacts) -> Option<String>| {
        Column::new(name.into(), facts.iter().map(f).collect::<Vec<_>>())
    };
    let time = |name: &str, f: &dyn Fn(&CaseFacts) -> Option<DateTime<Utc>>| {
        Column::new(
            name.into(),
            facts.iter().map(|c| millis(f(c))).collect::<Vec<_>>(),
        )
    };
    let flag = |name: &str, f: &dyn Fn(&CaseFacts) -> bool| {
        Column::new(name.into(), facts.iter().map(f).collect::<Vec<_>>())
    };
    let constant = |name: &str, t: DateTime<Utc>| {
        Column::new(name.into(), vec![t.timestamp_millis(); facts.len()])
    };
    DataFrame::new(
        facts.len(),
        vec![
            text("district", &|c| Some(c.district.clone())),
            text("street", &|c| c.street.clone()),
            text("community", &|c| c.community.clone()),
            text("cell", &|c| c.cell.clone()),
            text("category", &|c| c.category.clone()),
            text("department", &|c| c.department.clone()),
            text(SOURCE, &|c| Some(source_key(c.source).to_owned())),
            time("reported_at", &|c| Some(c.reported_at)),
            time("filed_at", &|c| c.filed_at),
            time("dispatched_at", &|c| c.dispatched_at),
            time("due_at", &|c| c.due_at),
            time("handled_at", &|c| c.handled_at),
            time("finished_at", &|c| c.finished_at),
            Column::new(
                WORKING_MINUTES.into(),
                facts
                    .iter()
                    .map(|c| c.handling_working_minutes)
                    .collect::<Vec<_>>(),
            ),
            flag("on_time", &|c| c.on_time),
            flag("closed", &|c| c.state == CaseState::Closed),
            flag("finished", &|c| c.finished_at.is_some()),
            flag("returned", &|c| c.returns > 0),
            flag("reworked", &|c| c.reworks > 0),
            flag("extended", &|c| c.extended),
            flag("suspended", &|c| c.suspended),
            flag("public_found", &|c| {
                matches!(c.source, Source::Public | Source::Hotline) && c.verified == Some(true)
            }),
            flag("rated", &|c| c.satisfaction.is_some()),
            flag("satisfied", &|c| {
                c.satisfaction == Some(Satisfaction::Satisfied)
            }),
            constant(WINDOW_START, window.start),
            constant(WINDOW_END, window.end),
            constant(CUTOFF, window.cutoff),
        ],
    )
}

/// The instants a count looks at within its row's window.
const WINDOWED: [&str; 5] = [
    "reported_at",
    "filed_at",
    "dispatched_at",
    "due_at",
    "finished_at",
];

fn in_window(column: &str) -> String {
    format!("in_{column}")
}

/// Whether each instant falls in its row's month (`in_<column>`): computed once per row,
/// then shared by every count that asks.
fn window_flags() -> Vec<Expr> {
    WINDOWED
        .iter()
        .map(|c| {
            col(*c)
                .gt_eq(col(WINDOW_START))
                .and(col(*c).lt(col(WINDOW_END)))
                .alias(in_window(c))
        })
        .collect()
}

/// A row due in its month (应结案), under the suspension rule: six counts build on it.
const DUE: &str = "is_due";

fn due_flag(suspended: SuspendedRule) -> Expr {
    let in_due = col(in_window("due_at"));
    match suspended {
        SuspendedRule::Exclude => in_due.and(col("suspended").not()),
        SuspendedRule::Count => in_due,
    }
    .alias(DUE)
}

/// The expression of each count, each row over its own window (after `window_flags` and
/// `due_flag`).
fn count_exprs() -> Vec<(Indicator, Expr)> {
    use Indicator::*;
    let inp = |c: &str| col(in_window(c));
    let due = col(DUE);
    vec![
        (Reported, inp("reported_at")),
        (
            ValidReported,
            inp("reported_at").and(col("filed_at").is_not_null()),
        ),
        (Filed, inp("filed_at")),
        (Dispatched, inp("dispatched_at")),
        (Returned, inp("dispatched_at").and(col("returned"))),
        (Extended, inp("dispatched_at").and(col("extended"))),
        (Due, due.clone()),
        (Suspended, inp("due_at").and(col("suspended"))),
        (Handled, due.clone().and(col("handled_at").is_not_null())),
        (HandledOnTime, due.clone().and(col("on_time"))),
        (Closed, due.clone().and(col("closed"))),
        (
            ClosedOnTime,
            due.clone().and(col("closed")).and(col("on_time")),
        ),
        (
            Reworked,
            due.clone().and(col("closed")).and(col("reworked")),
        ),
        (
            Overdue,
            inp("due_at")
                .and(col("due_at").lt(col(CUTOFF)))
                .and(col("handled_at").is_null())
                .and(col("finished").not()),
        ),
        (PublicFound, inp("filed_at").and(col("public_found"))),
        (Rated, inp("finished_at").and(col("rated"))),
        (Satisfied, inp("finished_at").and(col("satisfied"))),
    ]
}

const HANDLING_MILLIS: &str = "handling_millis";
const HANDLING_WORKING_MINUTES: &str = "handling_working_minutes";
const HANDLING_WORKING_TIMED: &str = "handling_working_timed";
/// The facts' column of each case's working minutes of handling.
const WORKING_MINUTES: &str = "working_minutes";

/// Each row's flags (one boolean per count) and its handling time: computed once per row
/// over the whole frame, so the grouping only sums columns.
fn row_values() -> Vec<Expr> {
    let counts = count_exprs();
    let handled = counts
        .iter()
        .find(|(i, _)| *i == Indicator::Handled)
        .map(|(_, e)| e.clone())
        .expect("handled is counted");
    // A comparison with a missing time is null, and stays null or false through `and`:
    // a sum counts only the rows that are true, so a missing time counts as no without a
    // pass to fill the nulls.
    let mut exprs: Vec<Expr> = counts
        .into_iter()
        .map(|(indicator, mask)| mask.alias(indicator.key()))
        .collect();
    exprs.push(
        when(handled.clone())
            .then(col("handled_at") - col("dispatched_at"))
            .otherwise(lit(0i64))
            .fill_null(lit(0i64))
            .alias(HANDLING_MILLIS),
    );
    // A sum skips nulls: the cases without working minutes add nothing, and are not
    // counted among the timed ones.
    exprs.push(
        when(handled.clone())
            .then(col(WORKING_MINUTES))
            .otherwise(lit(0i64))
            .alias(HANDLING_WORKING_MINUTES),
    );
    exprs.push(
        handled
            .and(col(WORKING_MINUTES).is_not_null())
            .alias(HANDLING_WORKING_TIMED),
    );
    exprs
}

/// The count of reports from each source: 上报数 of the rows grouped by their source, not a
/// flag of its own (three string comparisons per row cost more than a second group key).
fn by_source(source: &str) -> Option<Indicator> {
    match source {
        "supervisor" => Some(Indicator::ReportedSupervisor),
        "public" => Some(Indicator::ReportedPublic),
        "hotline" => Some(Indicator::ReportedHotline),
        _ => None,
    }
}

/// The counts computed as a flag per row: all but those of one source (the reports by
/// source, and 上级发现数: the filed cases of source `city`).
fn flagged() -> impl Iterator<Item = Indicator> {
    Indicator::counts().filter(|i| {
        !matches!(
            i,
            Indicator::ReportedSupervisor
                | Indicator::ReportedPublic
                | Indicator::ReportedHotline
                | Indicator::CityFound
        )
    })
}

/// The sums per group, as Int64 whatever the flags summed to.
fn sums() -> Vec<Expr> {
    flagged()
        .map(|i| i.key())
        .chain([
            HANDLING_MILLIS,
            HANDLING_WORKING_MINUTES,
            HANDLING_WORKING_TIMED,
        ])
        .map(|name| col(name).sum().cast(DataType::Int64).alias(name))
        .collect()
}

/// The counts of one (unit, source) group.
fn read_counts(df: &DataFrame, row: usize, source: Option<&str>) -> PolarsResult<Counts> {
    let int =
        |name: &str| -> PolarsResult<i64> { Ok(df.column(name)?.i64()?.get(row).unwrap_or(0)) };
    let mut values = Counts::zero().values;
    for indicator in flagged() {
        values.insert(indicator, int(indicator.key())?);
    }
    if let Some(indicator) = source.and_then(by_source) {
        values.insert(indicator, values[&Indicator::Reported]);
    }
    if source == Some(source_key(Source::City)) {
        values.insert(Indicator::CityFound, values[&Indicator::Filed]);
    }
    Ok(Counts {
        values,
        handling_millis: int(HANDLING_MILLIS)?,
        handling_working_minutes: int(HANDLING_WORKING_MINUTES)?,
        handling_working_timed: int(HANDLING_WORKING_TIMED)?,
    })
}

/// The counts per unit of `level` (units with no key, e.g. cases without a cell at the
/// cell level, are left out), in key order, and the counts over all rows. One pass: the
/// total is the sum of the groups, the keyless one included, as every count is a sum.
pub fn count(
    rows: LazyFrame,
    level: Level,
    suspended: SuspendedRule,
) -> PolarsResult<(BTreeMap<String, Counts>, Counts)> {
    let key = level.key();
    let mut values = vec![col(key), col(SOURCE)];
    values.extend(row_values());
    let grouped = rows
        .with_columns(window_flags())
        .with_columns([due_flag(suspended)])
        .select(values)
        .group_by([col(key), col(SOURCE)])
        .agg(sums())
        // The streaming engine reads the archive in morsels: a year of two million cases
        // peaks near 100 MiB instead of 460 MiB in memory at the same speed
        // (docs/BENCHMARKS.md, appraise).
        .collect_with_engine(Engine::Streaming)?
        .unwrap_single();
    let keys = grouped.column(key)?.str()?.clone();
    let sources = grouped.column(SOURCE)?.str()?.clone();
    let mut units: BTreeMap<String, Counts> = BTreeMap::new();
    let mut total = Counts::zero();
    for row in 0..grouped.height() {
        let counts = read_counts(&grouped, row, sources.get(row))?;
        total.add(&counts);
        if let Some(k) = keys.get(row) {
            units
                .entry(k.to_owned())
                .or_insert_with(Counts::zero)
                .add(&counts);
        }
    }
    Ok((units, total))
}
