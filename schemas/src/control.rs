//! Keeping the two sides in step: sync, supervision orders, reconciliation, rejections.

use chrono::{DateTime, NaiveDate, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{Body, Category, Envelope, InlinePhoto, Kind, Point, SupervisionLevel, Urgency};

/// 补发请求: the city asks a district to send its outbox again from `from_seq`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SyncRequest {
    /// Echoed in every batch that answers it.
    pub request_id: Uuid,
    /// The first seq wanted.
    pub from_seq: u64,
    /// The last seq wanted; null for "up to the newest".
    pub to_seq: Option<u64>,
}

impl Body for SyncRequest {
    const KIND: Kind = Kind::SyncRequest;
}

/// 补发批次: outbox messages sent again, in seq order. A large answer is several batches;
/// the last has `last: true`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SyncBatch {
    pub request_id: Uuid,
    /// The original messages, unchanged (same seq, sent_at and body; media chunks are not
    /// replayed: the manifest is, and the city asks for the bytes it lacks).
    pub messages: Vec<Envelope<serde_json::Value>>,
    /// The district no longer holds messages before this seq (retention); null when it
    /// holds everything asked for.
    pub oldest_retained_seq: Option<u64>,
    pub last: bool,
}

impl Body for SyncBatch {
    const KIND: Kind = Kind::SyncBatch;
}

/// 督办单 issued by the city (e.g. escalating a case the district left overdue). The
/// district records it like its own leaders' orders and acknowledges it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SupervisionOrder {
    pub order_id: Uuid,
    pub case_id: Uuid,
    pub level: SupervisionLevel,
    pub text: String,
    /// By when the department must have finished.
    pub due_at: DateTime<Utc>,
    pub issued_at: DateTime<Utc>,
    /// Who issued it at the city (name or office), for the record.
    pub issued_by: String,
}

impl Body for SupervisionOrder {
    const KIND: Kind = Kind::SupervisionOrder;
}

/// 督办签收: the district's department acknowledged an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SupervisionAck {
    pub order_id: Uuid,
    pub case_id: Uuid,
    /// The department that acknowledged it.
    pub department_code: String,
    pub acknowledged_at: DateTime<Utc>,
}

impl Body for SupervisionAck {
    const KIND: Kind = Kind::SupervisionAck;
}

/// 上级发现问题 (since v1.5): a problem the city's own supervisors found in the district's
/// area (the city decides whose by the point and the district boundaries it holds). The
/// district opens it as a case of source `city` under `case_id`, waiting for its operator
/// to file it, and the case flows back like any other; the city counts it as 上级发现.
/// Taking it in twice opens one case.
///
/// Since v1.6 the city also sends a case another district referred up this way, when it
/// reassigns it (`referred_from`): the district takes it like any city problem; the city
/// does not count it as 上级发现.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CityProblem {
    /// The id the case has in the district too, so the city follows it back.
    pub case_id: Uuid,
    /// What the city's supervisor saw, in the district's catalogue edition.
    pub category: Category,
    pub urgency: Urgency,
    pub description: String,
    pub address: Option<String>,
    pub location: Point,
    /// One to three photos, at most 360 KiB together (`CITY_PHOTO_BYTES`); a reassigned
    /// case may carry none (those of the referring district's that fit, since v1.6).
    #[schemars(length(max = 3))]
    pub photos: Vec<InlinePhoto>,
    pub reported_at: DateTime<Utc>,
    /// The city supervisor (name or office), for the record; for a reassigned case, the
    /// city leader who reassigned it.
    pub reported_by: String,
    /// The case another district referred up that this one replaces (since v1.6); absent
    /// for a problem the city's supervisors found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referred_from: Option<CaseRef>,
}

/// A case of one district, as the city names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CaseRef {
    /// The district's code (`330102`).
    #[schemars(regex(pattern = r"^[0-9]{6}$"))]
    pub district: String,
    pub case_id: Uuid,
}

/// What the city decided on a referred case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReferralOutcome {
    /// 退回: the case stays the district's; it goes on where it was (`return_referral`).
    Returned,
    /// 改派: another district takes it (as a `city_problem` with `referred_from`); this one
    /// cancels its case (`cancel` with `reassigned_to`).
    Reassigned,
}

/// 上报处理决定 (since v1.6): the city's answer to a `refer` record (a case the district's
/// shift leader referred up: it spans districts, or it is not the district's). Taking it
/// twice changes the case once: the district applies it only while that referral waits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ReferralDecision {
    pub case_id: Uuid,
    /// The `record_id` of the `refer` record decided.
    pub record_id: u64,
    pub outcome: ReferralOutcome,
    /// Present exactly when `outcome` is `reassigned`: the case that replaces this one.
    pub reassigned_to: Option<CaseRef>,
    /// Why, for the record (at most 2,000 characters).
    pub reason: String,
    pub decided_at: DateTime<Utc>,
    /// The city leader (name or office), for the record.
    pub decided_by: String,
}

