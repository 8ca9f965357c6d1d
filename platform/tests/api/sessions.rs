//! Tokens and sessions: a well-signed token is worth nothing without a user behind it at
//! the user's current token version; refresh tokens rotate, and a reused one revokes its
//! session; an admin, the CLI or a password change revokes every token of a user.

use chrono::{Duration, Utc};
use citygrid_platform::auth::token::{Keys, claims_for};
use citygrid_platform::case::workflow::Role;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, error_code};

/// Signs in; the whole answer.
async fn sign_in(app: &TestApp, username: &str) -> Value {
    let (status, body) = app
        .post(
            "/api/v1/auth/token",
            None,
            json!({ "username": username, "password": PASSWORD }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn refresh(app: &TestApp, refresh_token: &Value) -> (u16, Value) {
    app.post(
        "/api/v1/auth/refresh",
        None,
        json!({ "refresh_token": refresh_token }),
    )
    .await
}

/// Whether `token` is accepted now (a read every role may make).
async fn accepted(app: &TestApp, token: &str) -> (u16, String) {
    let (status, body) = app.get("/api/v1/queue", token).await;
    (status, error_code(&body).to_owned())
}

fn refused() -> (u16, String) {
    (401, "unauthenticated".to_owned())
}

fn ok() -> (u16, String) {
    (200, "<no error code>".to_owned())
}

/// The attack test's token: the district's key, every role, a user that does not exist,
/// ten years of life. Refused, for reading and for acting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_well_signed_token_of_a_user_that_does_not_exist_is_refused() {
    let app = TestApp::spawn().await;
    let claims = claims_for(
        uuid::Uuid::new_v4(),
        "ghost",
        app.tenant.code(),
        Role::ALL.to_vec(),
        Some("huanwei".into()),
        1,
        Utc::now(),
        Duration::days(3650),
    );
    let forged = Keys::new(app.tenant.jwt_secret())
        .issue(&claims)
        .expect("token");
    assert_eq!(accepted(&app, &forged).await, refused());
    let (status, body) = app
        .post(
            "/api/v1/cases",
            Some(&forged),
            json!({ "description": "x", "lon": 120.2, "lat": 30.26 }),
        )
        .await;
    assert_eq!(
        (status, error_code(&body)),
        (401, "unauthenticated"),
        "{body}"
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("does not exist")),
        "{body}"
    );
    // The same token for a real user but a version that user never had.
    let mut conn = app.pool.get().expect("conn");
    let op = citygrid_platform::user::find_by_username(&mut conn, "sc-op1")
        .expect("read")
        .expect("seed user");
    drop(conn);
    let claims = claims_for(
        op.id,
        "sc-op1",
        app.tenant.code(),
        Role::ALL.to_vec(),
        None,
        op.token_version + 1,
        Utc::now(),
        Duration::days(3650),
    );
    let future = Keys::new(app.tenant.jwt_secret())
        .issue(&claims)
        .expect("token");
    assert_eq!(accepted(&app, &future).await, refused());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_access_token_is_refused() {
    let app = TestApp::spawn().await;
    let session = sign_in(&app, "sc-op1").await;
    let token = session["token"].as_str().expect("token");
    assert_eq!(accepted(&app, token).await, ok());
    // 15 minutes by default (`[auth] token_ttl_minutes`), 8 h for the session.
    let expires_at: chrono::DateTime<Utc> =
        serde_json::from_value(session["expires_at"].clone()).expect("expires_at");
    let session_ends: chrono::DateTime<Utc> =
        serde_json::from_value(session["refresh_expires_at"].clone()).expect("refresh end");
    let left = expires_at - Utc::now();
    assert!(
        left <= Duration::minutes(15) && left > Duration::minutes(14),
        "{left}"
    );
    let left = session_ends - Utc::now();
    assert!(
        left <= Duration::hours(8) && left > Duration::minutes(479),
        "{left}"
    );

    // The same user and version, issued 20 minutes ago for 15: past the 30 s leeway.
    let mut conn = app.pool.get().expect("conn");
    let op = citygrid_platform::user::find_by_username(&mut conn, "sc-op1")
        .expect("read")
        .expect("seed user");
    drop(conn);
    let claims = claims_for(
        op.id,
        &op.username,
        app.tenant.code(),
        op.roles.clone(),
        None,
        op.token_version,
        Utc::now() - Duration::minutes(20),
        Duration::minutes(15),
    );
    let expired = Keys::new(app.tenant.jwt_secret())
        .issue(&claims)
        .expect("token");
    assert_eq!(accepted(&app, &expired).await, refused());
}

/// Refresh hands out a new pair and spends the token; the spent one presented again is a
/// copy: 401, and the session it belongs to is over (its newer refresh token too).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_rotates_and_a_reused_refresh_token_revokes_the_session() {
    let app = TestApp::spawn().await;
    let first = sign_in(&app, "sc-disp1").await;
    let (status, second) = refresh(&app, &first["refresh_token"]).await;
    assert_eq!(status, 200, "{second}");
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    assert_eq!(
        (&second["district"], &second["roles"], &second["token_type"]),
        (&json!("330102"), &json!(["dispatcher"]), &json!("Bearer"))
    );
    // The session's end does not move with a refresh.
    assert_eq!(second["refresh_expires_at"], first["refresh_expires_at"]);
    let token = second["token"].as_str().expect("token");
    assert_eq!(accepted(&app, token).await, ok());

    // The first refresh token again: a copy exists. 401, and the session is revoked.
    let (status, body) = refresh(&app, &first["refresh_token"]).await;
    assert_eq!(
        (status, error_code(&body)),
        (401, "unauthenticated"),
        "{body}"
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("already used")),
        "{body}"
    );
    let (status, body) = refresh(&app, &second["refresh_token"]).await;
    assert_eq!(
        (status, error_code(&body)),
        (401, "unauthenticated"),
        "{body}"
    );
    // Another session of the same user is not touched.
    let other = sign_in(&app, "sc-disp1").await;
    assert_eq!(refresh(&app, &other["refresh_token"]).await.0, 200);

    // Garbage and unknown tokens: 401; a missing field: 422.
    for bad in [json!("nope"), json!("0".repeat(64))] {
        assert_eq!(refresh(&app, &bad).await.0, 401, "{bad}");
    }
    let (status, body) = app.post("/api/v1/auth/refresh", None, json!({})).await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (422, Some("refresh_token"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_ends_the_session_and_an_expired_session_cannot_refresh() {
    let app = TestApp::spawn().await;
    let session = sign_in(&app, "sc-sup1").await;
    let (status, _) = app
        .post(
            "/api/v1/auth/logout",
            None,
            json!({ "refresh_token": session["refresh_token"] }),
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(refresh(&app, &session["refresh_token"]).await.0, 401);
    // Unknown or already ended: the same 204.
    let (status, _) = app
        .post(
            "/api/v1/auth/logout",
            None,
            json!({ "refresh_token": session["refresh_token"] }),
        )
        .await;
    assert_eq!(status, 204);

    // A session past its end (`refresh_ttl_minutes` after sign-in).
    let session = sign_in(&app, "sc-sup1").await;
    let mut conn = app.pool.get().expect("conn");
    diesel::RunQueryDsl::execute(
        diesel::sql_query("UPDATE refresh_tokens SET expires_at = now() - interval '1 second'"),
        &mut conn,
    )
    .expect("age the sessions");
    drop(conn);
    let (status, body) = refresh(&app, &session["refresh_token"]).await;
    assert_eq!(status, 401, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("over")),
        "{body}"
    );
}

/// An admin revokes a user's tokens: the access token in hand is refused at once, the
/// session cannot refresh, a new sign-in works. Only an admin may.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_revokes_every_token_of_a_user() {
    let app = TestApp::spawn().await;
    let admin = app.login("sc-admin1").await;
    let victim = sign_in(&app, "sc-op1").await;
    let token = victim["token"].as_str().expect("token");
    assert_eq!(accepted(&app, token).await, ok());

    let (status, body) = app
        .post(
            "/api/v1/users/sc-admin1/revoke-tokens",
            Some(token),
            json!({}),
        )
        .await;
    assert_eq!((status, error_code(&body)), (403, "wrong_role"), "{body}");

    let (status, body) = app
        .post(
            "/api/v1/users/sc-op1/revoke-tokens",
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["username"], "sc-op1");
    assert_eq!(body["token_version"], 2);
    assert_eq!(accepted(&app, token).await, refused());
    assert_eq!(refresh(&app, &victim["refresh_token"]).await.0, 401);
    let again = sign_in(&app, "sc-op1").await;
    assert_eq!(
        accepted(&app, again["token"].as_str().expect("token")).await,
        ok()
    );
    let (status, body) = app
        .post(
            "/api/v1/users/nobody/revoke-tokens",
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!((status, error_code(&body)), (404, "not_found"), "{body}");
}

/// `citygrid user revoke` and `citygrid user password` change the database from another
/// process: a running instance sees it once its cached version is older than
/// `version_cache_seconds` (0 here: every request reads it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_revokes_and_a_password_change_revokes() {
    let app = TestApp::spawn_with(|t| t.config.auth.version_cache_seconds = 0).await;
    let before = sign_in(&app, "sc-lead1").await;
    let token = before["token"].as_str().expect("token");
    assert_eq!(accepted(&app, token).await, ok());
    let mut conn = app.pool.get().expect("conn");
    citygrid_platform::user::revoke_tokens(&mut conn, "sc-lead1").expect("revoke");
    assert_eq!(accepted(&app, token).await, refused());
    assert_eq!(refresh(&app, &before["refresh_token"]).await.0, 401);

    let before = sign_in(&app, "sc-lead1").await;
    let token = before["token"].as_str().expect("token");
    assert_eq!(accepted(&app, token).await, ok());
    citygrid_platform::user::set_password(&mut conn, "sc-lead1", "a-new-password-1")
        .expect("password");
    drop(conn);
    assert_eq!(accepted(&app, token).await, refused());
    assert_eq!(refresh(&app, &before["refresh_token"]).await.0, 401);
    let (status, _) = app
        .post(
            "/api/v1/auth/token",
            None,
            json!({ "username": "sc-lead1", "password": "a-new-password-1" }),
        )
        .await;
    assert_eq!(status, 200);
}
