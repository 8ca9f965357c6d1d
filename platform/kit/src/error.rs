//! The kit's one error type: the failures every HTTP service of CityGrid shares, with the
//! status and stable `code` each one answers with (see [`crate::http`]).
//!
//! A crate with domain errors of its own (the platform's workflow, the exchange's broker)
//! wraps this one and adds its variants; the envelope stays the same on both sides.

use actix_web::http::StatusCode;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The body is not JSON at all.
    #[error("request body is not valid JSON: {0}")]
    MalformedJson(String),
    /// A field is missing, of the wrong type, or has a value the domain refuses.
    #[error("{message}")]
    Invalid { field: String, message: String },
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{message}")]
    Forbidden { code: &'static str, message: String },
    #[error("{0} not found")]
    NotFound(String),
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("upload is larger than the limit of {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("unsupported media type: {0}")]
    UnsupportedMedia(String),
    /// A query parameter the endpoint does not define (a misspelt filter is not ignored).
    #[error("unknown query parameter `{0}`")]
    UnknownParameter(String),
    /// A route exists for the path, with other methods.
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("service temporarily unavailable: {0}")]
    Unavailable(String),
    /// Too many failed sign-ins: 429 with `Retry-After` (see [`Error::retry_after`]).
    #[error("{message}")]
    TooManyAttempts {
        message: String,
        retry_after_secs: u64,
    },
    /// Over a rate limit (anonymous reports and uploads, staff writes): 429 with
    /// `Retry-After`.
    #[error("{message}")]
    RateLimited {
        message: String,
        retry_after_secs: u64,
    },
    #[error("configuration error in {file}: {key}: {message}")]
    Config {
        file: String,
        key: String,
        message: String,
    },
    #[error("database error: {0}")]
    Database(#[from] DieselError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Error::Forbidden {
            code,
            message: message.into(),
        }
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Error::Conflict {
            code,
            message: message.into(),
        }
    }

    pub fn config(
        file: impl Into<String>,
        key: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Error::Config {
            file: file.into(),
            key: key.into(),
            message: message.into(),
        }
    }

    /// Stable, snake_case: clients branch on this, not on the message.
    pub fn code(&self) -> &'static str {
        match self {
            Error::MalformedJson(_) => "malformed_json",
            Error::Invalid { .. } => "invalid_field",
            Error::Unauthenticated(_) => "unauthenticated",
            Error::Forbidden { code, .. } | Error::Conflict { code, .. } => code,
            Error::NotFound(_) | Error::Database(DieselError::NotFound) => "not_found",
            Error::PayloadTooLarge { .. } => "payload_too_large",
            Error::UnsupportedMedia(_) => "unsupported_media_type",
            Error::UnknownParameter(_) => "unknown_parameter",
            Error::MethodNotAllowed(_) => "method_not_allowed",
            Error::Unavailable(_) => "unavailable",
            Error::TooManyAttempts { .. } => "too_many_attempts",
            Error::RateLimited { .. } => "rate_limited",
            Error::Database(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
                "conflict"
            }
            Error::Config { .. } | Error::Database(_) | Error::Internal(_) => "internal",
        }
    }

    /// A real status per failure, never "everything is 400".
    pub fn status(&self) -> StatusCode {
        match self {
            Error::MalformedJson(_) | Error::UnknownParameter(_) => StatusCode::BAD_REQUEST,
            Error::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Error::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Error::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            Error::Forbidden { .. } => StatusCode::FORBIDDEN,
            Error::NotFound(_) | Error::Database(DieselError::NotFound) => StatusCode::NOT_FOUND,
            Error::Conflict { .. }
            | Error::Database(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
                StatusCode::CONFLICT
            }
            Error::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Error::UnsupportedMedia(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Error::TooManyAttempts { .. } | Error::RateLimited { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            Error::Config { .. } | Error::Database(_) | Error::Internal(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    /// The message a client may see: internals stay in the log.
    pub fn public_message(&self) -> String {
        match self {
            Error::Database(DieselError::NotFound) => "not found".to_owned(),
            Error::Database(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
                "conflicts with existing data".to_owned()
            }
            Error::Unavailable(_) => "service temporarily unavailable, retry later".to_owned(),
            Error::Config { .. } | Error::Database(_) | Error::Internal(_) => {
                "internal error; it has been logged".to_owned()
            }
            other => other.to_string(),
        }
    }

    /// The request field at fault, when there is one.
    pub fn field(&self) -> Option<&str> {
        match self {
            Error::Invalid { field, .. } | Error::UnknownParameter(field) => Some(field),
            _ => None,
        }
    }

    /// Seconds for the `Retry-After` header, when the client should wait that long.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Error::TooManyAttempts {
                retry_after_secs, ..
            }
            | Error::RateLimited {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            _ => None,
        }
    }
}

impl From<tokio::task::JoinError> for Error {
    fn from(e: tokio::task::JoinError) -> Self {
        Error::Internal(format!("blocking task failed: {e}"))
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::Internal(format!("JSON: {e}"))
    }
}
