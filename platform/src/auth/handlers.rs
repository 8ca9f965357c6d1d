//! `POST /api/v1/auth/token`: username + password → bearer token.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::json::Json;
use crate::app::AppState;
use crate::auth::token;
use crate::case::workflow::Role;
use crate::db;
use crate::error::{ErrorBody, Result};
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

/// Sign in. Failures are throttled per username and per client address (429 with
/// `Retry-After`); see the kit's `login` module and docs/API.md.
#[utoipa::path(post, path = "/api/v1/auth/token", tag = "auth", request_body = TokenRequest,
    responses((status = 200, body = TokenResponse), (status = 401, body = ErrorBody),
        (status = 429, body = ErrorBody, description = "too many failed sign-ins; see `Retry-After`"),
        (status = 503, body = ErrorBody, description = "every password check is busy")))]
pub async fn issue_token(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: Json<TokenRequest>,
) -> Result<HttpResponse> {
    let TokenRequest {
        username,
        password: pw,
    } = body.0;
    // The row is read on the blocking pool and its connection returned before the
    // password is checked (under the gate's memory budget).
    let name = username.clone();
    let lookup = db::run(&state.pool, move |conn| {
        Ok(user::find_by_username(conn, &name)?.map(|u| {
            let hash = u.password_hash.clone();
            (u, hash)
        }))
    });
    let client = state.login.client(&request);
    let user = state.login.sign_in(client, &username, pw, lookup).await?;
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
