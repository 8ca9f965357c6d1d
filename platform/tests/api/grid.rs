//! The unit grid at work: a reported point gets its cell, community and street from the
//! district's grid (the grid outranks a street the reporter names), and the case list
//! filters by cell and community.

use serde_json::{Value, json};

use crate::helpers::{LAT, LON, TestApp, error_code};

fn codes(case: &Value) -> [Option<&str>; 3] {
    [
        case["cell_code"].as_str(),
        case["community_code"].as_str(),
        case["street_code"].as_str(),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_gets_its_cell_and_street_from_the_grid() {
    let app = TestApp::spawn().await;
    let lead = app.login("sc-lead1").await;
    let cell = app
        .tenant
        .cell_at(LON, LAT)
        .expect("the sample point is in a cell");
    let expected = [
        Some(cell.code.as_str()),
        Some(cell.code.community()),
        Some(cell.code.street()),
    ];
    // The reporter names a real street of the district, but not the one the point is in.
    let other_street = app
        .tenant
        .config
        .streets
        .iter()
        .map(|s| s.code.as_str())
        .find(|s| *s != cell.code.street())
        .expect("another street");
    let (status, case) = app
        .post(
            "/api/v1/cases",
            None,
            json!({ "description": "井盖破损", "lon": LON, "lat": LAT, "street": other_street }),
        )
        .await;
    assert_eq!(status, 201, "{case}");
    assert_eq!(codes(&case), expected, "{case}");
    // A point in another cell of the same district lands there.
    let (lon, lat) = (LON + 0.01, LAT - 0.01);
    let there = app.tenant.cell_at(lon, lat).expect("a cell").code.clone();
    assert_ne!(there, cell.code);
    let (_, second) = app
        .post(
            "/api/v1/cases",
            None,
            json!({ "description": "垃圾满溢", "lon": lon, "lat": lat }),
        )
        .await;
    assert_eq!(
        second["cell_code"].as_str(),
        Some(there.as_str()),
        "{second}"
    );

    let list = |query: String| {
        let (app, lead) = (&app, &lead);
        async move {
            let (status, page) = app.get(&format!("/api/v1/cases?{query}"), lead).await;
            assert_eq!(status, 200, "{query}: {page}");
            page["items"]
                .as_array()
                .map(|items| {
                    items
                        .iter()
                        .filter_map(|c| c["id"].as_str().map(str::to_owned))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        }
    };
    assert_eq!(
        list(format!("cell={}", cell.code)).await,
        [case["id"].as_str().unwrap_or("-")]
    );
    assert_eq!(
        list(format!("cell={there}")).await,
        [second["id"].as_str().unwrap_or("-")]
    );
    assert_eq!(
        list(format!("community={}", cell.code.community()))
            .await
            .len(),
        if there.community() == cell.code.community() {
            2
        } else {
            1
        }
    );
    assert!(list("cell=330102009009009".into()).await.is_empty());
    for (query, field) in [
        ("cell=33010200100", "cell"),
        ("community=3301020010011", "community"),
    ] {
        let (status, body) = app.get(&format!("/api/v1/cases?{query}"), &lead).await;
        assert_eq!(
            (status, error_code(&body), body["error"]["field"].as_str()),
            (422, "invalid_field", Some(field)),
            "{body}"
        );
    }
}

/// Without a grid (it is optional), the reporter's street stands and there is no cell.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_grid_the_reporters_street_stands() {
    let app = TestApp::spawn_with(|t| t.grid = None).await;
    let (status, case) = app
        .post(
            "/api/v1/cases",
            None,
            json!({ "description": "井盖破损", "lon": LON, "lat": LAT, "street": "330102002" }),
        )
        .await;
    assert_eq!(status, 201, "{case}");
    assert_eq!(codes(&case), [None, None, Some("330102002")], "{case}");
}

/// 重复提示: the operator sees the open reports of the same place; not far ones, not its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_sees_open_reports_of_the_same_place_as_duplicate_hints() {
    let app = TestApp::spawn().await;
    let op = app.login("sc-op1").await;
    let report = |lon: f64, lat: f64, text: &'static str| {
        let app = &app;
        async move {
            let (status, case) = app
                .post(
                    "/api/v1/cases",
                    None,
                    json!({ "description": text, "lon": lon, "lat": lat }),
                )
                .await;
            assert_eq!(status, 201, "{case}");
            case
        }
    };
    let first = report(LON, LAT, "井盖破损").await;
    let near = report(LON + 0.0005, LAT, "井盖松动").await; // about 48 m east
    let far = report(LON + 0.01, LAT, "垃圾满溢").await; // about 960 m
    let again = report(LON, LAT, "井盖又坏了").await;

    let (status, hints) = app
        .get(
            &format!(
                "/api/v1/cases/{}/similar",
                again["id"].as_str().expect("id")
            ),
            &op,
        )
        .await;
    assert_eq!(status, 200, "{hints}");
    let seen: Vec<(&str, f64, bool)> = hints
        .as_array()
        .expect("a list")
        .iter()
        .map(|h| {
            (
                h["id"].as_str().unwrap_or("-"),
                h["distance_m"].as_f64().unwrap_or(-1.0),
                h["same_cell"].as_bool().unwrap_or(false),
            )
        })
        .collect();
    let (first_id, near_id) = (
        first["id"].as_str().expect("id"),
        near["id"].as_str().expect("id"),
    );
    assert_eq!(seen.first(), Some(&(first_id, 0.0, true)), "{hints}");
    assert!(
        seen.iter()
            .any(|(id, d, _)| *id == near_id && (40.0..60.0).contains(d)),
        "{hints}"
    );
    assert!(
        !seen
            .iter()
            .any(|(id, _, _)| *id == far["id"].as_str().unwrap_or("-")
                || *id == again["id"].as_str().unwrap_or("-")),
        "{hints}"
    );
    // Once the first is cancelled it is no longer a hint.
    let first = app.cancel(&first, "重复上报").await;
    let (_, hints) = app
        .get(
            &format!(
                "/api/v1/cases/{}/similar",
                again["id"].as_str().expect("id")
            ),
            &op,
        )
        .await;
    assert!(
        !hints
            .to_string()
            .contains(first["id"].as_str().expect("id")),
        "{hints}"
    );
}
