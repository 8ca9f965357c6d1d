//! From counts to an appraisal: exact rates, the composite (综合指标值), grades, ranks,
//! and the three ways to print it. Nothing here depends on when or where it runs, so the
//! same input prints the same bytes.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde_json::{Map, Value, json};

use crate::config::Config;
use crate::engine::Counts;
use crate::indicator::{Indicator, basis_points, percent};
use crate::level::Level;
use crate::period::Period;

/// A CSV field as RFC 4180 has it: quoted when it holds a comma, quote or line break.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// One appraised unit.
#[derive(Debug, Clone, PartialEq)]
pub struct Unit {
    pub key: String,
    pub counts: Counts,
    /// Basis points; none when the denominator is zero.
    pub rates: BTreeMap<Indicator, Option<i64>>,
    /// Mean hours from the first dispatch to the end of handling, in hundredths of an
    /// hour (natural time); none without a handled due case.
    pub avg_handling_centihours: Option<i64>,
    /// Mean working hours of handling (工作时, the district's calendar, suspensions
    /// excluded), in hundredths, over the handled due cases whose district reports them;
    /// none without one.
    pub avg_handling_working_centihours: Option<i64>,
    /// 综合指标值 in hundredths of a point (0–10000); none when no weighted rate has a
    /// denominator.
    pub composite: Option<i64>,
    pub grade: Option<char>,
    /// Competition ranking (1, 2, 2, 4) by composite; none when unranked.
    pub rank: Option<u32>,
    /// 立案数 per 10,000 residents, per km² and per grid cell, in hundredths (districts:
    /// from the city's registry; streets and communities: from the district's grid), so a
    /// small unit and a large one compare on the same footing.
    pub filed_per_10k_residents: Option<i64>,
    pub filed_per_km2: Option<i64>,
    pub filed_per_cell: Option<i64>,
    /// The unit's data reaches the period's end (districts: their stream is reconciled
    /// past it); an incomplete unit is shown, never ranked.
    pub complete: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Appraisal {
    pub period: Period,
    pub level: Level,
    pub config_version: String,
    /// SHA-256 of the canonical facts (crate::digest): the same digest, the same input.
    pub input_digest: String,
    pub cases: usize,
    pub units: Vec<Unit>,
    pub total: Unit,
}

fn rates(counts: &Counts) -> BTreeMap<Indicator, Option<i64>> {
    Indicator::rates()
        .map(|rate| {
            let def = rate.rate().expect("a rate");
            let (n, d) = (counts.get(def.numerator), counts.get(def.denominator));
            let bp = basis_points(n, d).map(|bp| if def.complement { 10_000 - bp } else { bp });
            (rate, bp)
        })
        .collect()
}

/// Σ weight × score / Σ weight over the rates that have a denominator, in hundredths of a
/// point, rounded half up. A lower-is-better rate scores `100 − rate`. A rate with nothing
/// to rate drops out with its weight rather than scoring 0 or 100.
fn composite(
    rates: &BTreeMap<Indicator, Option<i64>>,
    weights: &BTreeMap<Indicator, u32>,
) -> Option<i64> {
    let (mut sum, mut weight) = (0i64, 0i64);
    for (indicator, w) in weights {
        let Some(Some(bp)) = rates.get(indicator) else {
            continue;
        };
        let lower = indicator.rate().is_some_and(|d| d.lower_is_better);
        let score = if lower { 10_000 - bp } else { *bp };
        sum += i64::from(*w) * score;
        weight += i64::from(*w);
    }
    (weight > 0).then(|| (2 * sum + weight) / (2 * weight))
}

/// A unit's size, for the normalised figures; what is not known gives no figure rather
/// than a guess (a street's population, say: the district's grid gives its cells and area).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Size {
    pub population: Option<u64>,
    pub area_km2: Option<f64>,
    /// Unit grid cells (万米单元网格).
    pub cells: Option<u64>,
}

impl Size {
    /// The size of units together: each measure only when every unit has it.
    fn sum<'a>(sizes: impl Iterator<Item = &'a Size> + Clone) -> Size {
        Size {
            population: sizes.clone().map(|s| s.population).sum(),
            area_km2: sizes.clone().map(|s| s.area_km2).sum(),
            cells: sizes.map(|s| s.cells).sum(),
        }
    }
}

/// Sorts `units` (ranked first, by composite, then by key) and gives the complete ones
/// with a composite their competition rank (1, 2, 2, 4).
fn rank(units: &mut [Unit]) {
    let rankable = |u: &Unit| u.complete && u.composite.is_some();
    units.sort_by(|a, b| {
        rankable(b)
            .cmp(&rankable(a))
            .then(b.composite.cmp(&a.composite))
            .then(a.key.cmp(&b.key))
    });
    let mut previous: Option<(i64, u32)> = None;
    for (i, u) in units.iter_mut().enumerate() {
        if !rankable(u) {
            continue;
        }
        let composite = u.composite.expect("rankable");
        let rank = match previous {
            Some((c, r)) if c == composite => r,
            _ => i as u32 + 1,
        };
        u.rank = Some(rank);
        previous = Some((composite, rank));
    }
}

