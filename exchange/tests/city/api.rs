//! The city API: sign-in, read-only case views across districts, exchange status, metrics,
//! and the refusals around them.

use chrono::Utc;
use citygrid_schemas as v1;
use jsonwebtoken::{EncodingKey, Header};
use serde_json::{Value, json};

use crate::broker::TestBroker;
use crate::helpers::{TestCity, record, send, snapshot};

async fn call(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn token(city: &TestCity, username: &str, password: &str) -> (u16, Value) {
    call(
        reqwest::Client::new()
            .post(format!("{}/api/v1/auth/token", city.base))
            .json(&json!({ "username": username, "password": password })),
    )
    .await
}

async fn get(city: &TestCity, path: &str, bearer: Option<&str>) -> (u16, Value) {
    let mut request = reqwest::Client::new().get(format!("{}{path}", city.base));
    if let Some(bearer) = bearer {
        request = request.bearer_auth(bearer);
    }
    call(request).await
}

/// What a refused request answers: status, `error.code` (`<none>` without one), `error.field`.
type Refusal<'a> = (u16, &'a str, Option<&'a str>);

fn forged(city_code: &str, secret: &str) -> String {
    let now = Utc::now().timestamp();
    jsonwebtoken::encode(
        &Header::default(),
        &json!({ "sub": uuid::Uuid::new_v4(), "username": "x", "city": city_code,
                 "roles": ["city_leader"], "ver": 1, "iat": now, "exp": now + 600 }),
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("token")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_center_reads_every_district_and_the_exchange() {
    let broker = TestBroker::new().await;
    let city = TestCity::start(&broker).await;
    send(&broker, 1, snapshot(1, v1::CaseState::Reported)).await;
    send(&broker, 2, record(10, 1)).await;
    send(&broker, 3, snapshot(2, v1::CaseState::Filed)).await;
    city.wait_for_cursor("330102", 3).await;

    let (status, body) = token(&city, "hz-csup1", "demo-pass-1").await;
    assert_eq!(status, 200, "{body}");
    let bearer = body["token"].as_str().expect("token").to_owned();
    assert_eq!(body["roles"], json!(["city_supervisor"]));

    let (status, list) = get(&city, "/api/v1/city/cases?district=330102", Some(&bearer)).await;
    assert_eq!(status, 200, "{list}");
    let items = list["items"].as_array().expect("items");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["district"], "330102");
    assert_eq!(items[0]["case"]["version"], 2, "the newest snapshot");
    let (_, other) = get(&city, "/api/v1/city/cases?district=330105", Some(&bearer)).await;
    assert_eq!(other["items"], json!([]));
    let (_, filed) = get(&city, "/api/v1/city/cases?state=reported", Some(&bearer)).await;
    assert_eq!(filed["items"], json!([]), "state filter");

    let id = items[0]["case"]["case_id"].as_str().expect("id");
    let (status, detail) = get(
        &city,
        &format!("/api/v1/city/cases/330102/{id}"),
        Some(&bearer),
    )
    .await;
    assert_eq!(status, 200, "{detail}");
    assert_eq!(detail["records"].as_array().map(Vec::len), Some(1));
    assert_eq!(detail["records"][0]["record_id"], 10);
    assert_eq!(
        detail["media_missing"],
        json!([]),
        "no photos referenced, none missing"
    );
    let (status, _) = get(
        &city,
        &format!("/api/v1/city/cases/330105/{id}"),
        Some(&bearer),
    )
    .await;
    assert_eq!(status, 404, "a case is found under its own district only");

    let (status, exchange) = get(&city, "/api/v1/city/exchange/status", Some(&bearer)).await;
    assert_eq!(status, 200, "{exchange}");
    let district = exchange["districts"]
        .as_array()
        .expect("districts")
        .iter()
        .find(|d| d["district"] == "330102")
        .expect("330102")
        .clone();
    assert_eq!(district["last_contiguous_seq"], 3);
    assert_eq!(district["cases"], 1);
    assert_eq!(district["rejections"], 0);
    assert!(
        district["lag_seconds"].as_f64().is_some_and(|l| l < 30.0),
        "{district}"
    );
    assert!(
        district["messages_per_second"]
            .as_f64()
            .is_some_and(|r| r > 0.0),
        "{district}"
    );

    let metrics = reqwest::get(format!("{}/metrics", city.base))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains("citygrid_stream_seq{district=\"330102\"} 3"),
        "{metrics}"
    );
    assert!(
        metrics.contains("# TYPE citygrid_rejections_total counter"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_city_api_refuses_strangers_and_bad_queries() {
    let broker = TestBroker::new().await;
    let city = TestCity::start(&broker).await;

    let (status, body) = token(&city, "hz-csup1", "wrong").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("unauthenticated"))
    );
    let (status, body) = token(&city, "nobody", "demo-pass-1").await;
    assert_eq!(status, 401, "{body}");
    let (status, body) = call(
        reqwest::Client::new()
            .post(format!("{}/api/v1/auth/token", city.base))
            .json(&json!({ "username": "hz-csup1" })),
    )
    .await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (422, Some("password"))
    );

    let (status, body) = get(&city, "/api/v1/city/cases", None).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("unauthenticated"))
    );
    // A district's token (another key) is not a city token.
    let district_key = "demo-only-330102-change-me-in-production-0123456789";
    let (status, _) = get(
        &city,
        "/api/v1/city/cases",
        Some(&forged("330100", district_key)),
    )
    .await;
    assert_eq!(status, 401);
    // A token of this key for another city.
    let city_key = "demo-only-city-330100-change-me-in-production-0123456789";
    let (status, body) = get(
        &city,
        "/api/v1/city/cases",
        Some(&forged("330200", city_key)),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("wrong_city"))
    );

    let (_, body) = token(&city, "hz-clead1", "demo-pass-1").await;
    let bearer = body["token"].as_str().expect("token").to_owned();
    let (status, body) = get(&city, "/api/v1/city/cases?limit=0", Some(&bearer)).await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (422, Some("limit"))
    );
    // Unknown filters, text PostgreSQL cannot store (U+0000), bad path segments: each
    // named, in the envelope, never a 500.
    let nil = uuid::Uuid::nil();
    let probes: [(String, Refusal); 8] = [
        (
            "/api/v1/city/cases?colour=red".into(),
            (400, "unknown_parameter", Some("colour")),
        ),
        (
            "/api/v1/city/cases?state=dispatched&staet=filed".into(),
            (400, "unknown_parameter", Some("staet")),
        ),
        (
            "/api/v1/city/cases?district=%00".into(),
            (422, "invalid_field", Some("district")),
        ),
        (
            "/api/v1/city/cases?category=event%3A01%0002".into(),
            (422, "invalid_field", Some("category")),
        ),
        (
            "/api/v1/city/cases?from=yesterday".into(),
            (422, "invalid_field", Some("from")),
        ),
        (
            format!("/api/v1/city/cases/330102%00/{nil}"),
            (422, "invalid_field", Some("district")),
        ),
        (
            "/api/v1/city/cases/330102/not-a-uuid".into(),
            (422, "invalid_field", Some("id")),
        ),
        ("/api/v1/city/nowhere".into(), (404, "not_found", None)),
    ];
    for (path, expected) in probes {
        let (status, body) = get(&city, &path, Some(&bearer)).await;
        assert_eq!(
            (
                status,
                body["error"]["code"].as_str().unwrap_or("<none>"),
                body["error"]["field"].as_str()
            ),
            expected,
            "{path}: {body}"
        );
    }
}

