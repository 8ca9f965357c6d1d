//! A hand-computed appraisal of October 2026 (Asia/Shanghai: 2026-09-30T16:00Z to
//! 2026-10-31T16:00Z) for three districts. Every expected figure is worked out in the
//! comments from the cases below; the engine must agree to the last digit.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use citygrid_appraisal::{
    Appraisal, CaseFacts, Config, Indicator, Input, Level, Period, Request, Size, Slice, appraise,
};
use citygrid_schemas::{CaseState, Satisfaction, Source};
use uuid::Uuid;

fn t(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("RFC 3339")
        .with_timezone(&Utc)
}

/// A supervisor's report of 10 October, nothing else done.
fn case(district: &str, n: u128) -> CaseFacts {
    CaseFacts {
        district: district.into(),
        case_id: Uuid::from_u128(n),
        source: Source::Supervisor,
        state: CaseState::Reported,
        category: Some("event:0102".into()),
        street: Some(format!("{district}001")),
        community: None,
        cell: None,
        department: None,
        reporter: None,
        verified: None,
        reported_at: t("2026-10-10T02:00:00Z"),
        filed_at: None,
        dispatched_at: None,
        due_at: None,
        handled_at: None,
        on_time: false,
        handling_working_minutes: None,
        finished_at: None,
        returns: 0,
        reworks: 0,
        extended: false,
        suspended: false,
        satisfaction: None,
    }
}

/// Filed and dispatched at `dispatched`, due at `due`, handled at `handled` (if any) and
/// then closed an hour later.
fn loop_case(
    district: &str,
    n: u128,
    dispatched: &str,
    due: &str,
    handled: Option<&str>,
) -> CaseFacts {
    let mut c = case(district, n);
    c.filed_at = Some(t(dispatched));
    c.dispatched_at = Some(t(dispatched));
    c.department = Some("huanwei".into());
    c.due_at = Some(t(due));
    c.state = CaseState::Dispatched;
    if let Some(handled) = handled {
        c.handled_at = Some(t(handled));
        c.on_time = t(handled) <= t(due);
        c.state = CaseState::Closed;
        c.finished_at = Some(t(handled) + chrono::Duration::hours(1));
    }
    c
}

fn cases() -> Vec<CaseFacts> {
    let a = "330102";
    let b = "330105";
    let c = "330106";
    // District A (330102)
    // a1: on time, 24 h of handling, 8 of them working hours (480 minutes).
    let mut a1 = loop_case(
        a,
        1,
        "2026-10-05T02:00:00Z",
        "2026-10-06T02:00:00Z",
        Some("2026-10-06T02:00:00Z"),
    );
    a1.handling_working_minutes = Some(480);
    // a2: due 23:30 on 31 October local (15:30Z) — October's — and handled exactly then:
    // on time; 24 h; its district did not report working minutes (before v1.4).
    let a2 = loop_case(
        a,
        2,
        "2026-10-30T15:30:00Z",
        "2026-10-31T15:30:00Z",
        Some("2026-10-31T15:30:00Z"),
    );
    // a3: a verified public report, handled a day late after one rework; 144 h.
    let mut a3 = loop_case(
        a,
        3,
        "2026-10-15T00:00:00Z",
        "2026-10-20T00:00:00Z",
        Some("2026-10-21T00:00:00Z"),
    );
    (a3.source, a3.verified, a3.reworks) = (Source::Public, Some(true), 1);
    a3.handling_working_minutes = Some(2880); // 6 working days of 8 h
    // a4: due 25 October and still not handled at the month's end: overdue.
    let a4 = loop_case(a, 4, "2026-10-20T00:00:00Z", "2026-10-25T00:00:00Z", None);
    // a5: suspended with approval: out of 应结案数 under the default rule.
    let mut a5 = loop_case(
        a,
        5,
        "2026-10-12T00:00:00Z",
        "2026-10-15T00:00:00Z",
        Some("2026-10-14T00:00:00Z"),
    );
    a5.suspended = true;
    // a6: reported, then rejected: not a valid report.
    let mut a6 = case(a, 6);
    (a6.state, a6.finished_at) = (CaseState::Rejected, Some(t("2026-10-12T00:00:00Z")));
    // a7: a verified hotline report of September, filed and dispatched in October,
    // returned once, due in November.
    let mut a7 = loop_case(a, 7, "2026-10-02T00:00:00Z", "2026-11-05T00:00:00Z", None);
    (a7.source, a7.verified, a7.returns) = (Source::Hotline, Some(true), 1);
    a7.reported_at = t("2026-09-28T00:00:00Z");
    // a8: due at 16:00Z on 31 October = midnight 1 November local: November's.
    let a8 = loop_case(
        a,
        8,
        "2026-10-30T00:00:00Z",
        "2026-10-31T16:00:00Z",
        Some("2026-10-31T15:00:00Z"),
    );

    // District B (330105)
    // b1: on time with an approved extension; 24 h.
    let mut b1 = loop_case(
        b,
        11,
        "2026-10-08T00:00:00Z",
        "2026-10-10T00:00:00Z",
        Some("2026-10-09T00:00:00Z"),
    );
    b1.extended = true;
    // b2: a verified public report, on time, the reporter satisfied; 6 h.
    let mut b2 = loop_case(
        b,
        12,
        "2026-10-11T00:00:00Z",
        "2026-10-12T00:00:00Z",
        Some("2026-10-11T06:00:00Z"),
    );
    (b2.source, b2.verified, b2.satisfaction) =
        (Source::Public, Some(true), Some(Satisfaction::Satisfied));

    // District C (330106): only a November report.
    let mut c1 = case(c, 21);
    c1.reported_at = t("2026-11-02T00:00:00Z");
    vec![a1, a2, a3, a4, a5, a6, a7, a8, b1, b2, c1]
}

