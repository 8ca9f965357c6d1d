//! `citygrid bench e2e`: the city intake end to end — ten district publishers, the broker,
//! the intake's checks and the warehouse — next to a raw lapin consume-and-ack loop over
//! the same messages in the same run; then the lag at a fixed offered rate, and the peak
//! memory of the process running the intake.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::stats::median;
use chrono::Utc;
use citygrid_exchange::registry::Registry;
use citygrid_kit::broker::{self, Account, Admin};
use citygrid_schemas::{self as v1, amqp};
use diesel::prelude::*;
use futures::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions,
};
use lapin::types::FieldTable;
use lapin::{Connection, ConnectionProperties};
use secrecy::ExposeSecret;

#[derive(clap::Args)]
pub struct E2eArgs {
    /// The city file (broker, warehouse settings, a district tenant to copy).
    #[arg(long, default_value = "tenants/hangzhou/city.toml")]
    city: PathBuf,
    /// Messages per district publisher in the throughput runs.
    #[arg(long, default_value_t = 2_000)]
    messages: usize,
    /// Seconds of the fixed-rate run.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Offered rate of the fixed-rate run, messages per second across all publishers.
    #[arg(long, default_value_t = 1_000)]
    rate: u64,
    /// Alternating throughput rounds (raw, then ours, each round); medians are compared.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
}

const PUBLISHERS: usize = 10;

fn codes() -> Vec<String> {
    (0..PUBLISHERS)
        .map(|i| format!("3301{:02}", 90 + i))
        .collect()
}

/// A district's n-th message: business records and snapshots alternating, as a relay sends.
fn message(code: &str, seq: u64, case: uuid::Uuid) -> (v1::Kind, Vec<u8>) {
    let now = Utc::now();
    if seq % 2 == 1 {
        let record = v1::BusinessRecord {
            record_id: seq as i64,
            case_id: case,
            case_version: seq.div_ceil(2) as u32,
            action: v1::Action::Report,
            from_state: None,
            to_state: v1::CaseState::Reported,
            actor_id: None,
            actor_role: v1::Role::Supervisor,
            comment: Some("bench".into()),
            media: vec![],
            details: serde_json::json!({ "source": "supervisor" }),
            stage_ended: None,
            at: now,
        };
        let body =
            serde_json::to_vec(&v1::Envelope::new(code, seq, now, record)).unwrap_or_default();
        (v1::Kind::BusinessRecord, body)
    } else {
        let mut snapshot = v1::json::example_snapshot();
        snapshot.case_id = case;
        snapshot.version = (seq / 2) as u32;
        snapshot.updated_at = now;
        let body =
            serde_json::to_vec(&v1::Envelope::new(code, seq, now, snapshot)).unwrap_or_default();
        (v1::Kind::CaseSnapshot, body)
    }
}

/// One publisher per district, `per_district` messages each from `first_seq`, at most
/// `rate` per second per publisher (0: as fast as confirms allow).
async fn publish(
    broker: &str,
    vhost: &str,
    accounts: &[(String, Account)],
    first_seq: u64,
    per_district: usize,
    rate: u64,
) -> Result<(), String> {
    let tasks = accounts.iter().map(|(code, account)| {
        let uri = broker::amqp_uri(broker, account, vhost);
        let (code, user) = (code.clone(), account.user.clone());
        async move {
            let connection =
                Connection::connect(uri.expose_secret(), ConnectionProperties::default())
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
            let started = Instant::now();
            let mut pending = Vec::new();
            for i in 0..per_district as u64 {
                let seq = first_seq + i;
                if rate > 0 {
                    let due = Duration::from_secs_f64(i as f64 / rate as f64);
                    if let Some(wait) = due.checked_sub(started.elapsed()) {
                        tokio::time::sleep(wait).await;
                    }
                }
                // Two messages per case (record, snapshot), case ids unique per district.
                let district = u128::from(code.parse::<u32>().unwrap_or(0));
                let case = uuid::Uuid::from_u128(u128::from(seq.div_ceil(2)) | (district << 64));
                let (kind, body) = message(&code, seq, case);
                pending.push(
                    channel
                        .basic_publish(
                            amqp::DISTRICTS_EXCHANGE.into(),
                            amqp::district_key(&code, kind).as_str().into(),
                            BasicPublishOptions::default(),
                            &body,
                            broker::properties(&v1::message_id(&code, seq), kind, &user),
                        )
                        .await
                        .map_err(|e| e.to_string())?,
                );
                if pending.len() >= 200 {
                    for confirm in pending.drain(..) {
                        confirm.await.map_err(|e| e.to_string())?;
                    }
                }
            }
            for confirm in pending {
                confirm.await.map_err(|e| e.to_string())?;
            }
            let _ = connection.close(200, "published".into()).await;
            Ok::<(), String>(())
        }
    });
    futures::future::try_join_all(tasks).await.map(drop)
}

