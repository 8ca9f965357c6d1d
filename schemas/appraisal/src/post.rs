//! 岗位考核: the appraisal of people in their posts — supervisors (监督员), operators
//! (受理员), dispatchers (派遣员) and shift leaders (值班长) — from the same interchange
//! input as the other levels: each case's newest snapshot before a month's end and its
//! business records before it. A step counts for the person who took it (`actor_id`), in
//! the month it was taken; the post is the step's (the standard's action → role).
//!
//! The formulas follow the CJ/T 292 post table (shared/standards/INDICATORS.md), as far
//! as the standard's records carry them; docs/APPRAISAL.md ("Posts") has each one's source
//! and what is not measured. As in the rest of the crate polars does the grouping (by
//! post and person), rates are exact integer ratios in basis points, a zero denominator
//! gives no value (never a NaN), and the same input prints the same bytes.
//!
//! The post weights live here, in `[post.<post>]` tables of the same rules file
//! ([`Rules::parse`]), so a city's rules file and a district's can be one file.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Tz;
use citygrid_schemas::{
    Action, BusinessRecord, CaseSnapshot, CaseState, Role, Source, Stage, StageOutcome,
};
use polars::prelude::{Column, DataFrame, IntoLazy, PolarsResult, SortMultipleOptions, col};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::config::Config;
use crate::facts::CaseFacts;
use crate::indicator::{basis_points, percent};
use crate::period::Period;

/// 岗位: the posts appraised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Post {
    /// 监督员: reports, verifies public reports on site (核实), checks the work (核查).
    Supervisor,
    /// 受理员: accepts (files or rejects) reports and closes cases.
    Operator,
    /// 派遣员: dispatches, decides the departments' extension and suspension requests.
    Dispatcher,
    /// 值班长: decides the operators' cancellation requests.
    ShiftLeader,
}

impl Post {
    pub const ALL: [Post; 4] = [
        Post::Supervisor,
        Post::Operator,
        Post::Dispatcher,
        Post::ShiftLeader,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Post::Supervisor => "supervisor",
            Post::Operator => "operator",
            Post::Dispatcher => "dispatcher",
            Post::ShiftLeader => "shift_leader",
        }
    }

    pub fn chinese(self) -> &'static str {
        match self {
            Post::Supervisor => "监督员",
            Post::Operator => "受理员",
            Post::Dispatcher => "派遣员",
            Post::ShiftLeader => "值班长",
        }
    }

    /// The post's indicators, in output order.
    pub fn indicators(self) -> impl Iterator<Item = PostIndicator> {
        PostIndicator::ALL
            .iter()
            .copied()
            .filter(move |i| i.post() == self)
    }

    fn parse(text: &str) -> Option<Post> {
        Post::ALL.into_iter().find(|p| p.key() == text)
    }
}

macro_rules! post_indicators {
    ($( $name:ident => $key:literal, $zh:literal, $post:ident; )*) => {
        /// A post indicator: a count or a rate of two counts.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum PostIndicator { $( $name, )* }

        impl PostIndicator {
            pub const ALL: &'static [PostIndicator] = &[$( PostIndicator::$name, )*];

            /// The name in rules files and outputs (unique over all posts).
            pub fn key(self) -> &'static str {
                match self { $( PostIndicator::$name => $key, )* }
            }

            pub fn chinese(self) -> &'static str {
                match self { $( PostIndicator::$name => $zh, )* }
            }

            pub fn post(self) -> Post {
                match self { $( PostIndicator::$name => Post::$post, )* }
            }
        }
    };
}

post_indicators! {
    Reported => "reported", "上报数", Supervisor;
    ValidReported => "valid_reported", "有效上报数", Supervisor;
    PatrolFiled => "patrol_filed", "责任区立案数", Supervisor;
    Missed => "missed", "漏报数", Supervisor;
    Verifications => "verifications", "应核实数", Supervisor;
    VerifiedOnTime => "verified_on_time", "按时核实数", Supervisor;
    Checks => "checks", "应核查数", Supervisor;
    CheckedOnTime => "checked_on_time", "按时核查数", Supervisor;
    ValidReportRate => "valid_report_rate", "有效上报率", Supervisor;
    MissedRate => "missed_rate", "漏报率", Supervisor;
    OnTimeVerificationRate => "on_time_verification_rate", "按时核实率", Supervisor;
    OnTimeCheckRate => "on_time_check_rate", "按时核查率", Supervisor;
    Accepted => "accepted", "受理数", Operator;
    Filed => "filed", "立案数", Operator;
    FiledOnTime => "filed_on_time", "按时立案数", Operator;
    FiledCancelled => "filed_cancelled", "作废数", Operator;
    Closed => "closed", "结案数", Operator;
    OnTimeFilingRate => "on_time_filing_rate", "按时立案率", Operator;
    AccurateFilingRate => "accurate_filing_rate", "准确立案率", Operator;
    Dispatched => "dispatched", "派遣数", Dispatcher;
    DispatchedOnTime => "dispatched_on_time", "按时派遣数", Dispatcher;
    DispatchReturned => "dispatch_returned", "退回数", Dispatcher;
    RequestsDecided => "requests_decided", "审批数", Dispatcher;
    OnTimeDispatchRate => "on_time_dispatch_rate", "按时派遣率", Dispatcher;
    AccurateDispatchRate => "accurate_dispatch_rate", "准确派遣率", Dispatcher;
    CancellationsDecided => "cancellations_decided", "作废审批数", ShiftLeader;
    CancellationsApproved => "cancellations_approved", "作废批准数", ShiftLeader;
}

/// How a post rate is formed from two counts (as `indicator::RateDef`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PostRateDef {
    pub numerator: PostIndicator,
    pub denominator: PostIndicator,
    /// `1 − numerator / denominator`.
    pub complement: bool,
    /// Scored `100 − rate` in the composite.
    pub lower_is_better: bool,
}

impl PostIndicator {
    pub fn rate(self) -> Option<PostRateDef> {
        use PostIndicator::*;
        let def = |numerator, denominator, complement, lower_is_better| {
            Some(PostRateDef {
                numerator,
                denominator,
                complement,
                lower_is_better,
            })
        };
        match self {
            ValidReportRate => def(ValidReported, Reported, false, false),
            MissedRate => def(Missed, PatrolFiled, false, true),
            OnTimeVerificationRate => def(VerifiedOnTime, Verifications, false, false),
            OnTimeCheckRate => def(CheckedOnTime, Checks, false, false),
            OnTimeFilingRate => def(FiledOnTime, Filed, false, false),
            AccurateFilingRate => def(FiledCancelled, Filed, true, false),
            OnTimeDispatchRate => def(DispatchedOnTime, Dispatched, false, false),
            AccurateDispatchRate => def(DispatchReturned, Dispatched, true, false),
            _ => None,
        }
    }

    pub fn is_rate(self) -> bool {
        self.rate().is_some()
    }

    /// The counts, in output order: what the group-by sums.
    pub fn counts() -> impl Iterator<Item = PostIndicator> {
        PostIndicator::ALL.iter().copied().filter(|i| !i.is_rate())
    }

    fn parse(text: &str) -> Option<PostIndicator> {
        PostIndicator::ALL.iter().copied().find(|i| i.key() == text)
    }
}

