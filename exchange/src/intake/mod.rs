//! The intake: consumes every district's messages from `city.intake`, checks them,
//! commits them to the warehouse in batches and only then acknowledges them; refused
//! ones are dead-lettered and answered with a rejection. Also publishes the commands the
//! warehouse queued (rejections, sync requests) and asks districts to fill gaps.

pub mod validate;

use std::sync::Arc;
use std::time::Duration;

use citygrid_schemas::{self as v1, amqp};
use futures::{FutureExt, StreamExt};
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions,
};
use lapin::types::FieldTable;
use lapin::{Channel, Connection, ConnectionProperties};

use crate::config::IntakeSection;
use crate::error::{Error, Result};
use crate::registry::Registry;
use crate::{blocking, warehouse};
use citygrid_kit::db::DbPool;
use secrecy::{ExposeSecret, SecretString};
use validate::Incoming;

/// One running intake.
#[derive(Clone)]
pub struct Intake {
    pub pool: DbPool,
    pub registry: Arc<Registry>,
    pub settings: IntakeSection,
    /// The city's AMQP URI (its own broker user).
    pub uri: SecretString,
    pub city_user: String,
}

impl Intake {
    /// Runs until the process ends, reconnecting after failures (0.5 s doubling to 30 s).
    pub async fn run(self) {
        self.run_until(std::future::pending()).await;
    }