fn min_cursor(pool: &citygrid_kit::db::DbPool) -> Result<i64, String> {
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    citygrid_exchange::schema::districts::table
        .select(diesel::dsl::min(
            citygrid_exchange::schema::districts::cursor,
        ))
        .first::<Option<i64>>(&mut conn)
        .map(|c| c.unwrap_or(0))
        .map_err(|e| e.to_string())
}

async fn wait_for_cursor(pool: &citygrid_kit::db::DbPool, seq: i64) -> Result<(), String> {
    loop {
        let pool = pool.clone();
        let cursor = tokio::task::spawn_blocking(move || min_cursor(&pool))
            .await
            .map_err(|e| e.to_string())??;
        if cursor >= seq {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Consumes `total` messages from the intake queue and acknowledges each: the floor any
/// consumer pays, with the intake's prefetch.
async fn raw_consume(uri: &str, prefetch: u16, total: usize) -> Result<(), String> {
    let connection = Connection::connect(uri, ConnectionProperties::default())
        .await
        .map_err(|e| e.to_string())?;
    let channel = connection
        .create_channel()
        .await
        .map_err(|e| e.to_string())?;
    channel
        .basic_qos(prefetch, BasicQosOptions::default())
        .await
        .map_err(|e| e.to_string())?;
    let mut consumer = channel
        .basic_consume(
            amqp::INTAKE_QUEUE.into(),
            "raw-bench".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .map_err(|e| e.to_string())?;
    for _ in 0..total {
        let delivery = consumer
            .next()
            .await
            .ok_or("the consumer ended")?
            .map_err(|e| e.to_string())?;
        delivery
            .ack(BasicAckOptions::default())
            .await
            .map_err(|e| e.to_string())?;
    }
    let _ = connection.close(200, "done".into()).await;
    Ok(())
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|kb| kb.parse::<f64>().ok())
            })
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

pub async fn run(args: E2eArgs) -> Result<(), String> {
    let mut city = crate::city::load(&args.city)?;
    let broker = city.file.broker.amqp.clone();
    let admin = Admin::new(
        &city.file.broker.management,
        &city.file.broker.admin_user,
        city.file.broker.admin_password.expose_secret(),
    );
    let tag = format!("citygrid-bench-e2e-{}", std::process::id());
    let account = |who: &str| Account::new(format!("{tag}-{who}"), format!("{tag}-{who}-pw"));
    let city_account = account("city");
    let accounts: Vec<(String, Account)> = codes()
        .into_iter()
        .map(|c| {
            let a = account(&c);
            (c, a)
        })
        .collect();
    broker::provision(&admin, &tag, &city_account, &accounts)
        .await
        .map_err(|e| e.to_string())?;
    let city_uri = broker::amqp_uri(&broker, &city_account, &tag);
    let declare = Connection::connect(city_uri.expose_secret(), ConnectionProperties::default())
        .await
        .map_err(|e| e.to_string())?;
    let channel = declare.create_channel().await.map_err(|e| e.to_string())?;
    broker::declare(&channel, &codes())
        .await
        .map_err(|e| e.to_string())?;
    let _ = declare.close(200, "declared".into()).await;

    // Ten districts: copies of the first registered one under bench codes and users.
    let template = city
        .registry
        .iter()
        .next()
        .cloned()
        .ok_or("the city file registers no district")?;
    let districts = accounts
        .iter()
        .map(|(code, account)| {
            let mut district = template.clone();
            district.code = code.clone();
            district.broker_user = account.user.clone();
            district
        })
        .collect();
    city.registry = Registry::new(districts);
    city.file.broker.vhost = tag.clone();
    city.file.broker.city_user = city_account.user.clone();
    city.file.broker.city_password = city_account.password.clone();
    let pool = citygrid_kit::db::pool(&city.file.warehouse).map_err(|e| e.to_string())?;
    let prepare_pool = pool.clone();
    let city = tokio::task::spawn_blocking(move || {
        citygrid_exchange::prepare(&prepare_pool, &city).map(|_| city)
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| e.to_string())?;
    let prefetch = city.file.intake.prefetch;
    let intake = citygrid_exchange::intake::Intake {
        pool: pool.clone(),
        uri: city_uri.clone(),
        city_user: city_account.user.clone(),
        settings: city.file.intake.clone(),
        registry: Arc::new(city.registry),
    };

    let n = args.messages;
    let total = n * PUBLISHERS;
    let result = async {
        let (mut raw_rates, mut our_rates) = (Vec::new(), Vec::new());
        let mut next = 1u64;
        for round in 1..=args.rounds.max(1) {
            // Raw floor: publish, then consume and ack with nothing behind it.
            publish(&broker, &tag, &accounts, next, n, 0).await?;
            let started = Instant::now();
            raw_consume(city_uri.expose_secret(), prefetch, total).await?;
            raw_rates.push(total as f64 / started.elapsed().as_secs_f64());
            // Ours: the same messages, through checks and the warehouse.
            publish(&broker, &tag, &accounts, next, n, 0).await?;
            let started = Instant::now();
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            let task = tokio::spawn(intake.clone().run_until(async {
                let _ = stopped.await;
            }));
            wait_for_cursor(&pool, (next - 1) as i64 + n as i64).await?;
            our_rates.push(total as f64 / started.elapsed().as_secs_f64());
            let _ = stop.send(());
            task.await.map_err(|e| e.to_string())?;
            println!(
                "round {round}: raw lapin consume+ack {:.0} msg/s, citygrid intake {:.0} msg/s",
                raw_rates[round - 1],
                our_rates[round - 1]
            );
            next += n as u64;
        }
        let (raw_rate, our_rate) = (median(raw_rates), median(our_rates));
        // Lag at a fixed offered rate, the intake running.
        let per_district = (args.rate * args.seconds) as usize / PUBLISHERS;
        let first = next;
        let task = tokio::spawn(intake.clone().run());
        publish(&broker, &tag, &accounts, first, per_district, args.rate / PUBLISHERS as u64).await?;
        wait_for_cursor(&pool, (first - 1) as i64 + per_district as i64).await?;
        task.abort();
        let lag_pool = pool.clone();
        let (p50, p99): (f64, f64) = tokio::task::spawn_blocking(move || {
            #[derive(QueryableByName)]
            struct Lag {
                #[diesel(sql_type = diesel::sql_types::Double)]
                p50: f64,
                #[diesel(sql_type = diesel::sql_types::Double)]
                p99: f64,
            }
            let mut conn = lag_pool.get().map_err(|e| e.to_string())?;
            let lag: Lag = diesel::sql_query(format!(
                "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY l) AS p50, \
                        percentile_cont(0.99) WITHIN GROUP (ORDER BY l) AS p99 \
                 FROM (SELECT extract(epoch FROM received_at - (envelope->>'sent_at')::timestamptz) * 1000 AS l \
                       FROM stream WHERE seq >= {first}) x"
            ))
            .get_result(&mut conn)
            .map_err(|e| e.to_string())?;
            Ok::<_, String>((lag.p50, lag.p99))
        })
        .await
        .map_err(|e| e.to_string())??;
        println!("raw lapin consume+ack: median {raw_rate:.0} msg/s ({total} messages a round, prefetch {prefetch})");
        println!("citygrid intake into the warehouse: median {our_rate:.0} msg/s ({total} messages a round from {PUBLISHERS} districts)");
        println!(
            "lag at {} msg/s offered for {} s: p50 {p50:.1} ms, p99 {p99:.1} ms",
            args.rate, args.seconds
        );
        println!("peak RSS of this process (intake, publishers and raw consumer together): {:.0} MiB", peak_rss_mib());
        println!("ratio e2e: {:.2}", our_rate / raw_rate);
        Ok::<(), String>(())
    }
    .await;
    let _ = admin.delete_vhost(&tag).await;
    let _ = admin.delete_user(&city_account.user).await;
    for (_, a) in &accounts {
        let _ = admin.delete_user(&a.user).await;
    }
    result
}
