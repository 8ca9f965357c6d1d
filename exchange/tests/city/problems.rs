//! 上级发现: a city supervisor's photo and problem through the city API, placed in the
//! district whose boundary holds its point, sent to it as a `city_problem` command over
//! the broker, and followed back through the case's snapshots. Every refusal writes
//! nothing.

use citygrid_exchange::schema::city_problems;
use citygrid_schemas as v1;
use diesel::prelude::*;
use serde_json::{Value, json};

use crate::broker::TestBroker;
use crate::helpers::{TestCity, commands, send};

/// A point of 上城区 (330102), and one in no district of the city (Shanghai).
const INSIDE: (f64, f64) = (120.20, 30.26);
const NOWHERE: (f64, f64) = (121.47, 31.23);

async fn upload(city: &TestCity, user: &str, content_type: &str, bytes: Vec<u8>) -> (u16, Value) {
    let request = reqwest::Client::new()
        .post(format!("{}/api/v1/city/media", city.base))
        .header("content-type", content_type)
        .body(bytes);
    city.send_as(user, request).await
}

async fn report(city: &TestCity, user: &str, key: Option<&str>, body: &Value) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(format!("{}/api/v1/city/problems", city.base))
        .json(body);
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    city.send_as(user, request).await
}

fn problems(city: &TestCity) -> i64 {
    let mut conn = city.pool.get().expect("conn");
    city_problems::table
        .count()
        .get_result(&mut conn)
        .expect("count")
}