/// Sign-in bodies are one JSON value declared as JSON, without U+0000; the city's other
/// answers keep the envelope too (no route, wrong method) and are never sniffed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_city_refuses_foreign_bodies_and_answers_every_error_in_json() {
    let broker = TestBroker::new().await;
    let city = TestCity::start(&broker).await;
    let login = json!({ "username": "hz-clead1", "password": "demo-pass-1" }).to_string();
    let probes: [(Option<&str>, String, Refusal); 5] = [
        (
            Some("application/json"),
            json!({ "username": "hz-clead1\0", "password": "demo-pass-1" }).to_string(),
            (422, "invalid_field", Some("username")),
        ),
        (
            Some("application/json"),
            format!("{login}{login}"),
            (400, "malformed_json", None),
        ),
        (
            Some("text/plain"),
            login.clone(),
            (415, "unsupported_media_type", None),
        ),
        (None, login.clone(), (415, "unsupported_media_type", None)),
        (
            Some("application/json; charset=utf-8"),
            login.clone(),
            (200, "<none>", None),
        ),
    ];
    for (content_type, body, expected) in probes {
        let mut request = reqwest::Client::new()
            .post(format!("{}/api/v1/auth/token", city.base))
            .body(body.clone());
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let (status, answer) = call(request).await;
        assert_eq!(
            (
                status,
                answer["error"]["code"].as_str().unwrap_or("<none>"),
                answer["error"]["field"].as_str()
            ),
            expected,
            "{content_type:?} {body}: {answer}"
        );
    }

    let client = reqwest::Client::new();
    for (method, path, status, code) in [
        (reqwest::Method::GET, "/nowhere", 404, "not_found"),
        (
            reqwest::Method::GET,
            "/api/v1/nowhere/%00",
            404,
            "not_found",
        ),
        (
            reqwest::Method::POST,
            "/api/v1/city/cases",
            405,
            "method_not_allowed",
        ),
        (
            reqwest::Method::DELETE,
            "/healthz",
            405,
            "method_not_allowed",
        ),
    ] {
        let response = client
            .request(method.clone(), format!("{}{path}", city.base))
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
            (answer.0, answer.1["error"]["code"].as_str()),
            (status, Some(code)),
            "{method} {path}: {}",
            answer.1
        );
    }
}

