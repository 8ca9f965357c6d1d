//! `POST /api/v1/auth/token`: username + password → an access token and a session;
//! `/auth/refresh` rotates the session's refresh token, `/auth/logout` ends the session,
//! and an admin revokes a user's tokens with `POST /api/v1/users/{username}/revoke-tokens`.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use citygrid_kit::http::Path;
use citygrid_kit::session::{self, Refresh, RefreshRequest};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::json::Json;
use crate::app::AppState;
use crate::auth::{Caller, token};
use crate::case::workflow::Role;
use crate::db;
use crate::error::{ErrorBody, Result};
use crate::user::{self, User};

#[derive(Debug, Deserialize, ToSchema)]
pub struct TokenRequest {
    pub username: String,
    pub password: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TokenResponse {
    /// The access token (HS256 JWT): `Authorization: Bearer <token>`, until `expires_at`.
    pub token: String,
    pub token_type: String,
    pub expires_at: DateTime<Utc>,
    /// Opaque; `POST /auth/refresh` trades it, once, for a new pair.
    pub refresh_token: String,
    /// When the session ends (sign-in + `[auth] refresh_ttl_minutes`); refreshing does not
    /// move it.
    pub refresh_expires_at: DateTime<Utc>,
    pub district: String,
    pub roles: Vec<Role>,
    pub department: Option<String>,
}

/// An access token for `user` (at their current token version) and the session's refresh.
fn respond(state: &AppState, user: &User, refresh: Refresh) -> Result<HttpResponse> {
    let now = Utc::now();
    let ttl = state.tenant.config.auth.access_ttl();
    let claims = token::claims_for(
        user.id,
        &user.username,
        state.tenant.code(),
        user.roles.clone(),
        user.department_code.clone(),
        user.token_version,
        now,
        ttl,
    );
    let signed = state.keys.issue(&claims)?;
    state.versions.remember(user.id, user.token_version);
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(TokenResponse {
            token: signed,
            token_type: "Bearer".into(),
            expires_at: now + ttl,
            refresh_token: refresh.token,
            refresh_expires_at: refresh.expires_at,
            district: claims.district,
            roles: claims.roles,
            department: claims.department,
        }))
}

/// Sign in: an access token (`[auth] token_ttl_minutes`, 15) and a session's first
/// refresh token (`refresh_ttl_minutes`, 8 h). Failures are throttled per username and per
/// client address (429 with `Retry-After`); see the kit's `login` module and docs/API.md.
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
    let (id, version, life) = (
        user.id,
        user.token_version,
        state.tenant.config.auth.session_ttl(),
    );
    let refresh = db::run(&state.pool, move |conn| {
        Ok(session::start(conn, id, version, Utc::now(), life)?)
    })
    .await?;
    respond(&state, &user, refresh)
}

/// Trades a refresh token for a new access token and the session's next refresh token
/// (the one presented is spent). A spent one presented again revokes the whole session:
/// 401 for it and for the session's newer tokens.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses((status = 200, body = TokenResponse),
        (status = 401, body = ErrorBody, description = "unknown, spent, revoked or expired refresh token")))]
pub async fn refresh_token(
    state: web::Data<AppState>,
    body: Json<RefreshRequest>,
) -> Result<HttpResponse> {
    let presented = body.0.refresh_token;
    let rotated = db::run(&state.pool, move |conn| {
        session::rotate(conn, &presented, Utc::now(), |conn, id| {
            Ok(user::find_by_id(conn, id)?.map(|u| {
                let version = u.token_version;
                (u, version)
            }))
        })
    })
    .await?;
    respond(&state, &rotated.user, rotated.refresh)
}

/// Signs out: ends the session of the refresh token (it and every token rotated from it).
/// The access token in hand stays valid until it expires (at most `token_ttl_minutes`);
/// to end every session and token of a user at once, an admin revokes them. Answers 204
/// whether or not the token was known.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", request_body = RefreshRequest,
    responses((status = 204, description = "the session is over")))]
pub async fn logout(
    state: web::Data<AppState>,
    body: Json<RefreshRequest>,
) -> Result<HttpResponse> {
    let presented = body.0.refresh_token;
    db::run(&state.pool, move |conn| {
        Ok(session::end(conn, &presented, Utc::now())?)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Revoked {
    pub username: String,
    /// The user's new token version: tokens of any earlier one are refused.
    pub token_version: i32,
}

/// Revokes every token of a user (admin): their access tokens are refused from now on and
/// their sessions are over; they sign in again. `citygrid user revoke` does the same.
#[utoipa::path(post, path = "/api/v1/users/{username}/revoke-tokens", tag = "auth",
    params(("username" = String, Path)),
    responses((status = 200, body = Revoked), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn revoke_tokens(
    state: web::Data<AppState>,
    caller: Caller,
    path: Path<String>,
) -> Result<HttpResponse> {
    caller.require(Role::Admin)?;
    let username = path.into_inner();
    let user = db::run(&state.pool, move |conn| {
        user::revoke_tokens(conn, &username)
    })
    .await?;
    state.versions.remember(user.id, user.token_version);
    tracing::info!(
        user.name = %user.username,
        user.token_version = user.token_version,
        by = %caller.0.username,
        "tokens revoked"
    );
    Ok(HttpResponse::Ok().json(Revoked {
        username: user.username,
        token_version: user.token_version,
    }))
}
