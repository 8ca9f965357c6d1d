//! `citygrid bench intake`: N concurrent clients, each looping report (supervisor) then
//! file (operator) over HTTP against a running instance, for a fixed time. One "intake"
//! is that pair, the unit `ops/bench intake` compares with pgbench.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use citygrid_platform::case::workflow::Role;
use citygrid_platform::config::Tenant;
use secrecy::ExposeSecret;
use serde_json::json;

use crate::client::{self, Api};

#[derive(clap::Args)]
pub struct IntakeArgs {
    /// Base URL of the instance, e.g. http://127.0.0.1:18102.
    #[arg(long)]
    url: String,
    /// The instance's tenant file (for seed users and a point inside the district).
    #[arg(long)]
    tenant: PathBuf,
    #[arg(long, default_value_t = 8)]
    clients: usize,
    #[arg(long, default_value_t = 20)]
    seconds: u64,
}

pub async fn run(args: IntakeArgs) -> Result<(), String> {
    let tenant = Tenant::load(&args.tenant).map_err(|e| e.to_string())?;
    let api = Api::new(&args.url);
    let find = |role: Role| {
        tenant
            .config
            .users
            .iter()
            .find(|u| u.roles.iter().any(|r| r == role.as_str()))
            .ok_or_else(|| format!("no seed {} in {}", role.as_str(), args.tenant.display()))
    };
    let (sup, op) = (find(Role::Supervisor)?, find(Role::Operator)?);
    let supervisor = api
        .login(&sup.username, sup.password.expose_secret())
        .await?;
    let operator = api.login(&op.username, op.password.expose_secret()).await?;
    let photo = supervisor.upload(client::photo("bench-intake")).await?;
    let (lon, lat) = tenant.sample_point();
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.clients {
        let (supervisor, operator, photo) = (supervisor.clone(), operator.clone(), photo.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0usize;
            while Instant::now() < deadline {
                let t0 = Instant::now();
                let report = json!({ "description": "bench: 暴露垃圾", "lon": lon, "lat": lat, "photos": [photo] });
                let outcome = match supervisor.report(report).await {
                    Ok(case) => operator
                        .step(&case, "file", json!({ "category": { "kind": "event", "major": "01", "minor": "02" } }))
                        .await
                        .map(|_| ()),
                    Err(e) => Err(e),
                };
                match outcome {
                    Ok(()) => latencies.push(t0.elapsed()),
                    Err(_) => errors += 1,
                }
            }
            (latencies, errors)
        }));
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    for task in tasks {
        let (l, e) = task.await.map_err(|e| e.to_string())?;
        latencies.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    println!(
        "intake clients={} seconds={:.1} intakes={} errors={} tps={:.1} p50_ms={:.2} p99_ms={:.2}",
        args.clients,
        elapsed,
        latencies.len(),
        errors,
        latencies.len() as f64 / elapsed,
        pct(0.50),
        pct(0.99)
    );
    Ok(())
}
