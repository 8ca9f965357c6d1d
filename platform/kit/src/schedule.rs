//! Periodic jobs on a calendar (tokio-cron-scheduler): the city's monthly job, a
//! district's daily digest. A job that must not be missed also runs once at start, so
//! what fell due while the process was down is done at once; each run decides for itself
//! what is due, so running it again is harmless.

use std::future::Future;

use tokio_cron_scheduler::{Job, JobScheduler, JobSchedulerError};

/// Checks a cron expression (seconds first, as `every` reads it).
pub fn check_cron(cron: &str) -> Result<(), String> {
    Job::new_async(cron, |_, _| Box::pin(async {}))
        .map(drop)
        .map_err(|e| format!("{cron:?}: {e}"))
}

/// Runs `tick` now, then on each of `crons` in `zone`, until the process ends. `what`
/// names the job in the log if it cannot be scheduled.
pub async fn every<F, Fut>(what: &'static str, zone: chrono_tz::Tz, crons: &[&str], tick: F)
where
    F: Fn() -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    tick().await;
    let scheduled = async {
        let scheduler = JobScheduler::new().await?;
        for cron in crons {
            let tick = tick.clone();
            let job = Job::new_async_tz(*cron, zone, move |_, _| Box::pin(tick()))?;
            scheduler.add(job).await?;
        }
        scheduler.start().await?;
        Ok::<_, JobSchedulerError>(scheduler)
    };
    match scheduled.await {
        // The scheduler (and its jobs) live as long as this future.
        Ok(_scheduler) => std::future::pending::<()>().await,
        Err(e) => tracing::error!(job = what, error = %e, "the job could not be scheduled"),
    }
}