/// `/openapi.json` documents every route the city serves, and every documented route
/// answers (a route without its document, or a document without its route, fails here).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_matches_the_routes() {
    let broker = TestBroker::new().await;
    let city = TestCity::start(&broker).await;
    let (status, doc) = get(&city, "/openapi.json", None).await;
    assert_eq!(status, 200);
    let paths: Vec<&str> = doc["paths"]
        .as_object()
        .expect("paths")
        .keys()
        .map(String::as_str)
        .collect();
    // Every route of the access matrix but the document itself.
    let mut routes: Vec<&str> = CITY_ROUTES
        .iter()
        .map(|(_, path, _)| *path)
        .filter(|path| *path != "/openapi.json")
        .collect();
    routes.dedup();
    assert_eq!(paths.len(), routes.len(), "{paths:?}");
    for route in routes {
        assert!(paths.contains(&route), "{route} undocumented");
    }
    for schema in ["ErrorBody", "TokenResponse", "CaseList", "DistrictStatus"] {
        assert!(
            doc["components"]["schemas"][schema].is_object(),
            "{schema} missing"
        );
    }
    let (_, session) = token(&city, "hz-clead1", "demo-pass-1").await;
    let bearer = session["token"].as_str().expect("token");
    assert_eq!(session["token_type"], "Bearer");
    for path in [
        "/healthz",
        "/readyz",
        "/api/v1/city/cases",
        "/api/v1/city/exchange/status",
    ] {
        assert_eq!(get(&city, path, Some(bearer)).await.0, 200, "{path}");
    }
    let missing = format!("/api/v1/city/cases/330102/{}", uuid::Uuid::nil());
    let (status, body) = get(&city, &missing, Some(bearer)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("not_found"))
    );
}

/// Five wrong passwords lock a username of the command center, as at the districts (the
/// kit's login gate): the sixth attempt and the right password during the lockout are 429
/// with `Retry-After`; another user still signs in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_passwords_lock_the_username_only() {
    let broker = TestBroker::new().await;
    let city = TestCity::start(&broker).await;
    let attempt = |password: &'static str| {
        reqwest::Client::new()
            .post(format!("{}/api/v1/auth/token", city.base))
            .json(&json!({ "username": "hz-csup1", "password": password }))
            .send()
    };
    for n in 1..=5 {
        let response = attempt("wrong").await.expect("request");
        assert_eq!(response.status().as_u16(), 401, "attempt {n}");
        assert!(response.headers().get("retry-after").is_none());
    }
    for password in ["wrong", "demo-pass-1"] {
        let response = attempt(password).await.expect("request");
        assert_eq!(response.status().as_u16(), 429);
        let retry_after: u64 = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .expect("Retry-After in seconds");
        assert!((1..=60).contains(&retry_after), "{retry_after}");
        let body: Value = response.json().await.expect("JSON");
        assert_eq!(body["error"]["code"], "too_many_attempts", "{body}");
    }
    let (status, body) = token(&city, "hz-clead1", "demo-pass-1").await;
    assert_eq!(status, 200, "another user is not locked: {body}");
}

/// Who may call a city route.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Access {
    /// Anyone; a token is not looked at.
    Public,
    /// Anyone; what proves the caller is in the body (a refresh token), not a bearer
    /// token: refused with 401 without a good one, never 403.
    Credential,
    /// A valid token of this city, of either city role; a district officer's is refused
    /// (403 `wrong_role`).
    Signed,
    /// A valid token of this city, a district officer's included (the endpoint shows them
    /// their own district only).
    AnySigned,
    /// A valid token of a city supervisor: a city leader and a district officer are
    /// refused (403 `wrong_role`), whatever the request holds.
    Supervisor,
}