/// `count × multiplier / divisor` in hundredths, rounded half up; none for a zero divisor.
fn centi_ratio(count: i64, multiplier: i64, divisor: i64) -> Option<i64> {
    (divisor > 0).then(|| (2 * count * multiplier * 100 + divisor) / (2 * divisor))
}

fn unit(
    key: String,
    counts: Counts,
    complete: bool,
    config: &Config,
    level: Level,
    size: Option<Size>,
) -> Unit {
    let rates = rates(&counts);
    let handled = counts.get(Indicator::Handled);
    let avg_handling_centihours = (handled > 0).then(|| {
        let per = 36_000 * handled; // milliseconds per hundredth of an hour, per case
        (2 * counts.handling_millis + per) / (2 * per)
    });
    let timed = counts.handling_working_timed;
    // Minutes to hundredths of an hour: × 100 / 60, per case, rounded half up.
    let avg_handling_working_centihours = (timed > 0)
        .then(|| (2 * counts.handling_working_minutes * 100 + 60 * timed) / (2 * 60 * timed));
    let composite = composite(&rates, config.weights(level));
    let filed = counts.get(Indicator::Filed);
    // The area in hundredths of a km², so that the ratio stays integer arithmetic.
    let size = size.unwrap_or_default();
    let area_centi = size.area_km2.map(|a| (a * 100.0).round() as i64);
    Unit {
        filed_per_10k_residents: size
            .population
            .and_then(|p| centi_ratio(filed, 10_000, p as i64)),
        filed_per_km2: area_centi.and_then(|a| centi_ratio(filed, 100, a)),
        filed_per_cell: size.cells.and_then(|c| centi_ratio(filed, 1, c as i64)),
        key,
        counts,
        rates,
        avg_handling_centihours,
        avg_handling_working_centihours,
        composite,
        grade: composite.map(|c| config.grade(c)),
        rank: None,
        complete,
    }
}

impl Appraisal {
    /// Builds the appraisal of `units` (counts by key). Keys in `incomplete` are shown but
    /// not ranked. Ranks: by composite, highest first; equal composites (to the hundredth
    /// of a point) share a rank and the next rank skips (1, 2, 2, 4); within a tie, and
    /// among the unranked at the end, units are listed by key.
    #[allow(clippy::too_many_arguments)]
    pub fn build(
        period: Period,
        level: Level,
        config: &Config,
        input_digest: String,
        cases: usize,
        units: BTreeMap<String, Counts>,
        total: Counts,
        incomplete: &BTreeSet<String>,
        sizes: &BTreeMap<String, Size>,
    ) -> Appraisal {
        // A unit the caller knows (a registered district) with no case in the period is
        // shown with zeros, unranked, rather than left out.
        let mut units = units;
        for key in sizes.keys().chain(incomplete) {
            units.entry(key.clone()).or_insert_with(Counts::zero);
        }
        let mut units: Vec<Unit> = units
            .into_iter()
            .map(|(key, counts)| {
                let complete = !incomplete.contains(&key);
                let size = sizes.get(&key).copied();
                unit(key, counts, complete, config, level, size)
            })
            .collect();
        rank(&mut units);
        Appraisal {
            period,
            level,
            config_version: config.version.clone(),
            input_digest,
            cases,
            units,
            total: unit(
                "total".into(),
                total,
                incomplete.is_empty(),
                config,
                level,
                (!sizes.is_empty()).then(|| Size::sum(sizes.values())),
            ),
        }
    }

    /// Marks the units `incomplete` names as incomplete and ranks the others again: the
    /// city's streets, complete only when their district is.
    pub fn exclude(&mut self, incomplete: impl Fn(&str) -> bool) {
        for unit in &mut self.units {
            if incomplete(&unit.key) {
                unit.complete = false;
            }
            unit.rank = None;
        }
        rank(&mut self.units);
    }

    /// The columns of every output, in order.
    fn columns() -> Vec<String> {
        let mut columns = vec!["rank".to_owned(), "key".to_owned()];
        columns.extend(Indicator::ALL.iter().map(|i| i.key().to_owned()));
        columns.extend(
            [
                "avg_handling_hours",
                "avg_handling_working_hours",
                "filed_per_10k_residents",
                "filed_per_km2",
                "filed_per_cell",
                "composite",
                "grade",
                "complete",
            ]
            .map(str::to_owned),
        );
        columns
    }

