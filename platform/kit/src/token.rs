//! Bearer tokens (HS256 JWT): signing and checking keys, and reading the header. Each side
//! has its own claims (a district's name the district, the city's the city), so the keys
//! are generic over them.

use actix_web::HttpRequest;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};

pub struct Keys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl Keys {
    pub fn new(secret: &[u8]) -> Keys {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 30;
        Keys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
        }
    }

    pub fn issue<C: Serialize>(&self, claims: &C) -> Result<String> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .map_err(|e| Error::Internal(format!("cannot sign token: {e}")))
    }

    /// Checks signature and expiry.
    pub fn verify<C: DeserializeOwned>(&self, token: &str) -> Result<C> {
        jsonwebtoken::decode::<C>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| Error::Unauthenticated(format!("invalid token: {e}")))
    }
}

/// Never prints the key.
impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(..)")
    }
}

/// The bearer token of a request, if it has one; a header that is there but not a bearer
/// token is refused rather than ignored.
pub fn bearer(req: &HttpRequest) -> Result<Option<&str>> {
    let Some(header) = req.headers().get(actix_web::http::header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = header
        .to_str()
        .map_err(|_| Error::Unauthenticated("Authorization header is not ASCII".into()))?;
    value
        .strip_prefix("Bearer ")
        .map(|t| Some(t.trim()))
        .ok_or_else(|| Error::Unauthenticated("Authorization must be `Bearer <token>`".into()))
}
