//! The loop over HTTP, the way the people in it use it.

use serde_json::json;

use crate::helpers::{LAT, LON, TestApp};

fn category(kind: &str, major: &str, minor: &str) -> serde_json::Value {
    json!({ "kind": kind, "major": major, "minor": minor })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn supervisor_report_to_closed_with_one_rework() {
    let app = TestApp::spawn().await;
    let sup = app.login("sc-sup1").await;
    let checker = app.login("sc-sup2").await;
    let op = app.login("sc-op1").await;
    let disp = app.login("sc-disp1").await;
    let huanwei = app.login("sc-hdl-huanwei").await;

    let case = app.supervisor_report(&sup).await;
    assert_eq!(
        (
            case["state"].as_str(),
            case["source"].as_str(),
            case["version"].as_i64()
        ),
        (Some("reported"), Some("supervisor"), Some(1))
    );
    let case = app
        .ok_step(
            &op,
            &case,
            "file",
            json!({ "category": category("event", "01", "02") }),
        )
        .await;
    assert_eq!(case["state"], "filed");
    let case = app
        .ok_step(&disp, &case, "dispatch", json!({ "department": "huanwei" }))
        .await;
    assert_eq!(
        (case["state"].as_str(), case["department_code"].as_str()),
        (Some("dispatched"), Some("huanwei"))
    );

    // The dispatched case is in the department's queue and not in another's.
    assert!(app.in_queue(&huanwei, &case).await);
    let shizheng = app.login("sc-hdl-shizheng").await;
    assert!(!app.in_queue(&shizheng, &case).await);

    let photo = app.photo(&huanwei).await;
    let case = app
        .ok_step(
            &huanwei,
            &case,
            "handle",
            json!({ "comment": "已清运", "media": [photo] }),
        )
        .await;
    let case = app
        .ok_step(
            &checker,
            &case,
            "check",
            json!({ "passed": false, "comment": "仍有残留" }),
        )
        .await;
    assert_eq!(
        (
            case["state"].as_str(),
            case["rework_count"].as_i64(),
            case["department_code"].as_str()
        ),
        (Some("dispatched"), Some(1), Some("huanwei"))
    );
    let photo = app.photo(&huanwei).await;
    let case = app
        .ok_step(&huanwei, &case, "handle", json!({ "media": [photo] }))
        .await;
    let case = app
        .ok_step(&checker, &case, "check", json!({ "passed": true }))
        .await;
    assert_eq!(case["state"], "checked");
    let case = app.ok_step(&op, &case, "close", json!({})).await;
    assert_eq!(
        (case["state"].as_str(), case["version"].as_i64()),
        (Some("closed"), Some(8))
    );

    let detail = app.detail(&case).await;
    let actions: Vec<&str> = detail["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| r["action"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        actions,
        [
            "report",
            "file",
            "dispatch",
            "handle",
            "rework",
            "handle",
            "check_pass",
            "close"
        ]
    );
    let record = &detail["records"][4];
    assert_eq!(
        (
            record["from_state"].as_str(),
            record["to_state"].as_str(),
            record["actor_role"].as_str(),
            record["comment"].as_str()
        ),
        (
            Some("handled"),
            Some("dispatched"),
            Some("supervisor"),
            Some("仍有残留")
        )
    );
    // Every record carries the case version it produced: the timeline has no gap.
    let versions: Vec<i64> = detail["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| r["case_version"].as_i64().unwrap_or(0))
        .collect();
    assert_eq!(versions, [1, 2, 3, 4, 5, 6, 7, 8]);

    // Closed is final.
    let (status, body) = app
        .step(
            &op,
            &case,
            "cancellation/request",
            json!({ "reason": "too late" }),
        )
        .await;
    assert_eq!(
        (status, body["error"]["current_state"].as_str()),
        (409, Some("closed"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_report_is_verified_and_called_back() {
    let app = TestApp::spawn().await;
    let (op, sup, disp, shizheng) = (
        app.login("sc-op1").await,
        app.login("sc-sup1").await,
        app.login("sc-disp1").await,
        app.login("sc-hdl-shizheng").await,
    );

    let (status, case) = app
        .post("/api/v1/cases", None, json!({ "description": "井盖破损", "lon": LON, "lat": LAT, "reporter_phone": "13800000000" }))
        .await;
    assert_eq!(status, 201, "{case}");
    assert_eq!(case["source"], "public");

    // A public report cannot be filed before it is verified on site.
    let (status, body) = app
        .step(
            &op,
            &case,
            "file",
            json!({ "category": category("component", "01", "03") }),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("verification_required"))
    );

    let case = app
        .ok_step(&op, &case, "request-verification", json!({}))
        .await;
    assert!(
        app.in_queue(&sup, &case).await,
        "verification task in the supervisor's queue"
    );
    let case = app
        .ok_step(&sup, &case, "verify", json!({ "confirmed": true }))
        .await;
    assert_eq!(
        (case["state"].as_str(), case["verified"].as_bool()),
        (Some("verified"), Some(true))
    );
    let case = app
        .ok_step(
            &op,
            &case,
            "file",
            json!({ "category": category("component", "01", "03"), "urgency": "urgent" }),
        )
        .await;
    assert_eq!(case["urgency"], "urgent");
    let case = app
        .ok_step(
            &disp,
            &case,
            "dispatch",
            json!({ "department": "shizheng" }),
        )
        .await;
    let photo = app.photo(&shizheng).await;
    let case = app
        .ok_step(&shizheng, &case, "handle", json!({ "media": [photo] }))
        .await;
    let case = app
        .ok_step(&sup, &case, "check", json!({ "passed": true }))
        .await;

    // No closing before the call-back.
    let (status, body) = app.step(&op, &case, "close", json!({})).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("callback_required"))
    );
    // Not satisfied: the case goes back to the department for re-handling (重办), with the
    // full handling limit, instead of being closed.
    let case = app
        .ok_step(
            &op,
            &case,
            "callback",
            json!({ "satisfied": false, "comment": "修得慢" }),
        )
        .await;
    assert_eq!(
        (
            case["state"].as_str(),
            case["satisfaction"].as_str(),
            case["department_code"].as_str(),
            case["stage"].as_str()
        ),
        (
            Some("dispatched"),
            Some("unsatisfied"),
            Some("shizheng"),
            Some("handling")
        )
    );
    let (status, body) = app.step(&op, &case, "close", json!({})).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("illegal_transition")),
        "{body}"
    );
    let photo = app.photo(&shizheng).await;
    let case = app
        .ok_step(&shizheng, &case, "handle", json!({ "media": [photo] }))
        .await;
    let case = app
        .ok_step(&sup, &case, "check", json!({ "passed": true }))
        .await;
    let case = app
        .ok_step(&op, &case, "callback", json!({ "satisfied": true }))
        .await;
    assert_eq!(case["satisfaction"], "satisfied");
    let case = app.ok_step(&op, &case, "close", json!({})).await;
    assert_eq!(case["state"], "closed");
    let detail = app.detail(&case).await;
    let rehandle = detail["records"]
        .as_array()
        .expect("records")
        .iter()
        .find(|r| r["action"] == "rehandle")
        .expect("rehandle record")
        .clone();
    assert_eq!(
        (
            rehandle["details"]["satisfaction"].as_str(),
            rehandle["details"]["department"].as_str(),
            rehandle["to_state"].as_str(),
            rehandle["comment"].as_str()
        ),
        (
            Some("unsatisfied"),
            Some("shizheng"),
            Some("dispatched"),
            Some("修得慢")
        )
    );
    assert_eq!(detail["records"][0]["actor_role"], "public");

    // A 12319 call entered by the operator is a hotline report: verified before filing too.
    let (status, hotline) = app
        .post("/api/v1/cases", Some(&op), json!({ "description": "热线：路灯不亮", "lon": LON, "lat": LAT, "reporter_phone": "13900000000" }))
        .await;
    assert_eq!((status, hotline["source"].as_str()), (201, Some("hotline")));
    let (status, body) = app
        .step(
            &op,
            &hotline,
            "file",
            json!({ "category": category("component", "01", "18") }),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("verification_required"))
    );
    // A dispatcher takes no reports.
    let (status, body) = app
        .post(
            "/api/v1/cases",
            Some(&disp),
            json!({ "description": "x", "lon": LON, "lat": LAT }),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("wrong_role"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn department_returns_a_wrong_dispatch() {
    let app = TestApp::spawn().await;
    let (sup, op, disp) = (
        app.login("sc-sup1").await,
        app.login("sc-op1").await,
        app.login("sc-disp1").await,
    );
    let (yuanlin, zhifa) = (
        app.login("sc-hdl-yuanlin").await,
        app.login("sc-hdl-zhifa").await,
    );
    let case = app.supervisor_report(&sup).await;
    let case = app
        .ok_step(
            &op,
            &case,
            "file",
            json!({ "category": category("event", "02", "01") }),
        )
        .await;
    let case = app
        .ok_step(&disp, &case, "dispatch", json!({ "department": "yuanlin" }))
        .await;

    // A return needs a reason.
    let (status, body) = app
        .step(&yuanlin, &case, "return", json!({ "reason": "  " }))
        .await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (422, Some("reason"))
    );
    let case = app
        .ok_step(&yuanlin, &case, "return", json!({ "reason": "非园林职责" }))
        .await;
    assert_eq!(case["state"], "filed");
    assert!(case["department_code"].is_null());
    assert!(
        app.in_queue(&disp, &case).await,
        "back in the dispatcher's queue"
    );

    let case = app
        .ok_step(&disp, &case, "dispatch", json!({ "department": "zhifa" }))
        .await;
    // The department that returned it can no longer act on it.
    let photo = app.photo(&yuanlin).await;
    let (status, body) = app
        .step(&yuanlin, &case, "handle", json!({ "media": [photo] }))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("not_your_department"))
    );
    let photo = app.photo(&zhifa).await;
    let case = app
        .ok_step(&zhifa, &case, "handle", json!({ "media": [photo] }))
        .await;
    assert_eq!(case["state"], "handled");
    let detail = app.detail(&case).await;
    let ret = &detail["records"][3];
    assert_eq!(
        (
            ret["action"].as_str(),
            ret["comment"].as_str(),
            ret["details"]["department"].as_str()
        ),
        (Some("return"), Some("非园林职责"), Some("yuanlin"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_report_is_rejected_and_lists_filter_and_page() {
    let app = TestApp::spawn().await;
    let (sup, op, lead) = (
        app.login("sc-sup1").await,
        app.login("sc-op1").await,
        app.login("sc-lead1").await,
    );
    let first = app.supervisor_report(&sup).await;
    let second = app.supervisor_report(&sup).await;
    let (status, body) = app
        .step(&op, &second, "reject", json!({ "reason": "duplicate" }))
        .await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (422, Some("duplicate_of"))
    );
    let rejected = app
        .ok_step(
            &op,
            &second,
            "reject",
            json!({ "reason": "duplicate", "duplicate_of": first["id"] }),
        )
        .await;
    assert_eq!(
        (
            rejected["state"].as_str(),
            rejected["duplicate_of"].as_str()
        ),
        (Some("rejected"), first["id"].as_str())
    );

    for _ in 0..3 {
        app.supervisor_report(&sup).await;
    }
    let (status, page) = app.get("/api/v1/cases?state=reported&limit=2", &lead).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["items"].as_array().map(Vec::len), Some(2));
    let cursor = page["next_cursor"].as_i64().expect("more pages");
    let (_, rest) = app
        .get(
            &format!("/api/v1/cases?state=reported&limit=2&cursor={cursor}"),
            &lead,
        )
        .await;
    assert_eq!(rest["items"].as_array().map(Vec::len), Some(2));
    assert!(
        rest["next_cursor"].is_null(),
        "4 reported cases make two pages of two"
    );
    let (_, rejected) = app
        .get("/api/v1/cases?state=rejected&q=%E6%9A%B4%E9%9C%B2", &lead)
        .await;
    assert_eq!(rejected["items"].as_array().map(Vec::len), Some(1));
    let (status, body) = app.get("/api/v1/cases?state=lost", &lead).await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (422, Some("state"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotent_report_returns_the_same_case() {
    let app = TestApp::spawn().await;
    let sup = app.login("sc-sup1").await;
    let photo = app.photo(&sup).await;
    let body = json!({ "description": "乱堆物堆料", "lon": LON, "lat": LAT, "photos": [photo] });
    let send = |body: serde_json::Value| {
        app.send(
            app.http
                .post(format!("{}/api/v1/cases", app.base))
                .bearer_auth(&sup)
                .header("Idempotency-Key", "retry-1")
                .json(&body),
        )
    };
    let (first_status, first) = send(body.clone()).await;
    let (again_status, again) = send(body.clone()).await;
    assert_eq!((first_status, again_status), (201, 200));
    assert_eq!(first["id"], again["id"]);
    let mut other = body.clone();
    other["description"] = json!("something else");
    let (status, err) = send(other).await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (409, Some("idempotency_key_reused"))
    );
    let (_, page) = app.get("/api/v1/cases", &sup).await;
    assert_eq!(
        page["items"].as_array().map(Vec::len),
        Some(1),
        "one case, not two"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_is_deduplicated_and_served_with_its_type() {
    let app = TestApp::spawn().await;
    let sup = app.login("sc-sup1").await;
    let bytes = crate::helpers::png("same");
    let (first, body) = app.upload(Some(&sup), bytes.clone()).await;
    let (second, again) = app.upload(Some(&sup), bytes.clone()).await;
    assert_eq!((first, second), (201, 200));
    assert_eq!(body["sha256"], again["sha256"]);
    assert_eq!(body["content_type"], "image/png");
    let hash = body["sha256"].as_str().expect("hash");
    let response = app
        .http
        .get(format!("{}/api/v1/media/{hash}", app.base))
        .bearer_auth(&sup)
        .send()
        .await
        .expect("get");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/png");
    assert_eq!(
        response.headers()["x-content-type-options"],
        "nosniff",
        "a browser must not guess another type for a photo"
    );
    assert_eq!(response.bytes().await.expect("bytes").to_vec(), bytes);
    let (status, _) = app
        .get(&format!("/api/v1/media/{}", "0".repeat(64)), &sup)
        .await;
    assert_eq!(status, 404);
}