fn code(body: &Value) -> (&str, &str) {
    (
        body["error"]["code"].as_str().unwrap_or("<none>"),
        body["error"]["field"].as_str().unwrap_or(""),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_city_supervisor_reports_a_problem_to_the_district_that_owns_its_point() {
    let broker = TestBroker::new().await;
    let city = TestCity::start(&broker).await;
    let png = citygrid_test_support::png("manhole");

    // The photo: once per content, a city supervisor's, an image of what it says it is.
    let (status, first) = upload(&city, "hz-csup1", "image/png", png.clone()).await;
    assert_eq!(status, 201, "{first}");
    let sha = first["sha256"].as_str().expect("sha256").to_owned();
    assert_eq!(sha, v1::sha256_hex(&png));
    let (status, _) = upload(&city, "hz-csup1", "image/png", png.clone()).await;
    assert_eq!(status, 200, "the same bytes again");
    for (user, content_type, bytes, expected, error) in [
        ("hz-clead1", "image/png", png.clone(), 403, "wrong_role"),
        ("hz-d330102", "image/png", png.clone(), 403, "wrong_role"),
        (
            "hz-csup1",
            "text/plain",
            png.clone(),
            415,
            "unsupported_media_type",
        ),
        (
            "hz-csup1",
            "image/jpeg",
            png.clone(),
            415,
            "unsupported_media_type",
        ),
        (
            "hz-csup1",
            "image/png",
            b"not a picture".to_vec(),
            415,
            "unsupported_media_type",
        ),
        (
            "hz-csup1",
            "image/png",
            vec![0u8; v1::CITY_PHOTO_BYTES + 1],
            413,
            "payload_too_large",
        ),
    ] {
        let (status, body) = upload(&city, user, content_type, bytes).await;
        assert_eq!(
            (status, code(&body).0),
            (expected, error),
            "{user} {content_type}: {body}"
        );
    }

    // The problem goes to 330102, whose boundary holds the point.
    let problem = json!({
        "category": "component:0101", "urgency": "urgent",
        "description": "上水井盖缺失", "address": "上城区解放路 88 号",
        "lon": INSIDE.0, "lat": INSIDE.1, "photos": [sha],
    });
    let (status, sent) = report(&city, "hz-csup1", Some("k-1"), &problem).await;
    assert_eq!(status, 201, "{sent}");
    assert_eq!(
        (
            sent["district"].as_str(),
            sent["state"].as_str(),
            sent["category"].as_str()
        ),
        (Some("330102"), Some("sent"), Some("component:0101"))
    );
    let case_id: uuid::Uuid = sent["case_id"]
        .as_str()
        .expect("case_id")
        .parse()
        .expect("uuid");

    // A retry is the same problem; the key with another body is refused.
    let (status, again) = report(&city, "hz-csup1", Some("k-1"), &problem).await;
    assert_eq!((status, &again["case_id"]), (200, &sent["case_id"]));
    let mut other = problem.clone();
    other["description"] = json!("井盖破损");
    let (status, body) = report(&city, "hz-csup1", Some("k-1"), &other).await;
    assert_eq!((status, code(&body).0), (409, "idempotency_key_reused"));

    // Every refusal names its cause and writes nothing.
    let with = |key: &str, value: Value| {
        let mut body = problem.clone();
        body[key] = value;
        body
    };
    let mut missing = problem.clone();
    missing
        .as_object_mut()
        .expect("object")
        .remove("description");
    let refusals = [
        ("hz-clead1", problem.clone(), 403, ("wrong_role", "")),
        ("hz-d330102", problem.clone(), 403, ("wrong_role", "")),
        (
            "hz-csup1",
            with("lon", json!(NOWHERE.0)).clone(),
            422,
            ("invalid_field", "lon"),
        ),
        (
            "hz-csup1",
            with("lat", json!(NOWHERE.1)),
            422,
            ("invalid_field", "lon"),
        ),
        (
            "hz-csup1",
            with("lon", json!(200.0)),
            422,
            ("invalid_field", "lon"),
        ),
        (
            "hz-csup1",
            with("lon", json!("east")),
            422,
            ("invalid_field", "lon"),
        ),
        (
            "hz-csup1",
            with("category", json!("event:9999")),
            422,
            ("invalid_field", "category"),
        ),
        (
            "hz-csup1",
            with("category", json!("component:01001")),
            422,
            ("invalid_field", "category"),
        ),
        (
            "hz-csup1",
            with("photos", json!([])),
            422,
            ("invalid_field", "photos"),
        ),
        (
            "hz-csup1",
            with("photos", json!(["0".repeat(64)])),
            422,
            ("invalid_field", "photos[0]"),
        ),
        (
            "hz-csup1",
            with("description", json!("  ")),
            422,
            ("invalid_field", "description"),
        ),
        (
            "hz-csup1",
            with("urgency", json!("asap")),
            422,
            ("invalid_field", "urgency"),
        ),
        ("hz-csup1", missing, 422, ("invalid_field", "description")),
        (
            "hz-csup1",
            with("district", json!("330105")),
            422,
            ("invalid_field", "district"),
        ),
    ];
    for (user, body, expected, error) in refusals {
        let (status, answer) = report(&city, user, None, &body).await;
        assert_eq!(
            (status, code(&answer)),
            (expected, error),
            "{user} {body}: {answer}"
        );
    }
    assert_eq!(problems(&city), 1, "refusals wrote nothing");

    // Over the broker: one city_problem command to 330102, the photo inside it.
    let carried: Vec<v1::CityProblem> = commands(&broker, "330102").await;
    assert_eq!(carried.len(), 1, "sent once");
    assert_eq!(carried[0].case_id, case_id);
    assert_eq!(carried[0].photos[0].decode(0).expect("photo"), png);
    assert_eq!(
        (carried[0].category.label(), carried[0].category.edition),
        ("component:0101".to_owned(), Some(v1::Edition::Gbt30428))
    );

    // The district opened it: the city follows the case by its id.
    let mut opened = v1::json::example_snapshot();
    (opened.case_id, opened.version, opened.source) = (case_id, 1, v1::Source::City);
    (opened.state, opened.category, opened.department_code) = (v1::CaseState::Reported, None, None);
    send(&broker, 1, opened).await;
    city.wait_for_cursor("330102", 1).await;
    let (status, list) = city.get("/api/v1/city/problems?district=330102").await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(
        (
            list["items"][0]["case_id"].as_str(),
            list["items"][0]["state"].as_str()
        ),
        (Some(case_id.to_string().as_str()), Some("reported"))
    );
    let (status, _) = city.get_as("hz-d330102", "/api/v1/city/problems").await;
    assert_eq!(status, 403, "a district officer reads only their statement");

    // Appraisal: the city's case counts as 上级发现 even when its district relabels it,
    // and the district's own case claiming to be one does not.
    let now = chrono::Utc::now() - chrono::Duration::minutes(1);
    let filed = |id: uuid::Uuid, version: u32, source: v1::Source| {
        let mut s = v1::json::example_snapshot();
        (s.case_id, s.version, s.source, s.state) = (id, version, source, v1::CaseState::Filed);
        (s.department_code, s.current_stage) = (None, None);
        s.milestones = v1::Milestones {
            reported_at: Some(now),
            filed_at: Some(now),
            ..v1::Milestones::default()
        };
        (s.created_at, s.updated_at) = (now, now);
        s
    };
    send(&broker, 2, filed(case_id, 2, v1::Source::Supervisor)).await;
    send(&broker, 3, filed(uuid::Uuid::new_v4(), 1, v1::Source::City)).await;
    city.wait_for_cursor("330102", 3).await;
    let local = chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8");
    let period = now.with_timezone(&local).format("%Y-%m");
    let (status, body) = city
        .get(&format!("/api/v1/city/appraisal?period={period}"))
        .await;
    assert_eq!(status, 200, "{body}");
    let unit = body["units"]
        .as_array()
        .expect("units")
        .iter()
        .find(|u| u["key"] == "330102")
        .expect("330102");
    assert_eq!(
        (unit["filed"].as_i64(), unit["city_found"].as_i64()),
        (Some(2), Some(1)),
        "{unit}"
    );

    // Two copies of one request at once: one problem, both answered with it.
    let (a, b) = tokio::join!(
        report(&city, "hz-csup1", Some("k-2"), &problem),
        report(&city, "hz-csup1", Some("k-2"), &problem)
    );
    let mut statuses = [a.0, b.0];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 201], "{a:?} {b:?}");
    assert_eq!(a.1["case_id"], b.1["case_id"]);
    assert_eq!(problems(&city), 2);
}

