//! The monthly job: months missed while the city was down run once each and in order,
//! however many city processes race for them; a month waits for late districts until its
//! grace has passed, then runs without them and names them.

use chrono::{DateTime, Utc};
use citygrid_appraisal::Period;
use citygrid_exchange::monthly::{self, MonthlySection, Ran};
use citygrid_exchange::schema::{ledger_postings, monthly_reports, monthly_runs};
use citygrid_schemas as v1;
use diesel::prelude::*;

use crate::broker::TestBroker;
use crate::helpers::{TestCity, send};

fn t(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("time")
        .with_timezone(&Utc)
}

fn m(text: &str) -> Period {
    text.parse().expect("a month")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missed_months_run_once_each_in_order_however_many_cities_race() {
    let broker = TestBroker::new().await;
    let city = TestCity::start(&broker).await;
    // 330102 is reconciled past the end of November; 330105 never sent a digest.
    send(
        &broker,
        1,
        v1::ReconciliationDigest {
            day: chrono::NaiveDate::from_ymd_opt(2026, 11, 30).expect("day"),
            cases: 0,
            sha256: v1::digest_hash(&[]),
            up_to_seq: 1,
        },
    )
    .await;
    city.wait_for_cursor("330102", 1).await;

    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tenants/hangzhou/city.toml");
    let mut config = citygrid_exchange::config::City::load(&path).expect("sample city");
    config.registry.retain(|d| d.code != "330106");
    let archive = std::env::temp_dir().join(format!("citygrid-monthly-{}", uuid::Uuid::new_v4()));
    config.archive = Some(archive.clone());
    config.file.monthly = MonthlySection {
        grace_hours: 48,
        first_month: Some("2026-09".into()),
        // The reports' PDFs are tested in reports.rs.
        pdf: false,
        ..MonthlySection::default()
    };
    // 2 December, 04:00 in Hangzhou: November ended 28 hours ago, within its grace.
    let now = t("2026-12-01T20:00:00Z");
    let catch_up = |now| {
        let mut conn = city.pool.get().expect("conn");
        monthly::catch_up(&mut conn, &config.monthly_job(), now).expect("catch up")
    };

    // Two city processes at once: September and October run once each, in order, without
    // 330105; November waits for it.
    let (a, b) = tokio::task::block_in_place(|| {
        std::thread::scope(|s| {
            let a = s.spawn(|| catch_up(now));
            let b = s.spawn(|| catch_up(now));
            (a.join().expect("a"), b.join().expect("b"))
        })
    });
    let done: Vec<Period> = a
        .iter()
        .chain(&b)
        .filter(|(_, ran)| matches!(ran, Ran::Done { .. }))
        .map(|(month, _)| *month)
        .collect();
    let mut sorted = done.clone();
    sorted.sort();
    assert_eq!(sorted, [m("2026-09"), m("2026-10")], "{a:?} {b:?}");
    for tried in [&a, &b] {
        let months: Vec<Period> = tried.iter().map(|(month, _)| *month).collect();
        assert!(
            months.windows(2).all(|w| w[0] < w[1]),
            "in order: {months:?}"
        );
        assert!(
            matches!(tried.last(), Some((month, Ran::Waiting { incomplete, .. }))
                if *month == m("2026-11") && incomplete == &["330105"]),
            "November waits for 330105: {tried:?}"
        );
    }
    let runs = || -> Vec<(String, Vec<String>, i32)> {
        let mut conn = city.pool.get().expect("conn");
        monthly_runs::table
            .order(monthly_runs::month.asc())
            .select((
                monthly_runs::month,
                monthly_runs::incomplete,
                monthly_runs::postings,
            ))
            .load(&mut conn)
            .expect("runs")
    };
    let late = vec!["330105".to_owned()];
    assert_eq!(
        runs()
            .iter()
            .map(|(m, i, _)| (m.as_str(), i.clone()))
            .collect::<Vec<_>>(),
        [("2026-09", late.clone()), ("2026-10", late.clone())]
    );
    // The reconciled district's months are archived; the late one's are not.
    for month in ["2026-09", "2026-10"] {
        let of = |district: &str| {
            citygrid_appraisal::archive::partition(&archive, m(month), district).expect("readable")
        };
        assert!(of("330102").is_some(), "{month} of 330102 archived");
        assert!(
            of("330105").is_none(),
            "{month} of 330105 is not reconciled"
        );
    }

    // Past November's grace it runs, without 330105; then nothing is due.
    let later = t("2026-12-03T20:00:00Z");
    let november = catch_up(later);
    assert!(
        matches!(&november[..], [(month, Ran::Done { incomplete, .. })]
            if *month == m("2026-11") && *incomplete == late),
        "{november:?}"
    );
    assert!(catch_up(later).is_empty(), "nothing more is due");
    // Every ledger posting of a month was made by its run, once.
    let mut conn = city.pool.get().expect("conn");
    let month_postings: i64 = ledger_postings::table
        .filter(ledger_postings::key.like("month:%"))
        .count()
        .get_result(&mut conn)
        .expect("count");
    let counted: i32 = runs().iter().map(|(_, _, p)| p).sum();
    assert_eq!(month_postings, i64::from(counted));
    // Each month run has its report, once: the city's page and each district's.
    let pages: Vec<(String, String)> = monthly_reports::table
        .filter(monthly_reports::name.eq("report.html"))
        .order((monthly_reports::month, monthly_reports::scope))
        .select((monthly_reports::month, monthly_reports::scope))
        .load(&mut conn)
        .expect("reports");
    let expected: Vec<(String, String)> = ["2026-09", "2026-10", "2026-11"]
        .into_iter()
        .flat_map(|m| ["330102", "330105", "city"].map(|s| (m.to_owned(), s.to_owned())))
        .collect();
    assert_eq!(pages, expected);
    let _ = std::fs::remove_dir_all(&archive);
}
