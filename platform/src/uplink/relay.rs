//! The outbox relay: publishes the outbox in seq order with publisher confirms, marks a
//! message sent only once the broker confirmed it (and everything before it), and serves
//! the city's commands (sync requests, rejections) from the district's command queue.
//!
//! Any failure ends the session: the relay reconnects with backoff and starts again from
//! the first unconfirmed seq, so nothing is skipped and order is kept. A message whose
//! confirm was lost with the connection is published again with the same `message_id`;
//! the city drops it as a redelivery.

use secrecy::ExposeSecret;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use citygrid_schemas::{self as v1, amqp};
use diesel::prelude::*;
use futures::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicPublishOptions,
    ConfirmSelectOptions,
};
use lapin::types::FieldTable;
use lapin::{Channel, Connection, ConnectionProperties};
use uuid::Uuid;

use super::Uplink;
use crate::appraisal::city_reports::Kept;
use crate::case::store::{Decided, Opened, Taken};
use crate::config::{ExchangeSection, Tenant};
use crate::db::{self, DbPool};
use crate::error::{Error, Result};
use crate::media::MediaStore;
use crate::schema::{exchange_rejections, outbox};

/// What every batch answering one sync request carries.
struct Answer {
    request_id: Uuid,
    oldest_retained_seq: Option<u64>,
    last_seq: i64,
}

/// Outbox rows published per round before looking at commands again.
const BATCH: i64 = 200;

fn broker(e: lapin::Error) -> Error {
    Error::unavailable(format!("broker: {e}"))
}

/// Everything one relay needs.
#[derive(Clone)]
pub struct Relay {
    pool: DbPool,
    /// Its code names every message; its calendar and catalogue serve the city's
    /// supervision orders, which change cases (and so write the outbox).
    tenant: Arc<Tenant>,
    config: Arc<ExchangeSection>,
    media: MediaStore,
    link: Arc<Uplink>,
    clock: Arrival,
}

/// When something the city sends arrived, as the district records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// The wall clock: what happens in production.
    Wall,
    /// The time the city stamped on it (an order's issue, a problem's report): for an
    /// instance whose clock is held by `citygrid simulate`, where the city's "now" is the
    /// simulated one and the wall clock is months ahead of it.
    Stamped,
}

impl Relay {
    /// None when the tenant has no `[exchange]` section.
    pub fn new(
        tenant: &Arc<Tenant>,
        pool: DbPool,
        media: MediaStore,
        link: Arc<Uplink>,
    ) -> Option<Relay> {
        let section = tenant.config.exchange.as_ref()?;
        Some(Relay {
            pool,
            tenant: tenant.clone(),
            config: Arc::new(section.clone()),
            media,
            link,
            clock: Arrival::Wall,
        })
    }

    /// Records what the city sends at the time `clock` says (`Arrival::Wall` by default).
    pub fn arriving(self, clock: Arrival) -> Relay {
        Relay { clock, ..self }
    }

    fn arrival(&self, stamped: DateTime<Utc>) -> DateTime<Utc> {
        match self.clock {
            Arrival::Wall => Utc::now(),
            Arrival::Stamped => stamped,
        }
    }

    fn district(&self) -> &str {
        self.tenant.code()
    }

    /// Runs until the process ends: sessions, reconnecting after each failure with a
    /// backoff from 0.5 s doubling to 30 s (back to 0.5 s after a session that connected).
    pub async fn run(self) {
        let mut backoff = Duration::from_millis(500);
        loop {
            let outcome = self.session().await;
            let connected = self.link.connected();
            let error = match outcome {
                Ok(()) => "the broker closed the connection".to_owned(),
                Err(e) => e.to_string(),
            };
            tracing::warn!(district = %self.district(), error = %error, "exchange relay disconnected; retrying");
            self.link.set_disconnected(error);
            if connected {
                backoff = Duration::from_millis(500);
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(30));
        }
    }

    async fn session(&self) -> Result<()> {
        let connection = Connection::connect(
            self.config.uri().expose_secret(),
            ConnectionProperties::default(),
        )
        .await
        .map_err(broker)?;
        let outcome = self.serve(&connection).await;
        // Close explicitly: a dropped lapin connection can linger, holding the commands it
        // took unacknowledged.
        let _ = connection.close(320, "relay restarting".into()).await;
        outcome
    }

