//! Separation of duties over HTTP: one account holding several roles cannot take the
//! pairs of steps the matrix forbids on one case (docs/API.md, Separation of duties),
//! while separate accounts carry the same case through.

use citygrid_platform::case::workflow::Role;
use serde_json::{Value, json};

use crate::helpers::{LAT, LON, PASSWORD, TestApp, error_code, rubbish};

/// Adds a user of several roles (a handler of 环卫 among them) and signs them in.
async fn many_hats(app: &TestApp, username: &str, roles: Vec<Role>) -> String {
    let mut conn = app.pool.get().expect("conn");
    citygrid_platform::user::add(
        &mut conn,
        &app.tenant,
        &citygrid_platform::user::NewUserSpec {
            username: username.into(),
            display_name: "多顶帽子".into(),
            password: PASSWORD.into(),
            roles,
            department: Some("huanwei".into()),
        },
    )
    .expect("add user");
    drop(conn);
    app.login(username).await
}

/// The step is refused as the caller's own work, naming the rule; the case is unchanged.
async fn own_work(app: &TestApp, token: &str, case: &Value, action: &str, body: Value, rule: &str) {
    let (status, answer) = app.step(token, case, action, body).await;
    assert_eq!(
        (status, error_code(&answer)),
        (403, "own_work"),
        "{action}: {answer}"
    );
    let message = answer["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("separation of duties") && message.contains(rule),
        "{action}: {message}"
    );
    let detail = app.detail(case).await;
    assert_eq!(
        detail["case"]["version"], case["version"],
        "{action} changed the case"
    );
}

/// The attack: an account with the supervisor's, operator's, dispatcher's and handler's
/// roles reports, files, dispatches, handles, checks and closes a case alone. It may take
/// each step that does not judge its own (dispatching, handling, asking for time), and
/// is stopped at every one that would.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_account_of_many_roles_cannot_judge_its_own_work() {
    let app = TestApp::spawn().await;
    let all = many_hats(
        &app,
        "all-hats",
        vec![
            Role::Supervisor,
            Role::Operator,
            Role::Dispatcher,
            Role::Handler,
        ],
    )
    .await;
    let (op, disp, sup2, huanwei) = (
        app.login("sc-op1").await,
        app.login("sc-disp1").await,
        app.login("sc-sup1").await,
        app.login("sc-hdl-huanwei").await,
    );

    let case = app.supervisor_report(&all).await;
    let filing = json!({ "category": rubbish() });
    own_work(
        &app,
        &all,
        &case,
        "file",
        filing.clone(),
        "accepted or rejected",
    )
    .await;
    own_work(
        &app,
        &all,
        &case,
        "reject",
        json!({ "reason": "invalid" }),
        "its reporter",
    )
    .await;
    let case = app.ok_step(&op, &case, "file", filing).await;
    // Dispatching one's own report is no judgement of it.
    let case = app
        .ok_step(&all, &case, "dispatch", json!({ "department": "huanwei" }))
        .await;
    let case = app
        .ok_step(
            &all,
            &case,
            "extension/request",
            json!({ "minutes": 60, "reason": "调车" }),
        )
        .await;
    own_work(
        &app,
        &all,
        &case,
        "extension/approve",
        json!({}),
        "who asked for it",
    )
    .await;
    let case = app
        .ok_step(&disp, &case, "extension/approve", json!({}))
        .await;
    let photo = app.photo(&all).await;
    let case = app
        .ok_step(&all, &case, "handle", json!({ "media": [photo] }))
        .await;
    // The first rule that applies is named: it reported the case before it handled it.
    own_work(
        &app,
        &all,
        &case,
        "check",
        json!({ "passed": true }),
        "its reporter",
    )
    .await;
    own_work(
        &app,
        &all,
        &case,
        "check",
        json!({ "passed": false, "comment": "再看看" }),
        "checked by someone other",
    )
    .await;
    let case = app
        .ok_step(
            &sup2,
            &case,
            "check",
            json!({ "passed": false, "comment": "仍有残留" }),
        )
        .await;
    // Handled again by a colleague: the account still reported it and handled it once.
    let photo = app.photo(&huanwei).await;
    let case = app
        .ok_step(&huanwei, &case, "handle", json!({ "media": [photo] }))
        .await;
    own_work(
        &app,
        &all,
        &case,
        "check",
        json!({ "passed": true }),
        "checked by someone other",
    )
    .await;
    let case = app
        .ok_step(&sup2, &case, "check", json!({ "passed": true }))
        .await;
    own_work(&app, &all, &case, "close", json!({}), "who handled it").await;
    let case = app.ok_step(&op, &case, "close", json!({})).await;
    assert_eq!(case["state"], "closed");
}