/// Every route of the city API (exchange/src/api.rs `configure`), checked against the
/// OpenAPI document so a new route cannot be left out.
const CITY_ROUTES: &[(&str, &str, Access)] = &[
    ("GET", "/healthz", Access::Public),
    ("GET", "/readyz", Access::Public),
    ("GET", "/metrics", Access::Public),
    ("GET", "/openapi.json", Access::Public),
    ("POST", "/api/v1/auth/token", Access::Public),
    ("POST", "/api/v1/auth/refresh", Access::Credential),
    ("POST", "/api/v1/auth/logout", Access::Credential),
    ("GET", "/api/v1/city/cases", Access::Signed),
    ("GET", "/api/v1/city/cases/{district}/{id}", Access::Signed),
    ("GET", "/api/v1/city/exchange/status", Access::Signed),
    ("GET", "/api/v1/city/catalogues", Access::Signed),
    ("GET", "/api/v1/city/appraisal", Access::Signed),
    ("GET", "/api/v1/city/ledger/balances", Access::Signed),
    ("GET", "/api/v1/city/ledger/statement", Access::AnySigned),
    ("GET", "/api/v1/city/orders", Access::Signed),
    ("POST", "/api/v1/city/orders", Access::Signed),
    ("POST", "/api/v1/city/media", Access::Supervisor),
    ("GET", "/api/v1/city/problems", Access::Signed),
    ("POST", "/api/v1/city/problems", Access::Signed),
    ("GET", "/api/v1/city/referrals", Access::Signed),
    (
        "POST",
        "/api/v1/city/referrals/{district}/{record_id}",
        Access::Signed,
    ),
    ("GET", "/api/v1/city/reports", Access::AnySigned),
    (
        "GET",
        "/api/v1/city/reports/{month}/{file}",
        Access::AnySigned,
    ),
];

/// The `[auth] jwt_secret` of a sample file under tenants/hangzhou.
fn sample_secret(file: &str) -> String {
    let path = citygrid_test_support::repo()
        .join("tenants/hangzhou")
        .join(file);
    let text = std::fs::read_to_string(&path).expect("sample file");
    let parsed: toml::Value = toml::from_str(&text).expect("TOML");
    parsed["auth"]["jwt_secret"]
        .as_str()
        .expect("jwt_secret")
        .to_owned()
}

