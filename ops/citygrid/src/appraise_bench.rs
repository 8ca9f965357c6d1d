//! `citygrid bench appraise`: a year of ten districts appraised through the Parquet
//! archive with polars, next to the same district-level counts as one SQL GROUP BY in
//! PostgreSQL over the same rows (see `ops/bench appraise`).
//!
//! `generate` makes the year: cases with a realistic mix of sources, categories,
//! departments, returns, extensions, suspensions, late handling and rework, each as the
//! interchange has it (business records and the snapshot as of every month end it
//! touches), turned into facts by the same `CaseFacts::of` the city uses, and written as
//! the archive's monthly partitions plus a CSV of exactly the same rows for `COPY`.
//!
//! `run` alternates rounds: polars appraises the year at every level (and at the district
//! level alone), then PostgreSQL counts the district level with `count(*) FILTER` over the
//! loaded rows. The two must agree on every count of every district, or the run fails.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use citygrid_appraisal::archive::{self, Partition};
use citygrid_appraisal::engine::Counts;
use citygrid_appraisal::{
    CaseFacts, Config, Indicator, Input, Level, Period, Request, Slice, appraise,
};
use citygrid_kit::seeded::SplitMix64;
use citygrid_schemas::json::example_snapshot;
use citygrid_schemas::{
    Action, BusinessRecord, CaseSnapshot, CaseState, Category, CategoryKind, Clock, Role,
    Satisfaction, Source, Stage, StageClock, StageOutcome,
};
use diesel::prelude::*;
use indicatif::{ProgressBar, ProgressStyle};
use uuid::Uuid;

use crate::stats::median;

#[derive(clap::Subcommand)]
pub enum AppraiseCommand {
    /// Make the year's archive and the CSV of its rows.
    Generate(GenerateArgs),
    /// Alternate polars over the archive and PostgreSQL over the loaded rows.
    Run(RunArgs),
}

#[derive(clap::Args)]
pub struct GenerateArgs {
    /// The archive directory to fill (emptied first).
    #[arg(long)]
    archive: PathBuf,
    /// Where the CSV of the same rows goes, for `COPY appraisal_rows FROM`.
    #[arg(long)]
    csv: PathBuf,
    #[arg(long, default_value_t = 2_000_000)]
    cases: u64,
    #[arg(long, default_value_t = 10)]
    districts: usize,
    #[arg(long, default_value_t = 2025)]
    year: i32,
    #[arg(long, default_value_t = 13)]
    seed: u64,
}

#[derive(clap::Args)]
pub struct RunArgs {
    #[arg(long)]
    archive: PathBuf,
    /// The database holding `appraisal_rows` (loaded from the CSV).
    #[arg(long, env = "CITYGRID_DATABASE_URL")]
    database: String,
    #[arg(long, default_value_t = 2025)]
    year: i32,
    #[arg(long, default_value_t = 3)]
    rounds: usize,
}

const ZONE: chrono_tz::Tz = chrono_tz::Asia::Shanghai;
const DISTRICTS: [&str; 10] = [
    "330102", "330105", "330106", "330108", "330109", "330110", "330111", "330112", "330113",
    "330114",
];
const DEPARTMENTS: [&str; 12] = [
    "huanwei",
    "shizheng",
    "yuanlin",
    "shuiwu",
    "jiaotong",
    "chengguan",
    "gongan",
    "dianli",
    "ranqi",
    "tongxin",
    "jianshe",
    "jiedao",
];
/// (kind, major, minor, weight, limit in minutes, department index)
const CATEGORIES: [(CategoryKind, &str, &str, u64, i64, usize); 12] = [
    (CategoryKind::Event, "01", "01", 18, 240, 0),
    (CategoryKind::Event, "01", "02", 16, 240, 0),
    (CategoryKind::Event, "02", "01", 12, 480, 5),
    (CategoryKind::Event, "02", "03", 9, 1_440, 5),
    (CategoryKind::Event, "03", "01", 7, 2_880, 10),
    (CategoryKind::Event, "04", "02", 5, 1_440, 4),
    (CategoryKind::Component, "01", "01", 8, 480, 1),
    (CategoryKind::Component, "01", "05", 6, 2_880, 3),
    (CategoryKind::Component, "02", "03", 6, 1_440, 4),
    (CategoryKind::Component, "03", "02", 5, 7_200, 2),
    (CategoryKind::Component, "04", "01", 4, 480, 7),
    (CategoryKind::Component, "05", "02", 4, 2_880, 8),
];