/// The composite weights of each post. The defaults ([`DEFAULT_POST`]) follow the CJ/T 292
/// post table where its indicators exist here; a post without weights (the shift leader:
/// no rate of theirs has a published or recorded deadline) gets no composite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostConfig {
    pub weights: BTreeMap<Post, BTreeMap<PostIndicator, u32>>,
}

/// The default post weights, in the rules file's own syntax (docs/APPRAISAL.md, "Posts").
/// - supervisor: CJ/T 292's 40 / 20 (inverse) / 20 / 20;
/// - operator: 按时立案率 25 and 准确立案率 40, CJ/T 292's weights of these two in the
///   shift-leader row (its 按时结案率 is the centre's, not one person's);
/// - dispatcher: CJ/T 292's 40 / 40 (its 派遣数 band, 20, is a local rule and left out;
///   the composite divides by the weights present, so this is 50 / 50).
pub const DEFAULT_POST: &str = "\
[post.supervisor]
valid_report_rate = 40
missed_rate = 20
on_time_verification_rate = 20
on_time_check_rate = 20

[post.operator]
on_time_filing_rate = 25
accurate_filing_rate = 40

[post.dispatcher]
on_time_dispatch_rate = 40
accurate_dispatch_rate = 40
";

impl Default for PostConfig {
    fn default() -> PostConfig {
        let table: toml::Table = DEFAULT_POST
            .parse()
            .expect("the default post weights parse");
        PostConfig::from_tables(
            table.get("post").expect("a post table"),
            &PostConfig {
                weights: BTreeMap::new(),
            },
        )
        .expect("the default post weights are valid")
    }
}

impl PostConfig {
    /// `[post.<post>]` tables over `base`: a post named replaces that post's weights.
    /// Refused, with the key named: an unknown post or indicator, an indicator of another
    /// post, a weight on a count, a weight that is not a whole number ≥ 0, or all of a
    /// post's weights zero.
    fn from_tables(post: &toml::Value, base: &PostConfig) -> Result<PostConfig, String> {
        let tables = post
            .as_table()
            .ok_or("post: a table of posts ([post.supervisor], …)")?;
        let mut weights = base.weights.clone();
        for (name, table) in tables {
            let known = || {
                Post::ALL
                    .iter()
                    .map(|p| p.key())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let post = Post::parse(name)
                .ok_or_else(|| format!("post.{name}: no such post (use {})", known()))?;
            let table = table
                .as_table()
                .ok_or_else(|| format!("post.{name}: a table of weights"))?;
            let mut these = BTreeMap::new();
            for (key, value) in table {
                let at = format!("post.{name}.{key}");
                let indicator =
                    PostIndicator::parse(key).ok_or_else(|| format!("{at}: no such indicator"))?;
                if indicator.post() != post {
                    return Err(format!(
                        "{at}: an indicator of the {} post",
                        indicator.post().key()
                    ));
                }
                if !indicator.is_rate() {
                    return Err(format!("{at}: only rates take a weight"));
                }
                let weight = value
                    .as_integer()
                    .and_then(|w| u32::try_from(w).ok())
                    .ok_or_else(|| format!("{at}: a weight is a whole number from 0"))?;
                these.insert(indicator, weight);
            }
            if these.values().all(|w| *w == 0) {
                return Err(format!("post.{name}: all weights are zero"));
            }
            weights.insert(post, these);
        }
        Ok(PostConfig { weights })
    }

    pub fn weights(&self, post: Post) -> Option<&BTreeMap<PostIndicator, u32>> {
        self.weights.get(&post)
    }
}

/// A rules file: the levels' [`Config`] and the posts' weights (each by default its
/// built-in defaults).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Rules {
    pub config: Config,
    pub posts: PostConfig,
}

impl Rules {
    /// Parses a rules file: everything but `[post.*]` as [`Config::parse`] does, and the
    /// `[post.*]` tables over the default post weights.
    pub fn parse(text: &str) -> Result<Rules, String> {
        let mut table: toml::Table = text.parse().map_err(|e: toml::de::Error| e.to_string())?;
        let Some(post) = table.remove("post") else {
            return Ok(Rules {
                config: Config::parse(text)?,
                posts: PostConfig::default(),
            });
        };
        let rest = toml::to_string(&table).map_err(|e| e.to_string())?;
        Ok(Rules {
            config: Config::parse(&rest)?,
            posts: PostConfig::from_tables(&post, &PostConfig::default())?,
        })
    }
}

/// One case as it stood at a month's cut-off: its newest snapshot before it and its
/// records before it.
#[derive(Debug, Clone)]
pub struct PostCase {
    pub snapshot: CaseSnapshot,
    pub records: Vec<BusinessRecord>,
}

/// One month of the input.
#[derive(Debug, Clone)]
pub struct PostMonth {
    pub month: Period,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// When the cases were taken: the month's end, or now for the running month.
    pub cutoff: DateTime<Utc>,
    pub cases: Vec<PostCase>,
}

impl PostMonth {
    /// The cases taken at `cutoff` (later than the month's end means its end).
    pub fn new(month: Period, zone: Tz, cutoff: DateTime<Utc>, cases: Vec<PostCase>) -> PostMonth {
        let (start, end) = month.bounds(zone);
        PostMonth {
            month,
            start,
            end,
            cutoff: cutoff.min(end),
            cases,
        }
    }
}

/// What to appraise.
pub struct PostRequest<'a> {
    pub period: Period,
    pub district: &'a str,
    pub rules: &'a Rules,
    /// 巡查责任区: the supervisor answering for each cell (only the cells of the input's
    /// cases are needed). A problem filed in such a cell is in that supervisor's area.
    pub patrols: &'a BTreeMap<String, Uuid>,
    /// How to show a person (their username); the id otherwise.
    pub names: &'a BTreeMap<Uuid, String>,
}

/// One person in one post.
#[derive(Debug, Clone, PartialEq)]
pub struct PostUnit {
    pub post: Post,
    /// The username (or the id); `total` for a post's total.
    pub key: String,
    /// None for a total.
    pub actor_id: Option<Uuid>,
    pub counts: BTreeMap<PostIndicator, i64>,
    /// Basis points; none for a zero denominator.
    pub rates: BTreeMap<PostIndicator, Option<i64>>,
    /// Hundredths of a point; none without a weighted rate that has a value.
    pub composite: Option<i64>,
    pub grade: Option<char>,
    /// Competition ranking within the post; none for the unranked and the totals.
    pub rank: Option<u32>,
}

/// The post appraisal of a period.
#[derive(Debug, Clone, PartialEq)]
pub struct PostAppraisal {
    pub period: Period,
    pub config_version: String,
    /// SHA-256 of the input ([`input_digest`]).
    pub input_digest: String,
    /// Case rows read: a case counts once in every month it is read for.
    pub cases: usize,
    /// Per post (in [`Post::ALL`] order), ranked people then the unranked, by key.
    pub units: Vec<PostUnit>,
    /// One per post that has anyone in it.
    pub totals: Vec<PostUnit>,
}

/// One step or fact counted for one person: which counts it adds 1 to.
struct Event {
    post: Post,
    actor: Uuid,
    ones: Vec<(PostIndicator, bool)>,
}

