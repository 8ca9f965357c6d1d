//! Filing under a filing condition (立案条件) of the command manual: the condition's row
//! gives the case its limits, urgency and department (tenants/hangzhou/manual.toml).

use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code};

/// Event 0101 私搭乱建 (illegal construction).
fn illegal_building() -> Value {
    json!({ "kind": "event", "major": "01", "minor": "01" })
}

/// A supervisor's report filed as 私搭乱建 under `condition`, then dispatched as the
/// manual says: the dispatched case.
async fn dispatched_under(app: &TestApp, condition: &str) -> Value {
    let (sup, op, disp) = (
        app.login("sc-sup1").await,
        app.login("sc-op1").await,
        app.login("sc-disp1").await,
    );
    let case = app.supervisor_report(&sup).await;
    let filed = app
        .ok_step(
            &op,
            &case,
            "file",
            json!({ "category": illegal_building(), "condition": condition }),
        )
        .await;
    assert_eq!(
        (
            filed["manual_condition"].as_str(),
            filed["manual_version"].as_str(),
            filed["suggested_department"].as_str(),
            filed["urgency"].as_str(),
        ),
        (
            Some(condition),
            Some("hz-manual-2026.3"),
            Some("zhifa"),
            Some("normal")
        ),
        "{filed}"
    );
    app.ok_step(&disp, &filed, "dispatch", json!({})).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_conditions_of_one_category_give_two_handling_deadlines() {
    let app = TestApp::spawn().await;
    // 01: stop the building work, 4 工作时; 02: demolish it, 20 工作日 of 7h30m.
    let stop = dispatched_under(&app, "01").await;
    let demolish = dispatched_under(&app, "02").await;
    for (case, minutes, text) in [(&stop, 240, "停止施工"), (&demolish, 20 * 450, "拆除")] {
        assert_eq!(
            (
                case["department_code"].as_str(),
                case["stage"].as_str(),
                case["clock"].as_str(),
                case["stage_limit_minutes"].as_i64()
            ),
            (
                Some("zhifa"),
                Some("handling"),
                Some("working"),
                Some(minutes)
            ),
            "{case}"
        );
        assert!(
            case["manual_condition_text"]
                .as_str()
                .is_some_and(|t| t.contains(text)),
            "{case}"
        );
        assert_eq!(
            case["manual_limits"]["handling_minutes"].as_i64(),
            Some(minutes),
            "{case}"
        );
    }
    let deadline = |case: &Value| {
        chrono::DateTime::parse_from_rfc3339(case["stage_deadline"].as_str().expect("deadline"))
            .expect("a time")
    };
    // Dispatched within moments of each other, 4 working hours against 20 working days:
    // at least four calendar weeks apart.
    assert!(
        deadline(&demolish) - deadline(&stop) > chrono::Duration::days(25),
        "{} vs {}",
        deadline(&stop),
        deadline(&demolish)
    );

    // The file record carries the condition for the city (interchange v1.3).
    let detail = app.detail(&demolish).await;
    let file = detail["records"]
        .as_array()
        .expect("records")
        .iter()
        .find(|r| r["action"] == "file")
        .expect("file record");
    assert_eq!(file["details"]["condition"], "02", "{file}");
    assert!(
        file["details"]["condition_text"]
            .as_str()
            .is_some_and(|t| t.contains("拆除")),
        "{file}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_condition_sets_urgency_and_clock_unless_urgent_is_asked() {
    let app = TestApp::spawn().await;
    let (sup, op) = (app.login("sc-sup1").await, app.login("sc-op1").await);
    let cover = json!({ "kind": "component", "major": "01", "minor": "01" });

    // 02 上水井盖缺失: urgent, on the natural clock; the row's urgency becomes the case's.
    let case = app.supervisor_report(&sup).await;
    let missing = app
        .ok_step(
            &op,
            &case,
            "file",
            json!({ "category": cover, "condition": "02" }),
        )
        .await;
    assert_eq!(
        (
            missing["urgency"].as_str(),
            missing["clock"].as_str(),
            missing["suggested_department"].as_str()
        ),
        (Some("urgent"), Some("natural"), Some("shuiwu")),
        "{missing}"
    );
    // Asking `normal` for an urgent condition is refused.
    let case = app.supervisor_report(&sup).await;
    let (status, body) = app
        .step(
            &op,
            &case,
            "file",
            json!({ "category": cover, "condition": "02", "urgency": "normal" }),
        )
        .await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (422, Some("urgency")),
        "{body}"
    );
    // `urgent` on a normal condition raises the case; the limits stay the row's.
    let raised = app
        .ok_step(
            &op,
            &case,
            "file",
            json!({ "category": cover, "condition": "01", "urgency": "urgent" }),
        )
        .await;
    assert_eq!(
        (
            raised["urgency"].as_str(),
            raised["clock"].as_str(),
            raised["manual_condition"].as_str()
        ),
        (Some("urgent"), Some("working"), Some("01")),
        "{raised}"
    );
    // No condition: the first row of the urgency asked for, as before conditions.
    let case = app.supervisor_report(&sup).await;
    let urgent = app
        .ok_step(
            &op,
            &case,
            "file",
            json!({ "category": cover, "urgency": "urgent" }),
        )
        .await;
    assert_eq!(
        (
            urgent["manual_condition"].as_str(),
            urgent["clock"].as_str()
        ),
        (Some("02"), Some("natural")),
        "{urgent}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_condition_is_refused_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let (sup, op) = (app.login("sc-sup1").await, app.login("sc-op1").await);
    let case = app.supervisor_report(&sup).await;
    for condition in ["09", "1", "abc"] {
        let (status, body) = app
            .step(
                &op,
                &case,
                "file",
                json!({ "category": illegal_building(), "condition": condition }),
            )
            .await;
        assert_eq!(
            (status, error_code(&body), body["error"]["field"].as_str()),
            (422, "invalid_field", Some("condition")),
            "{condition}: {body}"
        );
    }
    let detail = app.detail(&case).await;
    assert_eq!(
        (
            detail["case"]["state"].as_str(),
            detail["case"]["version"].as_i64(),
            detail["case"]["category_major"].as_str(),
            detail["case"]["manual_condition"].as_str()
        ),
        (Some("reported"), case["version"].as_i64(), None, None),
        "{detail}"
    );
    assert_eq!(detail["records"].as_array().map(Vec::len), Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_read_the_manuals_conditions_before_filing() {
    let app = TestApp::spawn().await;
    let op = app.login("sc-op1").await;
    let (status, manual) = app.get("/api/v1/manual?category=event:0101", &op).await;
    assert_eq!(status, 200, "{manual}");
    assert_eq!(manual["version"], "hz-manual-2026.3");
    let rows = manual["rows"].as_array().expect("rows");
    let conditions: Vec<(&str, &str, i64)> = rows
        .iter()
        .map(|r| {
            (
                r["condition"].as_str().unwrap(),
                r["department"].as_str().unwrap(),
                r["handling_minutes"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        &conditions[..3],
        [
            ("01", "zhifa", 240),
            ("02", "zhifa", 9000),
            ("03", "zhifa", 3150)
        ],
        "{manual}"
    );
    assert!(rows.iter().all(|r| r["category"] == "event:0101"));
    assert_eq!(rows[0]["category_name"], "私搭乱建");

    // The whole manual has more rows than one category; a category not in the
    // catalogue is 422 naming the field.
    let (status, all) = app.get("/api/v1/manual", &op).await;
    assert_eq!(status, 200);
    assert!(all["rows"].as_array().unwrap().len() > rows.len());
    for bad in ["event:9999", "rubbish", "event:01"] {
        let (status, body) = app
            .get(&format!("/api/v1/manual?category={bad}"), &op)
            .await;
        assert_eq!(
            (status, body["error"]["field"].as_str()),
            (422, Some("category")),
            "{bad}: {body}"
        );
    }
}