/// District A has 70,000 residents on 3.5 km² in 20 grid cells; C is registered too (its
/// size is what lists it in October, when none of its cases touches the month), without a
/// grid.
fn sizes() -> BTreeMap<String, Size> {
    BTreeMap::from([
        (
            "330102".to_owned(),
            Size {
                population: Some(70_000),
                area_km2: Some(3.5),
                cells: Some(20),
            },
        ),
        (
            "330106".to_owned(),
            Size {
                population: Some(30_000),
                area_km2: Some(1.5),
                cells: None,
            },
        ),
    ])
}

/// October's facts, taken after its end (the cut-off is then the month's end).
fn october_input(facts: &[CaseFacts]) -> Input {
    Input {
        slices: vec![Slice::new(
            "2026-10".parse().expect("month"),
            chrono_tz::Asia::Shanghai,
            t("2026-12-01T00:00:00Z"),
            facts.to_vec(),
        )],
        partitions: vec![],
    }
}

fn october(facts: &[CaseFacts], incomplete: &BTreeSet<String>) -> Appraisal {
    let config = Config::default();
    appraise(
        &october_input(facts),
        &Request {
            period: "2026-10".parse::<Period>().expect("period"),
            level: Level::District,
            config: &config,
            incomplete,
            sizes: &sizes(),
        },
    )
    .expect("appraisal")
}

fn unit<'a>(appraisal: &'a Appraisal, key: &str) -> &'a citygrid_appraisal::Unit {
    appraisal.units.iter().find(|u| u.key == key).expect(key)
}