/// A public report: the same account verifies it (it did not report it) and files it
/// (verified by someone other than its reporter), handles it, and may then neither call
/// back nor close nor cancel it; a handler-and-dispatcher may not decide its own
/// suspension request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calling_back_closing_and_deciding_ones_own_request_are_refused() {
    let app = TestApp::spawn().await;
    let all = many_hats(
        &app,
        "all-hats",
        vec![
            Role::Supervisor,
            Role::Operator,
            Role::Dispatcher,
            Role::Handler,
        ],
    )
    .await;
    let (op, disp, sup2) = (
        app.login("sc-op1").await,
        app.login("sc-disp1").await,
        app.login("sc-sup1").await,
    );
    let (status, case) = app
        .post(
            "/api/v1/cases",
            None,
            json!({ "description": "井盖破损", "lon": LON, "lat": LAT, "reporter_phone": "13800000000" }),
        )
        .await;
    assert_eq!(status, 201, "{case}");
    let mut case = case;
    for (action, body) in [
        ("request-verification", json!({})),
        ("verify", json!({ "confirmed": true })),
        ("file", json!({ "category": rubbish() })),
        ("dispatch", json!({ "department": "huanwei" })),
        ("suspension/request", json!({ "reason": "预算" })),
    ] {
        case = app.ok_step(&all, &case, action, body).await;
    }
    own_work(
        &app,
        &all,
        &case,
        "suspension/reject",
        json!({ "reason": "先处置" }),
        "suspension",
    )
    .await;
    case = app
        .ok_step(
            &disp,
            &case,
            "suspension/reject",
            json!({ "reason": "先处置" }),
        )
        .await;
    let photo = app.photo(&all).await;
    case = app
        .ok_step(&all, &case, "handle", json!({ "media": [photo] }))
        .await;
    case = app
        .ok_step(&sup2, &case, "check", json!({ "passed": true }))
        .await;
    own_work(
        &app,
        &all,
        &case,
        "callback",
        json!({ "satisfied": true }),
        "called back",
    )
    .await;
    own_work(
        &app,
        &all,
        &case,
        "cancellation/request",
        json!({ "reason": "重复" }),
        "cancelled",
    )
    .await;
    case = app
        .ok_step(&op, &case, "callback", json!({ "satisfied": true }))
        .await;
    own_work(&app, &all, &case, "close", json!({}), "closed").await;
    case = app.ok_step(&op, &case, "close", json!({})).await;
    assert_eq!(case["state"], "closed");
}

/// A supervisor does not check the work on their own report, even when someone else did
/// it; another supervisor does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reporter_does_not_check_and_separate_accounts_carry_the_case() {
    let app = TestApp::spawn().await;
    let case = app.dispatched_case("huanwei").await;
    let (sup1, sup2, op, huanwei) = (
        app.login("sc-sup1").await,
        app.login("sc-sup2").await,
        app.login("sc-op1").await,
        app.login("sc-hdl-huanwei").await,
    );
    let photo = app.photo(&huanwei).await;
    let case = app
        .ok_step(&huanwei, &case, "handle", json!({ "media": [photo] }))
        .await;
    own_work(
        &app,
        &sup1,
        &case,
        "check",
        json!({ "passed": true }),
        "its reporter",
    )
    .await;
    let case = app
        .ok_step(&sup2, &case, "check", json!({ "passed": true }))
        .await;
    let case = app.ok_step(&op, &case, "close", json!({})).await;
    assert_eq!(case["state"], "closed");
}
