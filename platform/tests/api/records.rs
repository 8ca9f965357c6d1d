//! Business records are evidence: the database itself refuses to change them.

use citygrid_platform::schema::case_records;
use diesel::prelude::*;

use crate::helpers::{LAT, LON, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_cannot_be_updated_or_deleted_even_with_sql() {
    let app = TestApp::spawn().await;
    let sup = app.login("sc-sup1").await;
    let case = app.supervisor_report(&sup).await;
    let before = app.detail(&case).await["records"].clone();
    // The application's own connection, as the application's database user.
    let mut conn = app.pool.get().expect("conn");
    for sql in [
        "UPDATE case_records SET comment = 'tampered'",
        "UPDATE case_records SET to_state = 'closed' WHERE action = 'report'",
        "DELETE FROM case_records",
        "TRUNCATE case_records CASCADE",
    ] {
        let err = diesel::sql_query(sql).execute(&mut conn).expect_err(sql);
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    drop(conn);
    assert_eq!(app.detail(&case).await["records"], before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_readiness() {
    let app = TestApp::spawn().await;
    let (status, body) = app
        .send(app.http.get(format!("{}/healthz", app.base)))
        .await;
    assert_eq!((status, body["district"].as_str()), (200, Some("330102")));
    let (status, body) = app.send(app.http.get(format!("{}/readyz", app.base))).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ready")));
    let (status, body) = app
        .send(app.http.get(format!("{}/openapi.json", app.base)))
        .await;
    assert_eq!(status, 200);
    for path in [
        "/api/v1/cases",
        "/api/v1/cases/{id}/dispatch",
        "/api/v1/queue",
        "/api/v1/media",
    ] {
        assert!(
            body["paths"].get(path).is_some(),
            "OpenAPI documents {path}"
        );
    }
    let docs = app
        .http
        .get(format!("{}/docs/", app.base))
        .send()
        .await
        .expect("docs");
    assert_eq!(docs.status(), 200);
    assert!(
        docs.text().await.expect("html").contains("swagger"),
        "the interactive API page is served"
    );
}

/// Every record the district writes carries the details the standard defines for its
/// action (`citygrid_schemas::details`), in the database and in the outbox message the
/// city gets. The loop below takes each of the 26 actions at least once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_action_records_the_details_the_standard_defines() {
    use citygrid_platform::schema::outbox;
    use citygrid_schemas::{self as v1, details};
    use serde_json::json;

    let app = TestApp::spawn().await;
    let [sup, checker, op, disp, lead, huanwei, shizheng] = [
        "sc-sup1",
        "sc-sup2",
        "sc-op1",
        "sc-disp1",
        "sc-lead1",
        "sc-hdl-huanwei",
        "sc-hdl-shizheng",
    ]
    .map(|user| app.login(user));
    let [sup, checker, op, disp, lead, huanwei, shizheng] = [
        sup.await,
        checker.await,
        op.await,
        disp.await,
        lead.await,
        huanwei.await,
        shizheng.await,
    ];

    // A supervisor report through requests, decisions, supervision, a return and a rework.
    let case = app.dispatched_case("huanwei").await;
    let mut case = case;
    for (token, action, body) in [
        (
            &huanwei,
            "extension/request",
            json!({ "minutes": 120, "reason": "调车" }),
        ),
        (&disp, "extension/approve", json!({})),
        (
            &huanwei,
            "extension/request",
            json!({ "minutes": 60, "reason": "再延" }),
        ),
        (&disp, "extension/reject", json!({ "reason": "够了" })),
        (&huanwei, "suspension/request", json!({ "reason": "预算" })),
        (&disp, "suspension/reject", json!({ "reason": "先处置" })),
        (&huanwei, "suspension/request", json!({ "reason": "预算" })),
        (&disp, "suspension/approve", json!({})),
        (&disp, "resume", json!({})),
        (
            &lead,
            "supervise",
            json!({ "level": "general", "text": "尽快", "due_at": (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339() }),
        ),
        (&huanwei, "supervision/acknowledge", json!({})),
        (&disp, "urge", json!({ "comment": "请今天处理" })),
        (&huanwei, "return", json!({ "reason": "非本部门" })),
        (&disp, "dispatch", json!({ "department": "huanwei" })),
    ] {
        case = app.ok_step(token, &case, action, body).await;
    }
    let photo = app.photo(&huanwei).await;
    case = app
        .ok_step(&huanwei, &case, "handle", json!({ "media": [photo] }))
        .await;
    case = app
        .ok_step(
            &checker,
            &case,
            "check",
            json!({ "passed": false, "comment": "仍有残留" }),
        )
        .await;
    let photo = app.photo(&huanwei).await;
    case = app
        .ok_step(&huanwei, &case, "handle", json!({ "media": [photo] }))
        .await;
    case = app
        .ok_step(&checker, &case, "check", json!({ "passed": true }))
        .await;
    app.ok_step(&op, &case, "close", json!({})).await;

    // A public report: verification and call-back.
    let (status, public) = app
        .post("/api/v1/cases", None, json!({ "description": "井盖破损", "lon": LON, "lat": LAT, "reporter_phone": "13800000000" }))
        .await;
    assert_eq!(status, 201, "{public}");
    let mut public = public;
    for (token, action, body) in [
        (&op, "request-verification", json!({})),
        (&sup, "verify", json!({ "confirmed": true })),
        (
            &op,
            "file",
            json!({ "category": { "kind": "component", "major": "01", "minor": "03" } }),
        ),
        (&disp, "dispatch", json!({ "department": "shizheng" })),
    ] {
        public = app.ok_step(token, &public, action, body).await;
    }
    // The reporter is unsatisfied once (重办), then satisfied; the cell's patrol
    // supervisor (sc-sup1) checks, since the public reported it.
    for satisfied in [false, true] {
        let photo = app.photo(&shizheng).await;
        public = app
            .ok_step(&shizheng, &public, "handle", json!({ "media": [photo] }))
            .await;
        public = app
            .ok_step(&sup, &public, "check", json!({ "passed": true }))
            .await;
        public = app
            .ok_step(
                &op,
                &public,
                "callback",
                json!({ "satisfied": satisfied, "comment": "路面仍不平" }),
            )
            .await;
    }
    app.ok_step(&op, &public, "close", json!({})).await;

    // A duplicate rejected, and a report cancelled.
    let first = app.supervisor_report(&sup).await;
    let second = app.supervisor_report(&sup).await;
    app.ok_step(
        &op,
        &second,
        "reject",
        json!({ "reason": "duplicate", "duplicate_of": first["id"] }),
    )
    .await;
    let shift = app.login("sc-shift1").await;
    let first = app
        .ok_step(
            &op,
            &first,
            "cancellation/request",
            json!({ "reason": "误报" }),
        )
        .await;
    let first = app
        .ok_step(
            &shift,
            &first,
            "cancellation/reject",
            json!({ "reason": "确有问题" }),
        )
        .await;
    app.cancel(&first, "测试").await;
    // And one referred up to the city (its return is the city's, in exchange.rs).
    let third = app.supervisor_report(&sup).await;
    app.ok_step(&shift, &third, "refer", json!({ "reason": "跨区" }))
        .await;

    let mut conn = app.pool.get().expect("conn");
    let stored: Vec<(citygrid_platform::vocab::Action, serde_json::Value)> = case_records::table
        .order(case_records::id.asc())
        .select((case_records::action, case_records::details))
        .load(&mut conn)
        .expect("records");
    let sent: Vec<String> = outbox::table
        .filter(outbox::kind.eq("business_record"))
        .order(outbox::seq.asc())
        .select(outbox::message)
        .load(&mut conn)
        .expect("outbox");
    assert_eq!(stored.len(), sent.len(), "one message per record");
    let mut seen = std::collections::BTreeSet::new();
    for ((action, details), message) in stored.iter().zip(&sent) {
        let action: v1::Action = (*action).into();
        details::check(action, details)
            .unwrap_or_else(|e| panic!("stored {action:?} record: {e} in {details}"));
        let envelope: v1::Envelope<v1::BusinessRecord> =
            serde_json::from_str(message).expect("a business record");
        let record = envelope.body;
        assert_eq!((record.action, &record.details), (action, details));
        details::check(record.action, &record.details)
            .unwrap_or_else(|e| panic!("sent {action:?} record: {e}"));
        seen.insert(serde_json::to_string(&action).expect("a name"));
    }
    assert_eq!(
        seen.len(),
        27,
        "every action of the standard a district user takes (all but return_referral): {seen:?}"
    );
}
