//! Closed months kept as Parquet, one file per month and district:
//! `<root>/period=2026-10/district=330102/facts.parquet`, with `manifest.json` beside it
//! (rows, digest, window). Appraising a past period scans only its months' files, and only
//! the columns the level needs, instead of rebuilding facts from the warehouse.
//!
//! A partition exists once its manifest does: the file is written under a temporary name
//! and renamed, then the manifest likewise, so a crash leaves no half partition that a
//! scan would read.

use std::fs;
use std::path::{Path, PathBuf};

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::digest;
use crate::engine;
use crate::facts::CaseFacts;
use crate::input::Slice;
use crate::period::Period;

const FACTS: &str = "facts.parquet";
const MANIFEST: &str = "manifest.json";

/// One archived month of one district.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    pub month: Period,
    pub district: String,
    pub rows: usize,
    /// The facts' digest (crate::digest), as computed when they were written.
    pub digest: String,
    pub path: PathBuf,
}

#[derive(Serialize, Deserialize)]
struct Manifest {
    month: String,
    district: String,
    rows: usize,
    digest: String,
    window_start: chrono::DateTime<chrono::Utc>,
    window_end: chrono::DateTime<chrono::Utc>,
    cutoff: chrono::DateTime<chrono::Utc>,
}

fn dir(root: &Path, month: Period, district: &str) -> PathBuf {
    root.join(format!("period={month}"))
        .join(format!("district={district}"))
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> String + '_ {
    move |e| format!("{}: {e}", path.display())
}

/// Writes `slice` as one partition per district it holds (replacing any earlier one).
pub fn write(root: &Path, slice: &Slice) -> Result<Vec<Partition>, String> {
    slice
        .by_district()
        .into_keys()
        .map(|district| write_district(root, slice, district))
        .collect()
}

/// Writes the partition of `district` from `slice`, empty if the slice has none of its
/// cases (an empty partition still says the month is archived for it).
pub fn write_district(root: &Path, slice: &Slice, district: &str) -> Result<Partition, String> {
    let facts: Vec<CaseFacts> = slice
        .facts
        .iter()
        .filter(|f| f.district == district)
        .cloned()
        .collect();
    let dir = dir(root, slice.month, district);
    fs::create_dir_all(&dir).map_err(io(&dir))?;
    let mut frame = engine::frame(&facts, &slice.window).map_err(|e| e.to_string())?;
    let path = dir.join(FACTS);
    let temporary = dir.join(format!("{FACTS}.tmp"));
    let file = fs::File::create(&temporary).map_err(io(&temporary))?;
    // Uncompressed: a file is written once and scanned by every appraisal, and a year's
    // scan spent most of its time decompressing. Uncompressed reads in about three
    // quarters of LZ4's time (and half of zstd's) for a third more disk: 110 MiB for a
    // year of two million cases (docs/BENCHMARKS.md, appraise). Files written compressed
    // before stay readable.
    ParquetWriter::new(file)
        .with_compression(ParquetCompression::Uncompressed)
        .finish(&mut frame)
        .map_err(|e| format!("{}: {e}", temporary.display()))?;
    fs::rename(&temporary, &path).map_err(io(&path))?;
    let manifest = Manifest {
        month: slice.month.to_string(),
        district: district.to_owned(),
        rows: facts.len(),
        digest: digest::of(&facts),
        window_start: slice.window.start,
        window_end: slice.window.end,
        cutoff: slice.window.cutoff,
    };
    let text = serde_json::to_string_pretty(&manifest).map_err(|e| e.to_string())?;
    let temporary = dir.join(format!("{MANIFEST}.tmp"));
    fs::write(&temporary, text).map_err(io(&temporary))?;
    fs::rename(&temporary, dir.join(MANIFEST)).map_err(io(&dir))?;
    Ok(Partition {
        month: slice.month,
        district: district.to_owned(),
        rows: manifest.rows,
        digest: manifest.digest,
        path,
    })
}

/// The rows `write` would store for `slice`, as CSV in the same column order (`COPY …
/// CSV`: an empty field is NULL), for loading the same rows into another engine to
/// compare with (ops/bench appraise).
pub fn write_csv(out: &mut impl std::io::Write, slice: &Slice) -> Result<(), String> {
    let frame = engine::frame(&slice.facts, &slice.window).map_err(|e| e.to_string())?;
    let columns = frame.columns();
    let mut line = String::new();
    for row in 0..frame.height() {
        line.clear();
        for (i, column) in columns.iter().enumerate() {
            if i > 0 {
                line.push(',');
            }
            match column.get(row).map_err(|e| e.to_string())? {
                AnyValue::Null => {}
                AnyValue::Boolean(b) => line.push(if b { 't' } else { 'f' }),
                AnyValue::String(s) => line.push_str(s),
                AnyValue::StringOwned(s) => line.push_str(&s),
                other => line.push_str(&other.to_string()),
            }
        }
        line.push('\n');
        out.write_all(line.as_bytes()).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// The archived partition of `district` for `month`, if there is one.
pub fn partition(root: &Path, month: Period, district: &str) -> Result<Option<Partition>, String> {
    let dir = dir(root, month, district);
    let manifest = dir.join(MANIFEST);
    let text = match fs::read_to_string(&manifest) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(&manifest)(e)),
    };
    let m: Manifest =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", manifest.display()))?;
    if m.month != month.to_string() || m.district != district {
        return Err(format!(
            "{}: says {} {}, but sits under {month} {district}",
            manifest.display(),
            m.month,
            m.district
        ));
    }
    Ok(Some(Partition {
        month,
        district: m.district,
        rows: m.rows,
        digest: m.digest,
        path: dir.join(FACTS),
    }))
}
