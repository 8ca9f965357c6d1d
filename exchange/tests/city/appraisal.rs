//! The city appraises a month from its warehouse as the warehouse stood at the month's
//! end: what districts sent later does not change it, and a district that has not
//! reconciled past the month is shown but not ranked.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use citygrid_appraisal::{Config, Indicator, Level, Period};
use citygrid_exchange::appraisal::{Appraiser, Archived};
use citygrid_schemas::{self as v1, CaseState};

use crate::broker::TestBroker;
use crate::helpers::{Stream, TestCity, dispatched, handled};

fn t(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("time")
        .with_timezone(&Utc)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_month_is_appraised_as_it_stood_and_an_unreconciled_district_is_not_ranked() {
    let broker = TestBroker::new().await;
    let city = TestCity::start(&broker).await;
    let mut a = Stream {
        broker: &broker,
        district: "330102",
        seq: 0,
    };
    let mut b = Stream {
        broker: &broker,
        district: "330105",
        seq: 0,
    };

    // 330102, case 1: due 20 October, handled on the 19th.
    let one = dispatched(
        "330102",
        1,
        3,
        t("2026-10-18T02:00:00Z"),
        t("2026-10-20T02:00:00Z"),
    );
    let (one_done, one_handle) = handled(&one, 1, t("2026-10-19T02:00:00Z"));
    // Case 2: due 30 October, still not handled when the month ends (overdue)…
    let two = dispatched(
        "330102",
        2,
        3,
        t("2026-10-28T02:00:00Z"),
        t("2026-10-30T02:00:00Z"),
    );
    // Case 4: due 5 November, but handled and closed on 30 October: November's due case,
    // though it finished in October.
    let four = dispatched(
        "330102",
        4,
        3,
        t("2026-10-29T02:00:00Z"),
        t("2026-11-05T02:00:00Z"),
    );
    let (mut four_closed, four_handle) = handled(&four, 4, t("2026-10-30T02:00:00Z"));
    (four_closed.state, four_closed.version) = (CaseState::Closed, four_closed.version + 1);
    four_closed.updated_at = t("2026-10-30T03:00:00Z");
    four_closed.milestones.finished_at = Some(four_closed.updated_at);
    for message in [one, one_done, two.clone(), four, four_closed] {
        a.send(message).await;
    }
    a.send(one_handle).await;
    a.send(four_handle).await;
    // …and the district has reconciled October 31.
    a.send(v1::ReconciliationDigest {
        day: chrono::NaiveDate::from_ymd_opt(2026, 10, 31).unwrap(),
        cases: 0,
        sha256: v1::digest_hash(&[]),
        up_to_seq: a.seq,
    })
    .await;
    // 330105: one case handled on time, but no digest past October.
    let three = dispatched(
        "330105",
        3,
        3,
        t("2026-10-10T02:00:00Z"),
        t("2026-10-12T02:00:00Z"),
    );
    let (three_done, three_handle) = handled(&three, 1, t("2026-10-11T02:00:00Z"));
    for message in [three, three_done] {
        b.send(message).await;
    }
    b.send(three_handle).await;
    city.wait_for_cursor("330102", a.seq as i64).await;
    city.wait_for_cursor("330105", b.seq as i64).await;

    let registry = {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tenants/hangzhou/city.toml");
        let mut c = citygrid_exchange::config::City::load(&path).expect("city");
        c.registry.retain(|d| d.code != "330106");
        c.registry
    };
    let config = Config::default();
    let live = Appraiser {
        registry: &registry,
        zone: chrono_tz::Asia::Shanghai,
        config: &config,
        archive: None,
    };
    let october = |conn: &mut diesel::PgConnection| {
        live.appraise(
            conn,
            "2026-10".parse().unwrap(),
            Level::District,
            t("2026-12-01T00:00:00Z"),
        )
        .expect("appraisal")
    };
    let mut conn = city.pool.get().expect("conn");
    let first = tokio::task::block_in_place(|| october(&mut conn));
    let units: BTreeMap<&str, _> = first.units.iter().map(|u| (u.key.as_str(), u)).collect();
    let sc = units["330102"];
    assert_eq!(
        [
            Indicator::Due,
            Indicator::Handled,
            Indicator::HandledOnTime,
            Indicator::Overdue
        ]
        .map(|i| sc.counts.get(i)),
        [2, 1, 1, 1]
    );
    assert_eq!((sc.rank, sc.complete), (Some(1), true));
    let gs = units["330105"];
    assert_eq!(gs.counts.get(Indicator::HandledOnTime), 1);
    assert_eq!(
        (gs.rank, gs.complete),
        (None, false),
        "no digest past October"
    );

    // In November case 2 is handled, late: October's appraisal does not move.
    let (two_done, two_handle) = handled(&two, 2, t("2026-11-03T02:00:00Z"));
    a.send(two_done).await;
    a.send(two_handle).await;
    city.wait_for_cursor("330102", a.seq as i64).await;
    let again = tokio::task::block_in_place(|| october(&mut conn));
    assert_eq!(again.input_digest, first.input_digest);
    assert_eq!(again.to_csv(), first.to_csv());

    // October archived: the reconciled district goes to Parquet, the other waits; read
    // back through the archive, October is the same to the byte and the same digest.
    let root = tempfile::tempdir().expect("archive dir");
    let archived = Appraiser {
        archive: Some(root.path()),
        ..live
    };
    let month: Period = "2026-10".parse().unwrap();
    let outcomes = tokio::task::block_in_place(|| {
        archived.archive_month(&mut conn, month, t("2026-12-01T00:00:00Z"))
    })
    .expect("archive");
    assert!(
        matches!(&outcomes[..], [Archived::Written(p), Archived::Incomplete(gs)]
            if p.district == "330102" && p.rows == 3 && gs == "330105"),
        "{outcomes:?}"
    );
    let from_archive = tokio::task::block_in_place(|| {
        archived.appraise(&mut conn, month, Level::District, t("2026-12-01T00:00:00Z"))
    })
    .expect("appraisal through the archive");
    assert_eq!(from_archive.input_digest, first.input_digest);
    assert_eq!(from_archive.to_csv(), first.to_csv());
    let again = tokio::task::block_in_place(|| {
        archived.archive_month(&mut conn, month, t("2026-12-01T00:00:00Z"))
    })
    .expect("archive again");
    assert!(matches!(&again[0], Archived::Unchanged(_)), "{again:?}");
    // November (read from PostgreSQL: not archived) counts case 4, closed in October.
    let november = tokio::task::block_in_place(|| {
        archived.appraise(
            &mut conn,
            "2026-11".parse().unwrap(),
            Level::District,
            t("2026-12-01T00:00:00Z"),
        )
    })
    .expect("November");
    let sc = november
        .units
        .iter()
        .find(|u| u.key == "330102")
        .expect("330102");
    assert_eq!(
        [Indicator::Due, Indicator::ClosedOnTime].map(|i| sc.counts.get(i)),
        [1, 1],
        "case 4 is due in November"
    );
    // A month that has not ended is not archived.
    let open = tokio::task::block_in_place(|| {
        archived.archive_month(
            &mut conn,
            "2026-11".parse().unwrap(),
            t("2026-11-20T00:00:00Z"),
        )
    });
    assert!(open.is_err());

    // The same through the API, for any city role; bad parameters name the field.
    let (status, body) = city.get("/api/v1/city/appraisal?period=2026-10").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["units"][0]["key"], "330102", "{body}");
    assert_eq!(body["units"][0]["rank"], 1);
    // 2 filed among 上城区's 1,323,500 residents (the registry): 0.0151 → 0.02 per 10,000.
    assert_eq!(body["units"][0]["filed_per_10k_residents"], 0.02, "{body}");
    // …and over its 6,404 grid cells (`cells` in the registry): 0.0003 → 0.00 per cell,
    // a figure rather than none.
    assert_eq!(body["units"][0]["filed_per_cell"], 0.0, "{body}");
    assert_eq!(body["units"][1]["complete"], false);
    assert_eq!(body["config_version"], Config::default().version);
    for (query, field) in [
        ("period=2026-13", "period"),
        ("period=2026-10&level=department", "level"),
        ("period=2026-10&format=xml", "format"),
    ] {
        let (status, body) = city.get(&format!("/api/v1/city/appraisal?{query}")).await;
        assert_eq!(
            (status, body["error"]["field"].as_str()),
            (422, Some(field)),
            "{query}: {body}"
        );
    }

    // The city does not appraise a district's own units.
    let refused = tokio::task::block_in_place(|| {
        live.appraise(
            &mut conn,
            "2026-10".parse().unwrap(),
            Level::Department,
            t("2026-12-01T00:00:00Z"),
        )
    });
    assert!(refused.is_err());
}
