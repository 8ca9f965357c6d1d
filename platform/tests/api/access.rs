//! Tenant isolation and roles: a district's tokens only, each role its own steps, and
//! nobody judges their own work.

use chrono::{Duration, Utc};
use citygrid_platform::auth::token::{Keys, claims_for};
use citygrid_platform::case::workflow::Role;
use citygrid_platform::config::Tenant;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, error_code, rubbish, tenant_path};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_districts_token_is_refused() {
    let app = TestApp::spawn().await;
    let lead = app.login("sc-lead1").await;
    let (status, _) = app.get("/api/v1/cases", &lead).await;
    assert_eq!(status, 200);

    // A well-signed token naming district 330105 (as if the districts shared a key).
    let claims = claims_for(
        uuid::Uuid::new_v4(),
        "gs-lead1",
        "330105",
        vec![Role::Leader, Role::Operator],
        None,
        1,
        Utc::now(),
        Duration::minutes(5),
    );
    let foreign = Keys::new(app.tenant.jwt_secret())
        .issue(&claims)
        .expect("token");
    let (status, body) = app.get("/api/v1/cases", &foreign).await;
    assert_eq!(
        (status, error_code(&body)),
        (403, "wrong_district"),
        "{body}"
    );

    // A token issued by the 330105 instance itself does not even verify here.
    let gongshu = Tenant::load(&tenant_path("330105")).expect("330105");
    let their_token = Keys::new(gongshu.jwt_secret())
        .issue(&claims)
        .expect("token");
    let (status, body) = app.get("/api/v1/cases", &their_token).await;
    assert_eq!((status, error_code(&body)), (401, "unauthenticated"));

    // Nor can it act: a report with the foreign token changes nothing.
    let (status, _) = app
        .post(
            "/api/v1/cases",
            Some(&foreign),
            json!({ "description": "x", "lon": 120.2, "lat": 30.26 }),
        )
        .await;
    assert_eq!(status, 403);
    let (_, page) = app.get("/api/v1/cases", &lead).await;
    assert_eq!(page["items"].as_array().map(Vec::len), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_role_takes_only_its_own_steps() {
    let app = TestApp::spawn().await;
    let (sup, op, disp, lead, admin) = (
        app.login("sc-sup1").await,
        app.login("sc-op1").await,
        app.login("sc-disp1").await,
        app.login("sc-lead1").await,
        app.login("sc-admin1").await,
    );
    let (huanwei, sup2) = (
        app.login("sc-hdl-huanwei").await,
        app.login("sc-sup2").await,
    );
    let case = app.supervisor_report(&sup).await;

    // Filing is the operator's: not the dispatcher's, the supervisor's or the admin's.
    for token in [&disp, &sup, &admin, &lead] {
        let (status, body) = app
            .step(token, &case, "file", json!({ "category": rubbish() }))
            .await;
        assert_eq!((status, error_code(&body)), (403, "wrong_role"), "{body}");
    }
    let case = app
        .ok_step(&op, &case, "file", json!({ "category": rubbish() }))
        .await;
    let case = app
        .ok_step(&disp, &case, "dispatch", json!({ "department": "huanwei" }))
        .await;
    let photo = app.photo(&huanwei).await;
    let case = app
        .ok_step(&huanwei, &case, "handle", json!({ "media": [photo] }))
        .await;
    // Checked by a supervisor other than the reporter (separation of duties).
    let case = app
        .ok_step(&sup2, &case, "check", json!({ "passed": true }))
        .await;

    // A dispatcher trying to close → 403, and the case is unchanged.
    let (status, body) = app.step(&disp, &case, "close", json!({})).await;
    assert_eq!((status, error_code(&body)), (403, "wrong_role"));
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("operator"),
        "{body}"
    );
    let detail = app.detail(&case).await;
    assert_eq!(
        (
            detail["case"]["state"].as_str(),
            detail["case"]["version"].as_i64()
        ),
        (Some("checked"), case["version"].as_i64())
    );

    // Without a token: 401 for anything but a public report.
    let (status, body) = app
        .send(app.http.get(format!("{}/api/v1/queue", app.base)))
        .await;
    assert_eq!((status, error_code(&body)), (401, "unauthenticated"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nobody_checks_their_own_handling() {
    let app = TestApp::spawn().await;
    // One person who is both a handler of 环卫 and a supervisor.
    let mut conn = app.pool.get().expect("conn");
    citygrid_platform::user::add(
        &mut conn,
        &app.tenant,
        &citygrid_platform::user::NewUserSpec {
            username: "both-hats".into(),
            display_name: "两顶帽子".into(),
            password: crate::helpers::PASSWORD.into(),
            roles: vec![Role::Handler, Role::Supervisor],
            department: Some("huanwei".into()),
        },
    )
    .expect("add user");
    drop(conn);
    let both = app.login("both-hats").await;
    // Not sc-sup1, who reported the case: the reporter does not check it either.
    let sup = app.login("sc-sup2").await;
    let case = app.dispatched_case("huanwei").await;
    let photo = app.photo(&both).await;
    let case = app
        .ok_step(&both, &case, "handle", json!({ "media": [photo] }))
        .await;
    let (status, body) = app
        .step(&both, &case, "check", json!({ "passed": true }))
        .await;
    assert_eq!((status, error_code(&body)), (403, "own_work"));
    let case = app
        .ok_step(&sup, &case, "check", json!({ "passed": true }))
        .await;
    assert_eq!(case["state"], "checked");
}

/// Signs in with a password; the status, the `Retry-After` seconds and the body.
async fn sign_in(app: &TestApp, username: &str, password: &str) -> (u16, Option<u64>, Value) {
    let response = app
        .http
        .post(format!("{}/api/v1/auth/token", app.base))
        .json(&json!({ "username": username, "password": password }))
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    (
        status,
        retry_after,
        response.json().await.unwrap_or(Value::Null),
    )
}

/// Five wrong passwords lock the username (`[auth.login] user_failures`): the sixth
/// attempt and even the right password during the lockout are 429 with `Retry-After`;
/// another user of the same client still signs in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_passwords_lock_the_username_only() {
    let app = TestApp::spawn().await;
    for attempt in 1..=5 {
        let (status, retry_after, body) = sign_in(&app, "sc-op1", "wrong").await;
        assert_eq!(
            (status, retry_after),
            (401, None),
            "attempt {attempt}: {body}"
        );
    }
    for password in ["wrong", PASSWORD] {
        let (status, retry_after, body) = sign_in(&app, "sc-op1", password).await;
        assert_eq!(status, 429, "{body}");
        assert_eq!(error_code(&body), "too_many_attempts");
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
        assert!(
            retry_after.is_some_and(|s| (1..=60).contains(&s)),
            "Retry-After {retry_after:?}"
        );
    }
    let (status, _, body) = sign_in(&app, "sc-sup1", PASSWORD).await;
    assert_eq!(status, 200, "another user is not locked: {body}");
    // An unknown username locks the same way (nothing tells which usernames exist).
    for _ in 1..=5 {
        assert_eq!(sign_in(&app, "nobody", "x").await.0, 401);
    }
    assert_eq!(sign_in(&app, "nobody", "x").await.0, 429);
}