fn on_time(outcome: &StageOutcome) -> bool {
    // Judged from the two instants, as the facts judge handling: the deadline itself is
    // on time, a second later is not.
    outcome.ended_at <= outcome.deadline
}

/// The deadline a verification (核实) is held to: verification is part of filing (the
/// filing stage's clock keeps running), so it is the filing deadline in force — the one
/// the step that ended the filing stage reports, else the filing stage running at the
/// cut-off.
fn filing_deadline(later: &[&BusinessRecord], snapshot: &CaseSnapshot) -> Option<DateTime<Utc>> {
    later
        .iter()
        .find_map(|r| r.stage_ended.as_ref().filter(|s| s.stage == Stage::Filing))
        .map(|s| s.deadline)
        .or_else(|| {
            snapshot
                .current_stage
                .as_ref()
                .filter(|s| s.stage == Stage::Filing)
                .and_then(|s| s.deadline)
        })
}

/// The supervisor an on-site task (核实, 核查) of the case goes to unless someone
/// reassigns it: the one answering for its cell, except when they reported the case
/// themselves (nobody checks their own report).
fn default_assignee(request: &PostRequest<'_>, snapshot: &CaseSnapshot) -> Option<Uuid> {
    let supervisor = *request.patrols.get(snapshot.cell_code.as_ref()?)?;
    (snapshot.reporter_id != Some(supervisor)).then_some(supervisor)
}

/// The on-site task a case waits for at the cut-off, and its deadline: a check (核查)
/// after handling, or the verification (核实) of a public or hotline report, which runs on
/// the filing stage's clock.
fn waiting_task(snapshot: &CaseSnapshot) -> Option<(PostIndicator, DateTime<Utc>)> {
    let stage = snapshot.current_stage.as_ref()?;
    let task = match (stage.stage, snapshot.state) {
        (Stage::Check, _) => PostIndicator::Checks,
        (Stage::Filing, CaseState::Reported)
            if matches!(snapshot.source, Source::Public | Source::Hotline) =>
        {
            PostIndicator::Verifications
        }
        _ => return None,
    };
    Some((task, stage.deadline?))
}

/// The events of one month.
fn events(month: &PostMonth, request: &PostRequest<'_>, out: &mut Vec<Event>) {
    use PostIndicator::*;
    let in_month = |t: DateTime<Utc>| month.start <= t && t < month.end;
    for case in &month.cases {
        let snapshot = &case.snapshot;
        // A check or verification still waiting at the cut-off past its deadline counts,
        // late, in its deadline's month, against the supervisor it goes to by default; so
        // leaving a task undone never keeps a rate at 100 %. Done in a later month, it is
        // not counted again there (`counted_before`).
        if let (Some((task, deadline)), Some(supervisor)) =
            (waiting_task(snapshot), default_assignee(request, snapshot))
            && in_month(deadline)
            && deadline < month.cutoff
        {
            let on_time = if task == Checks {
                CheckedOnTime
            } else {
                VerifiedOnTime
            };
            out.push(Event {
                post: Post::Supervisor,
                actor: supervisor,
                ones: vec![(task, true), (on_time, false)],
            });
        }
        let counted_before = |deadline: Option<DateTime<Utc>>| {
            deadline.is_some_and(|d| d < month.start)
                && default_assignee(request, snapshot).is_some()
        };
        let mut records: Vec<&BusinessRecord> = case
            .records
            .iter()
            .filter(|r| r.case_id == snapshot.case_id && r.at < month.cutoff)
            .collect();
        records.sort_by_key(|r| r.record_id);
        let filed = records.iter().any(|r| r.action == Action::File);
        let cancelled = snapshot.state == CaseState::Cancelled;
        for (i, r) in records.iter().enumerate() {
            let (Some(actor), true) = (r.actor_id, in_month(r.at)) else {
                continue;
            };
            let ended = |stage: Stage| {
                r.stage_ended
                    .as_ref()
                    .filter(|s| s.stage == stage)
                    .is_some_and(on_time)
            };
            let later = &records[i + 1..];
            let (post, ones) = match r.action {
                // A report entered by a call-taker (hotline) is not a supervisor's.
                Action::Report if r.actor_role == Role::Supervisor => (
                    Post::Supervisor,
                    vec![(Reported, true), (ValidReported, filed)],
                ),
                Action::Verify => {
                    let deadline = filing_deadline(later, snapshot);
                    if counted_before(deadline) {
                        continue;
                    }
                    let in_time = deadline.is_some_and(|d| r.at <= d);
                    (
                        Post::Supervisor,
                        vec![(Verifications, true), (VerifiedOnTime, in_time)],
                    )
                }
                Action::CheckPass | Action::Rework => {
                    let deadline = r
                        .stage_ended
                        .as_ref()
                        .filter(|s| s.stage == Stage::Check)
                        .map(|s| s.deadline);
                    if counted_before(deadline) {
                        continue;
                    }
                    (
                        Post::Supervisor,
                        vec![(Checks, true), (CheckedOnTime, ended(Stage::Check))],
                    )
                }
                Action::File => (
                    Post::Operator,
                    vec![
                        (Accepted, true),
                        (Filed, true),
                        (FiledOnTime, ended(Stage::Filing)),
                        (FiledCancelled, cancelled),
                    ],
                ),
                Action::Reject => (Post::Operator, vec![(Accepted, true)]),
                Action::Close => (Post::Operator, vec![(Closed, true)]),
                Action::Dispatch => {
                    // Returned: the case's next dispatch-or-return is a return.
                    let returned = later
                        .iter()
                        .find(|n| matches!(n.action, Action::Dispatch | Action::Return))
                        .is_some_and(|n| n.action == Action::Return);
                    (
                        Post::Dispatcher,
                        vec![
                            (Dispatched, true),
                            (DispatchedOnTime, ended(Stage::Dispatch)),
                            (DispatchReturned, returned),
                        ],
                    )
                }
                Action::ApproveExtension
                | Action::RejectExtension
                | Action::ApproveSuspension
                | Action::RejectSuspension => (Post::Dispatcher, vec![(RequestsDecided, true)]),
                Action::Cancel => (
                    Post::ShiftLeader,
                    vec![(CancellationsDecided, true), (CancellationsApproved, true)],
                ),
                Action::RejectCancellation => {
                    (Post::ShiftLeader, vec![(CancellationsDecided, true)])
                }
                _ => continue,
            };
            out.push(Event { post, actor, ones });
        }
        // 漏报: a problem filed this month in a supervisor's area that somebody else found
        // instead of them: a citizen (a public or hotline report confirmed on site) or the
        // city's own supervisors (上级发现).
        let before: Vec<BusinessRecord> = records.iter().map(|r| (*r).clone()).collect();
        let facts = CaseFacts::of(request.district, snapshot, &before);
        let filed_in_month = facts.filed_at.is_some_and(in_month);
        let responsible = facts.cell.as_ref().and_then(|c| request.patrols.get(c));
        if let (true, Some(supervisor)) = (filed_in_month, responsible) {
            let found_by_others = facts.source == Source::City
                || (matches!(facts.source, Source::Public | Source::Hotline)
                    && facts.verified == Some(true));
            out.push(Event {
                post: Post::Supervisor,
                actor: *supervisor,
                ones: vec![(PatrolFiled, true), (Missed, found_by_others)],
            });
        }
    }
}