impl Body for ReferralDecision {
    const KIND: Kind = Kind::ReferralDecision;
}

impl Body for CityProblem {
    const KIND: Kind = Kind::CityProblem;
}

/// 日对账摘要: what the district holds for one local day, so the city can tell whether its
/// copy agrees without comparing every case. It covers the cases *created* on that day
/// (a fixed set), each with its version as of `up_to_seq`: the receiver computes the same
/// from the newest snapshot per case among the messages up to that seq.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ReconciliationDigest {
    /// The district's local calendar day (Asia/Shanghai for the sample city).
    pub day: NaiveDate,
    /// Cases created on that day.
    pub cases: u64,
    /// [`digest_hash`] of those cases' (case id, version) pairs.
    #[schemars(regex(pattern = r"^[0-9a-f]{64}$"))]
    pub sha256: String,
    /// The district's newest outbox seq when the digest was made (nothing committed in
    /// between): the versions are those as of this seq. The digest itself comes right after.
    pub up_to_seq: u64,
}

impl Body for ReconciliationDigest {
    const KIND: Kind = Kind::ReconciliationDigest;
}

/// The reconciliation hash: SHA-256 (lowercase hex) over one line `"<case id>:<version>\n"`
/// per case, the ids lowercase hyphenated and sorted ascending.
pub fn digest_hash(cases: &[(Uuid, u32)]) -> String {
    let mut sorted = cases.to_vec();
    sorted.sort();
    let mut hasher = Sha256::new();
    for (id, version) in sorted {
        hasher.update(format!("{id}:{version}\n"));
    }
    hex::encode(hasher.finalize())
}

/// Why the city refused a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RejectionCode {
    /// Not JSON, or not a v1 envelope.
    Malformed,
    /// The body does not match the kind's schema (see `field`).
    InvalidBody,
    /// A kind this reader does not know.
    UnknownKind,
    /// A city → district kind sent by a district.
    WrongDirection,
    /// The AMQP `user_id` is missing or is not the district's broker user, or the envelope's
    /// `district` differs from it.
    WrongDistrict,
    /// Larger than the maximum message size.
    TooLarge,
    /// The same seq or (case id, version) arrived earlier with different content.
    Conflict,
    /// Media chunks that do not add up to their manifest.
    MediaMismatch,
}

/// 拒收通知: a message the city dead-lettered, and why. The district fixes the cause and
/// sends again; nothing it sent before is changed by a rejection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Rejection {
    /// The AMQP `message_id` of the refused message, when it had one.
    pub message_id: Option<String>,
    /// Its kind, when readable.
    pub kind: Option<String>,
    /// Its seq, when readable.
    pub seq: Option<u64>,
    pub code: RejectionCode,
    /// For people.
    pub message: String,
    /// The JSON path of the offending field, when there is one (e.g. `body.location.lon`).
    pub field: Option<String>,
}

impl Body for Rejection {
    const KIND: Kind = Kind::Rejection;
}

/// The UTC instants a local day starts and ends (a digest's `day` is the district's local
/// day: cases whose `created_at` falls in `[start, end)`). `None` only for a day at the
/// edge of chrono's range or a zone without a midnight that day.
pub fn day_bounds<Z: chrono::TimeZone>(
    zone: &Z,
    day: chrono::NaiveDate,
) -> Option<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>)> {
    let start = |d: chrono::NaiveDate| {
        zone.from_local_datetime(&d.and_hms_opt(0, 0, 0)?)
            .earliest()
            .map(|t| t.with_timezone(&chrono::Utc))
    };
    Some((start(day)?, start(day.succ_opt()?)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amqp_md_shows_the_digest_bytes_this_function_hashes() {
        let page = include_str!("../AMQP.md");
        let a: Uuid = "5c1e9b7a-3f2d-4e8c-a6b0-9d4f2e7c1b58"
            .parse()
            .expect("uuid");
        let b: Uuid = "0a8f4c2e-6b1d-4f3a-9c7e-2d5b8e1f0a36"
            .parse()
            .expect("uuid");
        let hash = digest_hash(&[(a, 3), (b, 7)]);
        assert!(page.contains(&hash), "AMQP.md must show {hash}");
        assert!(page.contains(&format!("{b}:7\n{a}:3\n")));
        assert!(page.contains(&digest_hash(&[])));
    }

    #[test]
    fn the_digest_does_not_depend_on_order_but_on_every_version() {
        let a = Uuid::from_u128(1);
        let b = Uuid::from_u128(2);
        let one = digest_hash(&[(a, 3), (b, 1)]);
        assert_eq!(one, digest_hash(&[(b, 1), (a, 3)]));
        assert_ne!(one, digest_hash(&[(a, 4), (b, 1)]));
        assert_eq!(
            digest_hash(&[]),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