/// A photo uploaded for a problem that never came is deleted after a day; one a problem
/// names stays, however old.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_no_problem_names_expires_after_a_day() {
    use citygrid_exchange::schema::city_photos;
    let broker = TestBroker::new().await;
    let city = TestCity::start(&broker).await;
    let (_, named) = upload(
        &city,
        "hz-csup1",
        "image/png",
        citygrid_test_support::png("named"),
    )
    .await;
    let (_, orphan) = upload(
        &city,
        "hz-csup1",
        "image/png",
        citygrid_test_support::png("orphan"),
    )
    .await;
    let problem = json!({
        "category": "event:0102", "description": "暴露垃圾", "lon": INSIDE.0, "lat": INSIDE.1,
        "photos": [named["sha256"]],
    });
    let (status, body) = report(&city, "hz-csup1", None, &problem).await;
    assert_eq!(status, 201, "{body}");
    let photos = || -> Vec<String> {
        let mut conn = city.pool.get().expect("conn");
        city_photos::table
            .select(city_photos::sha256)
            .order(city_photos::sha256)
            .load(&mut conn)
            .expect("photos")
    };
    let now = chrono::Utc::now();
    let expire = |before| {
        let mut conn = city.pool.get().expect("conn");
        citygrid_exchange::problems::expire_orphan_photos(&mut conn, before).expect("expiry")
    };
    // Within the day both stay.
    assert_eq!(
        tokio::task::block_in_place(|| expire(now - chrono::Duration::hours(24))),
        0
    );
    assert_eq!(photos().len(), 2);
    // A day later the orphan goes, the named one stays.
    assert_eq!(
        tokio::task::block_in_place(|| expire(now + chrono::Duration::hours(1))),
        1
    );
    assert_eq!(
        photos(),
        [named["sha256"].as_str().expect("sha256").to_owned()]
    );
    assert_ne!(named["sha256"], orphan["sha256"]);
}