/// One handling stage of a case.
#[derive(Clone, Copy)]
struct Handling {
    started: DateTime<Utc>,
    deadline: DateTime<Utc>,
    ended: Option<DateTime<Utc>>,
}

/// A generated case: the facts that never change and its records in order.
struct Generated {
    base: CaseSnapshot,
    records: Vec<BusinessRecord>,
    stages: Vec<Handling>,
    satisfaction: Option<Satisfaction>,
}

fn minutes(rng: &mut SplitMix64, low: i64, high: i64) -> Duration {
    Duration::minutes(low + rng.below((high - low).max(1) as u64) as i64)
}

fn pick_category(rng: &mut SplitMix64) -> usize {
    let total: u64 = CATEGORIES.iter().map(|c| c.3).sum();
    let mut n = rng.below(total);
    for (i, c) in CATEGORIES.iter().enumerate() {
        if n < c.3 {
            return i;
        }
        n -= c.3;
    }
    0
}

/// A case's records as they are written, each taking the state the previous one left.
struct Steps {
    case_id: Uuid,
    state: CaseState,
    records: Vec<BusinessRecord>,
}

impl Steps {
    /// Appends a step; the caller fills in its details or stage outcome if it has them.
    fn push(&mut self, action: Action, to: CaseState, at: DateTime<Utc>) -> &mut BusinessRecord {
        let id = self.records.len() as i64 + 1;
        self.records.push(BusinessRecord {
            record_id: id,
            case_id: self.case_id,
            case_version: id as u32,
            action,
            from_state: Some(self.state),
            to_state: to,
            actor_id: None,
            actor_role: Role::Operator,
            comment: None,
            media: vec![],
            details: serde_json::Value::Null,
            stage_ended: None,
            at,
        });
        self.state = to;
        self.records.last_mut().expect("just pushed")
    }

    /// A dispatch or a return: the step names the department.
    fn push_naming(&mut self, action: Action, to: CaseState, at: DateTime<Utc>, department: &str) {
        self.push(action, to, at).details = serde_json::json!({ "department": department });
    }
}