/// The events as columns: `post`, `actor`, and a 0/1 column per count.
fn frame(events: &[Event]) -> PolarsResult<DataFrame> {
    let mut columns = vec![
        Column::new(
            "post".into(),
            events.iter().map(|e| e.post.key()).collect::<Vec<_>>(),
        ),
        Column::new(
            "actor".into(),
            events
                .iter()
                .map(|e| e.actor.to_string())
                .collect::<Vec<_>>(),
        ),
    ];
    for indicator in PostIndicator::counts() {
        let values: Vec<i64> = events
            .iter()
            .map(|e| e.ones.iter().any(|(i, yes)| *i == indicator && *yes).into())
            .collect();
        columns.push(Column::new(indicator.key().into(), values));
    }
    DataFrame::new(events.len(), columns)
}

type Counts = BTreeMap<PostIndicator, i64>;

fn read_counts(df: &DataFrame, row: usize) -> PolarsResult<Counts> {
    PostIndicator::counts()
        .map(|i| Ok((i, df.column(i.key())?.i64()?.get(row).unwrap_or(0))))
        .collect()
}

/// Sums the events per (post, person) and per post.
#[expect(
    clippy::type_complexity,
    reason = "two maps of counts, named at the call"
)]
fn group(
    events: &[Event],
) -> PolarsResult<(BTreeMap<(Post, Uuid), Counts>, BTreeMap<Post, Counts>)> {
    let sums: Vec<_> = PostIndicator::counts()
        .map(|i| col(i.key()).sum().alias(i.key()))
        .collect();
    let frame = frame(events)?;
    let people = frame
        .clone()
        .lazy()
        .group_by([col("post"), col("actor")])
        .agg(sums.clone())
        .sort(["post", "actor"], SortMultipleOptions::default())
        .collect()?;
    let posts = frame
        .lazy()
        .group_by([col("post")])
        .agg(sums)
        .sort(["post"], SortMultipleOptions::default())
        .collect()?;
    let post_of = |text: Option<&str>| text.and_then(Post::parse);
    let mut units = BTreeMap::new();
    let (post_col, actor_col) = (
        people.column("post")?.str()?,
        people.column("actor")?.str()?,
    );
    for row in 0..people.height() {
        let actor = actor_col.get(row).and_then(|a| Uuid::parse_str(a).ok());
        if let (Some(post), Some(actor)) = (post_of(post_col.get(row)), actor) {
            units.insert((post, actor), read_counts(&people, row)?);
        }
    }
    let mut totals = BTreeMap::new();
    let post_col = posts.column("post")?.str()?;
    for row in 0..posts.height() {
        if let Some(post) = post_of(post_col.get(row)) {
            totals.insert(post, read_counts(&posts, row)?);
        }
    }
    Ok((units, totals))
}

/// SHA-256 over the input, in a canonical order and spelling: per month its bounds, the
/// facts' digest (crate::digest) of its cases, then every counted detail of every record
/// (id, action, role, person, time, the stage it ended) and each case's running filing
/// deadline; last the patrol areas. Equal input, equal digest.
pub fn input_digest(
    months: &[PostMonth],
    patrols: &BTreeMap<String, Uuid>,
    district: &str,
) -> String {
    let time = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Millis, true);
    let mut hasher = Sha256::new();
    let mut sorted: Vec<&PostMonth> = months.iter().collect();
    sorted.sort_by_key(|m| m.month);
    for month in sorted {
        let facts: Vec<CaseFacts> = month
            .cases
            .iter()
            .map(|c| CaseFacts::of(district, &c.snapshot, &c.records))
            .collect();
        hasher.update(format!(
            "month\t{}\t{}\t{}\t{}\t{}\n",
            month.month,
            time(month.start),
            time(month.end),
            time(month.cutoff),
            crate::digest::of(facts.as_slice()),
        ));
        let mut cases: Vec<&PostCase> = month.cases.iter().collect();
        cases.sort_by_key(|c| c.snapshot.case_id);
        for case in cases {
            let running = case
                .snapshot
                .current_stage
                .as_ref()
                .filter(|s| s.stage == Stage::Filing)
                .and_then(|s| s.deadline);
            hasher.update(format!(
                "case\t{}\t{}\n",
                case.snapshot.case_id,
                running.map(time).unwrap_or_default()
            ));
            let mut records: Vec<&BusinessRecord> = case.records.iter().collect();
            records.sort_by_key(|r| r.record_id);
            for r in records {
                let ended = r
                    .stage_ended
                    .as_ref()
                    .map(|s| format!("{:?}\t{}\t{}", s.stage, time(s.deadline), time(s.ended_at)))
                    .unwrap_or_default();
                hasher.update(format!(
                    "record\t{}\t{:?}\t{:?}\t{}\t{}\t{ended}\n",
                    r.record_id,
                    r.action,
                    r.actor_role,
                    r.actor_id.map(|a| a.to_string()).unwrap_or_default(),
                    time(r.at),
                ));
            }
        }
    }
    for (cell, supervisor) in patrols {
        hasher.update(format!("patrol\t{cell}\t{supervisor}\n"));
    }
    hex::encode(hasher.finalize())
}

fn rates(post: Post, counts: &Counts) -> BTreeMap<PostIndicator, Option<i64>> {
    post.indicators()
        .filter_map(|i| i.rate().map(|def| (i, def)))
        .map(|(i, def)| {
            let get = |c: PostIndicator| counts.get(&c).copied().unwrap_or(0);
            let bp = basis_points(get(def.numerator), get(def.denominator))
                .map(|bp| if def.complement { 10_000 - bp } else { bp });
            (i, bp)
        })
        .collect()
}

/// Σ weight × score / Σ weight over the weighted rates that have a value, rounded half up
/// (the same rule as the levels' composite).
fn composite(
    rates: &BTreeMap<PostIndicator, Option<i64>>,
    weights: Option<&BTreeMap<PostIndicator, u32>>,
) -> Option<i64> {
    let (mut sum, mut weight) = (0i64, 0i64);
    for (indicator, w) in weights? {
        let Some(Some(bp)) = rates.get(indicator) else {
            continue;
        };
        let lower = indicator.rate().is_some_and(|d| d.lower_is_better);
        sum += i64::from(*w) * if lower { 10_000 - bp } else { *bp };
        weight += i64::from(*w);
    }
    (weight > 0).then(|| (2 * sum + weight) / (2 * weight))
}

fn unit(
    post: Post,
    key: String,
    actor_id: Option<Uuid>,
    counts: Counts,
    rules: &Rules,
) -> PostUnit {
    let rates = rates(post, &counts);
    let composite = composite(&rates, rules.posts.weights(post));
    PostUnit {
        post,
        key,
        actor_id,
        counts,
        rates,
        composite,
        grade: composite.map(|c| rules.config.grade(c)),
        rank: None,
    }
}

