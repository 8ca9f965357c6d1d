//! The gazetteer (地址库) at work: geocoding free-text addresses in their usual variants,
//! the nearest address to a point, a report placed by its address alone, and the
//! refusals (an address that cannot be placed, bad parameters, no address data).

use citygrid_platform::address::AddressPoint;
use citygrid_platform::limits::LimitsSection;
use serde_json::{Value, json};

use crate::helpers::{LAT, LON, TestApp, error_code};

/// A GET with query parameters, signed in or not.
async fn lookup(
    app: &TestApp,
    path: &str,
    params: &[(&str, &str)],
    token: Option<&str>,
) -> (u16, Value) {
    let mut url = reqwest::Url::parse(&format!("{}{path}", app.base)).expect("url");
    for (key, value) in params {
        url.query_pairs_mut().append_pair(key, value);
    }
    let mut request = app.http.get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    app.send(request).await
}

/// The sample district's address point nearest to the sample point.
fn sample_point(app: &TestApp) -> AddressPoint {
    let gazetteer = app
        .tenant
        .addresses
        .as_ref()
        .expect("the sample has addresses");
    gazetteer.reverse(LON, LAT).expect("a point").0.clone()
}

fn full_width(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '0'..='9' => char::from_u32(c as u32 + 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .collect()
}

fn ids(body: &Value) -> Vec<&str> {
    body["items"]
        .as_array()
        .map(|items| items.iter().filter_map(|i| i["id"].as_str()).collect())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn geocoding_finds_an_address_in_its_usual_variants() {
    let app = TestApp::spawn().await;
    let op = app.login("sc-op1").await;
    let point = sample_point(&app);
    let cell = app
        .tenant
        .cell_at(point.lon, point.lat)
        .map(|c| c.code.as_str().to_owned());
    let number = point.address.trim_end_matches('号');
    let variants = [
        point.address.clone(),
        format!("浙江省杭州市上城区{}", point.address),
        format!("杭州市 上城区 {number}"),
        full_width(&point.address),
    ];
    for (n, text) in variants.iter().enumerate() {
        // Anonymous (the public report form) and signed in alike.
        let token = (n % 2 == 1).then_some(op.as_str());
        let (status, body) = lookup(&app, "/api/v1/geo/geocode", &[("q", text)], token).await;
        assert_eq!(status, 200, "{text}: {body}");
        let first = &body["items"][0];
        assert_eq!(
            (
                first["id"].as_str(),
                first["score"].as_f64(),
                first["match"].as_str()
            ),
            (Some(point.id.as_str()), Some(1.0), Some("exact")),
            "{text}: {body}"
        );
        assert_eq!(first["address"], point.address.as_str());
        assert_eq!(
            (first["lon"].as_f64(), first["lat"].as_f64()),
            (Some(point.lon), Some(point.lat))
        );
        assert_eq!(first["cell"].as_str(), cell.as_deref(), "{body}");
        assert_eq!(first["street"].as_str(), point.street.as_deref(), "{body}");
        assert_eq!(
            first["community"].as_str(),
            point.community.as_deref(),
            "{body}"
        );
        // The rest follow, best first, and `limit` (default 5) holds.
        let scores: Vec<f64> = body["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter_map(|i| i["score"].as_f64())
            .collect();
        assert_eq!(scores.len(), 5, "{body}");
        assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
    }
    // A room in the building: the same door, nearly sure; a limit of 2.
    let (status, body) = lookup(
        &app,
        "/api/v1/geo/geocode",
        &[
            ("q", &format!("{}3幢2单元301室", point.address)),
            ("limit", "2"),
        ],
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(ids(&body).len(), 2);
    assert_eq!(
        (
            body["items"][0]["id"].as_str(),
            body["items"][0]["match"].as_str()
        ),
        (Some(point.id.as_str()), Some("prefix"))
    );
    // Nothing alike: no items.
    let (status, body) = lookup(&app, "/api/v1/geo/geocode", &[("q", "不存在的地方")], None).await;
    assert_eq!((status, ids(&body).len()), (200, 0), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reverse_geocoding_gives_the_nearest_address_and_its_distance() {
    let app = TestApp::spawn().await;
    let point = sample_point(&app);
    // 5 m north of the door.
    let (lon, lat) = (point.lon, point.lat + 5.0 / 111_195.0);
    let (status, body) = lookup(
        &app,
        "/api/v1/geo/reverse",
        &[("lon", &lon.to_string()), ("lat", &lat.to_string())],
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["id"].as_str(), Some(point.id.as_str()), "{body}");
    assert_eq!(body["address"].as_str(), Some(point.address.as_str()));
    let metres = body["distance_m"].as_f64().expect("distance_m");
    assert!((4.5..=5.5).contains(&metres), "{body}");
    assert!(body["cell"].is_string(), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_with_only_an_address_takes_its_point_and_cell() {
    let app = TestApp::spawn().await;
    let point = sample_point(&app);
    let cell = app
        .tenant
        .cell_at(point.lon, point.lat)
        .expect("a cell")
        .code
        .clone();
    let address = format!("杭州市上城区{}", full_width(&point.address));
    let (status, case) = app
        .post(
            "/api/v1/cases",
            None,
            json!({ "description": "井盖破损", "address": address }),
        )
        .await;
    assert_eq!(status, 201, "{case}");
    assert_eq!(
        (case["lon"].as_f64(), case["lat"].as_f64()),
        (Some(point.lon), Some(point.lat))
    );
    assert_eq!(case["cell_code"].as_str(), Some(cell.as_str()), "{case}");
    assert_eq!(case["street_code"].as_str(), Some(cell.street()), "{case}");
    // The address stays as the reporter wrote it.
    assert_eq!(case["address"].as_str(), Some(address.as_str()));

    // With a point too, the point wins and the address is only text.
    let (status, case) = app
        .post(
            "/api/v1/cases",
            None,
            json!({ "description": "垃圾满溢", "lon": LON, "lat": LAT, "address": "某个地方" }),
        )
        .await;
    assert_eq!(status, 201, "{case}");
    assert_eq!(
        (case["lon"].as_f64(), case["lat"].as_f64()),
        (Some(LON), Some(LAT))
    );
    assert_eq!(case["address"].as_str(), Some("某个地方"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_address_that_cannot_be_placed_is_refused_and_creates_nothing() {
    let app = TestApp::spawn().await;
    let lead = app.login("sc-lead1").await;
    // A hotline operator: anonymous reports would meet their rate limit first.
    let op = app.login("sc-op1").await;
    let point = sample_point(&app);
    // A typo in the road's name: fuzzy candidates, none sure enough.
    let road: String = point
        .address
        .chars()
        .take_while(|c| !c.is_ascii_digit())
        .collect();
    let typo = point.address.replacen(
        &road,
        &format!("{}璐", road.trim_end_matches(['路', '街'])),
        1,
    );
    let refusals = [
        (
            json!({ "description": "x", "address": typo }),
            "address",
            "candidates",
        ),
        (
            json!({ "description": "x", "address": "凤凰山脚下某处" }),
            "address",
            "no address",
        ),
        (
            json!({ "description": "x", "address": "浙江省杭州市上城区" }),
            "address",
            "no address",
        ),
        (json!({ "description": "x" }), "lon", "or an address"),
        (
            json!({ "description": "x", "address": "  " }),
            "lon",
            "or an address",
        ),
        (json!({ "description": "x", "lon": LON }), "lat", "lat"),
        (
            json!({ "description": "x", "lat": LAT, "address": point.address }),
            "lon",
            "lon",
        ),
    ];
    for (body, field, says) in refusals {
        let (status, answer) = app.post("/api/v1/cases", Some(&op), body.clone()).await;
        assert_eq!(
            (
                status,
                error_code(&answer),
                answer["error"]["field"].as_str()
            ),
            (422, "invalid_field", Some(field)),
            "{body}: {answer}"
        );
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{body}: {message}");
    }
    let (status, answer) = app
        .post(
            "/api/v1/cases",
            Some(&op),
            json!({ "description": "x", "address": typo }),
        )
        .await;
    assert_eq!(status, 422);
    let message = answer["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(&point.address),
        "the right door is a candidate: {message}"
    );
    let (status, page) = app.get("/api/v1/cases", &lead).await;
    assert_eq!((status, ids(&page).len()), (200, 0), "{page}");
}

/// Path, parameters, expected status and field.
type Lookup<'a> = (&'a str, &'a [(&'a str, &'a str)], u16, &'a str);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_lookup_parameters_are_refused_naming_them() {
    let app = TestApp::spawn().await;
    let long = "路".repeat(501);
    let cases: [Lookup; 12] = [
        ("/api/v1/geo/geocode", &[("q", "")], 422, "q"),
        ("/api/v1/geo/geocode", &[("q", "   ")], 422, "q"),
        ("/api/v1/geo/geocode", &[("q", &long)], 422, "q"),
        ("/api/v1/geo/geocode", &[], 422, "q"),
        (
            "/api/v1/geo/geocode",
            &[("q", "解放路"), ("limit", "0")],
            422,
            "limit",
        ),
        (
            "/api/v1/geo/geocode",
            &[("q", "解放路"), ("limit", "21")],
            422,
            "limit",
        ),
        (
            "/api/v1/geo/geocode",
            &[("q", "解放路"), ("limt", "2")],
            400,
            "limt",
        ),
        (
            "/api/v1/geo/reverse",
            &[("lon", "200"), ("lat", "30.26")],
            422,
            "lon",
        ),
        (
            "/api/v1/geo/reverse",
            &[("lon", "NaN"), ("lat", "30.26")],
            422,
            "lon",
        ),
        (
            "/api/v1/geo/reverse",
            &[("lon", "120.2"), ("lat", "-91")],
            422,
            "lat",
        ),
        (
            "/api/v1/geo/reverse",
            &[("lon", "east"), ("lat", "30.26")],
            422,
            "lon",
        ),
        ("/api/v1/geo/reverse", &[("lon", "120.2")], 422, "lat"),
    ];
    for (path, params, status, field) in cases {
        let (got, body) = lookup(&app, path, params, None).await;
        assert_eq!(
            (got, body["error"]["field"].as_str()),
            (status, Some(field)),
            "{path} {params:?}: {body}"
        );
    }
    // A bad token is refused even where anonymous callers may look up.
    let (status, _) = lookup(
        &app,
        "/api/v1/geo/geocode",
        &[("q", "解放路")],
        Some("nope"),
    )
    .await;
    assert_eq!(status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_address_data_lookups_are_404_and_reports_need_a_point() {
    let app = TestApp::spawn_with(|t| t.addresses = None).await;
    for (path, params) in [
        ("/api/v1/geo/geocode", &[("q", "解放路1号")][..]),
        (
            "/api/v1/geo/reverse",
            &[("lon", "120.2"), ("lat", "30.26")][..],
        ),
    ] {
        let (status, body) = lookup(&app, path, params, None).await;
        assert_eq!((status, error_code(&body)), (404, "not_found"), "{body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .contains("no address data")
        );
    }
    let (status, body) = app
        .post(
            "/api/v1/cases",
            None,
            json!({ "description": "x", "address": "解放路1号" }),
        )
        .await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (422, Some("lon")),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_lookups_are_limited_per_address_and_staff_are_not() {
    let app = TestApp::spawn_with(|t| {
        t.config.limits = LimitsSection {
            public_lookup_burst: 2,
            public_lookups_per_hour: 2,
            ..LimitsSection::default()
        };
    })
    .await;
    let op = app.login("sc-op1").await;
    let q = [("q", "解放路1号")];
    for _ in 0..2 {
        let (status, body) = lookup(&app, "/api/v1/geo/geocode", &q, None).await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, body) = lookup(
        &app,
        "/api/v1/geo/reverse",
        &[("lon", "120.2"), ("lat", "30.26")],
        None,
    )
    .await;
    assert_eq!((status, error_code(&body)), (429, "rate_limited"), "{body}");
    for _ in 0..3 {
        let (status, _) = lookup(&app, "/api/v1/geo/geocode", &q, Some(&op)).await;
        assert_eq!(status, 200);
    }
    // Lookups spent nothing of the address's reports.
    let (status, case) = app
        .post(
            "/api/v1/cases",
            None,
            json!({ "description": "x", "lon": LON, "lat": LAT }),
        )
        .await;
    assert_eq!(status, 201, "{case}");
}
