//! The input of one appraisal: the months of its period, each month's facts as they stood
//! at the month's end (or now, for the running month), per district either read from
//! PostgreSQL (a [`Slice`]) or from the Parquet archive (an
//! [`archive::Partition`](crate::archive::Partition)). Both give the same rows and the same
//! digest, so appraising a month again after it was archived proves it unchanged.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use polars::prelude::*;
use sha2::{Digest, Sha256};

use crate::archive::Partition;
use crate::digest;
use crate::engine::{self, Window};
use crate::facts::CaseFacts;
use crate::period::Period;

/// One month's facts, of any number of districts.
#[derive(Debug, Clone)]
pub struct Slice {
    pub month: Period,
    pub window: Window,
    /// Only the cases that touch the month ([`CaseFacts::touches`]).
    pub facts: Vec<CaseFacts>,
}

impl Slice {
    /// The facts taken at `cutoff` (later than the month's end means its end) that touch
    /// `month` in `zone`; the others are dropped.
    pub fn new(month: Period, zone: Tz, cutoff: DateTime<Utc>, facts: Vec<CaseFacts>) -> Slice {
        let (start, end) = month.bounds(zone);
        Slice {
            month,
            window: Window {
                start,
                end,
                cutoff: cutoff.min(end),
            },
            facts: facts
                .into_iter()
                .filter(|f| f.touches(start, end))
                .collect(),
        }
    }

    /// The facts per district.
    pub fn by_district(&self) -> BTreeMap<&str, Vec<&CaseFacts>> {
        let mut parts: BTreeMap<&str, Vec<&CaseFacts>> = BTreeMap::new();
        for f in &self.facts {
            parts.entry(f.district.as_str()).or_default().push(f);
        }
        parts
    }
}

/// One (month, district) of the input: what the digest is made of.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Part {
    month: Period,
    district: String,
    rows: usize,
    digest: String,
}

/// Everything one appraisal reads.
#[derive(Debug, Clone, Default)]
pub struct Input {
    pub slices: Vec<Slice>,
    pub partitions: Vec<Partition>,
}

impl Input {
    fn parts(&self) -> Vec<Part> {
        let mut parts: Vec<Part> = self
            .slices
            .iter()
            .flat_map(|s| {
                s.by_district().into_iter().map(|(district, facts)| Part {
                    month: s.month,
                    district: district.to_owned(),
                    rows: facts.len(),
                    digest: digest::of(facts),
                })
            })
            .chain(self.partitions.iter().map(|p| Part {
                month: p.month,
                district: p.district.clone(),
                rows: p.rows,
                digest: p.digest.clone(),
            }))
            // A district with no case in a month is no part of the input, whether it has
            // an empty partition in the archive or no rows in PostgreSQL.
            .filter(|p| p.rows > 0)
            .collect();
        parts.sort();
        parts
    }

    /// Refuses an input that would count a month twice, or a month outside `period`.
    pub(crate) fn check(&self, period: Period) -> Result<(), String> {
        let months: BTreeSet<Period> = period.months().into_iter().collect();
        let mut seen = BTreeSet::new();
        for p in self.parts() {
            if !months.contains(&p.month) {
                return Err(format!("{} is not a month of {period}", p.month));
            }
            if !seen.insert((p.month, p.district.clone())) {
                return Err(format!(
                    "district {} appears twice for {}: the archive and PostgreSQL both supplied it",
                    p.district, p.month
                ));
            }
        }
        Ok(())
    }

    /// SHA-256 over one line per (month, district) with its rows and facts digest, in
    /// order: equal whichever source each part came from.
    pub fn digest(&self) -> String {
        let mut hasher = Sha256::new();
        for p in self.parts() {
            hasher.update(format!(
                "{}\t{}\t{}\t{}\n",
                p.month, p.district, p.rows, p.digest
            ));
        }
        hex::encode(hasher.finalize())
    }

    /// Case rows read: a case counts once in every month it touches.
    pub fn rows(&self) -> usize {
        self.slices.iter().map(|s| s.facts.len()).sum::<usize>()
            + self.partitions.iter().map(|p| p.rows).sum::<usize>()
    }

    /// All rows as one lazy frame: the slices in memory, the partitions scanned from
    /// their files (only the columns a level needs are read).
    pub(crate) fn rows_frame(&self) -> PolarsResult<LazyFrame> {
        let mut frames = Vec::new();
        for s in &self.slices {
            frames.push(engine::frame(&s.facts, &s.window)?.lazy());
        }
        if !self.partitions.is_empty() {
            let paths: Vec<PlRefPath> = self
                .partitions
                .iter()
                .map(|p| PlRefPath::new(p.path.to_string_lossy().as_ref()))
                .collect();
            // The district and the window are columns of every file already: the
            // directory names (`period=…/district=…`) are for people, not a hive schema.
            // A file written before a column existed (the working minutes, since v1.4)
            // reads it as nulls.
            let args = ScanArgsParquet {
                hive_options: HiveOptions::new_disabled(),
                schema: Some(engine::frame(&[], &Window::NEVER)?.schema().clone()),
                allow_missing_columns: true,
                ..ScanArgsParquet::default()
            };
            frames.push(LazyFrame::scan_parquet_files(
                paths.into_iter().collect(),
                args,
            )?);
        }
        if frames.is_empty() {
            return Ok(engine::frame(&[], &Window::NEVER)?.lazy());
        }
        concat(frames, UnionArgs::default())
    }
}
