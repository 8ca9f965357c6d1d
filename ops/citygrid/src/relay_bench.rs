//! `citygrid bench relay`: the outbox relay's throughput (persistent messages, publisher
//! confirms, marked sent in PostgreSQL) next to a plain lapin loop publishing the same
//! payloads with confirms, in the same run, on a vhost of its own.
//!
//! The database (CITYGRID_DATABASE_URL) is prepared by `ops/bench relay`: migrated and
//! empty. This fills its outbox with case snapshots of the standard's example size.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use crate::stats::median;
use chrono::Utc;
use citygrid_kit::broker::{self, Account, Admin};
use citygrid_platform::config::{ExchangeSection, Tenant};
use citygrid_platform::db;
use citygrid_platform::media::MediaStore;
use citygrid_platform::schema::{outbox, outbox_counter};
use citygrid_platform::uplink::Uplink;
use citygrid_platform::uplink::relay::Relay;
use citygrid_schemas::{self as v1, amqp};
use diesel::prelude::*;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions, QueuePurgeOptions};
use lapin::{Connection, ConnectionProperties};
use secrecy::ExposeSecret;

#[derive(clap::Args)]
pub struct RelayArgs {
    #[arg(long)]
    tenant: PathBuf,
    /// The city file, for the broker's address and admin account.
    #[arg(long, default_value = "tenants/hangzhou/city.toml")]
    city: PathBuf,
    /// Outbox messages per round.
    #[arg(long, default_value_t = 20_000)]
    messages: usize,
    /// Rounds, alternating relay and raw loop; medians are compared.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
}

/// The same window the relay uses between confirm waits.
const WINDOW: usize = 200;

fn fill_outbox(pool: &db::DbPool, district: &str, n: usize) -> Result<Vec<Vec<u8>>, String> {
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    let snapshot = v1::json::example_snapshot();
    let now = Utc::now();
    let mut payloads = Vec::with_capacity(n);
    for chunk in (1..=n).collect::<Vec<_>>().chunks(1000) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|&seq| {
                let message = serde_json::to_string(&v1::Envelope::new(
                    district,
                    seq as u64,
                    now,
                    snapshot.clone(),
                ))
                .unwrap_or_default();
                payloads.push(message.clone().into_bytes());
                (
                    outbox::seq.eq(seq as i64),
                    outbox::kind.eq("case_snapshot"),
                    outbox::message.eq(message),
                )
            })
            .collect();
        diesel::insert_into(outbox::table)
            .values(&rows)
            .execute(&mut conn)
            .map_err(|e| e.to_string())?;
    }
    diesel::update(outbox_counter::table)
        .set(outbox_counter::last_seq.eq(n as i64))
        .execute(&mut conn)
        .map_err(|e| e.to_string())?;
    Ok(payloads)
}

async fn raw_loop(
    uri: &str,
    district: &str,
    user: &str,
    payloads: &[Vec<u8>],
) -> Result<(), String> {
    let connection = Connection::connect(uri, ConnectionProperties::default())
        .await
        .map_err(|e| e.to_string())?;
    let channel = connection
        .create_channel()
        .await
        .map_err(|e| e.to_string())?;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .map_err(|e| e.to_string())?;
    let key = amqp::district_key(district, v1::Kind::CaseSnapshot);
    for (w, window) in payloads.chunks(WINDOW).enumerate() {
        let mut confirms = Vec::with_capacity(window.len());
        for (i, payload) in window.iter().enumerate() {
            let id = v1::message_id(district, (w * WINDOW + i + 1) as u64);
            confirms.push(
                channel
                    .basic_publish(
                        amqp::DISTRICTS_EXCHANGE.into(),
                        key.as_str().into(),
                        BasicPublishOptions {
                            mandatory: true,
                            ..BasicPublishOptions::default()
                        },
                        payload,
                        broker::properties(&id, v1::Kind::CaseSnapshot, user),
                    )
                    .await
                    .map_err(|e| e.to_string())?,
            );
        }
        for confirm in confirms {
            if !confirm.await.map_err(|e| e.to_string())?.is_ack() {
                return Err("the broker refused a message".into());
            }
        }
    }
    let _ = connection.close(200, "done".into()).await;
    Ok(())
}