#[test]
fn every_indicator_of_the_hand_computed_month() {
    use Indicator::*;
    let appraisal = october(&cases(), &BTreeSet::new());
    let a = unit(&appraisal, "330102");
    let counts: Vec<(Indicator, i64)> = [
        // a1–a6 and a8 were reported in October (a7 in September).
        (Reported, 7),
        (ReportedSupervisor, 6),
        (ReportedPublic, 1),
        (ReportedHotline, 0),
        // All but the rejected a6.
        (ValidReported, 6),
        // a1–a5, a7, a8 were filed and dispatched in October.
        (Filed, 7),
        (Dispatched, 7),
        (Returned, 1),
        (Extended, 0),
        // a1, a2, a3, a4 (a5 suspended; a7 and a8 are November's).
        (Due, 4),
        (Suspended, 1),
        (Handled, 3),
        (HandledOnTime, 2),
        (Closed, 3),
        (ClosedOnTime, 2),
        (Reworked, 1),
        (Overdue, 1),
        // a3 and a7: verified public and hotline reports filed in October.
        (PublicFound, 2),
        (CityFound, 0),
        (Rated, 0),
        (Satisfied, 0),
    ]
    .to_vec();
    for (indicator, expected) in counts {
        assert_eq!(a.counts.get(indicator), expected, "A {indicator:?}");
    }
    let rates: Vec<(Indicator, Option<i64>)> = vec![
        (ValidReportRate, Some(8571)),      // 6/7 = 85.714 %
        (AccurateDispatchRate, Some(8571)), // 1 − 1/7: 1/7 = 14.29 %, so 85.71 %
        (ExtensionRate, Some(0)),           // 0/7
        (HandlingRate, Some(7500)),         // 3/4
        (OnTimeHandlingRate, Some(5000)),   // 2/4
        (CloseRate, Some(7500)),            // 3/4
        (OnTimeCloseRate, Some(5000)),      // 2/4
        (ReworkRate, Some(3333)),           // 1/3
        (PublicReportRate, Some(2857)),     // 2/7 = 28.571 %
        (CityFoundRate, Some(0)),           // 0/7
        (SatisfactionRate, None),           // nobody was called back
    ];
    for (indicator, expected) in rates {
        assert_eq!(a.rates[&indicator], expected, "A {indicator:?}");
    }
    // (24 + 24 + 144) h / 3 = 64 h.
    assert_eq!(a.avg_handling_centihours, Some(6400));
    // Working hours over the two that report them: (480 + 2880) min / 2 = 28 h. a5 (its
    // working minutes are not set either) is suspended, out of the handled due cases.
    assert_eq!(a.avg_handling_working_centihours, Some(2800));
    // B reports none: no figure, not 0.
    assert_eq!(
        unit(&appraisal, "330105").avg_handling_working_centihours,
        None
    );
    // 40 × 50.00 + 20 × 75.00 + 10 × (100 − 33.33) + 10 × 85.71 + 10 × (100 − 28.57)
    // + 10 × (100 − 0) = 6738.10 / 100 weight → 67.38: grade C.
    assert_eq!((a.composite, a.grade), (Some(6738), Some('C')));
    // 7 filed for 70,000 residents on 3.5 km² in 20 cells: 1.00 per 10,000 residents,
    // 2.00 per km², 0.35 per cell.
    assert_eq!(
        (a.filed_per_10k_residents, a.filed_per_km2, a.filed_per_cell),
        (Some(100), Some(200), Some(35))
    );
    // B's size is not known: no figure rather than a guess.
    assert_eq!(unit(&appraisal, "330105").filed_per_km2, None);

    let b = unit(&appraisal, "330105");
    assert_eq!(
        [
            Reported,
            Due,
            ClosedOnTime,
            Extended,
            PublicFound,
            Rated,
            Satisfied
        ]
        .map(|i| b.counts.get(i)),
        [2, 2, 2, 1, 1, 1, 1]
    );
    assert_eq!(b.rates[&ExtensionRate], Some(5000));
    assert_eq!(b.rates[&PublicReportRate], Some(5000));
    assert_eq!(b.rates[&SatisfactionRate], Some(10_000));
    // (24 + 6) h / 2.
    assert_eq!(b.avg_handling_centihours, Some(1500));
    // 40 × 100 + 20 × 100 + 10 × 100 + 10 × 100 + 10 × (100 − 50) + 10 × 100 = 95.00: A.
    assert_eq!((b.composite, b.grade), (Some(9500), Some('A')));

    // C had nothing in October: every count 0, no rate, no composite, no NaN, no rank.
    let c = unit(&appraisal, "330106");
    assert!(Indicator::counts().all(|i| c.counts.get(i) == 0));
    assert!(c.rates.values().all(Option::is_none));
    assert_eq!(
        (c.composite, c.grade, c.rank, c.avg_handling_centihours),
        (None, None, None, None)
    );
    assert!(!appraisal.to_json().to_string().contains("NaN"));

    // B first, A second, C unranked and last.
    let order: Vec<(&str, Option<u32>)> = appraisal
        .units
        .iter()
        .map(|u| (u.key.as_str(), u.rank))
        .collect();
    assert_eq!(
        order,
        [("330105", Some(1)), ("330102", Some(2)), ("330106", None)]
    );
}

