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
        .step(
            &op,
            &case,
            "cancellation/request",
            json!({ "reson": "typo" }),
        )
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
    // A photo says what it is, and the bytes agree: a form or text/plain post is no upload.
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("application/octet-stream"),
        Some("image/jpeg"),
        Some("image/gif"),
    ] {
        let mut request = app
            .http
            .post(format!("{}/api/v1/media", app.base))
            .bearer_auth(&sup)
            .body(png("labelled"));
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let (status, body) = app.send(request).await;
        assert_eq!(
            (status, error_code(&body)),
            (415, "unsupported_media_type"),
            "{content_type:?}: {body}"
        );
    }

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
    // No route, or a route with other methods: the envelope too, and never sniffed.
    let probes = [
        (reqwest::Method::GET, "/api/v1/nowhere", 404, "not_found"),
        (reqwest::Method::GET, "/nowhere/%00", 404, "not_found"),
        (
            reqwest::Method::DELETE,
            "/api/v1/cases",
            405,
            "method_not_allowed",
        ),
        (
            reqwest::Method::PUT,
            "/api/v1/cases/00000000-0000-0000-0000-000000000000/file",
            405,
            "method_not_allowed",
        ),
        (reqwest::Method::POST, "/healthz", 405, "method_not_allowed"),
    ];
    for (method, path, status, code) in probes {
        let response = app
            .http
            .request(method.clone(), format!("{}{path}", app.base))
            .send()
            .await
            .expect("request");
        assert_eq!(
            response
                .headers()
                .get("x-content-type-options")
                .map(|v| v.as_bytes()),
            Some(&b"nosniff"[..]),
            "{method} {path}"
        );
        let answer = (
            response.status().as_u16(),
            response.json::<Value>().await.unwrap_or(Value::Null),
        );
        assert_eq!(
            (answer.0, error_code(&answer.1)),
            (status, code),
            "{method} {path}: {}",
            answer.1
        );
    }
}

/// Rows in `cases`: what a refused request must not add to.
fn case_count(app: &TestApp) -> i64 {
    use diesel::prelude::*;
    let mut conn = app.pool.get().expect("conn");
    citygrid_platform::schema::cases::table
        .count()
        .get_result(&mut conn)
        .expect("count")
}

/// One request the API must refuse: method, path, bearer, Content-Type, body, and the
/// expected (status, code, field).
type Probe<'a> = (
    &'a str,
    String,
    Option<&'a str>,
    Option<&'a str>,
    String,
    (u16, &'a str, Option<&'a str>),
);

