//! Time limits from the command manual, traffic lights and the per-department counts.

use citygrid_platform::manual::Manual;
use diesel::prelude::*;
use serde_json::{Value, json};

use crate::helpers::{TestApp, rubbish};

/// Moves the running stage's yellow and red instants relative to now (minutes).
fn shift_clock(app: &TestApp, case: &Value, yellow_in: i64, red_in: i64) {
    let mut conn = app.pool.get().expect("conn");
    diesel::sql_query(format!(
        "UPDATE cases SET stage_yellow_at = now() + interval '{yellow_in} minutes', \
         stage_deadline = now() + interval '{red_in} minutes' WHERE id = '{}'",
        case["id"].as_str().expect("id")
    ))
    .execute(&mut conn)
    .expect("shift");
}

fn department_lights(stats: &Value, department: &str) -> (i64, i64, i64) {
    let row = stats["by_department"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["key"] == department)
        .cloned()
        .unwrap_or(Value::Null);
    (
        row["green"].as_i64().unwrap_or(0),
        row["yellow"].as_i64().unwrap_or(0),
        row["red"].as_i64().unwrap_or(0),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stages_lights_and_counts() {
    let app = TestApp::spawn().await;
    let (sup, op, disp, lead) = (
        app.login("sc-sup1").await,
        app.login("sc-op1").await,
        app.login("sc-disp1").await,
        app.login("sc-lead1").await,
    );
    let handler = app.login("sc-hdl-huanwei").await;

    let case = app.supervisor_report(&sup).await;
    assert_eq!(
        (
            case["stage"].as_str(),
            case["light"].as_str(),
            case["stage_limit_minutes"].as_i64()
        ),
        (Some("filing"), Some("green"), Some(60))
    );
    let left = case["remaining_minutes"].as_i64().expect("remaining");
    assert!((0..=60).contains(&left), "{left}");

    let case = app
        .ok_step(&op, &case, "file", json!({ "category": rubbish() }))
        .await;
    assert_eq!(
        (
            case["stage"].as_str(),
            case["clock"].as_str(),
            case["stage_limit_minutes"].as_i64()
        ),
        (Some("dispatch"), Some("working"), Some(30))
    );
    assert_eq!(
        (
            case["manual_version"].as_str(),
            case["suggested_department"].as_str()
        ),
        (Some("hz-manual-2026.3"), Some("huanwei"))
    );

    // Dispatch without naming a department follows the manual.
    let case = app.ok_step(&disp, &case, "dispatch", json!({})).await;
    assert_eq!(
        (
            case["department_code"].as_str(),
            case["stage"].as_str(),
            case["stage_limit_minutes"].as_i64()
        ),
        (Some("huanwei"), Some("handling"), Some(240))
    );

    shift_clock(&app, &case, -60, 60);
    let detail = app.detail(&case).await;
    assert_eq!(detail["case"]["light"], "yellow");
    let (_, stats) = app.get("/api/v1/stats/lights", &lead).await;
    assert_eq!(department_lights(&stats, "huanwei"), (0, 1, 0), "{stats}");

    shift_clock(&app, &case, -120, -1);
    let detail = app.detail(&case).await;
    assert_eq!(detail["case"]["light"], "red");
    // Overdue: no time left (zero when the minutes past the deadline fell outside working hours).
    assert!(
        detail["case"]["remaining_minutes"]
            .as_i64()
            .expect("remaining")
            <= 0
    );
    let (_, stats) = app.get("/api/v1/stats/lights", &lead).await;
    assert_eq!(department_lights(&stats, "huanwei"), (0, 0, 1));
    let (_, queue) = app.get("/api/v1/queue", &handler).await;
    assert_eq!(queue[0]["light"], "red", "overdue work heads the queue");

    // Handling starts the check stage; passing the check stops the clock.
    let photo = app.photo(&handler).await;
    let case = app
        .ok_step(
            &handler,
            &detail["case"],
            "handle",
            json!({ "media": [photo] }),
        )
        .await;
    assert_eq!(
        (case["stage"].as_str(), case["light"].as_str()),
        (Some("check"), Some("green"))
    );
    // Checked by a supervisor other than the reporter (separation of duties).
    let checker = app.login("sc-sup2").await;
    let case = app
        .ok_step(&checker, &case, "check", json!({ "passed": true }))
        .await;
    assert!(case["stage"].is_null() && case["light"].is_null());
    let (_, stats) = app.get("/api/v1/stats/lights", &lead).await;
    assert_eq!(department_lights(&stats, "huanwei"), (0, 0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn urgent_emergencies_run_on_the_natural_clock_and_street_cases_go_to_the_street() {
    let app = TestApp::spawn().await;
    let (sup, op, disp) = (
        app.login("sc-sup1").await,
        app.login("sc-op1").await,
        app.login("sc-disp1").await,
    );
    let case = app.supervisor_report(&sup).await;
    let case = app
        .ok_step(&op, &case, "file", json!({ "category": { "kind": "component", "major": "01", "minor": "01" }, "urgency": "urgent" }))
        .await;
    assert_eq!(
        (case["clock"].as_str(), case["stage_limit_minutes"].as_i64()),
        (Some("natural"), Some(15))
    );
    let case = app.ok_step(&disp, &case, "dispatch", json!({})).await;
    assert_eq!(
        (
            case["department_code"].as_str(),
            case["stage_limit_minutes"].as_i64()
        ),
        (Some("shuiwu"), Some(180))
    );

    // 无照经营游商 on a known street: the manual names that street's office.
    let case = app.supervisor_report(&sup).await;
    let case = app
        .ok_step(&op, &case, "file", json!({ "category": { "kind": "event", "major": "05", "minor": "01" }, "street": "330102002" }))
        .await;
    assert_eq!(case["suggested_department"], "jd-330102002");
    let case = app.ok_step(&disp, &case, "dispatch", json!({})).await;
    assert_eq!(case["department_code"], "jd-330102002");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn editing_the_manual_never_moves_existing_deadlines() {
    let app = TestApp::spawn().await;
    let before = app.filed_case().await;
    assert_eq!(before["manual_version"], "hz-manual-2026.3");

    // The district restarts with a stricter manual: 4 h handling limits become 1 h.
    let text =
        std::fs::read_to_string(app.tenant.file.with_file_name("../manual.toml")).expect("manual");
    let stricter = text
        .replace(
            "version = \"hz-manual-2026.3\"",
            "version = \"hz-manual-2026.4\"",
        )
        .replace("handling = \"4h\"", "handling = \"1h\"");
    let path = std::env::temp_dir().join(format!("manual-{}.toml", uuid::Uuid::new_v4()));
    std::fs::write(&path, stricter).expect("write");
    let restarted = app
        .restarted_with(|t| {
            t.manual = Manual::load(
                &path,
                &t.catalogue,
                &t.config.departments,
                &t.config.streets,
            )
            .expect("stricter manual")
        })
        .await;
    std::fs::remove_file(&path).ok();

    let disp = restarted.login("sc-disp1").await;
    let old = restarted
        .ok_step(&disp, &before, "dispatch", json!({}))
        .await;
    assert_eq!(
        (
            old["manual_version"].as_str(),
            old["stage_limit_minutes"].as_i64()
        ),
        (Some("hz-manual-2026.3"), Some(240)),
        "filed under the old manual, kept it"
    );
    let new = restarted.dispatched_case("huanwei").await;
    assert_eq!(
        (
            new["manual_version"].as_str(),
            new["stage_limit_minutes"].as_i64()
        ),
        (Some("hz-manual-2026.4"), Some(60))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_extension_moves_the_deadline_and_a_suspension_stops_the_clock() {
    let app = TestApp::spawn().await;
    let (hw, disp, lead) = (
        app.login("sc-hdl-huanwei").await,
        app.login("sc-disp1").await,
        app.login("sc-lead1").await,
    );
    let case = app.dispatched_case("huanwei").await;
    let deadline = case["stage_deadline"]
        .as_str()
        .expect("deadline")
        .to_owned();

    let (status, body) = app
        .step(
            &hw,
            &case,
            "extension/request",
            json!({ "minutes": 0, "reason": "x" }),
        )
        .await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (422, Some("minutes"))
    );
    let case = app
        .ok_step(
            &hw,
            &case,
            "extension/request",
            json!({ "minutes": 120, "reason": "需要调配车辆" }),
        )
        .await;
    assert_eq!(
        (
            case["pending_request"].as_str(),
            case["pending_minutes"].as_i64()
        ),
        (Some("extension"), Some(120))
    );
    let (status, body) = app
        .step(
            &hw,
            &case,
            "suspension/request",
            json!({ "reason": "again" }),
        )
        .await;
    assert_eq!(
        (status, crate::helpers::error_code(&body)),
        (409, "request_pending")
    );
    let (status, _) = app.step(&hw, &case, "extension/approve", json!({})).await;
    assert_eq!(status, 403, "nobody approves their own request");
    assert!(
        app.in_queue(&disp, &case).await,
        "the request waits in the dispatcher's queue"
    );

    let case = app
        .ok_step(
            &disp,
            &case,
            "extension/approve",
            json!({ "comment": "同意" }),
        )
        .await;
    assert_eq!(
        (
            case["stage_limit_minutes"].as_i64(),
            case["extension_minutes"].as_i64()
        ),
        (Some(360), Some(120))
    );
    assert!(case["pending_request"].is_null());
    assert!(
        case["stage_deadline"].as_str().expect("deadline") > deadline.as_str(),
        "the deadline moved later"
    );
    let (status, body) = app.step(&disp, &case, "extension/approve", json!({})).await;
    assert_eq!(
        (status, crate::helpers::error_code(&body)),
        (409, "nothing_to_decide")
    );

    // A refused request leaves the deadline as it was.
    let case = app
        .ok_step(
            &hw,
            &case,
            "extension/request",
            json!({ "minutes": 60, "reason": "再延" }),
        )
        .await;
    let refused = app
        .ok_step(
            &disp,
            &case,
            "extension/reject",
            json!({ "reason": "时限已足够" }),
        )
        .await;
    assert_eq!(
        (
            refused["stage_deadline"].as_str(),
            refused["extension_minutes"].as_i64()
        ),
        (case["stage_deadline"].as_str(), Some(120))
    );

    // Suspension: the clock stands still, then resumes with the time that was left.
    let case = app
        .ok_step(
            &hw,
            &refused,
            "suspension/request",
            json!({ "reason": "需要追加预算" }),
        )
        .await;
    let case = app
        .ok_step(&disp, &case, "suspension/approve", json!({}))
        .await;
    assert_eq!(case["state"], "suspended");
    assert!(case["light"].is_null() && case["stage_deadline"].is_null());
    let left = case["suspended_remaining_minutes"]
        .as_i64()
        .expect("time left");
    assert!(left > 0 && left <= 360, "{left}");
    let photo = app.photo(&hw).await;
    let (status, body) = app
        .step(&hw, &case, "handle", json!({ "media": [photo] }))
        .await;
    assert_eq!(
        (status, body["error"]["current_state"].as_str()),
        (409, Some("suspended"))
    );
    let (_, stats) = app.get("/api/v1/stats/lights", &lead).await;
    assert_eq!(
        department_lights(&stats, "huanwei"),
        (0, 0, 0),
        "a suspended case shows no light"
    );
    assert!(app.in_queue(&disp, &case).await);

    let case = app.ok_step(&disp, &case, "resume", json!({})).await;
    assert_eq!(
        (case["state"].as_str(), case["stage"].as_str()),
        (Some("dispatched"), Some("handling"))
    );
    let now_left = case["remaining_minutes"].as_i64().expect("remaining");
    assert!(
        (left - now_left).abs() <= 1,
        "resumed with {now_left} of {left} minutes"
    );
    let detail = app.detail(&case).await;
    let actions: Vec<&str> = detail["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| r["action"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        &actions[3..],
        [
            "request_extension",
            "approve_extension",
            "request_extension",
            "reject_extension",
            "request_suspension",
            "approve_suspension",
            "resume"
        ]
    );
    assert_eq!(detail["records"][4]["details"]["minutes"], 120);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervision_order_heads_the_queue_until_acknowledged() {
    let app = TestApp::spawn().await;
    let (lead, hw, zhifa) = (
        app.login("sc-lead1").await,
        app.login("sc-hdl-huanwei").await,
        app.login("sc-hdl-zhifa").await,
    );
    let older = app.dispatched_case("huanwei").await;
    let newer = app.dispatched_case("huanwei").await;
    let (_, queue) = app.get("/api/v1/queue", &hw).await;
    assert_eq!(queue[0]["id"], older["id"], "nearest deadline first");

    let due = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
    let order = json!({ "level": "key", "text": "限期清理", "due_at": due });
    let (status, body) = app
        .step(
            &lead,
            &newer,
            "supervise",
            json!({ "level": "key", "text": " ", "due_at": due }),
        )
        .await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (422, Some("text"))
    );
    let (status, _) = app.step(&hw, &newer, "supervise", order.clone()).await;
    assert_eq!(status, 403, "leaders issue orders");
    let newer = app.ok_step(&lead, &newer, "supervise", order).await;
    assert_eq!(
        (
            newer["urgency"].as_str(),
            newer["supervision_pending"].as_bool(),
            newer["supervision_level"].as_str()
        ),
        (Some("urgent"), Some(true), Some("key"))
    );
    let (_, queue) = app.get("/api/v1/queue", &hw).await;
    assert_eq!(
        queue[0]["id"], newer["id"],
        "the supervised case heads the department's queue"
    );

    let (status, body) = app
        .step(&zhifa, &newer, "supervision/acknowledge", json!({}))
        .await;
    assert_eq!(
        (status, crate::helpers::error_code(&body)),
        (403, "not_your_department")
    );
    let newer = app
        .ok_step(&hw, &newer, "supervision/acknowledge", json!({}))
        .await;
    assert_eq!(newer["supervision_pending"], false);
    let (status, body) = app
        .step(&hw, &newer, "supervision/acknowledge", json!({}))
        .await;
    assert_eq!(
        (status, crate::helpers::error_code(&body)),
        (409, "no_supervision_order")
    );
    let (_, queue) = app.get("/api/v1/queue", &hw).await;
    assert_eq!(
        queue[0]["id"], older["id"],
        "acknowledged: back in deadline order"
    );

    let detail = app.detail(&newer).await;
    let orders = detail["supervision_orders"].as_array().expect("orders");
    assert_eq!(orders.len(), 1);
    assert_eq!(
        (
            orders[0]["origin"].as_str(),
            orders[0]["level"].as_str(),
            orders[0]["text"].as_str()
        ),
        (Some("district"), Some("key"), Some("限期清理"))
    );
    assert!(orders[0]["acknowledged_at"].is_string() && orders[0]["acknowledged_by"].is_string());
    let actions: Vec<&str> = detail["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| r["action"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(&actions[3..], ["supervise", "acknowledge_supervision"]);
}
