//! `POST /api/v1/auth/token`: username + password → bearer token.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::json::Json;
use crate::app::AppState;
use crate::auth::{password, token};
use crate::case::workflow::Role;
use crate::db;
use crate::error::{Error, ErrorBody, Result};
use crate::user;

#[derive(Debug, Deserialize, ToSchema)]
pub struct TokenRequest {
    pub username: String,
    pub password: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TokenResponse {
    pub token: String,
    pub token_type: String,
    pub expires_at: DateTime<Utc>,
    pub district: String,
    pub roles: Vec<Role>,
    pub department: Option<String>,
}

/// A real hash of nothing useful, so an unknown username costs the same time as a wrong
/// password and does not reveal which usernames exist.
static DUMMY_HASH: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| password::hash("no such user").unwrap_or_default());

/// Sign in.
#[utoipa::path(post, path = "/api/v1/auth/token", tag = "auth", request_body = TokenRequest,
    responses((status = 200, body = TokenResponse), (status = 401, body = ErrorBody)))]
pub async fn issue_token(
    state: web::Data<AppState>,
    body: Json<TokenRequest>,
) -> Result<HttpResponse> {
    let TokenRequest {
        username,
        password: pw,
    } = body.0;
    let found = db::run(&state.pool, move |conn| {
        let user = user::find_by_username(conn, &username)?;
        let ok = match &user {
            Some(u) => password::verify(&pw, &u.password_hash),
            None => {
                password::verify(&pw, &DUMMY_HASH);
                false
            }
        };
        Ok(user.filter(|_| ok))
    })
    .await?;
    let user = found.ok_or_else(|| Error::unauthenticated("unknown user or wrong password"))?;
    let now = Utc::now();
    let ttl = Duration::minutes(state.tenant.config.auth.token_ttl_minutes);
    let claims = token::claims_for(
        user.id,
        &user.username,
        state.tenant.code(),
        user.roles.clone(),
        user.department_code.clone(),
        now,
        ttl,
    );
    let signed = state.keys.issue(&claims)?;
    Ok(HttpResponse::Ok().json(TokenResponse {
        token: signed,
        token_type: "Bearer".into(),
        expires_at: now + ttl,
        district: claims.district,
        roles: claims.roles,
        department: claims.department,
    }))
}
