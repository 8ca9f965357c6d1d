//! Bad input gets a clear 4xx naming the problem, and accepted data stays as it was.

use serde_json::{Value, json};

use crate::helpers::{LAT, LON, TestApp, error_code, png, rubbish};

/// State, version and number of records: what a bad request must not change.
async fn fingerprint(app: &TestApp, case: &Value) -> (String, i64, usize) {
    let detail = app.detail(case).await;
    (
        detail["case"]["state"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        detail["case"]["version"].as_i64().unwrap_or_default(),
        detail["records"].as_array().map_or(0, Vec::len),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_steps_name_the_problem_and_change_nothing() {
    let app = TestApp::spawn().await;
    let (sup, op) = (app.login("sc-sup1").await, app.login("sc-op1").await);
    let case = app.supervisor_report(&sup).await;
    let id = case["id"].as_str().expect("id");
    let before = fingerprint(&app, &case).await;
    let file_url = format!("{}/api/v1/cases/{id}/file", app.base);

    // Malformed JSON.
    let (status, body) = app
        .send(
            app.http
                .post(&file_url)
                .bearer_auth(&op)
                .header("content-type", "application/json")
                .body("{\"version\": 1, \"category\": "),
        )
        .await;
    assert_eq!(
        (status, error_code(&body)),
        (400, "malformed_json"),
        "{body}"
    );

    // Missing field, wrong type, unknown enum value: 422 with the JSON path.
    let cases: [(Value, &str); 4] = [
        (json!({ "version": 1 }), "category"),
        (
            json!({ "version": "one", "category": { "kind": "event", "major": "01", "minor": "02" } }),
            "version",
        ),
        (
            json!({ "version": 1, "category": { "kind": "thing", "major": "01", "minor": "02" } }),
            "category.kind",
        ),
        (
            json!({ "version": 1, "category": { "kind": "event", "major": "01" } }),
            "category.minor",
        ),
    ];
    for (payload, field) in cases {
        let (status, body) = app
            .send(app.http.post(&file_url).bearer_auth(&op).json(&payload))
            .await;
        assert_eq!(
            (status, error_code(&body), body["error"]["field"].as_str()),
            (422, "invalid_field", Some(field)),
            "{payload}: {body}"
        );
    }

    // Unknown category: 422 naming `category`.
    let (status, body) = app
        .step(
            &op,
            &case,
            "file",
            json!({ "category": { "kind": "event", "major": "42", "minor": "99" } }),
        )
        .await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (422, Some("category"))
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("4299"),
        "{body}"
    );

    // Unknown department at dispatch (after a good filing below) and illegal transitions.
    let (status, body) = app.step(&op, &case, "close", json!({})).await;
    assert_eq!(
        (
            status,
            error_code(&body),
            body["error"]["current_state"].as_str()
        ),
        (409, "illegal_transition", Some("reported"))
    );

    // A stale version.
    let mut stale = case.clone();
    stale["version"] = json!(0);
    let (status, body) = app
        .step(&op, &stale, "file", json!({ "category": rubbish() }))
        .await;
    assert_eq!((status, error_code(&body)), (409, "stale_version"));

    // An unknown photo.
    let (status, body) = app
        .step(
            &op,
            &case,
            "request-verification",
            json!({ "media": ["ab".repeat(32)] }),
        )
        .await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (422, Some("media[0]"))
    );

    // A misspelt field is an error, not silently ignored.
    let (status, body) = app
        .step(&op, &case, "cancel", json!({ "reson": "typo" }))
        .await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (422, Some("reson")),
        "{body}"
    );

    assert_eq!(fingerprint(&app, &case).await, before, "nothing changed");

    let filed = app
        .ok_step(&op, &case, "file", json!({ "category": rubbish() }))
        .await;
    let disp = app.login("sc-disp1").await;
    let (status, body) = app
        .step(
            &disp,
            &filed,
            "dispatch",
            json!({ "department": "nowhere" }),
        )
        .await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (422, Some("department"))
    );
    let (status, body) = app
        .post("/api/v1/cases/not-a-uuid/file", Some(&op), json!({}))
        .await;
    assert_eq!((status, error_code(&body)), (422, "invalid_field"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_reports_are_refused_and_create_nothing() {
    let app = TestApp::spawn().await;
    let sup = app.login("sc-sup1").await;
    let photo = app.photo(&sup).await;
    let cases: [(Value, u16, &str); 6] = [
        (
            json!({ "lon": LON, "lat": LAT, "photos": [photo] }),
            422,
            "description",
        ),
        (
            json!({ "description": "x", "lon": 120.50, "lat": 30.50, "photos": [photo] }),
            422,
            "lon",
        ),
        (
            json!({ "description": "x", "lon": LON, "lat": LAT }),
            422,
            "photos",
        ),
        (
            json!({ "description": "x", "lon": LON, "lat": LAT, "photos": ["f".repeat(64)] }),
            422,
            "photos[0]",
        ),
        (
            json!({ "description": "x", "lon": LON, "lat": LAT, "photos": [photo], "category": { "kind": "component", "major": "09", "minor": "09" } }),
            422,
            "category",
        ),
        (
            json!({ "description": "x", "lon": LON, "lat": LAT, "photos": [photo], "street": "330105001" }),
            422,
            "street",
        ),
    ];
    for (payload, expected, field) in cases {
        let (status, body) = app.post("/api/v1/cases", Some(&sup), payload.clone()).await;
        assert_eq!(
            (status, body["error"]["field"].as_str()),
            (expected, Some(field)),
            "{payload}: {body}"
        );
    }
    let (status, body) = app
        .post(
            "/api/v1/cases",
            Some(&sup),
            json!({ "description": "x", "lon": 120.50, "lat": 30.50, "photos": [photo] }),
        )
        .await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("outside district 330102"),
        "{status} {body}"
    );
    let (_, page) = app.get("/api/v1/cases", &sup).await;
    assert_eq!(
        page["items"].as_array().map(Vec::len),
        Some(0),
        "no case was created"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversize_and_non_image_uploads_are_refused() {
    let app = TestApp::spawn_with(|tenant| tenant.config.media.max_bytes = 4096).await;
    let sup = app.login("sc-sup1").await;
    let mut big = png("big");
    big.resize(4097, 0);
    let (status, body) = app.upload(Some(&sup), big).await;
    assert_eq!(
        (status, error_code(&body)),
        (413, "payload_too_large"),
        "{body}"
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("4096")
    );

    // A PDF named photo.png is still a PDF.
    let pdf = b"%PDF-1.7\n1 0 obj << >> endobj\n".to_vec();
    let (status, body) = app
        .send(
            app.http
                .post(format!("{}/api/v1/media", app.base))
                .bearer_auth(&sup)
                .header("content-type", "image/png")
                .header("content-disposition", "attachment; filename=photo.png")
                .body(pdf),
        )
        .await;
    assert_eq!(
        (status, error_code(&body)),
        (415, "unsupported_media_type"),
        "{body}"
    );
    let (status, _) = app.upload(Some(&sup), Vec::new()).await;
    assert_eq!(status, 422);

    let mut exact = png("exact");
    exact.resize(4096, 0);
    let (status, _) = app.upload(Some(&sup), exact).await;
    assert_eq!(status, 201, "the limit itself is allowed");
    let count: i64 = {
        use diesel::prelude::*;
        let mut conn = app.pool.get().expect("conn");
        citygrid_platform::schema::media::table
            .count()
            .get_result(&mut conn)
            .expect("count")
    };
    assert_eq!(count, 1, "only the valid upload was stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_bodies_have_the_documented_shape() {
    let app = TestApp::spawn().await;
    let (status, body) = app
        .post(
            "/api/v1/auth/token",
            None,
            json!({ "username": "sc-op1", "password": "wrong" }),
        )
        .await;
    assert_eq!(status, 401);
    let error = body["error"].as_object().expect("error object");
    assert_eq!(error["code"], "unauthenticated");
    assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert!(!error.contains_key("field"));
    let (status, body) = app
        .post(
            "/api/v1/auth/token",
            None,
            json!({ "username": "nobody", "password": "x" }),
        )
        .await;
    assert_eq!(
        (status, body["error"]["message"].as_str()),
        (401, Some("unknown user or wrong password")),
        "same answer for unknown users"
    );
    let (status, body) = app
        .send(app.http.get(format!("{}/api/v1/nowhere", app.base)))
        .await;
    assert_eq!((status, error_code(&body)), (404, "not_found"));
}