/// Appraises the people of a district in their posts over `months` (the period's months,
/// each taken at its own end).
pub fn appraise(months: &[PostMonth], request: &PostRequest<'_>) -> Result<PostAppraisal, String> {
    let wanted: BTreeSet<Period> = request.period.months().into_iter().collect();
    let mut seen = BTreeSet::new();
    for m in months {
        if !wanted.contains(&m.month) || !seen.insert(m.month) {
            return Err(format!(
                "{} is not a month of {} or is given twice",
                m.month, request.period
            ));
        }
    }
    let mut all = Vec::new();
    for month in months {
        events(month, request, &mut all);
    }
    let (people, post_totals) = group(&all).map_err(|e| format!("post counts: {e}"))?;
    let mut units: Vec<PostUnit> = people
        .into_iter()
        .map(|((post, actor), counts)| {
            let key = request
                .names
                .get(&actor)
                .cloned()
                .unwrap_or_else(|| actor.to_string());
            unit(post, key, Some(actor), counts, request.rules)
        })
        .collect();
    units.sort_by(|a, b| {
        a.post
            .cmp(&b.post)
            .then(b.composite.is_some().cmp(&a.composite.is_some()))
            .then(b.composite.cmp(&a.composite))
            .then(a.key.cmp(&b.key))
    });
    let mut previous: Option<(Post, i64, u32)> = None;
    let mut first_of_post = 0;
    for i in 0..units.len() {
        if i == 0 || units[i].post != units[i - 1].post {
            first_of_post = i;
        }
        let Some(composite) = units[i].composite else {
            continue;
        };
        let rank = match previous {
            Some((p, c, r)) if p == units[i].post && c == composite => r,
            _ => (i - first_of_post) as u32 + 1,
        };
        units[i].rank = Some(rank);
        previous = Some((units[i].post, composite, rank));
    }
    let totals = post_totals
        .into_iter()
        .map(|(post, counts)| unit(post, "total".into(), None, counts, request.rules))
        .collect();
    Ok(PostAppraisal {
        period: request.period,
        config_version: request.rules.config.version.clone(),
        input_digest: input_digest(months, request.patrols, request.district),
        cases: months.iter().map(|m| m.cases.len()).sum(),
        units,
        totals,
    })
}

impl PostAppraisal {
    /// Only `actor`'s own rows, without the totals (what a supervisor may see).
    pub fn only(&self, actor: Uuid) -> PostAppraisal {
        PostAppraisal {
            units: self
                .units
                .iter()
                .filter(|u| u.actor_id == Some(actor))
                .cloned()
                .collect(),
            totals: Vec::new(),
            ..self.clone()
        }
    }

    fn rows(&self) -> impl Iterator<Item = &PostUnit> {
        Post::ALL.into_iter().flat_map(move |post| {
            self.units
                .iter()
                .filter(move |u| u.post == post)
                .chain(self.totals.iter().filter(move |u| u.post == post))
        })
    }

    /// A value as printed: counts as integers, rates as percent with two decimals (`-`
    /// for no value); empty when the indicator is not of the unit's post.
    fn cell(u: &PostUnit, indicator: PostIndicator) -> String {
        if indicator.post() != u.post {
            return String::new();
        }
        match indicator.rate() {
            None => u.counts.get(&indicator).copied().unwrap_or(0).to_string(),
            Some(_) => u
                .rates
                .get(&indicator)
                .copied()
                .flatten()
                .map_or_else(|| "-".to_owned(), percent),
        }
    }

    /// RFC 4180 CSV: `post, rank, key`, every post indicator (empty where not the row's
    /// post), `composite, grade`; each post's total after its people.
    pub fn to_csv(&self) -> String {
        let mut out = String::from("post,rank,key");
        for i in PostIndicator::ALL {
            out.push(',');
            out.push_str(i.key());
        }
        out.push_str(",composite,grade\n");
        for u in self.rows() {
            let mut cells = vec![
                u.post.key().to_owned(),
                u.rank.map(|r| r.to_string()).unwrap_or_default(),
                crate::report::csv_field(&u.key),
            ];
            cells.extend(PostIndicator::ALL.iter().map(|i| Self::cell(u, *i)));
            cells.push(u.composite.map_or_else(|| "-".to_owned(), percent));
            cells.push(u.grade.map_or_else(|| "-".to_owned(), String::from));
            out.push_str(&cells.join(","));
            out.push('\n');
        }
        out
    }

    /// `{period, level: "post", config_version, input_digest, cases, units, totals}`; each
    /// unit has `post, rank, key, actor_id`, its post's indicators (rates as numbers of
    /// percent, null for no value), `composite, grade`.
    pub fn to_json(&self) -> Value {
        let unit = |u: &PostUnit| {
            let mut m = Map::new();
            m.insert("post".into(), json!(u.post.key()));
            m.insert("rank".into(), json!(u.rank));
            m.insert("key".into(), json!(u.key));
            m.insert("actor_id".into(), json!(u.actor_id));
            for i in u.post.indicators() {
                let value = match i.rate() {
                    None => json!(u.counts.get(&i).copied().unwrap_or(0)),
                    Some(_) => json!(
                        u.rates
                            .get(&i)
                            .copied()
                            .flatten()
                            .map(|bp| bp as f64 / 100.0)
                    ),
                };
                m.insert(i.key().into(), value);
            }
            m.insert(
                "composite".into(),
                json!(u.composite.map(|c| c as f64 / 100.0)),
            );
            m.insert("grade".into(), json!(u.grade.map(String::from)));
            Value::Object(m)
        };
        json!({
            "period": self.period.to_string(),
            "level": "post",
            "config_version": self.config_version,
            "input_digest": self.input_digest,
            "cases": self.cases,
            "units": self.units.iter().map(unit).collect::<Vec<_>>(),
            "totals": self.totals.iter().map(unit).collect::<Vec<_>>(),
        })
    }