pub async fn run(args: RelayArgs) -> Result<(), String> {
    let mut tenant = Tenant::load(&args.tenant).map_err(|e| e.to_string())?;
    let city = crate::city::load(&args.city)?;
    let broker = &city.file.broker;
    let admin = Admin::new(
        &broker.management,
        &broker.admin_user,
        broker.admin_password.expose_secret(),
    );
    let tag = format!("citygrid-bench-{}", std::process::id());
    let account = |who: &str| Account::new(format!("{tag}-{who}"), format!("{tag}-{who}-pw"));
    let (city_account, district_account) = (account("city"), account(tenant.code()));
    broker::provision(
        &admin,
        &tag,
        &city_account,
        &[(tenant.code().to_owned(), district_account.clone())],
    )
    .await
    .map_err(|e| e.to_string())?;
    let city_conn = Connection::connect(
        broker::amqp_uri(&broker.amqp, &city_account, &tag).expose_secret(),
        ConnectionProperties::default(),
    )
    .await
    .map_err(|e| e.to_string())?;
    let city_channel = city_conn
        .create_channel()
        .await
        .map_err(|e| e.to_string())?;
    broker::declare(&city_channel, &[tenant.code()])
        .await
        .map_err(|e| e.to_string())?;

    tenant.config.exchange = Some(ExchangeSection {
        broker: broker.amqp.clone(),
        vhost: tag.clone(),
        user: district_account.user.clone(),
        password: district_account.password.clone(),
        retention_days: 30,
    });
    let pool = db::pool(&tenant.config.database).map_err(|e| e.to_string())?;
    let district = tenant.code().to_owned();
    let payloads = {
        let pool = pool.clone();
        let district = district.clone();
        let n = args.messages;
        tokio::task::spawn_blocking(move || fill_outbox(&pool, &district, n))
            .await
            .map_err(|e| e.to_string())??
    };
    let size = payloads.first().map_or(0, Vec::len);
    let media = MediaStore::new(&tenant.data_dir);
    let relay = Relay::new(
        &Arc::new(tenant),
        pool.clone(),
        media,
        Arc::new(Uplink::default()),
    )
    .ok_or("no exchange section")?;
    let uri = broker::amqp_uri(&broker.amqp, &district_account, &tag);
    let (mut ours, mut raw) = (Vec::new(), Vec::new());
    let result = async {
        for round in 1..=args.rounds {
            let reset = pool.clone();
            tokio::task::spawn_blocking(move || {
                let mut conn = reset.get().map_err(|e| e.to_string())?;
                diesel::update(outbox::table)
                    .set(outbox::sent_at.eq(None::<chrono::DateTime<Utc>>))
                    .execute(&mut conn)
                    .map_err(|e| e.to_string())
            })
            .await
            .map_err(|e| e.to_string())??;
            let started = Instant::now();
            let sent = relay.drain().await.map_err(|e| e.to_string())?;
            let relay_rate = sent as f64 / started.elapsed().as_secs_f64();
            purge(&city_channel).await?;
            let started = Instant::now();
            raw_loop(uri.expose_secret(), &district, &district_account.user, &payloads).await?;
            let raw_rate = payloads.len() as f64 / started.elapsed().as_secs_f64();
            purge(&city_channel).await?;
            println!(
                "round {round}: relay {relay_rate:.0} msg/s, raw lapin {raw_rate:.0} msg/s ({sent} messages of {size} bytes)"
            );
            ours.push(relay_rate);
            raw.push(raw_rate);
        }
        Ok::<(), String>(())
    }
    .await;
    let _ = city_conn.close(200, "bench done".into()).await;
    let _ = admin.delete_vhost(&tag).await;
    let _ = admin.delete_user(&city_account.user).await;
    let _ = admin.delete_user(&district_account.user).await;
    result?;
    let (ours, raw) = (median(ours), median(raw));
    println!(
        "median: relay {ours:.0} msg/s, raw lapin {raw:.0} msg/s (persistent, confirmed, window {WINDOW}, {size}-byte messages)"
    );
    println!("ratio relay: {:.2}", ours / raw);
    Ok(())
}

async fn purge(channel: &lapin::Channel) -> Result<(), String> {
    channel
        .queue_purge(amqp::INTAKE_QUEUE.into(), QueuePurgeOptions::default())
        .await
        .map(drop)
        .map_err(|e| e.to_string())
}
