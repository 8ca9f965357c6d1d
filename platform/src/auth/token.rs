//! Bearer tokens (HS256 JWT) and the extractors that turn them into a `Caller`.
//!
//! A token names its district; an instance accepts only its own district's tokens,
//! so a valid login in one district is worth nothing in another. It also names its user's
//! token version (`ver`): the extractors hold it to the user's current one (the kit's
//! `session::Versions`), so a token of a user that does not exist, or one revoked since it
//! was issued, is refused however well it is signed.

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use futures::future::LocalBoxFuture;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::app::AppState;
use crate::case::workflow::Role;
use crate::error::{Error, Result};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// User id.
    pub sub: Uuid,
    pub username: String,
    /// The district (6-digit code) the token was issued by.
    pub district: String,
    pub roles: Vec<Role>,
    /// For handlers: the one department they act for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// The user's token version when the token was issued (`users.token_version`).
    pub ver: i32,
    pub iat: i64,
    pub exp: i64,
}

pub use citygrid_kit::token::{Keys, bearer};

#[expect(
    clippy::too_many_arguments,
    reason = "the claims, one argument each, named at every call"
)]
pub fn claims_for(
    user_id: Uuid,
    username: &str,
    district: &str,
    roles: Vec<Role>,
    department: Option<String>,
    version: i32,
    now: DateTime<Utc>,
    ttl: Duration,
) -> Claims {
    Claims {
        sub: user_id,
        username: username.to_owned(),
        district: district.to_owned(),
        roles,
        department,
        ver: version,
        iat: now.timestamp(),
        exp: (now + ttl).timestamp(),
    }
}

/// An authenticated user of this district.
#[derive(Debug, Clone)]
pub struct Caller(pub Claims);

impl Caller {
    pub fn has(&self, role: Role) -> bool {
        self.0.roles.contains(&role)
    }

    pub fn require(&self, role: Role) -> Result<()> {
        if self.has(role) {
            Ok(())
        } else {
            Err(Error::forbidden(
                "wrong_role",
                format!("this needs the {} role", role.as_str()),
            ))
        }
    }
}

/// A caller who may also be anonymous (public reports); a bad token is still refused.
#[derive(Debug, Clone)]
pub struct MaybeCaller(pub Option<Caller>);

/// The caller of `req`, if it sends a token: signature, expiry and district first (no
/// database), then the user's token version.
async fn caller_from(
    state: Option<web::Data<AppState>>,
    token: Option<String>,
) -> Result<Option<Caller>> {
    let Some(token) = token else {
        return Ok(None);
    };
    let state = state.ok_or_else(|| Error::internal("application state missing"))?;
    let claims: Claims = state.keys.verify(&token)?;
    if claims.district != state.tenant.code() {
        return Err(Error::forbidden(
            "wrong_district",
            format!(
                "this token belongs to district {}; this is district {}",
                claims.district,
                state.tenant.code()
            ),
        ));
    }
    let (user, pool) = (claims.sub, state.pool.clone());
    state
        .versions
        .admit(user, claims.ver, || {
            crate::db::run(&pool, move |conn| {
                Ok(crate::schema::users::table
                    .find(user)
                    .select(crate::schema::users::token_version)
                    .first::<i32>(conn)
                    .optional()?)
            })
        })
        .await?;
    Ok(Some(Caller(claims)))
}

/// What the extractors take from the request before going async.
fn parts(req: &HttpRequest) -> Result<(Option<web::Data<AppState>>, Option<String>)> {
    let token = bearer(req)?.map(str::to_owned);
    Ok((req.app_data::<web::Data<AppState>>().cloned(), token))
}

impl FromRequest for Caller {
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let parts = parts(req);
        Box::pin(async move {
            let (state, token) = parts?;
            caller_from(state, token).await?.ok_or_else(|| {
                Error::unauthenticated("sign in first: Authorization: Bearer <token>")
            })
        })
    }
}

impl FromRequest for MaybeCaller {
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let parts = parts(req);
        Box::pin(async move {
            let (state, token) = parts?;
            caller_from(state, token).await.map(MaybeCaller)
        })
    }
}
