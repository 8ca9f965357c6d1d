//! The platform's one error type, and its HTTP face.
//!
//! Every error a client can see carries a stable snake_case `code`, a message safe to
//! show, and the offending `field` when there is one. Internals are logged, never sent.

use actix_web::{HttpResponse, ResponseError, http::StatusCode};
use serde::Serialize;
use utoipa::ToSchema;

use crate::case::workflow::{State, WorkflowError};

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
    #[error(transparent)]
    Workflow(#[from] WorkflowError),
    /// The caller acted on a version of the case that is no longer current.
    #[error("the case changed since you read it: it is now version {version}, {}", state.as_str())]
    StaleVersion { version: i32, state: State },
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("upload is larger than the limit of {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("unsupported media type: {0}")]
    UnsupportedMedia(String),
    #[error("service temporarily unavailable: {0}")]
    Unavailable(String),
    #[error("configuration error in {file}: {key}: {message}")]
    Config {
        file: String,
        key: String,
        message: String,
    },
    #[error("database error: {0}")]
    Database(#[from] diesel::result::Error),
    #[error("database pool: {0}")]
    Pool(#[from] r2d2::Error),
    #[error("migration failed: {0}")]
    Migration(String),
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
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

    fn code(&self) -> &'static str {
        match self {
            Error::MalformedJson(_) => "malformed_json",
            Error::Invalid { .. } => "invalid_field",
            Error::Unauthenticated(_) => "unauthenticated",
            Error::Forbidden { code, .. } | Error::Conflict { code, .. } => code,
            Error::NotFound(_) => "not_found",
            Error::Workflow(e) => match e {
                WorkflowError::WrongRole { .. } => "wrong_role",
                WorkflowError::Illegal { .. } => "illegal_transition",
                WorkflowError::VerificationRequired { .. } => "verification_required",
                WorkflowError::NotConfirmed => "verification_not_confirmed",
                WorkflowError::CallbackRequired { .. } => "callback_required",
                WorkflowError::NoCallback => "callback_not_applicable",
                WorkflowError::RequestPending(_) => "request_pending",
                WorkflowError::NothingToDecide(_) => "nothing_to_decide",
                WorkflowError::NoSupervisionOrder => "no_supervision_order",
            },
            Error::StaleVersion { .. } => "stale_version",
            Error::PayloadTooLarge { .. } => "payload_too_large",
            Error::UnsupportedMedia(_) => "unsupported_media_type",
            Error::Unavailable(_) | Error::Pool(_) => "unavailable",
            Error::Database(diesel::result::Error::NotFound) => "not_found",
            Error::Database(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            )) => "conflict",
            Error::Config { .. }
            | Error::Database(_)
            | Error::Migration(_)
            | Error::Io(_)
            | Error::Internal(_) => "internal",
        }
    }

    /// The case state a 409 reports, so a client can refresh without another request.
    fn current_state(&self) -> Option<State> {
        match self {
            Error::Workflow(WorkflowError::Illegal { state, .. }) => Some(*state),
            Error::StaleVersion { state, .. } => Some(*state),
            _ => None,
        }
    }
}

/// `{"error": {...}}`: the one error shape of the API.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable, snake_case: clients branch on this, not on the message.
    pub code: String,
    pub message: String,
    /// The request field at fault (JSON path such as `category.major`), when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// For 409 on a case: the state the case is in now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_state: Option<State>,
}

impl ResponseError for Error {
    fn status_code(&self) -> StatusCode {
        match self {
            Error::MalformedJson(_) => StatusCode::BAD_REQUEST,
            Error::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Error::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            Error::Forbidden { .. } | Error::Workflow(WorkflowError::WrongRole { .. }) => {
                StatusCode::FORBIDDEN
            }
            Error::NotFound(_) | Error::Database(diesel::result::Error::NotFound) => {
                StatusCode::NOT_FOUND
            }
            Error::Workflow(_) | Error::StaleVersion { .. } | Error::Conflict { .. } => {
                StatusCode::CONFLICT
            }
            Error::Database(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            )) => StatusCode::CONFLICT,
            Error::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Error::UnsupportedMedia(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Error::Unavailable(_) | Error::Pool(_) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let message = if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
            match status {
                StatusCode::SERVICE_UNAVAILABLE => {
                    "service temporarily unavailable, retry later".to_owned()
                }
                _ => "internal error; it has been logged".to_owned(),
            }
        } else if let Error::Database(diesel::result::Error::NotFound) = self {
            "not found".to_owned()
        } else if let Error::Database(_) = self {
            "conflicts with existing data".to_owned()
        } else {
            self.to_string()
        };
        let field = match self {
            Error::Invalid { field, .. } => Some(field.clone()),
            _ => None,
        };
        HttpResponse::build(status).json(ErrorBody {
            error: ErrorDetail {
                code: self.code().to_owned(),
                message,
                field,
                current_state: self.current_state(),
            },
        })
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