    /// A unit's cells as text: counts, rates as percentages with two decimals, `-` for a
    /// rate with nothing to rate.
    fn cells(u: &Unit) -> Vec<String> {
        let dash = || "-".to_owned();
        let mut cells = vec![u.rank.map_or_else(dash, |r| r.to_string()), u.key.clone()];
        for indicator in Indicator::ALL {
            cells.push(match indicator.rate() {
                None => u.counts.get(*indicator).to_string(),
                Some(_) => u.rates[indicator].map_or_else(dash, percent),
            });
        }
        for centi in [
            u.avg_handling_centihours,
            u.avg_handling_working_centihours,
            u.filed_per_10k_residents,
            u.filed_per_km2,
            u.filed_per_cell,
            u.composite,
        ] {
            cells.push(centi.map_or_else(dash, percent));
        }
        cells.push(u.grade.map_or_else(dash, String::from));
        cells.push(if u.complete { "yes" } else { "no" }.to_owned());
        cells
    }

    fn rows(&self) -> impl Iterator<Item = &Unit> {
        self.units.iter().chain(std::iter::once(&self.total))
    }

    /// RFC 4180 CSV with a header line; the last row is the total.
    pub fn to_csv(&self) -> String {
        let mut out = String::new();
        for row in std::iter::once(Self::columns()).chain(self.rows().map(Self::cells)) {
            let line: Vec<String> = row.iter().map(|c| csv_field(c)).collect();
            out.push_str(&line.join(","));
            out.push('\n');
        }
        out
    }

    /// JSON: the header facts and one object per unit; rates as numbers of percent.
    pub fn to_json(&self) -> Value {
        let unit = |u: &Unit| {
            let mut m = Map::new();
            m.insert("rank".into(), json!(u.rank));
            m.insert("key".into(), json!(u.key));
            for indicator in Indicator::ALL {
                let value = match indicator.rate() {
                    None => json!(u.counts.get(*indicator)),
                    Some(_) => json!(u.rates[indicator].map(|bp| bp as f64 / 100.0)),
                };
                m.insert(indicator.key().into(), value);
            }
            for (name, centi) in [
                ("avg_handling_hours", u.avg_handling_centihours),
                (
                    "avg_handling_working_hours",
                    u.avg_handling_working_centihours,
                ),
                ("filed_per_10k_residents", u.filed_per_10k_residents),
                ("filed_per_km2", u.filed_per_km2),
                ("filed_per_cell", u.filed_per_cell),
                ("composite", u.composite),
            ] {
                m.insert(name.into(), json!(centi.map(|c| c as f64 / 100.0)));
            }
            m.insert("grade".into(), json!(u.grade.map(String::from)));
            m.insert("complete".into(), json!(u.complete));
            Value::Object(m)
        };
        json!({
            "period": self.period.to_string(),
            "level": self.level.key(),
            "config_version": self.config_version,
            "input_digest": self.input_digest,
            "cases": self.cases,
            "units": self.units.iter().map(unit).collect::<Vec<_>>(),
            "total": unit(&self.total),
        })
    }

    /// An aligned table of the main indicators for a terminal (all of them: csv or json).
    pub fn to_table(&self) -> String {
        use Indicator::*;
        let shown = [
            Filed,
            Due,
            Closed,
            CloseRate,
            OnTimeCloseRate,
            ReworkRate,
            Overdue,
            PublicReportRate,
        ];
        let mut header = vec!["rank".to_owned(), self.level.key().to_owned()];
        header.extend(shown.iter().map(|i| i.chinese().to_owned()));
        header.extend(["综合指标值".to_owned(), "等级".to_owned()]);
        let mut rows = vec![header];
        let columns = Self::columns();
        for (i, u) in self.rows().enumerate() {
            let total = i == self.units.len();
            let all = Self::cells(u);
            let at = |name: &str| {
                let i = columns.iter().position(|c| c == name).expect("a column");
                all[i].clone()
            };
            let mut row = vec![at("rank"), at("key")];
            row.extend(shown.iter().map(|i| at(i.key())));
            row.extend([at("composite"), at("grade")]);
            if total {
                row[0] = String::new();
            } else if !u.complete {
                row[0] = "incomplete".into();
            }
            rows.push(row);
        }
        let width = |s: &str| {
            s.chars()
                .map(|c| if c.is_ascii() { 1 } else { 2 })
                .sum::<usize>()
        };
        let widths: Vec<usize> = (0..rows[0].len())
            .map(|i| rows.iter().map(|r| width(&r[i])).max().unwrap_or(0))
            .collect();
        let mut out = format!(
            "{} appraisal, {} — config {}, {} cases, input {}\n",
            self.level.key(),
            self.period,
            self.config_version,
            self.cases,
            &self.input_digest[..16.min(self.input_digest.len())]
        );
        for row in rows {
            let cells: Vec<String> = row
                .iter()
                .zip(&widths)
                .map(|(c, w)| format!("{c}{}", " ".repeat(w - width(c))))
                .collect();
            let _ = writeln!(out, "{}", cells.join("  ").trim_end());
        }
        out
    }
}