fn generate_case(
    rng: &mut SplitMix64,
    district: &str,
    n: u64,
    year: (DateTime<Utc>, DateTime<Utc>),
) -> Generated {
    let span = (year.1 - year.0).num_minutes();
    let reported = year.0 + Duration::minutes(rng.below(span as u64) as i64);
    let source = match rng.below(100) {
        0..70 => Source::Supervisor,
        70..90 => Source::Public,
        _ => Source::Hotline,
    };
    let street = 1 + rng.below(10);
    let community = 1 + rng.below(6);
    let cell = 1 + rng.below(20);
    let (kind, major, minor, _, limit, dept) = CATEGORIES[pick_category(rng)];
    let mut base = example_snapshot();
    base.case_id =
        Uuid::from_u128((u128::from(district.parse::<u64>().unwrap_or(0)) << 64) | u128::from(n));
    base.source = source;
    base.category = Some(Category {
        kind,
        major: major.into(),
        minor: minor.into(),
        edition: base.category.as_ref().and_then(|c| c.edition),
    });
    base.street_code = Some(format!("{district}{street:03}"));
    base.community_code = Some(format!("{district}{street:03}{community:03}"));
    base.cell_code = Some(format!("{district}{street:03}{community:03}{cell:03}"));
    base.reporter_id =
        (source == Source::Supervisor).then(|| Uuid::from_u128(0x5000 + u128::from(street)));
    base.created_at = reported;
    base.milestones = Default::default();
    base.milestones.reported_at = Some(reported);
    base.department_code = None;

    let mut steps = Steps {
        case_id: base.case_id,
        state: CaseState::Reported,
        records: Vec::new(),
    };
    let done = |steps: Steps, base, stages, satisfaction| Generated {
        base,
        records: steps.records,
        stages,
        satisfaction,
    };
    steps.push(Action::Report, CaseState::Reported, reported);
    let mut t = reported;
    if source != Source::Supervisor {
        t += minutes(rng, 30, 240);
        base.verified = Some(rng.below(100) < 90);
        steps.push(Action::Verify, CaseState::Reported, t);
    }
    // Not a problem the manual covers, or not found on site: rejected.
    if rng.below(100) < 7 || base.verified == Some(false) {
        steps.push(
            Action::Reject,
            CaseState::Rejected,
            t + minutes(rng, 10, 90),
        );
        return done(steps, base, Vec::new(), None);
    }
    t += minutes(rng, 10, 120);
    steps.push(Action::File, CaseState::Filed, t);
    t += minutes(rng, 5, 60);
    let mut department = DEPARTMENTS[dept];
    steps.push_naming(Action::Dispatch, CaseState::Dispatched, t, department);
    let limit = Duration::minutes(limit);
    let mut stage = Handling {
        started: t,
        deadline: t + limit,
        ended: None,
    };
    if rng.below(100) < 5 {
        // Sent back: not this department's; dispatched again to another.
        t += minutes(rng, 30, 180);
        steps.push_naming(Action::Return, CaseState::Filed, t, department);
        department = DEPARTMENTS[(dept + 1 + rng.below(11) as usize) % DEPARTMENTS.len()];
        t += minutes(rng, 10, 60);
        steps.push_naming(Action::Dispatch, CaseState::Dispatched, t, department);
        stage = Handling {
            started: t,
            deadline: t + limit,
            ended: None,
        };
    }
    base.department_code = Some(department.to_owned());
    let mut stages = Vec::new();
    let mut reworked = false;
    loop {
        let roll = rng.below(100);
        if roll < 4 {
            let at = stage.started + (stage.deadline - stage.started) / 2;
            stage.deadline += limit;
            steps.push(Action::ApproveExtension, CaseState::Dispatched, at);
        } else if roll < 6 {
            let at = stage.started + (stage.deadline - stage.started) / 3;
            stage.deadline += Duration::days(7);
            steps.push(Action::ApproveSuspension, CaseState::Dispatched, at);
        }
        // 85 % within the limit, the rest up to two and a half times it.
        let share = if rng.below(100) < 85 {
            0.1 + 0.9 * rng.unit()
        } else {
            1.0 + 1.5 * rng.unit()
        };
        let used = (stage.deadline - stage.started).num_minutes() as f64 * share;
        let handled = stage.started + Duration::minutes(used as i64).max(Duration::minutes(1));
        stage.ended = Some(handled);
        stages.push(stage);
        steps
            .push(Action::Handle, CaseState::Handled, handled)
            .stage_ended = Some(StageOutcome {
            stage: Stage::Handling,
            clock: Clock::Natural,
            started_at: stage.started,
            deadline: stage.deadline,
            ended_at: handled,
            on_time: handled <= stage.deadline,
            // Synthetic: about 40 % of natural time is working time (nights, weekends).
            working_minutes: Some(((handled - stage.started).num_minutes() as f64 * 0.4) as i64),
        });
        let checked = handled + minutes(rng, 60, 1_440);
        if !reworked && rng.below(100) < 8 {
            reworked = true;
            steps.push(Action::Rework, CaseState::Dispatched, checked);
            stage = Handling {
                started: checked,
                deadline: checked + limit,
                ended: None,
            };
            continue;
        }
        steps.push(Action::CheckPass, CaseState::Closed, checked);
        let satisfaction = (source == Source::Public && rng.below(100) < 60).then(|| {
            if rng.below(100) < 85 {
                Satisfaction::Satisfied
            } else {
                Satisfaction::Unsatisfied
            }
        });
        return done(steps, base, stages, satisfaction);
    }
}

