//! Bearer tokens (HS256 JWT) and the extractors that turn them into a `Caller`.
//!
//! A token names its district; an instance accepts only its own district's tokens,
//! so a valid login in one district is worth nothing in another.

use std::future::{Ready, ready};

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use chrono::{DateTime, Duration, Utc};
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
    pub iat: i64,
    pub exp: i64,
}

pub use citygrid_kit::token::{Keys, bearer};

pub fn claims_for(
    user_id: Uuid,
    username: &str,
    district: &str,
    roles: Vec<Role>,
    department: Option<String>,
    now: DateTime<Utc>,
    ttl: Duration,
) -> Claims {
    Claims {
        sub: user_id,
        username: username.to_owned(),
        district: district.to_owned(),
        roles,
        department,
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

fn caller_from(req: &HttpRequest) -> Result<Option<Caller>> {
    let Some(token) = bearer(req)? else {
        return Ok(None);
    };
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| Error::internal("application state missing"))?;
    let claims: Claims = state.keys.verify(token)?;
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
    Ok(Some(Caller(claims)))
}

impl FromRequest for Caller {
    type Error = Error;
    type Future = Ready<Result<Self>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(caller_from(req).and_then(|c| {
            c.ok_or_else(|| Error::unauthenticated("sign in first: Authorization: Bearer <token>"))
        }))
    }
}

impl FromRequest for MaybeCaller {
    type Error = Error;
    type Future = Ready<Result<Self>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(caller_from(req).map(MaybeCaller))
    }
}
