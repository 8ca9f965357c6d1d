//! The CityGrid interchange standard, version 1 (数字城管数据交换标准 v1).
//!
//! Everything a district and the city say to each other over AMQP is one JSON
//! [`Envelope`] whose `kind` names the body. The Rust types here are the source of truth;
//! `schemas/json/v1/` holds the JSON Schema generated from them (one file per kind) and
//! `schemas/examples/` one example message per kind, so a district running another
//! vendor's system can join with those files and any AMQP 0-9-1 client. The transport is
//! described in `schemas/AMQP.md` and written down as data in [`amqp`]; the category
//! catalogue both sides check against is read by [`catalogue`].
//!
//! Compatibility rules: readers ignore fields they do not know (no type here denies
//! unknown fields), so a later minor revision can add optional fields; a new `kind` is
//! added under the same `schema` and a reader answers a kind it does not know with a
//! [`Rejection`] (`unknown_kind`) instead of failing. Changing or removing a field, or a
//! value of an enumeration, needs `citygrid.interchange/v2`.

pub mod amqp;
mod case;
pub mod catalogue;
pub mod component_id;
mod control;
pub mod details;
pub mod json;
mod media;
mod report;

pub use case::*;
pub use control::*;
pub use media::*;
pub use report::*;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The JSON path (`body.location.lat`) of what serde could not read under `root`, as a
/// rejection's `field` names it. serde names a missing member only in its message, so the
/// member is appended: `body.state`, not `body`.
pub fn field_path(root: &str, error: &serde_path_to_error::Error<serde_json::Error>) -> String {
    let mut path = match error.path().to_string() {
        p if p == "." => root.to_owned(),
        p => format!("{root}.{p}"),
    };
    if let Some(member) = error
        .inner()
        .to_string()
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next())
    {
        path = format!("{path}.{member}");
    }
    path
}

/// The value of every envelope's `schema` field in this version.
pub const SCHEMA: &str = "citygrid.interchange/v1";

/// The largest message, envelope included, that either side publishes or accepts: 512 KiB.
/// Media bytes travel in chunks of [`MEDIA_CHUNK_BYTES`] so a chunk message stays below it.
pub const MAX_MESSAGE_BYTES: usize = 512 * 1024;

/// What an envelope carries. The snake_case name is the `kind` field, the last part of the
/// routing key and the AMQP `type` property.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// 案件快照 (district → city): the whole case after a change.
    CaseSnapshot,
    /// 办理记录 (district → city): one step of the loop.
    BusinessRecord,
    /// 媒体清单 (district → city): a photo's hash, size and type, after its chunks.
    MediaManifest,
    /// 媒体分片 (district → city): bytes of a photo.
    MediaChunk,
    /// 补发请求 (city → district): send again from a sequence number.
    SyncRequest,
    /// 补发批次 (district → city): the messages a sync request asked for.
    SyncBatch,
    /// 督办单 (city → district).
    SupervisionOrder,
    /// 督办签收 (district → city).
    SupervisionAck,
    /// 日对账摘要 (district → city): what the district holds for one day.
    ReconciliationDigest,
    /// 拒收通知 (city → district): a message the city could not accept, and why.
    Rejection,
    /// 媒体补发请求 (city → district): send the chunks of these photos again.
    MediaRequest,
    /// 上级发现问题 (city → district, since v1.5): a problem the city's supervisors found in
    /// the district, to open as a case of source `city`.
    CityProblem,
    /// 上报处理决定 (city → district, since v1.6): the city's answer to a case the district
    /// referred up (`refer`): sent back to it, or reassigned to another district.
    ReferralDecision,
    /// 月度考核通报 (city → district, since v1.7): the month's appraisal report, the
    /// district's standing and its section's files.
    ReportNotice,
}

impl Kind {
    pub const ALL: [Kind; 14] = [
        Kind::CaseSnapshot,
        Kind::BusinessRecord,
        Kind::MediaManifest,
        Kind::MediaChunk,
        Kind::SyncRequest,
        Kind::SyncBatch,
        Kind::SupervisionOrder,
        Kind::SupervisionAck,
        Kind::ReconciliationDigest,
        Kind::Rejection,
        Kind::MediaRequest,
        Kind::CityProblem,
        Kind::ReferralDecision,
        Kind::ReportNotice,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::CaseSnapshot => "case_snapshot",
            Kind::BusinessRecord => "business_record",
            Kind::MediaManifest => "media_manifest",
            Kind::MediaChunk => "media_chunk",
            Kind::SyncRequest => "sync_request",
            Kind::SyncBatch => "sync_batch",
            Kind::SupervisionOrder => "supervision_order",
            Kind::SupervisionAck => "supervision_ack",
            Kind::ReconciliationDigest => "reconciliation_digest",
            Kind::Rejection => "rejection",
            Kind::MediaRequest => "media_request",
            Kind::CityProblem => "city_problem",
            Kind::ReferralDecision => "referral_decision",
            Kind::ReportNotice => "report_notice",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Whether the district sends it (else the city does).
    pub fn from_district(self) -> bool {
        !matches!(
            self,
            Kind::SyncRequest
                | Kind::SupervisionOrder
                | Kind::Rejection
                | Kind::MediaRequest
                | Kind::CityProblem
                | Kind::ReferralDecision
                | Kind::ReportNotice
        )
    }
}

/// A body type and the kind it travels as.
pub trait Body: Serialize + for<'de> Deserialize<'de> + JsonSchema {
    const KIND: Kind;
}

/// One message. `B` is the body; readers that do not know the kind yet read
/// `Envelope<serde_json::Value>` and look at `kind`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Envelope<B> {
    /// Always `citygrid.interchange/v1`.
    pub schema: String,
    /// What `body` is; see [`Kind`].
    pub kind: Kind,
    /// The district's 6-digit administrative code (e.g. `330102` 上城区): the sender for
    /// district → city kinds, the addressee for city → district kinds. The receiver trusts
    /// the AMQP `user_id` property (checked by the broker), not this field: the two must agree.
    #[schemars(regex(pattern = r"^[0-9]{6}$"))]
    pub district: String,
    /// Position in the sender's stream for this district, from 1, gap-free and strictly
    /// increasing: the district's outbox for district → city kinds, the city's command
    /// stream for city → district kinds. Two district kinds are not stream positions: a
    /// media chunk carries the seq of the manifest that follows it, and a sync batch the
    /// district's newest seq when it answered. The receiver keeps the highest seq it holds
    /// and asks for what is missing ([`SyncRequest`]); a seq it already holds is a
    /// redelivery and is acknowledged without effect.
    #[schemars(range(min = 1))]
    pub seq: u64,
    /// When the sender first wrote the message (UTC, RFC 3339). A replay keeps it.
    pub sent_at: DateTime<Utc>,
    pub body: B,
}

impl<B: Body> Envelope<B> {
    pub fn new(district: &str, seq: u64, sent_at: DateTime<Utc>, body: B) -> Self {
        Envelope {
            schema: SCHEMA.to_owned(),
            kind: B::KIND,
            district: district.to_owned(),
            seq,
            sent_at,
            body,
        }
    }
}

/// The AMQP `message_id` of an outbox message: district and seq, so a redelivery or a
/// replay carries the same id and the receiver can drop it.
pub fn message_id(district: &str, seq: u64) -> String {
    format!("{district}-{seq}")
}
