//! Personal data by need: a public reporter's name and phone number are shown in full only
//! to the operator (call-back) and the supervisor (on-site verification), masked to every
//! other role in every response, and never written to the outbox (the city's stream).

use citygrid_platform::schema::outbox;
use diesel::prelude::*;
use serde_json::{Value, json};

use crate::helpers::{LAT, LON, TestApp};

const NAME: &str = "张三丰";
const PHONE: &str = "13812345678";
const FULL: (Option<&str>, Option<&str>) = (Some(NAME), Some(PHONE));
const MASKED: (Option<&str>, Option<&str>) = (Some("张*"), Some("138****5678"));

fn contact(case: &Value) -> (Option<&str>, Option<&str>) {
    (
        case["reporter_name"].as_str(),
        case["reporter_phone"].as_str(),
    )
}

/// The case as `token`'s holder sees it in its detail, in the case list and (when there)
/// in their queue; all three must agree.
async fn seen_by(app: &TestApp, token: &str, case: &Value) -> (Option<String>, Option<String>) {
    let id = case["id"].as_str().expect("id");
    let (status, detail) = app.get(&format!("/api/v1/cases/{id}"), token).await;
    assert_eq!(status, 200, "{detail}");
    let shown = contact(&detail["case"]);
    let (status, page) = app.get("/api/v1/cases", token).await;
    assert_eq!(status, 200, "{page}");
    let listed = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|c| c["id"] == case["id"])
        .expect("listed");
    assert_eq!(contact(listed), shown, "list and detail agree");
    let (_, queue) = app.get("/api/v1/queue", token).await;
    if let Some(queued) = queue
        .as_array()
        .and_then(|q| q.iter().find(|c| c["id"] == case["id"]))
    {
        assert_eq!(contact(queued), shown, "queue and detail agree");
    }
    (shown.0.map(str::to_owned), shown.1.map(str::to_owned))
}

fn owned(pair: (Option<&str>, Option<&str>)) -> (Option<String>, Option<String>) {
    (pair.0.map(str::to_owned), pair.1.map(str::to_owned))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_public_reporters_contact_is_shown_by_need_and_never_sent_to_the_city() {
    let app = TestApp::spawn().await;
    let (op, sup, disp, lead, admin, shizheng) = (
        app.login("sc-op1").await,
        app.login("sc-sup1").await,
        app.login("sc-disp1").await,
        app.login("sc-lead1").await,
        app.login("sc-admin1").await,
        app.login("sc-hdl-shizheng").await,
    );

    let (status, case) = app
        .post(
            "/api/v1/cases",
            None,
            json!({ "description": "井盖破损", "lon": LON, "lat": LAT,
                    "reporter_name": NAME, "reporter_phone": PHONE }),
        )
        .await;
    assert_eq!(status, 201, "{case}");
    // The anonymous answer does not echo the number back in full either.
    assert_eq!(contact(&case), MASKED);

    // The operator calls back and the supervisor verifies: in full. Everyone else: masked.
    assert_eq!(seen_by(&app, &op, &case).await, owned(FULL));
    let case = app
        .ok_step(&op, &case, "request-verification", json!({}))
        .await;
    assert_eq!(contact(&case), FULL, "the operator's own step answer");
    assert_eq!(seen_by(&app, &sup, &case).await, owned(FULL));
    let case = app
        .ok_step(&sup, &case, "verify", json!({ "confirmed": true }))
        .await;
    assert_eq!(contact(&case), FULL);
    for token in [&disp, &lead, &admin] {
        assert_eq!(seen_by(&app, token, &case).await, owned(MASKED));
    }

    let case = app
        .ok_step(
            &op,
            &case,
            "file",
            json!({ "category": { "kind": "component", "major": "01", "minor": "03" } }),
        )
        .await;
    let case = app
        .ok_step(
            &disp,
            &case,
            "dispatch",
            json!({ "department": "shizheng" }),
        )
        .await;
    assert_eq!(contact(&case), MASKED, "the dispatcher's step answer");
    // The department handling it sees it masked, in its queue too.
    assert!(app.in_queue(&shizheng, &case).await);
    assert_eq!(seen_by(&app, &shizheng, &case).await, owned(MASKED));
    let photo = app.photo(&shizheng).await;
    let case = app
        .ok_step(&shizheng, &case, "handle", json!({ "media": [photo] }))
        .await;
    assert_eq!(contact(&case), MASKED, "the handler's step answer");
    let case = app
        .ok_step(&sup, &case, "check", json!({ "passed": true }))
        .await;
    let case = app
        .ok_step(&op, &case, "callback", json!({ "satisfied": true }))
        .await;
    let case = app.ok_step(&op, &case, "close", json!({})).await;
    assert_eq!(
        (case["state"].as_str(), contact(&case)),
        (Some("closed"), FULL)
    );

    // A 12319 call the operator enters: the operator sees what they typed.
    let (status, hotline) = app
        .post(
            "/api/v1/cases",
            Some(&op),
            json!({ "description": "热线：路灯不亮", "lon": LON, "lat": LAT,
                    "reporter_name": "李四", "reporter_phone": "13900001111" }),
        )
        .await;
    assert_eq!(status, 201, "{hotline}");
    assert_eq!(contact(&hotline), (Some("李四"), Some("13900001111")));
    assert_eq!(
        seen_by(&app, &lead, &hotline).await,
        (Some("李*".to_owned()), Some("139****1111".to_owned()))
    );

    // Everything the district wrote for the city in the whole loop: no name, no number.
    let messages: Vec<String> = {
        let mut conn = app.pool.get().expect("conn");
        outbox::table
            .select(outbox::message)
            .load(&mut conn)
            .expect("outbox")
    };
    assert!(messages.len() >= 9, "{} outbox messages", messages.len());
    assert!(
        messages.iter().any(|m| m.contains("井盖破损")),
        "the search sees the text as written"
    );
    for message in &messages {
        for personal in [NAME, PHONE, "13900001111", "李四"] {
            assert!(
                !message.contains(personal),
                "{personal} in the outbox: {message}"
            );
        }
    }
}
