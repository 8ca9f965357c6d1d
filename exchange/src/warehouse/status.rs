//! Where each district's stream stands in the warehouse, one row per district: for
//! `citygrid city status`, the city API and its /metrics.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

use crate::error::Result;

/// Where one district's stream stands in the warehouse.
#[derive(Debug, Clone, Serialize, QueryableByName, utoipa::ToSchema)]
pub struct DistrictStatus {
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub district: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub name: String,
    /// Every seq up to here is applied.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub last_contiguous_seq: i64,
    /// Messages received ahead of a gap, waiting for it to be filled.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub waiting: i64,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>)]
    pub last_received_at: Option<DateTime<Utc>>,
    /// Seconds between the newest applied message's `sent_at` and its arrival.
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Double>)]
    pub lag_seconds: Option<f64>,
    /// Stream messages received in the last minute, per second.
    #[diesel(sql_type = diesel::sql_types::Double)]
    pub messages_per_second: f64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub cases: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub records: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub media_verified: i64,
    /// Photos whose bytes never arrived or never matched, no longer asked for: an alarm.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub media_unrepaired: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub rejections: i64,
    /// Refused deliveries sent to the dead-letter queue.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub dead_letters: i64,
    /// The newest compared digest: its day and whether the warehouse matched.
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Date>)]
    pub last_digest_day: Option<chrono::NaiveDate>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Bool>)]
    pub last_digest_matches: Option<bool>,
}

/// Every district's stream status.
pub fn status(conn: &mut PgConnection) -> Result<Vec<DistrictStatus>> {
    Ok(diesel::sql_query(
        "SELECT d.code AS district, d.name, d.cursor AS last_contiguous_seq, \
            (SELECT count(*) FROM stream s WHERE s.district = d.code AND s.seq > d.cursor) AS waiting, \
            d.last_received_at, \
            (SELECT extract(epoch FROM s.received_at - (s.envelope->>'sent_at')::timestamptz)::float8 \
               FROM stream s WHERE s.district = d.code AND s.seq = d.cursor) AS lag_seconds, \
            (SELECT count(*) FROM stream s WHERE s.district = d.code \
               AND s.received_at > now() - interval '1 minute')::float8 / 60 AS messages_per_second, \
            (SELECT count(*) FROM cases c WHERE c.district = d.code) AS cases, \
            (SELECT count(*) FROM records r WHERE r.district = d.code) AS records, \
            (SELECT count(*) FROM media m WHERE m.first_district = d.code AND m.verified_at IS NOT NULL) AS media_verified, \
            (SELECT count(*) FROM media m WHERE m.first_district = d.code AND m.verified_at IS NULL \
               AND m.given_up_at IS NOT NULL) AS media_unrepaired, \
            (SELECT count(*) FROM rejections j WHERE j.district = d.code) AS rejections, \
            (SELECT count(*) FROM rejections j WHERE j.district = d.code AND j.dead_lettered) AS dead_letters, \
            g.day AS last_digest_day, g.matches AS last_digest_matches \
         FROM districts d LEFT JOIN LATERAL ( \
            SELECT day, matches FROM digests WHERE district = d.code AND compared_at IS NOT NULL \
            ORDER BY day DESC, seq DESC LIMIT 1) g ON TRUE \
         ORDER BY d.code",
    )
    .load(conn)?)
}