#[test]
fn totals_are_the_sums_of_their_parts() {
    let appraisal = october(&cases(), &BTreeSet::new());
    for indicator in Indicator::counts() {
        let sum: i64 = appraisal
            .units
            .iter()
            .map(|u| u.counts.get(indicator))
            .sum();
        assert_eq!(appraisal.total.counts.get(indicator), sum, "{indicator:?}");
    }
    let millis: i64 = appraisal
        .units
        .iter()
        .map(|u| u.counts.handling_millis)
        .sum();
    assert_eq!(appraisal.total.counts.handling_millis, millis);
    let working: i64 = appraisal
        .units
        .iter()
        .map(|u| u.counts.handling_working_minutes)
        .sum();
    assert_eq!(
        (
            appraisal.total.counts.handling_working_minutes,
            appraisal.total.counts.handling_working_timed
        ),
        (working, 2)
    );
    // The total's size is the registered districts' together (100,000 residents on
    // 5 km²); C has no grid, so the total has no figure per cell rather than A's cells.
    let filed = appraisal.total.counts.get(Indicator::Filed);
    assert_eq!(
        (
            appraisal.total.filed_per_10k_residents,
            appraisal.total.filed_per_km2,
            appraisal.total.filed_per_cell
        ),
        (
            Some(filed * 100 * 10_000 / 100_000),
            Some(filed * 100 / 5),
            None
        )
    );
}

#[test]
fn one_second_past_the_deadline_is_late() {
    let mut facts = cases();
    // a2 handled at 15:30:01Z instead of exactly at its deadline.
    let a2 = facts
        .iter_mut()
        .find(|c| c.case_id == Uuid::from_u128(2))
        .unwrap();
    a2.handled_at = Some(t("2026-10-31T15:30:01Z"));
    a2.on_time = false;
    let late = october(&facts, &BTreeSet::new());
    let a = unit(&late, "330102");
    assert_eq!(a.counts.get(Indicator::ClosedOnTime), 1);
    assert_eq!(a.rates[&Indicator::OnTimeCloseRate], Some(2500));
}

#[test]
fn the_counted_rule_keeps_suspended_cases_due() {
    let config = Config {
        suspended: citygrid_appraisal::SuspendedRule::Count,
        ..Config::default()
    };
    let appraisal = appraise(
        &october_input(&cases()),
        &Request {
            period: "2026-10".parse().unwrap(),
            level: Level::District,
            config: &config,
            incomplete: &BTreeSet::new(),
            sizes: &BTreeMap::new(),
        },
    )
    .unwrap();
    let a = unit(&appraisal, "330102");
    // a5 is due again, and was closed on time.
    assert_eq!(
        [Indicator::Due, Indicator::Closed, Indicator::ClosedOnTime].map(|i| a.counts.get(i)),
        [5, 4, 3]
    );
}

#[test]
fn an_incomplete_district_is_shown_but_not_ranked() {
    let incomplete = BTreeSet::from(["330105".to_owned()]);
    let appraisal = october(&cases(), &incomplete);
    let order: Vec<(&str, Option<u32>, bool)> = appraisal
        .units
        .iter()
        .map(|u| (u.key.as_str(), u.rank, u.complete))
        .collect();
    assert_eq!(
        order,
        [
            ("330102", Some(1), true),
            ("330105", None, false),
            ("330106", None, true)
        ]
    );
    assert!(appraisal.to_table().contains("incomplete"));
}