impl Generated {
    /// The snapshot as it stood at `cutoff`, and the records before it.
    fn at(&self, cutoff: DateTime<Utc>) -> Option<(CaseSnapshot, &[BusinessRecord])> {
        let before = self.records.partition_point(|r| r.at < cutoff);
        let last = self.records[..before].last()?;
        let mut s = self.base.clone();
        s.version = last.case_version;
        s.state = last.to_state;
        s.updated_at = last.at;
        let records = &self.records[..before];
        s.rework_count = records
            .iter()
            .filter(|r| r.action == Action::Rework)
            .count() as u32;
        s.extension_minutes = 0;
        // The handling stage running at the cut-off, if the case is with a department.
        s.current_stage = self
            .stages
            .iter()
            .find(|h| h.started < cutoff && h.ended.is_none_or(|e| e >= cutoff))
            .filter(|_| s.state == CaseState::Dispatched)
            .map(|h| StageClock {
                stage: Stage::Handling,
                clock: Clock::Natural,
                started_at: h.started,
                limit_minutes: (h.deadline - h.started).num_minutes() as u32,
                yellow_at: None,
                deadline: Some(h.deadline),
            });
        let finished = matches!(s.state, CaseState::Closed | CaseState::Rejected);
        s.milestones.finished_at = finished.then_some(last.at);
        s.satisfaction = if s.state == CaseState::Closed {
            self.satisfaction
        } else {
            None
        };
        Some((s, records))
    }
}

fn month_of(t: DateTime<Utc>, year: i32) -> Option<u32> {
    use chrono::Datelike;
    let local = t.with_timezone(&ZONE);
    (local.year() == year).then(|| local.month())
}

fn bar(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template("{msg} {bar:40} {pos}/{len} [{elapsed_precise}, eta {eta}]")
            .expect("template"),
    );
    bar.set_message(what.to_owned());
    bar
}

pub fn generate(args: GenerateArgs) -> Result<(), String> {
    let started = Instant::now();
    if args.archive.exists() {
        std::fs::remove_dir_all(&args.archive).map_err(|e| e.to_string())?;
    }
    let year = Period::Year { year: args.year };
    let bounds = year.bounds(ZONE);
    let months = year.months();
    let mut csv = BufWriter::new(std::fs::File::create(&args.csv).map_err(|e| e.to_string())?);
    let (mut records, mut rows, mut cases) = (0u64, 0usize, 0u64);
    let per_district = args.cases / args.districts as u64;
    let progress = bar(per_district * args.districts as u64, "cases");
    for (d, district) in DISTRICTS.iter().take(args.districts).enumerate() {
        let mut rng = SplitMix64::new(args.seed ^ (d as u64 + 1).wrapping_mul(0x9E37_79B9));
        let mut buckets: Vec<Vec<CaseFacts>> = vec![Vec::new(); 12];
        for n in 0..per_district {
            let case = generate_case(&mut rng, district, n, bounds);
            records += case.records.len() as u64;
            cases += 1;
            let mut touched: BTreeSet<u32> = case
                .records
                .iter()
                .map(|r| r.at)
                .chain(case.stages.iter().map(|s| s.deadline))
                .filter_map(|t| month_of(t, args.year))
                .collect();
            touched.retain(|m| *m >= 1);
            for m in touched {
                let month = months[m as usize - 1];
                let (start, end) = month.bounds(ZONE);
                if let Some((snapshot, before)) = case.at(end) {
                    let facts = CaseFacts::of(district, &snapshot, before);
                    if facts.touches(start, end) {
                        buckets[m as usize - 1].push(facts);
                    }
                }
            }
            if n % 4096 == 0 {
                progress.inc(4096.min(per_district - n));
            }
        }
        for (i, facts) in buckets.into_iter().enumerate() {
            let slice = Slice::new(months[i], ZONE, bounds.1 + Duration::days(30), facts);
            rows += slice.facts.len();
            archive::write_csv(&mut csv, &slice)?;
            archive::write_district(&args.archive, &slice, district)?;
        }
    }
    progress.finish_and_clear();
    csv.flush().map_err(|e| e.to_string())?;
    let bytes: u64 = walk_bytes(&args.archive);
    println!(
        "generated {cases} cases, {records} business records → {rows} monthly rows over {} districts; archive {:.1} MiB; {:.1} s",
        args.districts,
        bytes as f64 / 1_048_576.0,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn walk_bytes(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => walk_bytes(&e.path()),
            _ => e.metadata().map(|m| m.len()).unwrap_or(0),
        })
        .sum()
}