/// Text PostgreSQL cannot store (U+0000) is 422 naming the field wherever it comes in (a
/// JSON body at any depth, a filter, a path segment, the sign-in); a body that is not one
/// JSON value or is not declared JSON is refused; an unknown filter is 400. None of it
/// stores anything, and a well-formed request after them still works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nul_trailing_data_foreign_types_and_unknown_filters_are_refused() {
    let app = TestApp::spawn().await;
    let (sup, op) = (app.login("sc-sup1").await, app.login("sc-op1").await);
    let photo = app.photo(&sup).await;
    let case = app.supervisor_report(&sup).await;
    let id = case["id"].as_str().expect("id").to_owned();
    let before = (fingerprint(&app, &case).await, case_count(&app));
    let version = case["version"].clone();
    let public = |description: &str| {
        json!({ "description": description, "lon": LON, "lat": LAT }).to_string()
    };
    let json = Some("application/json");
    let nul = (422, "invalid_field");
    let probes: Vec<Probe> = vec![
        // U+0000 in JSON bodies, at any depth, anonymous or signed in.
        (
            "POST",
            "/api/v1/cases".into(),
            None,
            json,
            public("a\0b"),
            (nul.0, nul.1, Some("description")),
        ),
        (
            "POST",
            "/api/v1/cases".into(),
            Some(&sup),
            json,
            json!({ "description": "x", "lon": LON, "lat": LAT, "photos": [photo],
                    "category": { "kind": "event\0", "major": "01", "minor": "02" } })
            .to_string(),
            (nul.0, nul.1, Some("category.kind")),
        ),
        (
            "POST",
            "/api/v1/cases".into(),
            Some(&sup),
            json,
            json!({ "description": "x", "lon": LON, "lat": LAT, "photos": [photo, "\0"] })
                .to_string(),
            (nul.0, nul.1, Some("photos[1]")),
        ),
        (
            "POST",
            "/api/v1/auth/token".into(),
            None,
            json,
            json!({ "username": "sc-op1\0", "password": "demo-pass-1" }).to_string(),
            (nul.0, nul.1, Some("username")),
        ),
        (
            "POST",
            format!("/api/v1/cases/{id}/cancellation/request"),
            Some(&op),
            json,
            json!({ "version": version, "reason": "\0" }).to_string(),
            (nul.0, nul.1, Some("reason")),
        ),
        (
            "POST",
            format!("/api/v1/cases/{id}/file"),
            Some(&op),
            json,
            json!({ "version": version, "category": rubbish(), "description": "x\0" }).to_string(),
            (nul.0, nul.1, Some("description")),
        ),
        // U+0000 in filters and path segments.
        (
            "GET",
            "/api/v1/cases?q=a%00b".into(),
            Some(&op),
            None,
            String::new(),
            (nul.0, nul.1, Some("q")),
        ),
        (
            "GET",
            "/api/v1/cases?state=%00".into(),
            Some(&op),
            None,
            String::new(),
            (nul.0, nul.1, Some("state")),
        ),
        (
            "GET",
            "/api/v1/cases?department=d%00".into(),
            Some(&op),
            None,
            String::new(),
            (nul.0, nul.1, Some("department")),
        ),
        (
            "GET",
            "/api/v1/cases/%00".into(),
            Some(&op),
            None,
            String::new(),
            (nul.0, nul.1, Some("id")),
        ),
        (
            "POST",
            "/api/v1/cases/%00/cancellation/request".into(),
            Some(&op),
            json,
            json!({ "version": 1, "reason": "x" }).to_string(),
            (nul.0, nul.1, Some("id")),
        ),
        (
            "GET",
            format!("/api/v1/media/{}%00", "a".repeat(63)),
            Some(&op),
            None,
            String::new(),
            (nul.0, nul.1, Some("sha256")),
        ),
        // Not one JSON value: the first object is not applied.
        (
            "POST",
            "/api/v1/cases".into(),
            None,
            json,
            format!("{} {}", public("first"), public("second")),
            (400, "malformed_json", None),
        ),
        (
            "POST",
            format!("/api/v1/cases/{id}/cancellation/request"),
            Some(&op),
            json,
            format!("{} x", json!({ "version": version, "reason": "typo" })),
            (400, "malformed_json", None),
        ),
        // Not declared JSON: what a cross-site form or text/plain post sends.
        (
            "POST",
            "/api/v1/cases".into(),
            None,
            Some("text/plain"),
            public("csrf"),
            (415, "unsupported_media_type", None),
        ),
        (
            "POST",
            "/api/v1/cases".into(),
            None,
            Some("application/x-www-form-urlencoded"),
            public("form"),
            (415, "unsupported_media_type", None),
        ),
        (
            "POST",
            "/api/v1/cases".into(),
            None,
            None,
            public("bare"),
            (415, "unsupported_media_type", None),
        ),
        (
            "POST",
            format!("/api/v1/cases/{id}/cancellation/request"),
            Some(&op),
            Some("text/plain"),
            json!({ "version": version, "reason": "csrf" }).to_string(),
            (415, "unsupported_media_type", None),
        ),
        // Unknown or mistyped parameters.
        (
            "GET",
            "/api/v1/cases?staet=filed".into(),
            Some(&op),
            None,
            String::new(),
            (400, "unknown_parameter", Some("staet")),
        ),
        (
            "GET",
            "/api/v1/cases?state=filed&colour=red".into(),
            Some(&op),
            None,
            String::new(),
            (400, "unknown_parameter", Some("colour")),
        ),
        (
            "GET",
            "/api/v1/queue?state=filed".into(),
            Some(&op),
            None,
            String::new(),
            (400, "unknown_parameter", Some("state")),
        ),
        (
            "GET",
            "/api/v1/cases?limit=ten".into(),
            Some(&op),
            None,
            String::new(),
            (422, "invalid_field", Some("limit")),
        ),
        (
            "GET",
            "/api/v1/cases/not-a-uuid".into(),
            Some(&op),
            None,
            String::new(),
            (422, "invalid_field", Some("id")),
        ),
    ];
    for (method, path, token, content_type, body, expected) in probes {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut request = app
            .http
            .request(method.clone(), format!("{}{path}", app.base))
            .body(body.clone());
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let (status, answer) = app.send(request).await;
        assert_eq!(
            (
                status,
                error_code(&answer),
                answer["error"]["field"].as_str()
            ),
            expected,
            "{method} {path} {content_type:?} {body}: {answer}"
        );
    }
    assert_eq!(
        (fingerprint(&app, &case).await, case_count(&app)),
        before,
        "nothing was stored"
    );

    // The same report, declared JSON with a charset, is accepted.
    let (status, body) = app
        .send(
            app.http
                .post(format!("{}/api/v1/cases", app.base))
                .header("content-type", "application/json; charset=utf-8")
                .body(public("first")),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(case_count(&app), before.1 + 1);
}
