//! City API tokens and sessions, the kit's rules as at the districts: no token without a
//! user at their current token version, rotating refresh tokens whose reuse revokes the
//! session, `citygrid city revoke`, and the city file's demo marker.

use std::path::Path;

use chrono::Utc;
use citygrid_exchange::config::City;
use citygrid_exchange::schema::city_users;
use diesel::prelude::*;
use jsonwebtoken::{EncodingKey, Header};
use serde_json::{Value, json};

use crate::broker::TestBroker;
use crate::helpers::TestCity;

const CITY_KEY: &str = "demo-only-city-330100-change-me-in-production-0123456789";

async fn post(city: &TestCity, path: &str, body: Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}{path}", city.base))
        .json(&body)
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn sign_in(city: &TestCity, username: &str) -> Value {
    let (status, body) = post(
        city,
        "/api/v1/auth/token",
        json!({ "username": username, "password": "demo-pass-1" }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn refresh(city: &TestCity, session: &Value) -> (u16, Value) {
    post(
        city,
        "/api/v1/auth/refresh",
        json!({ "refresh_token": session["refresh_token"] }),
    )
    .await
}

/// The status of a read with `token`.
async fn read_with(city: &TestCity, token: &str) -> u16 {
    reqwest::Client::new()
        .get(format!("{}/api/v1/city/exchange/status", city.base))
        .bearer_auth(token)
        .send()
        .await
        .expect("request")
        .status()
        .as_u16()
}

fn sign(claims: Value) -> String {
    jsonwebtoken::encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(CITY_KEY.as_bytes()),
    )
    .expect("token")
}

fn user_id(city: &TestCity, username: &str) -> uuid::Uuid {
    let mut conn = city.pool.get().expect("conn");
    city_users::table
        .filter(city_users::username.eq(username))
        .select(city_users::id)
        .first(&mut conn)
        .expect("seed user")
}

/// The city's key, both roles, a user that does not exist, ten years: refused. So is an
/// expired token of a real user.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_and_expired_tokens_are_refused() {
    let broker = TestBroker::new().await;
    let city = TestCity::start(&broker).await;
    let now = Utc::now().timestamp();
    let ghost = sign(
        json!({ "sub": uuid::Uuid::new_v4(), "username": "ghost", "city": "330100",
        "roles": ["city_supervisor", "city_leader"], "ver": 1, "iat": now,
        "exp": now + 10 * 365 * 24 * 3600 }),
    );
    assert_eq!(read_with(&city, &ghost).await, 401);
    let leader = user_id(&city, "hz-clead1");
    let live = sign(
        json!({ "sub": leader, "username": "hz-clead1", "city": "330100",
        "roles": ["city_leader"], "ver": 1, "iat": now, "exp": now + 600 }),
    );
    assert_eq!(read_with(&city, &live).await, 200);
    let expired = sign(
        json!({ "sub": leader, "username": "hz-clead1", "city": "330100",
        "roles": ["city_leader"], "ver": 1, "iat": now - 1200, "exp": now - 300 }),
    );
    assert_eq!(read_with(&city, &expired).await, 401);
    // No version at all (a token of before sessions): refused.
    let unversioned = sign(
        json!({ "sub": leader, "username": "hz-clead1", "city": "330100",
        "roles": ["city_leader"], "iat": now, "exp": now + 600 }),
    );
    assert_eq!(read_with(&city, &unversioned).await, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_rotates_reuse_revokes_and_logout_ends_the_session() {
    let broker = TestBroker::new().await;
    let city = TestCity::start(&broker).await;
    let first = sign_in(&city, "hz-csup1").await;
    assert!(first["refresh_token"].is_string() && first["refresh_expires_at"].is_string());
    let (status, second) = refresh(&city, &first).await;
    assert_eq!(status, 200, "{second}");
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    assert_eq!(second["roles"], json!(["city_supervisor"]));
    assert_eq!(
        read_with(&city, second["token"].as_str().expect("token")).await,
        200
    );
    // The spent one again: 401, and the session (its newer token too) is over.
    assert_eq!(refresh(&city, &first).await.0, 401);
    assert_eq!(refresh(&city, &second).await.0, 401);

    let session = sign_in(&city, "hz-csup1").await;
    let (status, _) = post(
        &city,
        "/api/v1/auth/logout",
        json!({ "refresh_token": session["refresh_token"] }),
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(refresh(&city, &session).await.0, 401);
}

/// `citygrid city revoke` (from another process: the exchange reads versions on every
/// request here, `version_cache_seconds = 0`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_users_tokens_are_refused() {
    let broker = TestBroker::new().await;
    let city = TestCity::start_with(&broker, |c| c.file.auth.version_cache_seconds = 0).await;
    let session = sign_in(&city, "hz-clead1").await;
    let token = session["token"].as_str().expect("token");
    assert_eq!(read_with(&city, token).await, 200);
    let mut conn = city.pool.get().expect("conn");
    let revoked = citygrid_exchange::users::revoke_tokens(&mut conn, "hz-clead1").expect("revoke");
    assert_eq!(revoked.token_version, 2);
    assert!(citygrid_exchange::users::revoke_tokens(&mut conn, "nobody").is_err());
    drop(conn);
    assert_eq!(read_with(&city, token).await, 401);
    assert_eq!(refresh(&city, &session).await.0, 401);
    let again = sign_in(&city, "hz-clead1").await;
    assert_eq!(
        read_with(&city, again["token"].as_str().expect("token")).await,
        200
    );
}

/// The sample city file runs on its public key only because it says `demo = true`.
#[test]
fn the_city_refuses_a_demo_key_unless_marked_demo() {
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tenants/hangzhou/city.toml");
    let text = std::fs::read_to_string(&sample).expect("sample");
    assert!(text.contains("\ndemo = true\n"));
    City::load(&sample).expect("the demo-marked sample loads");
    // Next to the sample, so its relative paths resolve.
    let path = sample.with_file_name(format!(".nodemo-{}.toml", uuid::Uuid::new_v4()));
    std::fs::write(&path, text.replacen("\ndemo = true\n", "\n", 1)).expect("write");
    let err = City::load(&path)
        .expect_err("demo key outside a demo")
        .to_string();
    std::fs::remove_file(&path).ok();
    assert!(
        err.contains("auth.jwt_secret")
            && err.contains("CITYGRID_CITY_JWT_SECRET")
            && err.contains("demo = true")
            && !err.contains(CITY_KEY),
        "{err}"
    );
}
