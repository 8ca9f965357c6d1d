//! The bodies of the step endpoints, and how each becomes a domain step
//! ([`StepRequest`]): one `From` (or `into_step` for the bodies several steps share) per
//! body, so the handlers stay one line each.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::case::steps::{RejectReason, Step, StepRequest, SupervisionLevel, Urgency};
use crate::case::text;
use crate::catalogue::CategoryRef;

/// Fields every step carries.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StepBody {
    /// The case version you saw; a newer one makes the step fail with 409 `stale_version`.
    pub version: i32,
    #[serde(default, deserialize_with = "text::comment_opt")]
    pub comment: Option<String>,
    /// SHA-256 of photos uploaded to `/api/v1/media` (at most 20).
    #[serde(default, deserialize_with = "text::photos")]
    pub media: Vec<String>,
}

impl StepBody {
    /// The request for a step that needs nothing beyond the common fields.
    pub fn into_step(self, step: Step) -> StepRequest {
        StepRequest {
            step,
            version: self.version,
            comment: self.comment,
            media: self.media,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyBody {
    pub version: i32,
    /// Did the supervisor find the reported problem on site?
    pub confirmed: bool,
    #[serde(default, deserialize_with = "text::comment_opt")]
    pub comment: Option<String>,
    #[serde(default, deserialize_with = "text::photos")]
    pub media: Vec<String>,
}

impl From<VerifyBody> for StepRequest {
    fn from(b: VerifyBody) -> Self {
        StepRequest {
            step: Step::Verify {
                confirmed: b.confirmed,
            },
            version: b.version,
            comment: b.comment,
            media: b.media,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FileBody {
    pub version: i32,
    pub category: CategoryRef,
    /// The command manual's filing condition (立案条件) of the category, two digits (`01`):
    /// its row gives the limits, the department and the urgency (`urgency` may raise it to
    /// `urgent`, not lower an urgent condition). Omitted: the category's first row of the
    /// urgency asked for (else its first row).
    #[serde(default)]
    #[schema(pattern = r"^[0-9]{2}$", example = "01")]
    pub condition: Option<String>,
    /// Replaces the reporter's description when given (at most 4,000 characters).
    #[serde(default, deserialize_with = "text::description_opt")]
    pub description: Option<String>,
    #[serde(default)]
    pub street: Option<String>,
    #[serde(default)]
    pub urgency: Option<Urgency>,
    #[serde(default, deserialize_with = "text::comment_opt")]
    pub comment: Option<String>,
}

impl From<FileBody> for StepRequest {
    fn from(b: FileBody) -> Self {
        StepRequest {
            step: Step::File {
                category: b.category,
                condition: b.condition,
                description: b.description,
                street: b.street,
                urgency: b.urgency,
            },
            version: b.version,
            comment: b.comment,
            media: Vec::new(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectBody {
    pub version: i32,
    pub reason: RejectReason,
    /// Required when `reason` is `duplicate`.
    #[serde(default)]
    pub duplicate_of: Option<Uuid>,
    #[serde(default, deserialize_with = "text::comment_opt")]
    pub comment: Option<String>,
}

impl From<RejectBody> for StepRequest {
    fn from(b: RejectBody) -> Self {
        StepRequest {
            step: Step::Reject {
                reason: b.reason,
                duplicate_of: b.duplicate_of,
            },
            version: b.version,
            comment: b.comment,
            media: Vec::new(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DispatchBody {
    pub version: i32,
    /// Department code from the tenant file; omitted, the command manual's choice.
    #[serde(default)]
    pub department: Option<String>,
    #[serde(default, deserialize_with = "text::comment_opt")]
    pub comment: Option<String>,
}

impl From<DispatchBody> for StepRequest {
    fn from(b: DispatchBody) -> Self {
        StepRequest {
            step: Step::Dispatch {
                department: b.department,
            },
            version: b.version,
            comment: b.comment,
            media: Vec::new(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    pub version: i32,
    #[serde(deserialize_with = "text::comment")]
    pub reason: String,
}

impl ReasonBody {
    /// The request for a step whose only content is its reason (kept as the comment).
    pub fn into_step(self, step: Step) -> StepRequest {
        StepRequest {
            step,
            version: self.version,
            comment: Some(self.reason),
            media: Vec::new(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckBody {
    pub version: i32,
    /// false sends the case back to the same department (返工); then `comment` is required.
    pub passed: bool,
    #[serde(default, deserialize_with = "text::comment_opt")]
    pub comment: Option<String>,
    #[serde(default, deserialize_with = "text::photos")]
    pub media: Vec<String>,
}

impl From<CheckBody> for StepRequest {
    fn from(b: CheckBody) -> Self {
        StepRequest {
            step: Step::Check { passed: b.passed },
            version: b.version,
            comment: b.comment,
            media: b.media,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallbackBody {
    pub version: i32,
    pub satisfied: bool,
    #[serde(default, deserialize_with = "text::comment_opt")]
    pub comment: Option<String>,
}

impl From<CallbackBody> for StepRequest {
    fn from(b: CallbackBody) -> Self {
        StepRequest {
            step: Step::Callback {
                satisfied: b.satisfied,
            },
            version: b.version,
            comment: b.comment,
            media: Vec::new(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtensionRequestBody {
    pub version: i32,
    /// More time wanted on the running stage's clock (working minutes for most categories).
    pub minutes: i64,
    #[serde(deserialize_with = "text::comment")]
    pub reason: String,
}

impl From<ExtensionRequestBody> for StepRequest {
    fn from(b: ExtensionRequestBody) -> Self {
        StepRequest {
            step: Step::RequestExtension { minutes: b.minutes },
            version: b.version,
            comment: Some(b.reason),
            media: Vec::new(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtensionApprovalBody {
    pub version: i32,
    /// Minutes granted; omitted, what was asked.
    #[serde(default)]
    pub minutes: Option<i64>,
    #[serde(default, deserialize_with = "text::comment_opt")]
    pub comment: Option<String>,
}

impl From<ExtensionApprovalBody> for StepRequest {
    fn from(b: ExtensionApprovalBody) -> Self {
        StepRequest {
            step: Step::ApproveExtension { minutes: b.minutes },
            version: b.version,
            comment: b.comment,
            media: Vec::new(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SuperviseBody {
    pub version: i32,
    pub level: SupervisionLevel,
    /// What the department must do (at most 2,000 characters).
    #[serde(deserialize_with = "text::comment")]
    pub text: String,
    /// When the leader expects it done (RFC 3339).
    pub due_at: DateTime<Utc>,
}

impl From<SuperviseBody> for StepRequest {
    fn from(b: SuperviseBody) -> Self {
        StepRequest {
            step: Step::Supervise {
                level: b.level,
                text: b.text,
                due_at: b.due_at,
            },
            version: b.version,
            comment: None,
            media: Vec::new(),
        }
    }
}