    async fn serve(&self, connection: &Connection) -> Result<()> {
        let publish = connection.create_channel().await.map_err(broker)?;
        publish
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(broker)?;
        let commands = connection.create_channel().await.map_err(broker)?;
        let mut consumer = commands
            .basic_consume(
                amqp::command_queue(self.district()).as_str().into(),
                format!("relay-{}", self.district()).as_str().into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(broker)?;
        self.link.set_connected();
        tracing::info!(district = %self.district(), "exchange relay connected");
        let mut last_cleanup = tokio::time::Instant::now() - Duration::from_secs(3600);
        loop {
            // An idle relay touches the broker only through the consumer, which does not
            // always end when the connection is closed under it: look at least once a second.
            if !connection.status().connected() || !publish.status().connected() {
                return Err(Error::unavailable("the broker connection was closed"));
            }
            if self.publish_pending(&publish).await? == BATCH as usize {
                continue;
            }
            if last_cleanup.elapsed() > Duration::from_secs(600) {
                self.clean_up().await?;
                last_cleanup = tokio::time::Instant::now();
            }
            tokio::select! {
                _ = self.link.wake.notified() => {}
                delivery = consumer.next() => match delivery {
                    Some(delivery) => self.command(&publish, delivery.map_err(broker)?).await?,
                    None => return Ok(()),
                },
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }

    /// Connects, publishes the whole backlog and returns how many outbox messages went
    /// out (`citygrid bench relay` times it).
    pub async fn drain(&self) -> Result<usize> {
        let connection = Connection::connect(
            self.config.uri().expose_secret(),
            ConnectionProperties::default(),
        )
        .await
        .map_err(broker)?;
        let channel = connection.create_channel().await.map_err(broker)?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(broker)?;
        let mut total = 0;
        loop {
            let n = self.publish_pending(&channel).await?;
            total += n;
            if n == 0 {
                let _ = connection.close(200, "drained".into()).await;
                return Ok(total);
            }
        }
    }

    async fn publish(
        &self,
        channel: &Channel,
        kind: v1::Kind,
        message_id: &str,
        payload: &[u8],
    ) -> Result<lapin::PublisherConfirm> {
        if payload.len() > v1::MAX_MESSAGE_BYTES {
            return Err(Error::internal(format!(
                "message {message_id} is {} bytes, above the standard's {} byte limit",
                payload.len(),
                v1::MAX_MESSAGE_BYTES
            )));
        }
        channel
            .basic_publish(
                amqp::DISTRICTS_EXCHANGE.into(),
                amqp::district_key(self.district(), kind).as_str().into(),
                BasicPublishOptions {
                    mandatory: true,
                    ..BasicPublishOptions::default()
                },
                payload,
                citygrid_kit::broker::properties(message_id, kind, &self.config.user),
            )
            .await
            .map_err(broker)
    }

    /// Publishes up to `BATCH` unsent rows, pipelined, then waits for their confirms in
    /// order and marks the confirmed prefix sent. Returns how many rows it published.
    async fn publish_pending(&self, channel: &Channel) -> Result<usize> {
        let rows: Vec<(i64, String, String, Option<String>)> = db::run(&self.pool, |conn| {
            Ok(outbox::table
                .filter(outbox::sent_at.is_null())
                .order(outbox::seq.asc())
                .limit(BATCH)
                .select((
                    outbox::seq,
                    outbox::kind,
                    outbox::message,
                    outbox::media_sha256,
                ))
                .load(conn)?)
        })
        .await?;
        let mut pending = Vec::with_capacity(rows.len());
        let mut failure = None;
        for (seq, kind, message, media) in &rows {
            let kind = v1::Kind::parse(kind)
                .ok_or_else(|| Error::internal(format!("outbox row {seq} has kind {kind:?}")))?;
            let sent = async {
                if let Some(sha256) = media {
                    for confirm in self.publish_chunks(channel, *seq, sha256).await? {
                        pending.push((None, confirm));
                    }
                }
                let id = v1::message_id(self.district(), *seq as u64);
                pending.push((
                    Some(*seq),
                    self.publish(channel, kind, &id, message.as_bytes()).await?,
                ));
                Ok::<(), Error>(())
            };
            if let Err(e) = sent.await {
                failure = Some(e);
                break;
            }
        }
        let mut confirmed = None;
        for (seq, confirm) in pending {
            if failure.is_some() {
                break;
            }
            match confirm.await {
                Ok(c) => {
                    let acked = c.is_ack();
                    if acked && c.take_message().is_none() {
                        if seq.is_some() {
                            confirmed = seq;
                        }
                    } else {
                        failure = Some(Error::unavailable(
                            "the broker refused or could not route a message (is the topology provisioned?)",
                        ));
                    }
                }
                Err(e) => failure = Some(broker(e)),
            }
        }
        if let Some(last) = confirmed {
            db::run(&self.pool, move |conn| {
                diesel::update(outbox::table)
                    .filter(outbox::seq.le(last))
                    .filter(outbox::sent_at.is_null())
                    .set(outbox::sent_at.eq(Utc::now()))
                    .execute(conn)?;
                Ok(())
            })
            .await?;
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(rows.len()),
        }
    }

    /// Publishes a photo's chunks (read from the media store) ahead of its manifest.
    async fn publish_chunks(
        &self,
        channel: &Channel,
        seq: i64,
        sha256: &str,
    ) -> Result<Vec<lapin::PublisherConfirm>> {
        // A photo whose file is gone must not stop the stream behind it: the manifest still
        // goes out, and the city sees the photo as incomplete.
        let bytes = match tokio::fs::read(self.media.path(sha256)).await {
            Ok(bytes) => bytes,
            Err(e) => {
                tracing::error!(district = %self.district(), sha256, error = %e, "photo file missing; its manifest goes without chunks");
                return Ok(Vec::new());
            }
        };
        let content_type = crate::media::sniff(&bytes)?;
        let (_, chunks) = v1::split_media(&bytes, content_type, Uuid::nil());
        let sent_at = Utc::now();
        let mut confirms = Vec::with_capacity(chunks.len());
        for chunk in chunks {
            let id = format!(
                "{}-chunk-{}",
                v1::message_id(self.district(), seq as u64),
                chunk.index
            );
            let envelope = v1::Envelope::new(self.district(), seq as u64, sent_at, chunk);
            let payload = serde_json::to_vec(&envelope)?;
            confirms.push(
                self.publish(channel, v1::Kind::MediaChunk, &id, &payload)
                    .await?,
            );
        }
        Ok(confirms)
    }

    /// Handles one command from the city; acknowledges it after its effect is committed,
    /// dead-letters what it cannot read.
    async fn command(&self, channel: &Channel, delivery: lapin::message::Delivery) -> Result<()> {
        let message_id = delivery
            .properties
            .message_id()
            .as_ref()
            .map(|m| m.to_string());
        let envelope: std::result::Result<v1::Envelope<serde_json::Value>, _> =
            serde_json::from_slice(&delivery.data);
        let outcome = match envelope {
            Ok(envelope) if envelope.district == self.district() => match envelope.kind {
                v1::Kind::SyncRequest => match serde_json::from_value(envelope.body) {
                    Ok(request) => self.answer_sync(channel, &request).await.map(|_| true),
                    Err(_) => Ok(false),
                },
                v1::Kind::MediaRequest => match serde_json::from_value(envelope.body) {
                    Ok(request) => self.resend_media(channel, &request).await.map(|_| true),
                    Err(_) => Ok(false),
                },
                v1::Kind::SupervisionOrder => match serde_json::from_value(envelope.body) {
                    Ok(order) => self.take_order(order).await.map(|_| true),
                    Err(_) => Ok(false),
                },
                v1::Kind::CityProblem => match serde_json::from_value(envelope.body) {
                    Ok(problem) => self.take_problem(problem).await,
                    Err(_) => Ok(false),
                },
                v1::Kind::ReferralDecision => match serde_json::from_value(envelope.body) {
                    Ok(decision) => self.take_decision(decision).await,
                    Err(_) => Ok(false),
                },
                v1::Kind::ReportNotice => match serde_json::from_value(envelope.body) {
                    Ok(notice) => self.take_report(notice).await,
                    Err(_) => Ok(false),
                },
                v1::Kind::Rejection => match serde_json::from_value(envelope.body) {
                    Ok(rejection) => {
                        let id = message_id.unwrap_or_else(|| v1::message_id("city", envelope.seq));
                        self.store_rejection(id, rejection).await.map(|_| true)
                    }
                    Err(_) => Ok(false),
                },
                _ => Ok(false),
            },
            _ => Ok(false),
        };
        match outcome? {
            true => delivery
                .ack(BasicAckOptions::default())
                .await
                .map(drop)
                .map_err(broker),
            false => {
                tracing::warn!(district = %self.district(), "unreadable or unsupported command from the city; dead-lettered");
                delivery
                    .nack(BasicNackOptions {
                        requeue: false,
                        ..BasicNackOptions::default()
                    })
                    .await
                    .map(drop)
                    .map_err(broker)
            }
        }
    }

    /// Publishes the chunks of photos the city lacks again, under the seq of their manifest;
    /// photos this district never announced are skipped.
    async fn resend_media(&self, channel: &Channel, request: &v1::MediaRequest) -> Result<()> {
        let wanted = request.sha256.clone();
        let announced: Vec<(String, Option<i64>)> = db::run(&self.pool, move |conn| {
            Ok(crate::schema::media::table
                .filter(crate::schema::media::sha256.eq_any(&wanted))
                .select((
                    crate::schema::media::sha256,
                    crate::schema::media::announced_seq,
                ))
                .load(conn)?)
        })
        .await?;
        let mut confirms = Vec::new();
        for (sha256, seq) in announced {
            if let Some(seq) = seq {
                confirms.extend(self.publish_chunks(channel, seq, &sha256).await?);
            }
        }
        for confirm in confirms {
            if !confirm.await.map_err(broker)?.is_ack() {
                return Err(Error::unavailable("the broker refused a media chunk"));
            }
        }
        Ok(())
    }

    /// Takes a city supervision order into the case (once, however often it is delivered).
    /// An order on a finished or unknown case is acknowledged to the broker and logged:
    /// the city resolves it when it sees the case's end.
    async fn take_order(&self, order: v1::SupervisionOrder) -> Result<()> {
        let tenant = self.tenant.clone();
        let (order_id, case_id) = (order.order_id, order.case_id);
        let now = self.arrival(order.issued_at);
        let taken = db::run(&self.pool, move |conn| {
            crate::case::store::take_city_order(conn, &tenant, &order, now)
        })
        .await?;
        match taken {
            Taken::Applied(_) | Taken::Again => {}
            Taken::Finished(state) => {
                tracing::warn!(district = %self.district(), %order_id, %case_id, ?state, "city supervision order on a finished case; nothing to supervise")
            }
            Taken::Unknown => {
                tracing::warn!(district = %self.district(), %order_id, %case_id, "city supervision order on a case this district does not have")
            }
        }
        Ok(())
    }

    /// Opens a case for a problem the city found (once, however often it is delivered).
    /// One this district cannot take (outside its boundary, a category it does not have)
    /// is dead-lettered with the reason logged: the city sees it stay `sent`.
    async fn take_problem(&self, problem: v1::CityProblem) -> Result<bool> {
        let (tenant, media) = (self.tenant.clone(), self.media.clone());
        let case_id = problem.case_id;
        let now = self.arrival(problem.reported_at);
        let opened = db::run(&self.pool, move |conn| {
            crate::case::store::take_city_problem(conn, &tenant, &media, &problem, now)
        })
        .await?;
        match opened {
            Opened::New => {
                self.link.wake.notify_one();
                Ok(true)
            }
            Opened::Again => Ok(true),
            Opened::Refused(why) => {
                tracing::warn!(district = %self.district(), %case_id, reason = %why, "a city problem this district cannot take");
                Ok(false)
            }
        }
    }

    /// Applies the city's decision on a referred case (once: a decision nothing waits for
    /// changes nothing). A reassignment naming no case is dead-lettered.
    async fn take_decision(&self, decision: v1::ReferralDecision) -> Result<bool> {
        let tenant = self.tenant.clone();
        let case_id = decision.case_id;
        let decided = db::run(&self.pool, move |conn| {
            crate::case::store::take_referral_decision(conn, &tenant, &decision)
        })
        .await?;
        match decided {
            Decided::Applied => {
                self.link.wake.notify_one();
                Ok(true)
            }
            Decided::Again => Ok(true),
            Decided::Unknown => {
                tracing::warn!(district = %self.district(), %case_id, "a referral decision on a case this district does not have");
                Ok(true)
            }
            Decided::Invalid => Ok(false),
        }
    }

    /// Keeps the city's monthly report notice (once per month); one whose files do not
    /// match their hashes is dead-lettered.
    async fn take_report(&self, notice: v1::ReportNotice) -> Result<bool> {
        let month = notice.month.clone();
        let now = self.arrival(notice.published_at);
        let taken = db::run(&self.pool, move |conn| {
            crate::appraisal::city_reports::take(conn, &notice, now)
        })
        .await?;
        match taken {
            Kept::Stored => {
                tracing::info!(district = %self.district(), %month, "the city's monthly report arrived");
                Ok(true)
            }
            Kept::Again => Ok(true),
            Kept::Invalid(why) => {
                tracing::warn!(district = %self.district(), %month, reason = %why, "a report notice this district cannot keep");
                Ok(false)
            }
        }
    }

    async fn store_rejection(&self, rejection_id: String, r: v1::Rejection) -> Result<()> {
        tracing::warn!(district = %self.district(), code = ?r.code, message_id = ?r.message_id, reason = %r.message, "the city rejected a message");
        db::run(&self.pool, move |conn| {
            let code = serde_json::to_value(r.code)?
                .as_str()
                .unwrap_or("unknown")
                .to_owned();
            diesel::insert_into(exchange_rejections::table)
                .values((
                    exchange_rejections::message_id.eq(r.message_id),
                    exchange_rejections::kind.eq(r.kind),
                    exchange_rejections::seq.eq(r.seq.map(|s| s as i64)),
                    exchange_rejections::code.eq(code),
                    exchange_rejections::message.eq(r.message),
                    exchange_rejections::field.eq(r.field),
                    exchange_rejections::rejection_id.eq(rejection_id),
                ))
                .on_conflict_do_nothing()
                .execute(conn)?;
            Ok(())
        })
        .await
    }

    /// Replays the asked range from the outbox as sync batches below the size limit.
    async fn answer_sync(&self, channel: &Channel, request: &v1::SyncRequest) -> Result<()> {
        /// Outbox rows read at a time: a request from seq 1 (reconciliation) may span the
        /// whole retention period, which need not fit in memory.
        const PAGE: i64 = 1000;
        // Leave room for the batch's own envelope around the messages.
        let budget = v1::MAX_MESSAGE_BYTES - 4096;
        let to = request.to_seq.map_or(i64::MAX, |t| t as i64);
        let (oldest, last_seq): (Option<i64>, i64) = db::run(&self.pool, |conn| {
            let oldest = outbox::table
                .select(diesel::dsl::min(outbox::seq))
                .first(conn)?;
            Ok((oldest, super::outbox::last_seq(conn)?))
        })
        .await?;
        let answer = Answer {
            request_id: request.request_id,
            oldest_retained_seq: oldest
                .filter(|o| *o > request.from_seq as i64)
                .map(|o| o as u64),
            last_seq,
        };
        let mut from = request.from_seq as i64;
        let mut batch: Vec<v1::Envelope<serde_json::Value>> = Vec::new();
        let mut size = 0;
        let mut sent = 0;
        let mut confirms = Vec::new();
        loop {
            let rows: Vec<(i64, String)> = db::run(&self.pool, move |conn| {
                Ok(outbox::table
                    .filter(outbox::seq.ge(from))
                    .filter(outbox::seq.le(to))
                    .order(outbox::seq.asc())
                    .limit(PAGE)
                    .select((outbox::seq, outbox::message))
                    .load(conn)?)
            })
            .await?;
            let done = (rows.len() as i64) < PAGE;
            for (seq, row) in rows {
                from = seq + 1;
                if size + row.len() > budget && !batch.is_empty() {
                    let full = std::mem::take(&mut batch);
                    confirms.push(self.send_batch(channel, &answer, full, false, sent).await?);
                    sent += 1;
                    size = 0;
                }
                size += row.len();
                batch.push(serde_json::from_str(&row)?);
            }
            if done {
                break;
            }
        }
        confirms.push(self.send_batch(channel, &answer, batch, true, sent).await?);
        for confirm in confirms {
            if !confirm.await.map_err(broker)?.is_ack() {
                return Err(Error::unavailable("the broker refused a sync batch"));
            }
        }
        tracing::info!(district = %self.district(), from = request.from_seq, batches = sent + 1, "answered a sync request");
        Ok(())
    }

    /// Publishes the `n`-th batch answering a sync request.
    async fn send_batch(
        &self,
        channel: &Channel,
        answer: &Answer,
        messages: Vec<v1::Envelope<serde_json::Value>>,
        last: bool,
        n: usize,
    ) -> Result<lapin::PublisherConfirm> {
        let batch = v1::SyncBatch {
            request_id: answer.request_id,
            messages,
            oldest_retained_seq: answer.oldest_retained_seq,
            last,
        };
        let envelope =
            v1::Envelope::new(self.district(), answer.last_seq as u64, Utc::now(), batch);
        let id = format!("{}-sync-{}-{n}", self.district(), answer.request_id);
        self.publish(
            channel,
            v1::Kind::SyncBatch,
            &id,
            &serde_json::to_vec(&envelope)?,
        )
        .await
    }

    /// Drops sent messages older than the retention period.
    async fn clean_up(&self) -> Result<()> {
        let days = i64::from(self.config.retention_days);
        let removed = db::run(&self.pool, move |conn| {
            Ok(diesel::delete(outbox::table)
                .filter(outbox::sent_at.lt(Utc::now() - chrono::Duration::days(days)))
                .execute(conn)?)
        })
        .await?;
        if removed > 0 {
            tracing::info!(district = %self.district(), removed, "old outbox messages removed");
        }
        Ok(())
    }
}