    /// Runs until `stop` completes, then closes its connection (so no delivery stays
    /// held by a connection nobody reads); reconnects after failures meanwhile.
    pub async fn run_until(self, stop: impl Future<Output = ()>) {
        let mut stop = std::pin::pin!(stop);
        let mut backoff = Duration::from_millis(500);
        loop {
            match self.session(stop.as_mut()).await {
                Ok(true) => return,
                Ok(false) => backoff = Duration::from_millis(500),
                Err(e) => tracing::warn!(error = %e, "city intake session ended; reconnecting"),
            }
            tokio::select! {
                () = stop.as_mut() => return,
                () = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(Duration::from_secs(30));
        }
    }

    /// One connection's life; `Ok(true)` when it ended because `stop` completed.
    async fn session(&self, stop: std::pin::Pin<&mut impl Future<Output = ()>>) -> Result<bool> {
        let connection =
            Connection::connect(self.uri.expose_secret(), ConnectionProperties::default()).await?;
        let outcome = tokio::select! {
            consumed = self.consume(&connection) => consumed.map(|()| false),
            () = stop => Ok(true),
        };
        // Close explicitly: a dropped lapin connection can linger, and with it the
        // deliveries it holds unacknowledged, which the broker then gives nobody else.
        let _ = connection.close(320, "intake restarting".into()).await;
        outcome
    }

    async fn consume(&self, connection: &Connection) -> Result<()> {
        let intake = connection.create_channel().await?;
        intake
            .basic_qos(self.settings.prefetch, BasicQosOptions::default())
            .await?;
        let mut consumer = intake
            .basic_consume(
                amqp::INTAKE_QUEUE.into(),
                "city-intake".into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;
        let commands = connection.create_channel().await?;
        commands
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        tracing::info!("city intake connected");
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            if !connection.status().connected() {
                return Err(Error::Internal("the broker connection was closed".into()));
            }
            tokio::select! {
                first = consumer.next() => {
                    let Some(first) = first else { return Ok(()) };
                    let mut batch = vec![first?];
                    while batch.len() < self.settings.batch {
                        match consumer.next().now_or_never() {
                            Some(Some(delivery)) => batch.push(delivery?),
                            _ => break,
                        }
                    }
                    self.take_in(batch).await?;
                }
                _ = tick.tick() => {
                    let gap = chrono::Duration::seconds(self.settings.gap_seconds as i64);
                    let asked = blocking(&self.pool, move |conn| warehouse::request_missing(conn, gap)).await?;
                    for (district, from, to) in asked {
                        tracing::warn!(district, from, to, "gap in a district's stream; sync requested");
                    }
                    let max = self.settings.media_requests;
                    let photos = blocking(&self.pool, move |conn| warehouse::request_missing_media(conn, gap, max)).await?;
                    if photos > 0 {
                        tracing::warn!(photos, "photos announced without their bytes; asked for again");
                    }
                    let registry = self.registry.clone();
                    blocking(&self.pool, move |conn| {
                        crate::reconcile::reconcile(conn, &registry, None, None, false)
                    })
                    .await?;
                }
            }
            self.publish_commands(&commands).await?;
        }
    }

    /// Checks, stores and then settles one batch of deliveries.
    async fn take_in(&self, deliveries: Vec<lapin::message::Delivery>) -> Result<()> {
        let mut items = Vec::new();
        let mut owners = Vec::new();
        let mut refusals = Vec::new();
        let mut dead = vec![false; deliveries.len()];
        for (i, delivery) in deliveries.iter().enumerate() {
            let user_id = delivery
                .properties
                .user_id()
                .as_ref()
                .map(|u| u.to_string());
            let message_id = delivery
                .properties
                .message_id()
                .as_ref()
                .map(|m| m.to_string());
            let kind = delivery.properties.kind().as_ref().map(|k| k.to_string());
            let verdict = validate::check(
                &self.registry,
                Incoming {
                    routing_key: delivery.routing_key.as_str(),
                    user_id: user_id.as_deref(),
                    message_id: message_id.as_deref(),
                    kind: kind.as_deref(),
                    persistent: *delivery.properties.delivery_mode() == Some(amqp::PERSISTENT),
                    data: &delivery.data,
                },
            );
            dead[i] = verdict.dead_letter;
            for refusal in &verdict.refusals {
                tracing::warn!(district = ?refusal.district, code = ?refusal.rejection.code, reason = %refusal.rejection.message, "message refused");
            }
            owners.extend(std::iter::repeat_n(i, verdict.accepted.len()));
            items.extend(verdict.accepted);
            refusals.extend(verdict.refusals);
        }
        let conflicts = blocking(&self.pool, move |conn| {
            warehouse::store(conn, &items, &refusals)
        })
        .await?;
        for (item, _) in conflicts {
            dead[owners[item]] = true;
        }
        // Only now, with the warehouse committed, are the deliveries settled: the refused
        // ones one by one, then the rest with a single `multiple` ack of the last (every
        // earlier delivery on this channel is settled by then).
        let mut last_kept = None;
        for (delivery, dead) in deliveries.into_iter().zip(dead) {
            if dead {
                delivery
                    .nack(BasicNackOptions {
                        requeue: false,
                        ..BasicNackOptions::default()
                    })
                    .await?;
            } else {
                last_kept = Some(delivery);
            }
        }
        if let Some(delivery) = last_kept {
            delivery.ack(BasicAckOptions { multiple: true }).await?;
        }
        Ok(())
    }

    async fn publish_commands(&self, channel: &Channel) -> Result<()> {
        let pending = blocking(&self.pool, |conn| warehouse::unsent_commands(conn, 200)).await?;
        for (district, seq, kind, message) in pending {
            let kind = v1::Kind::parse(&kind)
                .ok_or_else(|| Error::Internal(format!("command kind {kind:?}")))?;
            let id = format!("city-{district}-{seq}");
            let confirm = channel
                .basic_publish(
                    amqp::CITY_EXCHANGE.into(),
                    amqp::city_key(&district, kind).as_str().into(),
                    BasicPublishOptions {
                        mandatory: true,
                        ..BasicPublishOptions::default()
                    },
                    message.as_bytes(),
                    citygrid_kit::broker::properties(&id, kind, &self.city_user),
                )
                .await?
                .await?;
            if !confirm.is_ack() || confirm.take_message().is_some() {
                return Err(Error::Internal(format!(
                    "the broker did not take command {id} (is district {district}'s command queue there?)"
                )));
            }
            blocking(&self.pool, move |conn| {
                warehouse::mark_command_sent(conn, &district, seq)
            })
            .await?;
        }
        Ok(())
    }
}
