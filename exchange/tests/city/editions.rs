//! Catalogue editions: districts on GB/T 30428.2 and on GB/T 47678.5 side by side, compared
//! in the city's edition.

use citygrid_exchange::schema::cases;
use citygrid_schemas::{self as v1, Edition};
use diesel::prelude::*;
use serde_json::Value;

use crate::broker::TestBroker;
use crate::helpers::{TestCity, send, send_as, snapshot};

/// 拱墅区 (330105) files under the new edition; 上城区 (330102) under the legacy one.
async fn city_with_both_editions(broker: &TestBroker) -> TestCity {
    TestCity::start_with(broker, |city| {
        let new = city
            .catalogues
            .iter()
            .find(|c| c.edition == Edition::Gbt47678)
            .cloned()
            .expect("the sample city has the new edition");
        city.registry.get_mut("330105").expect("330105").catalogue = new;
    })
    .await
}

/// The example snapshot (of 上城区) as 拱墅区 sends it: without 上城区's grid cell.
fn of_330105(mut s: v1::CaseSnapshot) -> v1::CaseSnapshot {
    s.case_id = uuid::Uuid::new_v4();
    (s.street_code, s.community_code, s.cell_code) = (Some("330105001".into()), None, None);
    s
}

fn new_edition_snapshot() -> v1::CaseSnapshot {
    let mut s = of_330105(snapshot(3, v1::CaseState::Dispatched));
    s.category = Some(v1::Category {
        kind: v1::CategoryKind::Event,
        major: "06".into(),
        minor: "010".into(),
        edition: Some(Edition::Gbt47678),
    });
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn districts_on_different_editions_are_compared_in_the_city_s() {
    let broker = TestBroker::new().await;
    let city = city_with_both_editions(&broker).await;
    // 暴露垃圾 twice: event 0102 (a v1 message, no edition) and event 06010.
    let mut legacy = snapshot(3, v1::CaseState::Dispatched);
    if let Some(c) = legacy.category.as_mut() {
        c.edition = None;
    }
    send(&broker, 1, legacy).await;
    send_as(&broker, "330105", 1, new_edition_snapshot()).await;
    // 占道经营 (09006) has no counterpart in the legacy table: kept, compared as nothing.
    let mut unmapped = new_edition_snapshot();
    if let Some(c) = unmapped.category.as_mut() {
        c.major = "09".into();
        c.minor = "006".into();
    }
    send_as(&broker, "330105", 2, unmapped).await;
    city.wait_for_cursor("330102", 1).await;
    city.wait_for_cursor("330105", 2).await;

    let (status, list) = city.get("/api/v1/city/cases?category=event:0102").await;
    assert_eq!(status, 200, "{list}");
    let mut found: Vec<(String, String)> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| {
            let c = &i["case"]["category"];
            (
                i["district"].as_str().unwrap_or_default().to_owned(),
                format!(
                    "{}{}",
                    c["major"].as_str().unwrap_or_default(),
                    c["minor"].as_str().unwrap_or_default()
                ),
            )
        })
        .collect();
    found.sort();
    assert_eq!(
        found,
        [
            ("330102".into(), "0102".into()),
            ("330105".into(), "06010".into())
        ]
    );

    // The warehouse keeps each case's own edition and code beside the compared one.
    let mut conn = city.pool.get().expect("conn");
    let rows: Vec<(String, Option<String>, Option<String>)> = cases::table
        .order((cases::district, cases::category_minor))
        .select((
            cases::district,
            cases::category_edition,
            cases::category_compared,
        ))
        .load(&mut conn)
        .expect("cases");
    assert_eq!(
        rows,
        [
            (
                "330102".into(),
                Some("GB/T 30428.2-2013".into()),
                Some("event:0102".into())
            ),
            ("330105".into(), Some("GB/T 47678.5-2026".into()), None),
            (
                "330105".into(),
                Some("GB/T 47678.5-2026".into()),
                Some("event:0102".into())
            ),
        ]
    );
}

/// A district that moves to the new edition keeps the codes its earlier cases were filed
/// under: the city takes any edition it holds, not only the declared one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_district_moving_to_the_new_edition_keeps_its_earlier_codes() {
    let broker = TestBroker::new().await;
    let city = city_with_both_editions(&broker).await;
    let earlier = of_330105(snapshot(4, v1::CaseState::Handled));
    send_as(&broker, "330105", 1, earlier).await;
    city.wait_for_cursor("330105", 1).await;
    let (_, list) = city
        .get("/api/v1/city/cases?district=330105&category=event:0102")
        .await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1), "{list}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catalogues_and_their_mapping_are_published_with_what_does_not_map() {
    let broker = TestBroker::new().await;
    let city = city_with_both_editions(&broker).await;
    let (status, body) = city.get("/api/v1/city/catalogues").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["compare_edition"], "GB/T 30428.2-2013");
    let districts = |edition: &str| -> Value {
        body["catalogues"]
            .as_array()
            .and_then(|all| all.iter().find(|c| c["edition"] == edition))
            .map(|c| c["districts"].clone())
            .unwrap_or_default()
    };
    assert_eq!(
        districts("GB/T 47678.5-2026"),
        serde_json::json!(["330105"])
    );
    let mapping = &body["mappings"][0];
    assert_eq!(mapping["from"], "GB/T 47678.5-2026");
    let pair = mapping["pairs"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["name"] == "暴露垃圾"))
        .expect("暴露垃圾 maps");
    assert_eq!(pair["to"]["minor"], "02");
    assert_eq!(pair["basis"], "name");
    // 占道经营 has no counterpart of that name in the legacy table: listed, not guessed.
    assert!(
        mapping["unmapped_from"]
            .as_array()
            .expect("unmapped")
            .iter()
            .any(|c| c["major"] == "09" && c["minor"] == "006"),
        "{mapping}"
    );
}