/// The district-level counts in SQL: the engine's expressions (citygrid_appraisal::engine)
/// as `count(*) FILTER`, each row over its own month's window, default rules (suspended
/// cases out of 应结案数); one JSON object per district, keyed as the indicators are, so a
/// misnamed count fails the comparison instead of passing unseen.
const SQL: &str = "\
WITH r AS (SELECT *, \
    reported_at >= window_start AND reported_at < window_end AS rep, \
    filed_at >= window_start AND filed_at < window_end AS fil, \
    dispatched_at >= window_start AND dispatched_at < window_end AS dis, \
    due_at >= window_start AND due_at < window_end AND NOT suspended AS du, \
    due_at >= window_start AND due_at < window_end AS du_any, \
    finished_at >= window_start AND finished_at < window_end AS fin \
  FROM appraisal_rows) \
SELECT district, jsonb_build_object( \
  'reported', count(*) FILTER (WHERE rep), \
  'reported_supervisor', count(*) FILTER (WHERE rep AND source = 'supervisor'), \
  'reported_public', count(*) FILTER (WHERE rep AND source = 'public'), \
  'reported_hotline', count(*) FILTER (WHERE rep AND source = 'hotline'), \
  'valid_reported', count(*) FILTER (WHERE rep AND filed_at IS NOT NULL), \
  'filed', count(*) FILTER (WHERE fil), \
  'dispatched', count(*) FILTER (WHERE dis), \
  'returned', count(*) FILTER (WHERE dis AND returned), \
  'extended', count(*) FILTER (WHERE dis AND extended), \
  'due', count(*) FILTER (WHERE du), \
  'suspended', count(*) FILTER (WHERE du_any AND suspended), \
  'handled', count(*) FILTER (WHERE du AND handled_at IS NOT NULL), \
  'handled_on_time', count(*) FILTER (WHERE du AND on_time), \
  'closed', count(*) FILTER (WHERE du AND closed), \
  'closed_on_time', count(*) FILTER (WHERE du AND closed AND on_time), \
  'reworked', count(*) FILTER (WHERE du AND closed AND reworked), \
  'overdue', count(*) FILTER (WHERE du_any AND due_at < cutoff AND handled_at IS NULL AND NOT finished), \
  'public_found', count(*) FILTER (WHERE fil AND public_found), \
  'city_found', 0, \
  'rated', count(*) FILTER (WHERE fin AND rated), \
  'satisfied', count(*) FILTER (WHERE fin AND satisfied), \
  'handling_millis', coalesce(sum(handled_at - dispatched_at) FILTER (WHERE du AND handled_at IS NOT NULL), 0), \
  'handling_working_minutes', coalesce(sum(working_minutes) FILTER (WHERE du AND handled_at IS NOT NULL), 0), \
  'handling_working_timed', count(working_minutes) FILTER (WHERE du AND handled_at IS NOT NULL) \
) AS counts FROM r GROUP BY district ORDER BY district";

/// One district's counts from PostgreSQL.
#[derive(QueryableByName)]
struct SqlRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    district: String,
    #[diesel(sql_type = diesel::sql_types::Jsonb)]
    counts: serde_json::Value,
}

