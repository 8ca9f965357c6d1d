//! The district's uplink to the city exchange (schemas/AMQP.md): every case change writes its
//! interchange messages into an outbox in the same transaction ([`outbox`]); a relay
//! publishes them in seq order with publisher confirms ([`relay`]) and answers the city's
//! commands; [`handlers`] show where it stands.

pub mod digest;
pub mod handlers;
pub mod outbox;
pub mod relay;

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use tokio::sync::Notify;
use utoipa::ToSchema;

use crate::error::Result;
use crate::schema::{exchange_rejections, outbox as outbox_table};

/// Shared between the relay and the HTTP handlers.
#[derive(Debug, Default)]
pub struct Uplink {
    /// Woken after each commit that wrote to the outbox, so the relay does not poll.
    pub wake: Notify,
    connected: AtomicBool,
    last_error: Mutex<Option<String>>,
}

impl Uplink {
    pub fn connected(&self) -> bool {
        self.connected.load(Ordering::Relaxed)
    }

    pub fn last_error(&self) -> Option<String> {
        self.last_error.lock().map(|e| e.clone()).unwrap_or(None)
    }

    fn set_connected(&self) {
        self.connected.store(true, Ordering::Relaxed);
        if let Ok(mut e) = self.last_error.lock() {
            *e = None;
        }
    }

    fn set_disconnected(&self, error: String) {
        self.connected.store(false, Ordering::Relaxed);
        if let Ok(mut e) = self.last_error.lock() {
            *e = Some(error);
        }
    }
}

/// Where the district's stream to the city stands.
#[derive(Debug, Serialize, ToSchema)]
pub struct Status {
    pub district: String,
    /// Whether an exchange is configured at all (`[exchange]` in the tenant file).
    pub configured: bool,
    pub broker_connected: bool,
    /// Why the last connection attempt or session failed, while disconnected.
    pub last_error: Option<String>,
    /// The newest seq written.
    pub last_seq: i64,
    /// Every seq up to here is confirmed by the broker.
    pub last_confirmed: i64,
    /// Messages written and not yet confirmed.
    pub backlog: i64,
    /// When the oldest unconfirmed message was written.
    pub oldest_unsent_at: Option<DateTime<Utc>>,
    /// Messages the city refused (see `/exchange/rejections`), and when the last came.
    pub rejections: i64,
    pub last_rejection_at: Option<DateTime<Utc>>,
    /// Of those, photos the city could not verify (`media_mismatch`): an alarm, the
    /// photo's bytes in this district's store do not match what it announced.
    pub media_mismatches: i64,
}

pub fn status(
    conn: &mut PgConnection,
    district: &str,
    configured: bool,
    link: &Uplink,
) -> Result<Status> {
    let last_seq = outbox::last_seq(conn)?;
    let (first_unsent, backlog, oldest): (Option<i64>, i64, Option<DateTime<Utc>>) =
        outbox_table::table
            .filter(outbox_table::sent_at.is_null())
            .select((
                diesel::dsl::min(outbox_table::seq),
                diesel::dsl::count_star(),
                diesel::dsl::min(outbox_table::created_at),
            ))
            .first(conn)?;
    let (rejections, last_rejection_at): (i64, Option<DateTime<Utc>>) = exchange_rejections::table
        .select((
            diesel::dsl::count_star(),
            diesel::dsl::max(exchange_rejections::received_at),
        ))
        .first(conn)?;
    let media_mismatches: i64 = exchange_rejections::table
        .filter(exchange_rejections::code.eq("media_mismatch"))
        .count()
        .get_result(conn)?;
    Ok(Status {
        district: district.to_owned(),
        configured,
        broker_connected: link.connected(),
        last_error: link.last_error(),
        last_seq,
        last_confirmed: first_unsent.map_or(last_seq, |s| s - 1),
        backlog,
        oldest_unsent_at: oldest,
        rejections,
        last_rejection_at,
        media_mismatches,
    })
}

/// A message the city refused (拒收通知), as received.
#[derive(Debug, Clone, Queryable, Selectable, Serialize, ToSchema)]
#[diesel(table_name = exchange_rejections)]
pub struct StoredRejection {
    pub id: i64,
    pub received_at: DateTime<Utc>,
    /// The refused message's AMQP message id (`<district>-<seq>`).
    pub message_id: Option<String>,
    pub kind: Option<String>,
    pub seq: Option<i64>,
    /// See the standard's `RejectionCode`.
    pub code: String,
    pub message: String,
    pub field: Option<String>,
}

/// The newest rejections first; with `before`, those older than that id.
pub fn rejections(
    conn: &mut PgConnection,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<StoredRejection>> {
    let mut query = exchange_rejections::table.into_boxed();
    if let Some(before) = before {
        query = query.filter(exchange_rejections::id.lt(before));
    }
    Ok(query
        .order(exchange_rejections::id.desc())
        .limit(limit)
        .select(StoredRejection::as_select())
        .load(conn)?)
}
