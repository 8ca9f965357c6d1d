//! `citygrid bench timer`: the reminder timer's cost on a database prepared by
//! `ops/bench timer` (many open cases, some of them due): one sweep that handles every due
//! case, then one with nothing due — the price of looking when there is nothing to do.

use std::path::PathBuf;
use std::time::Instant;

use chrono::Utc;
use citygrid_platform::config::Tenant;
use citygrid_platform::{db, reminder};

#[derive(clap::Args)]
pub struct TimerArgs {
    /// The tenant file; point CITYGRID_DATABASE_URL at the prepared database.
    #[arg(long)]
    tenant: PathBuf,
}

pub fn run(args: TimerArgs) -> Result<(), String> {
    let tenant = Tenant::load(&args.tenant).map_err(|e| e.to_string())?;
    let pool = db::pool(&tenant.config.database).map_err(|e| e.to_string())?;
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    let now = Utc::now();
    let started = Instant::now();
    let busy = reminder::sweep_all(&mut conn, now).map_err(|e| e.to_string())?;
    let busy_time = started.elapsed();
    let started = Instant::now();
    let idle = reminder::sweep_all(&mut conn, now).map_err(|e| e.to_string())?;
    let idle_time = started.elapsed();
    println!(
        "timer due={} urges={} overdues={} sweep_ms={:.1} per_due_case_us={:.1} idle_sweep_due={} idle_sweep_ms={:.2}",
        busy.due,
        busy.urges,
        busy.overdues,
        busy_time.as_secs_f64() * 1000.0,
        busy_time.as_secs_f64() * 1e6 / busy.due.max(1) as f64,
        idle.due,
        idle_time.as_secs_f64() * 1000.0
    );
    Ok(())
}