fn sql_counts(conn: &mut PgConnection) -> Result<BTreeMap<String, Counts>, String> {
    let rows: Vec<SqlRow> = diesel::sql_query(SQL)
        .load(conn)
        .map_err(|e| e.to_string())?;
    rows.into_iter()
        .map(|row| {
            let int = |key: &str| {
                row.counts[key]
                    .as_i64()
                    .ok_or_else(|| format!("SQL gave no {key} for {}", row.district))
            };
            let mut counts = Counts::zero();
            for indicator in Indicator::counts() {
                counts.values.insert(indicator, int(indicator.key())?);
            }
            counts.handling_millis = int("handling_millis")?;
            counts.handling_working_minutes = int("handling_working_minutes")?;
            counts.handling_working_timed = int("handling_working_timed")?;
            Ok((row.district.clone(), counts))
        })
        .collect()
}

/// The peak resident set of this process so far, MiB (`VmHWM`).
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Every archived partition of the year (what `Appraiser::input` finds for a closed year).
fn partitions(root: &std::path::Path, year: i32) -> Result<Vec<Partition>, String> {
    let mut found = Vec::new();
    for month in (Period::Year { year }).months() {
        for district in DISTRICTS {
            found.extend(archive::partition(root, month, district)?);
        }
    }
    Ok(found)
}

fn appraise_year(
    root: &std::path::Path,
    year: i32,
    level: Level,
) -> Result<citygrid_appraisal::Appraisal, String> {
    let config = Config::default();
    let input = Input {
        slices: vec![],
        partitions: partitions(root, year)?,
    };
    appraise(
        &input,
        &Request {
            period: Period::Year { year },
            level,
            config: &config,
            incomplete: &BTreeSet::new(),
            sizes: &BTreeMap::new(),
        },
    )
}

pub fn run(args: RunArgs) -> Result<(), String> {
    let mut conn = PgConnection::establish(&args.database).map_err(|e| e.to_string())?;
    let (mut every, mut district_only, mut sql) = (Vec::new(), Vec::new(), Vec::new());
    for round in 1..=args.rounds {
        let t = Instant::now();
        let mut units = 0;
        let mut by_district = None;
        for level in Level::ALL {
            let a = appraise_year(&args.archive, args.year, level)?;
            units += a.units.len();
            if level == Level::District {
                by_district = Some(a);
            }
        }
        every.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        let ours = appraise_year(&args.archive, args.year, Level::District)?;
        district_only.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        let theirs = sql_counts(&mut conn)?;
        sql.push(t.elapsed().as_secs_f64());
        let ours_counts: BTreeMap<String, Counts> = ours
            .units
            .iter()
            .map(|u| (u.key.clone(), u.counts.clone()))
            .collect();
        if ours_counts != theirs {
            return Err(format!(
                "round {round}: polars and PostgreSQL disagree:\n polars {ours_counts:?}\n sql {theirs:?}"
            ));
        }
        assert_eq!(
            by_district.map(|a| a.input_digest),
            Some(ours.input_digest.clone())
        );
        println!(
            "round {round}: polars every level {:.3} s ({units} units), district level {:.3} s; PostgreSQL district level {:.3} s; counts agree ({} rows, digest {})",
            every[round - 1],
            district_only[round - 1],
            sql[round - 1],
            ours.cases,
            &ours.input_digest[..12]
        );
    }
    let (every, district_only, sql) = (median(every), median(district_only), median(sql));
    println!(
        "median: polars every level {every:.3} s, polars district level {district_only:.3} s, PostgreSQL district level {sql:.3} s"
    );
    println!(
        "peak RSS (this process, polars side): {:.0} MiB",
        peak_rss_mib()
    );
    println!("ratio appraise: {:.2}", sql / district_only);
    println!(
        "(PostgreSQL district level / polars every level: {:.2})",
        sql / every
    );
    Ok(())
}