#[test]
fn the_same_input_gives_the_same_bytes_and_another_input_another_digest() {
    let first = october(&cases(), &BTreeSet::new());
    let mut shuffled = cases();
    shuffled.reverse();
    let again = october(&shuffled, &BTreeSet::new());
    assert_eq!(first.to_csv(), again.to_csv());
    assert_eq!(first.to_json().to_string(), again.to_json().to_string());
    assert_eq!(first.input_digest.len(), 64);

    let mut changed = cases();
    changed[0].reworks = 2;
    let other = october(&changed, &BTreeSet::new());
    assert_ne!(other.input_digest, first.input_digest);
}

#[test]
fn ties_share_a_rank_and_the_next_rank_skips() {
    // Three districts with one identical on-time case each, and one with a late one.
    let mut facts = Vec::new();
    for (n, district) in ["330101", "330102", "330103"].iter().enumerate() {
        facts.push(loop_case(
            district,
            n as u128,
            "2026-10-05T00:00:00Z",
            "2026-10-06T00:00:00Z",
            Some("2026-10-05T12:00:00Z"),
        ));
    }
    facts.push(loop_case(
        "330104",
        9,
        "2026-10-05T00:00:00Z",
        "2026-10-06T00:00:00Z",
        Some("2026-10-07T00:00:00Z"),
    ));
    let appraisal = october(&facts, &BTreeSet::new());
    let ranks: Vec<(&str, Option<u32>)> = appraisal
        .units
        .iter()
        .map(|u| (u.key.as_str(), u.rank))
        .collect();
    assert_eq!(
        ranks,
        [
            ("330101", Some(1)),
            ("330102", Some(1)),
            ("330103", Some(1)),
            ("330104", Some(4)),
            // Registered (sizes), no case: listed, unranked.
            ("330106", None)
        ]
    );
}

// Periods and the archive.

fn facts_of(month: &str, cutoff: &str, facts: Vec<CaseFacts>) -> Slice {
    Slice::new(
        month.parse().expect("month"),
        chrono_tz::Asia::Shanghai,
        t(cutoff),
        facts,
    )
}

fn appraise_at(input: &Input, period: &str, level: Level) -> Result<Appraisal, String> {
    appraise(
        input,
        &Request {
            period: period.parse().expect("period"),
            level,
            config: &Config::default(),
            incomplete: &BTreeSet::new(),
            sizes: &sizes(),
        },
    )
}

#[test]
fn a_month_read_back_from_the_archive_is_the_same_to_the_byte() {
    let root = tempfile::tempdir().expect("archive dir");
    let slice = october_input(&cases()).slices.remove(0);
    let written = citygrid_appraisal::archive::write(root.path(), &slice).expect("write");
    // A and B; C has no case touching October, so no file.
    assert_eq!(
        written
            .iter()
            .map(|p| (p.district.as_str(), p.rows))
            .collect::<Vec<_>>(),
        [("330102", 8), ("330105", 2)]
    );
    let month: Period = "2026-10".parse().unwrap();
    let partitions: Vec<_> = ["330102", "330105", "330106"]
        .iter()
        .filter_map(|d| citygrid_appraisal::archive::partition(root.path(), month, d).unwrap())
        .collect();
    assert_eq!(partitions, written);
    let archived = Input {
        slices: vec![],
        partitions,
    };
    for level in [Level::District, Level::Category, Level::Department] {
        let live = appraise_at(&october_input(&cases()), "2026-10", level).unwrap();
        let back = appraise_at(&archived, "2026-10", level).unwrap();
        assert_eq!(back.to_csv(), live.to_csv(), "{level}");
        assert_eq!(back.input_digest, live.input_digest, "{level}");
    }

    // Counting a district's month twice (archive and PostgreSQL both) is refused.
    let mut twice = archived.clone();
    twice.slices.push(slice);
    let refused = appraise_at(&twice, "2026-10", Level::District).unwrap_err();
    assert!(refused.contains("twice"), "{refused}");
    // So is a month outside the period.
    assert!(appraise_at(&archived, "2026-11", Level::District).is_err());
}