    /// One aligned table per post, with Chinese headers.
    pub fn to_table(&self) -> String {
        let width = |s: &str| {
            s.chars()
                .map(|c| if c.is_ascii() { 1 } else { 2 })
                .sum::<usize>()
        };
        let mut out = format!(
            "post appraisal, {} — config {}, {} cases, input {}\n",
            self.period,
            self.config_version,
            self.cases,
            &self.input_digest[..16.min(self.input_digest.len())]
        );
        for post in Post::ALL {
            let rows: Vec<&PostUnit> = self.rows().filter(|u| u.post == post).collect();
            if rows.is_empty() {
                continue;
            }
            let mut header = vec!["rank".to_owned(), post.key().to_owned()];
            header.extend(post.indicators().map(|i| i.chinese().to_owned()));
            header.extend(["综合指标值".to_owned(), "等级".to_owned()]);
            let mut table = vec![header];
            for u in rows {
                let mut row = vec![
                    u.rank.map(|r| r.to_string()).unwrap_or_default(),
                    u.key.clone(),
                ];
                row.extend(post.indicators().map(|i| Self::cell(u, i)));
                row.push(u.composite.map_or_else(|| "-".to_owned(), percent));
                row.push(u.grade.map_or_else(|| "-".to_owned(), String::from));
                table.push(row);
            }
            let widths: Vec<usize> = (0..table[0].len())
                .map(|i| table.iter().map(|r| width(&r[i])).max().unwrap_or(0))
                .collect();
            let _ = writeln!(out, "\n{} {}", post.chinese(), post.key());
            for row in table {
                let cells: Vec<String> = row
                    .iter()
                    .zip(&widths)
                    .map(|(c, w)| format!("{c}{}", " ".repeat(w - width(c))))
                    .collect();
                let _ = writeln!(out, "{}", cells.join("  ").trim_end());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};
    use citygrid_schemas::json::example_snapshot;
    use citygrid_schemas::{Clock, Milestones};

    use super::*;

    const ZONE: Tz = chrono_tz::Asia::Shanghai;
    const CELL: &str = "330102001002017";
    const OTHER_CELL: &str = "330102001002018";

    fn person(n: u128) -> Uuid {
        Uuid::from_u128(0x1000 + n)
    }
    const SUP: u128 = 1; // the supervisor answering for CELL
    const CHECKER: u128 = 2;
    const OPERATOR: u128 = 3;
    const DISPATCHER: u128 = 4;
    const SHIFT: u128 = 5;

    /// 10:00 Asia/Shanghai (02:00Z) on an October day, plus minutes.
    fn oct(day: u32, minutes: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 10, day, 2, 0, 0).unwrap() + Duration::minutes(minutes)
    }

    fn october() -> Period {
        Period::Month {
            year: 2026,
            month: 10,
        }
    }

    fn snapshot(case: u128, source: Source, state: CaseState, cell: &str) -> CaseSnapshot {
        let mut s = example_snapshot();
        s.case_id = Uuid::from_u128(case);
        (s.source, s.state, s.current_stage) = (source, state, None);
        s.cell_code = Some(cell.into());
        s.verified = (source != Source::Supervisor).then_some(true);
        s.milestones = Milestones::default();
        s
    }

    struct Steps {
        case: Uuid,
        records: Vec<BusinessRecord>,
    }

    impl Steps {
        fn new(case: u128) -> Steps {
            Steps {
                case: Uuid::from_u128(case),
                records: Vec::new(),
            }
        }

        /// A step by `actor` at `at`; `ended`: (stage, deadline) of the stage it ended.
        fn step(
            mut self,
            action: Action,
            role: Role,
            actor: u128,
            at: DateTime<Utc>,
            ended: Option<(Stage, DateTime<Utc>)>,
        ) -> Steps {
            let id = self.records.len() as i64 + 1;
            self.records.push(BusinessRecord {
                record_id: id,
                case_id: self.case,
                case_version: id as u32,
                action,
                from_state: None,
                to_state: CaseState::Filed,
                actor_id: Some(person(actor)),
                actor_role: role,
                comment: None,
                media: vec![],
                details: json!({}),
                stage_ended: ended.map(|(stage, deadline)| StageOutcome {
                    stage,
                    clock: Clock::Working,
                    started_at: deadline - Duration::hours(2),
                    deadline,
                    ended_at: at,
                    on_time: true, // a district's flag: ignored, the instants decide
                    working_minutes: None,
                }),
                at,
            });
            self
        }

        fn case(self, snapshot: CaseSnapshot) -> PostCase {
            PostCase {
                snapshot,
                records: self.records,
            }
        }
    }

    /// The hand-counted month (expected figures in `the_posts_of_a_month_by_hand`).
    fn cases() -> Vec<PostCase> {
        use Action::*;
        use Role::{Dispatcher, Handler, Operator, ShiftLeader, Supervisor};
        let late = Duration::seconds(1);
        vec![
            // A: the supervisor's report, filed on time, dispatched on time, returned,
            // dispatched again a second late, handled, checked exactly at the deadline.
            Steps::new(0xA)
                .step(Report, Supervisor, SUP, oct(5, 0), None)
                .step(
                    File,
                    Operator,
                    OPERATOR,
                    oct(5, 30),
                    Some((Stage::Filing, oct(5, 60))),
                )
                .step(
                    Dispatch,
                    Dispatcher,
                    DISPATCHER,
                    oct(5, 40),
                    Some((Stage::Dispatch, oct(5, 90))),
                )
                .step(Return, Handler, 9, oct(5, 50), None)
                .step(
                    Dispatch,
                    Dispatcher,
                    DISPATCHER,
                    oct(5, 120) + late,
                    Some((Stage::Dispatch, oct(5, 120))),
                )
                .step(
                    Handle,
                    Handler,
                    9,
                    oct(6, 0),
                    Some((Stage::Handling, oct(7, 0))),
                )
                .step(
                    CheckPass,
                    Supervisor,
                    CHECKER,
                    oct(6, 60),
                    Some((Stage::Check, oct(6, 60))),
                )
                .case(snapshot(0xA, Source::Supervisor, CaseState::Handled, CELL)),
            // B: the supervisor's report, rejected a second late: not valid.
            Steps::new(0xB)
                .step(Report, Supervisor, SUP, oct(8, 0), None)
                .step(
                    Reject,
                    Operator,
                    OPERATOR,
                    oct(8, 60) + late,
                    Some((Stage::Filing, oct(8, 60))),
                )
                .case(snapshot(0xB, Source::Supervisor, CaseState::Rejected, CELL)),
            // C: a public report in the supervisor's cell, verified exactly at the filing
            // deadline, filed on time: missed (漏报).
            Steps::new(0xC)
                .step(Report, Role::Public, 99, oct(9, 0), None)
                .step(Verify, Supervisor, SUP, oct(9, 60), None)
                .step(
                    File,
                    Operator,
                    OPERATOR,
                    oct(9, 60),
                    Some((Stage::Filing, oct(9, 60))),
                )
                .case(snapshot(0xC, Source::Public, CaseState::Filed, CELL)),
            // D: a hotline report entered by the operator (not a supervisor's report),
            // verified a second after the filing deadline, filed late, then cancelled.
            Steps::new(0xD)
                .step(Report, Operator, OPERATOR, oct(10, 0), None)
                .step(Verify, Supervisor, SUP, oct(10, 60) + late, None)
                .step(
                    File,
                    Operator,
                    OPERATOR,
                    oct(10, 90),
                    Some((Stage::Filing, oct(10, 60))),
                )
                .step(RequestCancellation, Operator, OPERATOR, oct(10, 100), None)
                .step(
                    Cancel,
                    ShiftLeader,
                    SHIFT,
                    oct(10, 110),
                    Some((Stage::Dispatch, oct(11, 0))),
                )
                .case(snapshot(0xD, Source::Hotline, CaseState::Cancelled, CELL)),
            // E: in another cell (nobody's area); its check fails a second late (返工).
            // Its report was in September: not this month's.
            Steps::new(0xE)
                .step(
                    Report,
                    Supervisor,
                    CHECKER,
                    oct(1, 0) - Duration::days(3),
                    None,
                )
                .step(
                    Rework,
                    Supervisor,
                    CHECKER,
                    oct(12, 0) + late,
                    Some((Stage::Check, oct(12, 0))),
                )
                .case(snapshot(
                    0xE,
                    Source::Supervisor,
                    CaseState::Dispatched,
                    OTHER_CELL,
                )),
        ]
    }

    fn names() -> BTreeMap<Uuid, String> {
        [
            (SUP, "sup"),
            (CHECKER, "checker"),
            (OPERATOR, "op"),
            (DISPATCHER, "disp"),
            (SHIFT, "shift"),
        ]
        .into_iter()
        .map(|(n, name)| (person(n), name.to_owned()))
        .collect()
    }

    fn run(months: &[PostMonth], rules: &Rules) -> PostAppraisal {
        let patrols = BTreeMap::from([(CELL.to_owned(), person(SUP))]);
        let names = names();
        appraise(
            months,
            &PostRequest {
                period: october(),
                district: "330102",
                rules,
                patrols: &patrols,
                names: &names,
            },
        )
        .expect("appraised")
    }

    fn unit<'a>(a: &'a PostAppraisal, post: Post, key: &str) -> &'a PostUnit {
        a.units
            .iter()
            .chain(&a.totals)
            .find(|u| u.post == post && u.key == key)
            .unwrap_or_else(|| panic!("{post:?} {key}"))
    }

    fn count(u: &PostUnit, i: PostIndicator) -> i64 {
        u.counts[&i]
    }

    /// A case waiting at the cut-off for the on-site `task` of the stage `stage`, due at
    /// `deadline`.
    fn waiting(
        mut snapshot: CaseSnapshot,
        stage: Stage,
        deadline: DateTime<Utc>,
        reporter: Option<u128>,
    ) -> CaseSnapshot {
        snapshot.reporter_id = reporter.map(person);
        snapshot.current_stage = Some(citygrid_schemas::StageClock {
            stage,
            clock: Clock::Working,
            started_at: deadline - Duration::hours(2),
            limit_minutes: 120,
            yellow_at: Some(deadline - Duration::hours(1)),
            deadline: Some(deadline),
        });
        snapshot
    }

    #[test]
    fn a_task_left_waiting_past_its_deadline_counts_late_once_in_its_deadlines_month() {
        use Action::*;
        use PostIndicator::*;
        use Role::{Handler, Operator, Supervisor};
        let nov = |day: u32| Utc.with_ymd_and_hms(2026, 11, day, 2, 0, 0).unwrap();
        let (check_due, verify_due) = (oct(21, 0), oct(22, 0));
        // F: the checker's report, handled; its check (sup's: they answer for CELL) due
        // on 21 October and still waiting at the month's end. G: a public report whose
        // verification (sup's) is due on 22 October, still waiting. H: sup's own report
        // waiting for its check: not theirs to check, so nobody's.
        let f = Steps::new(0xF)
            .step(Report, Supervisor, CHECKER, oct(19, 0), None)
            .step(Handle, Handler, 9, oct(20, 0), None);
        let g = Steps::new(0x6).step(Report, Role::Public, 99, oct(22, -120), None);
        let h = Steps::new(0x8)
            .step(Report, Supervisor, SUP, oct(19, 0), None)
            .step(Handle, Handler, 9, oct(20, 0), None);
        let october_cases = vec![
            PostCase {
                snapshot: waiting(
                    snapshot(0xF, Source::Supervisor, CaseState::Handled, CELL),
                    Stage::Check,
                    check_due,
                    Some(CHECKER),
                ),
                records: f.records.clone(),
            },
            PostCase {
                snapshot: waiting(
                    snapshot(0x6, Source::Public, CaseState::Reported, CELL),
                    Stage::Filing,
                    verify_due,
                    None,
                ),
                records: g.records.clone(),
            },
            PostCase {
                snapshot: waiting(
                    snapshot(0x8, Source::Supervisor, CaseState::Handled, CELL),
                    Stage::Check,
                    check_due,
                    Some(SUP),
                ),
                records: h.records.clone(),
            },
        ];
        // In November sup does both, late; the October figures must not change and
        // November must not count them again.
        let mut f_done = snapshot(0xF, Source::Supervisor, CaseState::Closed, CELL);
        f_done.reporter_id = Some(person(CHECKER));
        let november_cases = vec![
            f.step(
                CheckPass,
                Supervisor,
                SUP,
                nov(2),
                Some((Stage::Check, check_due)),
            )
            .case(f_done),
            g.step(Verify, Supervisor, SUP, nov(2), None)
                .step(
                    File,
                    Operator,
                    OPERATOR,
                    nov(2) + Duration::minutes(5),
                    Some((Stage::Filing, verify_due)),
                )
                .case(snapshot(0x6, Source::Public, CaseState::Filed, CELL)),
        ];
        let month_end = nov(1) - Duration::hours(10); // midnight, 1 November local
        let months = [
            PostMonth::new(october(), ZONE, month_end, october_cases),
            PostMonth::new(
                Period::Month {
                    year: 2026,
                    month: 11,
                },
                ZONE,
                nov(30),
                november_cases,
            ),
        ];
        let patrols = BTreeMap::from([(CELL.to_owned(), person(SUP))]);
        let names = names();
        let rules = Rules::default();
        let quarter = |months: &[PostMonth]| {
            appraise(
                months,
                &PostRequest {
                    period: Period::Quarter {
                        year: 2026,
                        quarter: 4,
                    },
                    district: "330102",
                    rules: &rules,
                    patrols: &patrols,
                    names: &names,
                },
            )
            .expect("appraised")
        };
        let tasks = [Checks, CheckedOnTime, Verifications, VerifiedOnTime];
        let october_only = quarter(&months[..1]);
        let sup = unit(&october_only, Post::Supervisor, "sup");
        assert_eq!(tasks.map(|i| count(sup, i)), [1, 0, 1, 0]);
        assert_eq!(sup.rates[&OnTimeCheckRate], Some(0));
        // Both months: still one late check and one late verification, nothing more.
        let both = quarter(&months);
        let sup = unit(&both, Post::Supervisor, "sup");
        assert_eq!(tasks.map(|i| count(sup, i)), [1, 0, 1, 0]);
    }

    #[test]
    fn the_posts_of_a_month_by_hand() {
        use PostIndicator::*;
        let month = PostMonth::new(october(), ZONE, oct(31, 0) + Duration::days(30), cases());
        let a = run(&[month], &Rules::default());

        // Supervisor `sup`: reported A and B (D was entered by the operator), A filed →
        // 有效上报率 1/2 = 50.00 %. Filed in October in its cell: A, C, D; C and D were
        // found by the public → 漏报率 2/3 = 66.67 %. Verified C at the deadline (on
        // time) and D a second late → 按时核实率 1/2 = 50.00 %. No checks → none.
        // Composite: (40 × 50.00 + 20 × (100 − 66.67) + 20 × 50.00) / 80
        //          = (200000 + 66660 + 100000) / 80 = 4583.25 → 45.83, grade D.
        let sup = unit(&a, Post::Supervisor, "sup");
        assert_eq!(
            [
                Reported,
                ValidReported,
                PatrolFiled,
                Missed,
                Verifications,
                VerifiedOnTime,
                Checks,
                CheckedOnTime
            ]
            .map(|i| count(sup, i)),
            [2, 1, 3, 2, 2, 1, 0, 0]
        );
        assert_eq!(sup.rates[&ValidReportRate], Some(5000));
        assert_eq!(sup.rates[&MissedRate], Some(6667));
        assert_eq!(sup.rates[&OnTimeVerificationRate], Some(5000));
        assert_eq!(
            sup.rates[&OnTimeCheckRate], None,
            "no check: no value, not 0"
        );
        assert_eq!((sup.composite, sup.grade), (Some(4583), Some('D')));

        // Supervisor `checker`: checked A exactly at the deadline, E a second late →
        // 1/2 = 50.00 %; its report of E was in September. Composite 50.00 (the only
        // rate with a value), so it ranks above `sup`.
        let checker = unit(&a, Post::Supervisor, "checker");
        assert_eq!(
            [Reported, Checks, CheckedOnTime].map(|i| count(checker, i)),
            [0, 2, 1]
        );
        assert_eq!(checker.rates[&ValidReportRate], None);
        assert_eq!(checker.composite, Some(5000));
        assert_eq!((checker.rank, sup.rank), (Some(1), Some(2)));

        // Operator: accepted A, B, C, D (4); filed A, C, D (3), A and C on time → 2/3 =
        // 66.67 %; D was cancelled → 准确立案率 1 − 1/3 = 66.67 %. Composite 66.67, C.
        let op = unit(&a, Post::Operator, "op");
        assert_eq!(
            [Accepted, Filed, FiledOnTime, FiledCancelled, Closed].map(|i| count(op, i)),
            [4, 3, 2, 1, 0]
        );
        assert_eq!(op.rates[&OnTimeFilingRate], Some(6667));
        assert_eq!(op.rates[&AccurateFilingRate], Some(6667));
        assert_eq!(
            (op.composite, op.grade, op.rank),
            (Some(6667), Some('C'), Some(1))
        );

        // Dispatcher: two dispatches of A; the first on time and returned, the second a
        // second late and not returned → 按时派遣率 50 %, 准确派遣率 1 − 1/2 = 50 %.
        let disp = unit(&a, Post::Dispatcher, "disp");
        assert_eq!(
            [Dispatched, DispatchedOnTime, DispatchReturned].map(|i| count(disp, i)),
            [2, 1, 1]
        );
        assert_eq!(disp.composite, Some(5000));

        // Shift leader: one cancellation approved; no rate, so no composite and no rank.
        let shift = unit(&a, Post::ShiftLeader, "shift");
        assert_eq!(
            [CancellationsDecided, CancellationsApproved].map(|i| count(shift, i)),
            [1, 1]
        );
        assert_eq!(
            (shift.composite, shift.grade, shift.rank),
            (None, None, None)
        );

        // A post's total is the sum of its people.
        let total = unit(&a, Post::Supervisor, "total");
        assert_eq!(
            [Reported, Checks, Verifications].map(|i| count(total, i)),
            [2, 2, 2]
        );
        assert_eq!(total.rank, None);

        // Zero denominators print as `-` and null, never NaN.
        let csv = a.to_csv();
        assert!(!csv.contains("NaN"), "{csv}");
        let json = a.to_json();
        let checker_json = json["units"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["key"] == "checker")
            .unwrap();
        assert_eq!(checker_json["valid_report_rate"], Value::Null);
        assert_eq!(checker_json["on_time_check_rate"], json!(50.0));
        assert!(a.to_table().contains("监督员 supervisor"));
    }

    #[test]
    fn output_is_deterministic_and_the_digest_follows_the_input() {
        let month = || PostMonth::new(october(), ZONE, oct(31, 0) + Duration::days(30), cases());
        let rules = Rules::default();
        let (a, b) = (run(&[month()], &rules), run(&[month()], &rules));
        assert_eq!(a.to_csv(), b.to_csv());
        assert_eq!(a.to_json(), b.to_json());
        assert_eq!(a.input_digest.len(), 64);
        // The cases in another order: the same digest and output.
        let mut reversed = month();
        reversed.cases.reverse();
        assert_eq!(run(&[reversed], &rules).to_csv(), a.to_csv());
        // One second moved on one step: another digest.
        let mut moved = month();
        moved.cases[0].records[1].at += Duration::seconds(1);
        assert_ne!(run(&[moved], &rules).input_digest, a.input_digest);
    }

    #[test]
    fn a_running_month_counts_only_steps_before_its_cutoff() {
        // Cut off on 9 October at 10:30: A and B's steps so far, C's report; C's verify
        // (10:60 → 11:00) is after it.
        let month = PostMonth::new(october(), ZONE, oct(9, 30), cases());
        let mut a = run(&[month], &Rules::default());
        let sup = unit(&a, Post::Supervisor, "sup").clone();
        assert_eq!(count(&sup, PostIndicator::Reported), 2);
        assert_eq!(count(&sup, PostIndicator::Verifications), 0);
        assert_eq!(
            count(&sup, PostIndicator::PatrolFiled),
            1,
            "only A filed yet"
        );
        // A supervisor sees their own row and no total.
        a = a.only(person(SUP));
        assert_eq!(a.units.len(), 1);
        assert!(a.totals.is_empty());
    }

    #[test]
    fn an_empty_month_has_no_rows_and_months_must_belong_to_the_period() {
        let empty = PostMonth::new(october(), ZONE, oct(31, 0), Vec::new());
        let a = run(&[empty], &Rules::default());
        assert!(a.units.is_empty() && a.totals.is_empty());
        assert_eq!(a.to_csv().lines().count(), 1, "the header only");
        let november = Period::Month {
            year: 2026,
            month: 11,
        };
        let stray = PostMonth::new(november, ZONE, oct(31, 0), Vec::new());
        let patrols = BTreeMap::new();
        let names = BTreeMap::new();
        let err = appraise(
            &[stray],
            &PostRequest {
                period: october(),
                district: "330102",
                rules: &Rules::default(),
                patrols: &patrols,
                names: &names,
            },
        )
        .expect_err("november is not october's");
        assert!(err.contains("2026-11"), "{err}");
    }

    #[test]
    fn rules_files_carry_post_weights_and_bad_ones_name_the_key() {
        let base = crate::config::DEFAULT;
        // Without [post.*]: the defaults.
        assert_eq!(
            Rules::parse(base).expect("default").posts,
            PostConfig::default()
        );
        let text = format!("{base}\n[post.dispatcher]\naccurate_dispatch_rate = 10\n");
        let rules = Rules::parse(&text).expect("with posts");
        assert_eq!(rules.config, Config::default(), "the rest as before");
        let dispatcher = rules.posts.weights(Post::Dispatcher).expect("weights");
        assert_eq!(
            dispatcher,
            &BTreeMap::from([(PostIndicator::AccurateDispatchRate, 10)])
        );
        assert_eq!(
            rules.posts.weights(Post::Supervisor),
            PostConfig::default().weights(Post::Supervisor),
            "the posts not named keep their defaults"
        );
        for (extra, says) in [
            ("[post.janitor]\nx = 1", "post.janitor: no such post"),
            (
                "[post.operator]\nreported = 1",
                "an indicator of the supervisor post",
            ),
            ("[post.operator]\nfiled = 1", "only rates take a weight"),
            (
                "[post.operator]\non_time_filing_rate = -1",
                "a whole number",
            ),
            (
                "[post.operator]\non_time_filing_rate = 0",
                "all weights are zero",
            ),
        ] {
            let err = Rules::parse(&format!("{base}\n{extra}\n")).expect_err(says);
            assert!(err.contains(says), "{err}");
        }
        // The rest of the file is still checked.
        let bad = base.replacen("a = 90", "a = 70", 1);
        let err = Rules::parse(&format!(
            "{bad}\n[post.operator]\non_time_filing_rate = 1\n"
        ))
        .expect_err("bands");
        assert!(err.contains("bands must descend"), "{err}");
    }
}