/// The tenant-isolation matrix of the city API: every route with no token, tampered and
/// expired tokens, a district's token, a token of another city and one without a role —
/// each refused with its documented status in the JSON envelope — and with each city role,
/// never 401 or 403.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_city_route_refuses_strangers_and_forgeries() {
    let broker = TestBroker::new().await;
    let city = TestCity::start(&broker).await;

    let (status, doc) = get(&city, "/openapi.json", None).await;
    assert_eq!(status, 200);
    let mut documented: Vec<String> = doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, methods)| {
            methods
                .as_object()
                .expect("methods")
                .keys()
                .map(move |m| format!("{} {path}", m.to_uppercase()))
        })
        .collect();
    documented.push("GET /openapi.json".to_owned());
    documented.sort();
    let mut table: Vec<String> = CITY_ROUTES
        .iter()
        .map(|(m, p, _)| format!("{m} {p}"))
        .collect();
    table.sort();
    assert_eq!(table, documented, "the matrix and the routes differ");
    // And it says who may call each: no token needed, or a token.
    for (method, path, access) in CITY_ROUTES {
        let Some(operation) = doc["paths"][path].get(method.to_lowercase()) else {
            continue; // the document itself
        };
        let wanted = match access {
            Access::Public | Access::Credential => json!([]),
            Access::Signed | Access::AnySigned | Access::Supervisor => json!([{ "bearer": [] }]),
        };
        assert_eq!(operation["security"], wanted, "{method} {path}");
    }

    let mut sessions = Vec::new();
    for user in ["hz-csup1", "hz-clead1"] {
        let (status, body) = token(&city, user, "demo-pass-1").await;
        assert_eq!(status, 200, "{body}");
        sessions.push(body["token"].as_str().expect("token").to_owned());
    }
    let (status, body) = token(&city, "hz-d330102", "demo-pass-1").await;
    assert_eq!(
        (status, &body["district"]),
        (200, &json!("330102")),
        "{body}"
    );
    let officer = body["token"].as_str().expect("token").to_owned();
    let keys = citygrid_kit::token::Keys::new(sample_secret("city.toml").as_bytes());
    let claims: Value = keys.verify(&sessions[1]).expect("a city token");
    let now = Utc::now().timestamp();
    let with = |change: &dyn Fn(&mut Value)| {
        let mut forged = claims.clone();
        change(&mut forged);
        forged
    };
    let parts: Vec<&str> = sessions[0].split('.').collect();
    let leader_claims = sessions[1].split('.').nth(1).expect("claims");
    let mut signature = parts[2].to_owned();
    let mid = signature.len() / 2;
    let flipped = if &signature[mid..=mid] == "A" {
        "B"
    } else {
        "A"
    };
    signature.replace_range(mid..=mid, flipped);
    let district_keys =
        citygrid_kit::token::Keys::new(sample_secret("districts/330102.toml").as_bytes());
    let bad: Vec<(&str, String, u16, &str)> = vec![
        (
            "signature altered",
            format!("{}.{}.{signature}", parts[0], parts[1]),
            401,
            "unauthenticated",
        ),
        (
            "a leader's claims under a supervisor's signature",
            format!("{}.{leader_claims}.{}", parts[0], parts[2]),
            401,
            "unauthenticated",
        ),
        (
            "alg none",
            format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{leader_claims}."),
            401,
            "unauthenticated",
        ),
        (
            "expired an hour ago",
            keys.issue(&with(&|c| {
                c["iat"] = json!(now - 7200);
                c["exp"] = json!(now - 3600);
            }))
            .expect("sign"),
            401,
            "unauthenticated",
        ),
        (
            "a district's key",
            district_keys.issue(&claims).expect("sign"),
            401,
            "unauthenticated",
        ),
        (
            "another city's, with this key",
            keys.issue(&with(&|c| c["city"] = json!("330200")))
                .expect("sign"),
            403,
            "wrong_city",
        ),
        (
            "without a role",
            keys.issue(&with(&|c| c["roles"] = json!([])))
                .expect("sign"),
            403,
            "wrong_city",
        ),
    ];

    let nil = uuid::Uuid::nil();
    let client = reqwest::Client::new();
    let mut checked = 0;
    for (method, template, access) in CITY_ROUTES {
        let path = template
            .replace("{district}", "330102")
            .replace("{id}", &nil.to_string())
            .replace("{record_id}", "1")
            .replace("{month}", "2026-10")
            .replace("{file}", "report.html");
        let send = |bearer: Option<String>| {
            let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
            let mut request = client.request(method, format!("{}{path}", city.base));
            if *template == "/api/v1/auth/token" {
                request =
                    request.json(&json!({ "username": "hz-csup1", "password": "demo-pass-1" }));
            } else if template.starts_with("/api/v1/auth/") {
                request = request.json(&json!({ "refresh_token": "not-a-refresh-token" }));
            }
            if let Some(bearer) = bearer {
                request = request.bearer_auth(bearer);
            }
            call(request)
        };
        let what = |who: &str| format!("{method} {template} {who}");
        let (status, body) = send(None).await;
        if *access == Access::Credential {
            assert!(
                status != 403 && (status != 401 || body["error"]["code"] == "unauthenticated"),
                "{}: {body}",
                what("without a good refresh token")
            );
            continue;
        }
        if *access == Access::Public {
            assert!(
                !matches!(status, 401 | 403),
                "{}: {body}",
                what("without a token")
            );
            continue;
        }
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (401, Some("unauthenticated")),
            "{}: {body}",
            what("without a token")
        );
        for (who, bearer, status, code) in &bad {
            let (got, body) = send(Some(bearer.clone())).await;
            assert_eq!(
                (got, body["error"]["code"].as_str()),
                (*status, Some(*code)),
                "{}: {body}",
                what(who)
            );
            assert!(
                body["error"]["message"]
                    .as_str()
                    .is_some_and(|m| !m.is_empty()),
                "{}: {body}",
                what(who)
            );
            checked += 1;
        }
        for (session, user) in sessions.iter().zip(["hz-csup1", "hz-clead1"]) {
            let (got, body) = send(Some(session.clone())).await;
            if *access == Access::Supervisor && user != "hz-csup1" {
                assert_eq!(
                    (got, body["error"]["code"].as_str()),
                    (403, Some("wrong_role")),
                    "{}: {body}",
                    what(user)
                );
            } else {
                assert!(!matches!(got, 401 | 403), "{}: {body}", what(user));
            }
            checked += 1;
        }
        let (got, body) = send(Some(officer.clone())).await;
        if *access == Access::AnySigned {
            assert!(
                !matches!(got, 401 | 403),
                "{}: {body}",
                what("as a district officer")
            );
        } else {
            assert_eq!(
                (got, body["error"]["code"].as_str()),
                (403, Some("wrong_role")),
                "{}: {body}",
                what("as a district officer")
            );
        }
        checked += 1;
    }
    assert_eq!(checked, 16 * (7 + 2 + 1));
}