#[test]
fn a_quarter_is_its_months_each_as_it_stood_at_its_end() {
    // Due 20 October and not handled by the month's end: October's overdue case. Handled
    // late on 2 November and closed an hour later: November's facts say so, but its due
    // date stays October's, so the quarter counts it due once — in October — and closed
    // late (the closing is November's).
    let october_view = loop_case(
        "330102",
        1,
        "2026-10-15T00:00:00Z",
        "2026-10-20T00:00:00Z",
        None,
    );
    let november_view = loop_case(
        "330102",
        1,
        "2026-10-15T00:00:00Z",
        "2026-10-20T00:00:00Z",
        Some("2026-11-02T00:00:00Z"),
    );
    // Reported, filed and due in November, on time.
    let mut n2 = loop_case(
        "330102",
        2,
        "2026-11-10T00:00:00Z",
        "2026-11-12T00:00:00Z",
        Some("2026-11-11T00:00:00Z"),
    );
    n2.reported_at = t("2026-11-09T00:00:00Z");
    let months = [
        facts_of("2026-10", "2027-01-05T00:00:00Z", vec![october_view]),
        facts_of(
            "2026-11",
            "2027-01-05T00:00:00Z",
            vec![november_view.clone(), n2.clone()],
        ),
        facts_of("2026-12", "2027-01-05T00:00:00Z", vec![november_view, n2]),
    ];
    // December's slice keeps neither case: nothing of theirs falls in December.
    assert!(months[2].facts.is_empty());
    let quarter = appraise_at(
        &Input {
            slices: months.to_vec(),
            partitions: vec![],
        },
        "2026-Q4",
        Level::District,
    )
    .unwrap();
    let q = unit(&quarter, "330102");
    use Indicator::*;
    assert_eq!(
        [
            Reported,
            Filed,
            Due,
            Handled,
            HandledOnTime,
            Overdue,
            Closed
        ]
        .map(|i| q.counts.get(i)),
        // October's view: due, unhandled, overdue; November's: n2 due, handled on time.
        [2, 2, 2, 1, 1, 1, 1]
    );
    // Every count of the quarter is the sum of its months'.
    for indicator in Indicator::counts() {
        let sum: i64 = months
            .iter()
            .map(|m| {
                let month = Input {
                    slices: vec![m.clone()],
                    partitions: vec![],
                };
                let period = m.month.to_string();
                let a = appraise_at(&month, &period, Level::District).unwrap();
                a.units
                    .iter()
                    .find(|u| u.key == "330102")
                    .map_or(0, |u| u.counts.get(indicator))
            })
            .sum();
        assert_eq!(q.counts.get(indicator), sum, "{indicator:?}");
    }
}

/// 上级发现 (issue 14): C's only October cases are two problems the city's supervisors
/// found. One was filed, handled on time and closed; the district refused to file the
/// other. Only the filed one counts against C, and it is all C filed: 上级发现率 100 %.
#[test]
fn a_problem_the_city_found_counts_against_its_district_once_filed() {
    use Indicator::*;
    let mut found = loop_case(
        "330106",
        22,
        "2026-10-09T02:00:00Z",
        "2026-10-10T02:00:00Z",
        Some("2026-10-09T08:00:00Z"),
    );
    found.source = Source::City;
    let mut refused = case("330106", 23);
    refused.source = Source::City;
    (refused.state, refused.finished_at) = (CaseState::Rejected, Some(t("2026-10-10T03:00:00Z")));
    let mut facts = cases();
    facts.extend([found, refused]);
    let appraisal = october(&facts, &BTreeSet::new());
    let c = unit(&appraisal, "330106");
    assert_eq!(
        [
            Reported,
            ReportedSupervisor,
            ValidReported,
            Filed,
            CityFound,
            ClosedOnTime
        ]
        .map(|i| c.counts.get(i)),
        [2, 0, 1, 1, 1, 1]
    );
    assert_eq!(c.rates[&CityFoundRate], Some(10_000));
    // A and B are as before: nobody else's problem moved.
    assert_eq!(unit(&appraisal, "330102").counts.get(CityFound), 0);
    assert_eq!(unit(&appraisal, "330105").counts.get(CityFound), 0);
}
