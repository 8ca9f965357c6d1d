//! Limits (docs/API.md, "Limits"): anonymous write rates per client address and for
//! everybody, staff per user, idempotency keys scoped to the address, orphan uploads
//! expiring, list pages cut by bytes, capped text and a message-size refusal that names
//! its field.

use std::time::Duration;

use citygrid_platform::limits::LimitsSection;
use citygrid_platform::media::{self, MediaStore};
use diesel::prelude::*;
use serde_json::{Value, json};

use crate::helpers::{LAT, LON, TestApp, error_code, png, rubbish};

/// Status, headers and JSON body of a request.
async fn raw(request: reqwest::RequestBuilder) -> (u16, reqwest::header::HeaderMap, Value) {
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.expect("body");
    (
        status,
        headers,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn header<'a>(headers: &'a reqwest::header::HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// An instance that takes the client address from `X-Forwarded-For` (so one test can be
/// many clients), with `limits` in its `[limits]`.
async fn spawn(limits: LimitsSection) -> TestApp {
    TestApp::spawn_with(|tenant| {
        tenant.config.auth.login.trust_forwarded = true;
        tenant.config.limits = limits;
    })
    .await
}

/// A public report from `client`, optionally with an `Idempotency-Key`.
async fn public_report(
    app: &TestApp,
    client: &str,
    description: &str,
    key: Option<&str>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut request = app
        .http
        .post(format!("{}/api/v1/cases", app.base))
        .header("x-forwarded-for", client)
        .json(&json!({ "description": description, "lon": LON, "lat": LAT }));
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    raw(request).await
}

async fn public_upload(
    app: &TestApp,
    client: &str,
    bytes: Vec<u8>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    raw(app
        .http
        .post(format!("{}/api/v1/media", app.base))
        .header("x-forwarded-for", client)
        .header("content-type", "image/png")
        .body(bytes))
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_reports_are_limited_per_address_and_altogether() {
    let app = spawn(LimitsSection {
        public_report_burst: 3,
        public_reports_per_hour: 60,
        public_writes_per_minute: 5,
        staff_write_burst: 3,
        staff_writes_per_minute: 1,
        ..LimitsSection::default()
    })
    .await;
    for i in 0..3 {
        let (status, _, body) = public_report(&app, "203.0.113.1", "井盖缺失", None).await;
        assert_eq!(status, 201, "report {i}: {body}");
    }
    let (status, headers, body) = public_report(&app, "203.0.113.1", "井盖缺失", None).await;
    assert_eq!((status, error_code(&body)), (429, "rate_limited"), "{body}");
    assert_eq!(header(&headers, "retry-after"), Some("60"), "one a minute");
    assert_eq!(
        body["error"]["message"],
        "too many public reports from this address; retry in 60 s"
    );
    // Another address has its own allowance, until everybody's five a minute are spent.
    for i in 0..2 {
        let (status, _, body) = public_report(&app, "203.0.113.2", "井盖缺失", None).await;
        assert_eq!(status, 201, "report {i}: {body}");
    }
    let (status, headers, body) = public_report(&app, "2001:db8::9", "井盖缺失", None).await;
    assert_eq!((status, error_code(&body)), (429, "rate_limited"), "{body}");
    assert_eq!(header(&headers, "retry-after"), Some("12"));
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("too many anonymous reports and uploads")),
        "{body}"
    );
    // Staff are not held by the public limits, but by their own, per user.
    let op = app.login("sc-op1").await;
    let hotline = json!({ "description": "热线: 井盖缺失", "lon": LON, "lat": LAT });
    for i in 0..3 {
        let (status, body) = app.post("/api/v1/cases", Some(&op), hotline.clone()).await;
        assert_eq!(status, 201, "hotline report {i}: {body}");
    }
    let (status, body) = app.post("/api/v1/cases", Some(&op), hotline).await;
    assert_eq!((status, error_code(&body)), (429, "rate_limited"), "{body}");
    // Another user has their own allowance.
    let sup = app.login("sc-sup1").await;
    app.supervisor_report(&sup).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_idempotency_keys_belong_to_the_client_address() {
    let app = spawn(LimitsSection::default()).await;
    let (status, _, first) = public_report(&app, "198.51.100.1", "路灯不亮", Some("k-1")).await;
    assert_eq!(status, 201, "{first}");
    let (status, _, again) = public_report(&app, "198.51.100.1", "路灯不亮", Some("k-1")).await;
    assert_eq!((status, &again["id"]), (200, &first["id"]), "a retry");
    // Another client's key of the same name is its own: neither the case nor a conflict.
    let (status, _, other) = public_report(&app, "198.51.100.2", "路灯不亮", Some("k-1")).await;
    assert_eq!(status, 201, "{other}");
    assert_ne!(other["id"], first["id"]);
    let (status, _, other) = public_report(&app, "198.51.100.3", "别的事", Some("k-1")).await;
    assert_eq!(status, 201, "{other}");
    let (status, _, reused) = public_report(&app, "198.51.100.1", "别的事", Some("k-1")).await;
    assert_eq!(
        (status, error_code(&reused)),
        (409, "idempotency_key_reused")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_uploads_are_limited_by_count_and_bytes() {
    let app = spawn(LimitsSection {
        public_upload_burst: 2,
        public_upload_mib_per_hour: 1,
        ..LimitsSection::default()
    })
    .await;
    for i in 0..2 {
        let (status, _, body) = public_upload(&app, "203.0.113.5", png(&format!("n{i}"))).await;
        assert_eq!(status, 201, "upload {i}: {body}");
    }
    let (status, headers, body) = public_upload(&app, "203.0.113.5", png("n2")).await;
    assert_eq!((status, error_code(&body)), (429, "rate_limited"), "{body}");
    assert!(header(&headers, "retry-after").is_some());
    // Bytes: 600 KB of a MiB an hour, then 600 KB more is refused before it is stored.
    let big = |tag: &str| png(&format!("{tag}{}", "x".repeat(600 * 1024)));
    let (status, _, body) = public_upload(&app, "203.0.113.6", big("a")).await;
    assert_eq!(status, 201, "{body}");
    let refused = big("b");
    let sha = citygrid_platform::media::sha256_hex(&refused);
    let (status, headers, body) = public_upload(&app, "203.0.113.6", refused).await;
    assert_eq!((status, error_code(&body)), (429, "rate_limited"), "{body}");
    let wait: u64 = header(&headers, "retry-after")
        .and_then(|v| v.parse().ok())
        .expect("retry-after");
    // 180,364 bytes missing at 1 MiB an hour.
    assert!((600..=640).contains(&wait), "{wait} s");
    let lead = app.login("sc-lead1").await;
    let (status, _) = app.get(&format!("/api/v1/media/{sha}"), &lead).await;
    assert_eq!(status, 404, "nothing stored");
    // Staff uploads are not counted against addresses.
    let sup = app.login("sc-sup1").await;
    let (status, body) = app.upload(Some(&sup), big("c")).await;
    assert_eq!(status, 201, "{body}");
}

fn count_media(app: &TestApp, sha256: &str) -> i64 {
    let mut conn = app.pool.get().expect("conn");
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    diesel::sql_query(format!(
        "SELECT count(*) AS n FROM media WHERE sha256 = '{sha256}'"
    ))
    .get_result::<N>(&mut conn)
    .expect("count")
    .n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orphan_uploads_expire_and_referenced_photos_stay() {
    let app = TestApp::spawn().await;
    let sup = app.login("sc-sup1").await;
    let orphan_tag = "orphan".to_owned();
    let (status, body) = app.upload(Some(&sup), png(&orphan_tag)).await;
    assert_eq!(status, 201, "{body}");
    let orphan = body["sha256"].as_str().expect("sha256").to_owned();
    let fresh = app.photo(&sup).await;
    let case = app.supervisor_report(&sup).await;
    let detail = app.detail(&case).await;
    let referenced = detail["records"][0]["media"][0]
        .as_str()
        .expect("the report's photo")
        .to_owned();
    // A step's photo, referenced by a later record only.
    let op = app.login("sc-op1").await;
    let step_photo = app.photo(&sup).await;
    let filed = app
        .ok_step(&op, &case, "file", json!({ "category": rubbish() }))
        .await;
    let disp = app.login("sc-disp1").await;
    let dispatched = app
        .ok_step(
            &disp,
            &filed,
            "dispatch",
            json!({ "department": "huanwei" }),
        )
        .await;
    let handler = app.login("sc-hdl-huanwei").await;
    app.ok_step(
        &handler,
        &dispatched,
        "handle",
        json!({ "media": [step_photo.clone()] }),
    )
    .await;
    {
        let mut conn = app.pool.get().expect("conn");
        diesel::sql_query(format!(
            "UPDATE media SET created_at = now() - interval '25 hours' \
             WHERE sha256 IN ('{orphan}', '{referenced}', '{step_photo}')"
        ))
        .execute(&mut conn)
        .expect("age");
        // An old database: photos referenced before manifests existed were never
        // announced; the records still protect them.
        diesel::sql_query(format!(
            "UPDATE media SET announced_seq = NULL WHERE sha256 = '{step_photo}'"
        ))
        .execute(&mut conn)
        .expect("unannounce");
    }
    let store = MediaStore::new(&app.tenant.data_dir);
    assert!(store.path(&orphan).exists());
    let pool = app.pool.clone();
    let sweeper = store.clone();
    let expired = tokio::task::spawn_blocking(move || {
        let mut conn = pool.get().expect("conn");
        media::expire_all(
            &mut conn,
            &sweeper,
            Duration::from_secs(24 * 3600),
            chrono::Utc::now(),
        )
    })
    .await
    .expect("task")
    .expect("expire");
    assert_eq!(expired.photos, 1, "{expired:?}");
    assert_eq!(count_media(&app, &orphan), 0);
    assert!(!store.path(&orphan).exists(), "the file is gone too");
    for kept in [&fresh, &referenced, &step_photo] {
        assert_eq!(count_media(&app, kept), 1, "{kept}");
        assert!(store.path(kept).exists(), "{kept}");
    }
    let (status, _) = app.get(&format!("/api/v1/media/{orphan}"), &sup).await;
    assert_eq!(status, 404);
    // Naming it now is naming a photo that is not there; the same bytes can come again.
    let (status, body) = app
        .post(
            "/api/v1/cases",
            Some(&sup),
            json!({ "description": "暴露垃圾", "lon": LON, "lat": LAT, "photos": [orphan] }),
        )
        .await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (422, Some("photos[0]"))
    );
    let (status, body) = app.upload(Some(&sup), png(&orphan_tag)).await;
    assert_eq!(
        (status, body["sha256"].as_str()),
        (201, Some(orphan.as_str()))
    );
    assert!(store.path(&orphan).exists());
}

/// A case list answer's items, checked to fit the budget.
fn page_items(body: &Value, bytes: usize, budget: usize) -> Vec<Value> {
    assert!(bytes <= budget, "{bytes} bytes over {budget}");
    body.as_array()
        .or_else(|| body["items"].as_array())
        .cloned()
        .expect("items")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_stop_at_the_byte_budget_and_continue() {
    const BUDGET: usize = 16 * 1024;
    let app = TestApp::spawn_with(|tenant| tenant.config.limits.page_kib = 16).await;
    let op = app.login("sc-op1").await;
    let mut numbers = Vec::new();
    for i in 0..5 {
        let description = format!("{i}{}", "长".repeat(1_500));
        let (status, case) = app
            .post(
                "/api/v1/cases",
                Some(&op),
                json!({ "description": description, "lon": LON, "lat": LAT }),
            )
            .await;
        assert_eq!(status, 201, "{case}");
        numbers.push(case["number"].as_i64().expect("number"));
    }
    numbers.reverse();
    let get = |path: String| {
        let request = app.http.get(format!("{}{path}", app.base)).bearer_auth(&op);
        async move {
            let response = request.send().await.expect("request");
            let headers = response.headers().clone();
            let bytes = response.bytes().await.expect("body");
            (
                headers,
                bytes.len(),
                serde_json::from_slice::<Value>(&bytes).expect("json"),
            )
        }
    };

    // GET /cases: two of these fit in 16 KiB; `truncated` and `next_cursor` go on.
    let (mut seen, mut cursor, mut pages) = (Vec::new(), None::<i64>, 0);
    loop {
        let path = match cursor {
            Some(c) => format!("/api/v1/cases?limit=50&cursor={c}"),
            None => "/api/v1/cases?limit=50".to_owned(),
        };
        let (_, bytes, body) = get(path).await;
        let items = page_items(&body, bytes, BUDGET);
        pages += 1;
        seen.extend(items.iter().map(|c| c["number"].as_i64().expect("number")));
        match body["next_cursor"].as_i64() {
            Some(next) => {
                assert_eq!(body["truncated"], true, "{pages}");
                assert_eq!(items.len(), 2);
                cursor = Some(next);
            }
            None => {
                assert_eq!(body["truncated"], false);
                break;
            }
        }
    }
    assert_eq!((seen, pages), (numbers.clone(), 3));

    // GET /queue (a bare array): the same in headers.
    let (mut seen, mut cursor) = (Vec::new(), None::<String>);
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/queue?cursor={c}"),
            None => "/api/v1/queue".to_owned(),
        };
        let (headers, bytes, body) = get(path).await;
        let items = page_items(&body, bytes, BUDGET);
        seen.extend(items.iter().map(|c| c["number"].as_i64().expect("number")));
        match header(&headers, "x-next-cursor") {
            Some(next) => {
                assert_eq!(header(&headers, "x-truncated"), Some("true"));
                cursor = Some(next.to_owned());
            }
            None => break,
        }
    }
    seen.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(seen, numbers);

    // GET /exchange/rejections: long refusals from the city.
    {
        let mut conn = app.pool.get().expect("conn");
        diesel::sql_query(
            "INSERT INTO exchange_rejections (code, message, rejection_id) \
             SELECT 'invalid_body', repeat('m', 6000), 'r-' || i FROM generate_series(1, 5) i",
        )
        .execute(&mut conn)
        .expect("rejections");
    }
    let lead = app.login("sc-lead1").await;
    let (mut ids, mut cursor) = (Vec::new(), None::<String>);
    loop {
        let mut url = format!("{}/api/v1/exchange/rejections", app.base);
        if let Some(c) = &cursor {
            url = format!("{url}?cursor={c}");
        }
        let (status, headers, body) = raw(app.http.get(url).bearer_auth(&lead)).await;
        assert_eq!(status, 200, "{body}");
        let items = body.as_array().expect("array");
        assert!(items.len() <= 2, "{}", items.len());
        ids.extend(items.iter().map(|r| r["id"].as_i64().expect("id")));
        match header(&headers, "x-next-cursor") {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(ids.len(), 5, "{ids:?}");
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first: {ids:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_is_capped_at_input_and_a_case_at_the_caps_goes_through() {
    let app = TestApp::spawn().await;
    let sup = app.login("sc-sup1").await;
    let photo = app.photo(&sup).await;
    for description in ["x".repeat(4_001), "垃".repeat(60_000)] {
        let (status, body) = app
            .post(
                "/api/v1/cases",
                Some(&sup),
                json!({ "description": description, "lon": LON, "lat": LAT, "photos": [photo] }),
            )
            .await;
        assert_eq!(
            (status, error_code(&body), body["error"]["field"].as_str()),
            (422, "invalid_field", Some("description")),
            "{body}"
        );
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("at most 4000 characters")),
            "{body}"
        );
    }
    let (status, body) = app
        .post(
            "/api/v1/cases",
            None,
            json!({ "description": "x", "lon": LON, "lat": LAT, "address": "路".repeat(501) }),
        )
        .await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (422, Some("address"))
    );

    // At the caps: the longest description, address and comments go round the loop.
    let (status, case) = app
        .post(
            "/api/v1/cases",
            Some(&sup),
            json!({ "description": "垃".repeat(4_000), "address": "路".repeat(500),
                    "lon": LON, "lat": LAT, "photos": [photo] }),
        )
        .await;
    assert_eq!(status, 201, "{case}");
    let op = app.login("sc-op1").await;
    let (status, body) = app
        .step(
            &op,
            &case,
            "file",
            json!({ "category": rubbish(), "description": "圾".repeat(4_001) }),
        )
        .await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (422, Some("description"))
    );
    let filed = app
        .ok_step(
            &op,
            &case,
            "file",
            // The longest JSON a description can make: every character escaped.
            json!({ "category": rubbish(), "description": "\u{1}".repeat(4_000),
                    "comment": "\u{1}".repeat(2_000) }),
        )
        .await;
    let disp = app.login("sc-disp1").await;
    let (status, body) = app
        .step(
            &disp,
            &filed,
            "dispatch",
            json!({ "department": "huanwei", "comment": "注".repeat(2_001) }),
        )
        .await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (422, Some("comment"))
    );
    let dispatched = app
        .ok_step(
            &disp,
            &filed,
            "dispatch",
            json!({ "department": "huanwei", "comment": "注".repeat(2_000) }),
        )
        .await;
    assert_eq!(dispatched["state"], "dispatched");
    {
        #[derive(QueryableByName)]
        struct Largest {
            #[diesel(sql_type = diesel::sql_types::Text)]
            kind: String,
            #[diesel(sql_type = diesel::sql_types::Integer)]
            bytes: i32,
        }
        let mut conn = app.pool.get().expect("conn");
        let largest: Vec<Largest> = diesel::sql_query(
            "SELECT kind, max(octet_length(message)) AS bytes FROM outbox GROUP BY kind",
        )
        .load(&mut conn)
        .expect("outbox");
        for Largest { kind, bytes } in largest {
            let cap = if kind == "case_snapshot" { 40 } else { 20 } * 1024;
            assert!(bytes < cap, "{kind}: {bytes} bytes");
            assert!(
                bytes > 12_000 || kind != "case_snapshot",
                "escaped: {bytes}"
            );
        }
    }
    let (status, body) = app
        .step(
            &op,
            &dispatched,
            "cancellation/request",
            json!({ "reason": "因".repeat(2_001) }),
        )
        .await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (422, Some("reason"))
    );
    let (status, body) = app
        .step(
            &sup,
            &dispatched,
            "urge",
            json!({ "media": vec![photo.clone(); 21] }),
        )
        .await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (422, Some("media"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_over_the_interchange_limit_names_the_field_that_made_it() {
    let app = TestApp::spawn().await;
    let filed = app.filed_case().await;
    let id = filed["id"].as_str().expect("id");
    // A description stored before the caps.
    {
        let mut conn = app.pool.get().expect("conn");
        diesel::sql_query(format!(
            "UPDATE cases SET description = repeat('x', 600000) WHERE id = '{id}'"
        ))
        .execute(&mut conn)
        .expect("legacy description");
    }
    let disp = app.login("sc-disp1").await;
    let (status, body) = app
        .step(
            &disp,
            &filed,
            "dispatch",
            json!({ "department": "huanwei" }),
        )
        .await;
    assert_eq!(
        (status, error_code(&body), body["error"]["field"].as_str()),
        (422, "invalid_field", Some("description")),
        "{body}"
    );
    let message = body["error"]["message"].as_str().unwrap_or_default();
    for part in [
        "case snapshot message",
        "over the interchange limit of 524288 bytes",
        "`description` is 600002 bytes of it, 600000 characters",
    ] {
        assert!(message.contains(part), "{part:?} in {message}");
    }
    let detail = app.detail(&filed).await;
    assert_eq!(
        (detail["case"]["state"].as_str(), &detail["case"]["version"]),
        (Some("filed"), &filed["version"]),
        "nothing changed"
    );
}
