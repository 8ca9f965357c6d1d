//! The platform's one error type, and its HTTP face.
//!
//! The failures every CityGrid API shares (bad JSON, a missing field, no token, not found,
//! a full pool…) are the kit's, with their status and code; this enum adds the district's
//! own: the workflow's refusals and stale versions, which answer 409 with the case's
//! `current_state`, and the I/O of start-up.

use actix_web::{HttpResponse, ResponseError, http::StatusCode};
use citygrid_kit::http::{ErrorDetail, error_response};

use crate::calendar::CalendarError;
use crate::case::workflow::{State, WorkflowError};

pub use citygrid_kit::http::ErrorBody;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The kit's error, re-exported for matching (`Error::Kit(Kit::Invalid { .. })`).
pub use citygrid_kit::Error as Kit;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Kit(#[from] Kit),
    #[error(transparent)]
    Workflow(#[from] WorkflowError),
    /// The caller acted on a version of the case that is no longer current.
    #[error("the case changed since you read it: it is now version {version}, {}", state.as_str())]
    StaleVersion { version: i32, state: State },
    /// A working-time deadline the calendar cannot compute: 503 `calendar_not_covered`
    /// when it runs into a year without a holiday file (the message names the year and
    /// the file; nothing is changed).
    #[error(transparent)]
    Calendar(#[from] CalendarError),
    #[error("migration failed: {0}")]
    Migration(String),
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}

impl Error {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Kit::invalid(field, message).into()
    }

    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Kit::forbidden(code, message).into()
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Kit::conflict(code, message).into()
    }

    pub fn config(
        file: impl Into<String>,
        key: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Kit::config(file, key, message).into()
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        Kit::NotFound(what.into()).into()
    }

    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Kit::Unauthenticated(message.into()).into()
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Kit::Unavailable(message.into()).into()
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Kit::Internal(message.into()).into()
    }

    pub fn malformed_json(message: impl Into<String>) -> Self {
        Kit::MalformedJson(message.into()).into()
    }

    pub fn payload_too_large(limit: usize) -> Self {
        Kit::PayloadTooLarge { limit }.into()
    }

    pub fn unsupported_media(message: impl Into<String>) -> Self {
        Kit::UnsupportedMedia(message.into()).into()
    }

    fn code(&self) -> &'static str {
        match self {
            Error::Kit(e) => e.code(),
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
                WorkflowError::Referred => "referred_to_city",
            },
            Error::StaleVersion { .. } => "stale_version",
            Error::Calendar(CalendarError::NotCovered { .. }) => "calendar_not_covered",
            Error::Calendar(CalendarError::NoWorkingTime) | Error::Migration(_) | Error::Io(_) => {
                "internal"
            }
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

impl From<diesel::result::Error> for Error {
    fn from(e: diesel::result::Error) -> Self {
        Kit::Database(e).into()
    }
}

impl From<citygrid_schemas::catalogue::CatalogueError> for Error {
    fn from(e: citygrid_schemas::catalogue::CatalogueError) -> Self {
        Error::config(e.file, e.key, e.message)
    }
}

impl From<tokio::task::JoinError> for Error {
    fn from(e: tokio::task::JoinError) -> Self {
        Kit::from(e).into()
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Kit::from(e).into()
    }
}

impl ResponseError for Error {
    fn status_code(&self) -> StatusCode {
        match self {
            Error::Kit(e) => e.status(),
            Error::Workflow(WorkflowError::WrongRole { .. }) => StatusCode::FORBIDDEN,
            Error::Workflow(_) | Error::StaleVersion { .. } => StatusCode::CONFLICT,
            Error::Calendar(CalendarError::NotCovered { .. }) => StatusCode::SERVICE_UNAVAILABLE,
            Error::Calendar(CalendarError::NoWorkingTime) | Error::Migration(_) | Error::Io(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let message = match self {
            Error::Kit(e) => e.public_message(),
            Error::Calendar(CalendarError::NotCovered { year, file }) => format!(
                "this step needs a working-time deadline in {year}, which the district's \
                 working calendar does not cover: the holiday file {file} is not loaded. \
                 Nothing was changed. The administrator must add the State Council's {year} \
                 holiday arrangement as {file} to calendar.holidays and restart the \
                 district; until then only deadlines before {year} can be set."
            ),
            _ if status.is_server_error() => "internal error; it has been logged".to_owned(),
            other => other.to_string(),
        };
        let response = error_response(
            self,
            status,
            ErrorDetail {
                code: self.code().to_owned(),
                message,
                field: match self {
                    Error::Kit(e) => e.field().map(str::to_owned),
                    _ => None,
                },
                current_state: self.current_state().map(|s| s.as_str().to_owned()),
            },
        );
        match self {
            Error::Kit(e) => citygrid_kit::http::with_retry_after(response, e),
            _ => response,
        }
    }
}
