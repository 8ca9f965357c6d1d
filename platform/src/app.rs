//! Wiring: the shared state of one district instance and the HTTP server around it.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::{App, HttpServer, dev::Server, web};
use citygrid_kit::http::edge;
use tracing_actix_web::TracingLogger;

use crate::auth::token::Keys;
use crate::config::Tenant;
use crate::db::{self, DbPool};
use crate::error::{Error, Result};
use crate::media::MediaStore;
use crate::uplink::Uplink;
use crate::{api, user};

/// Everything a request handler may need, shared by all workers.
pub struct AppState {
    pub tenant: Arc<Tenant>,
    pub pool: DbPool,
    pub keys: Keys,
    pub media: MediaStore,
    /// What the outbox relay reports, and how to wake it after a commit.
    pub uplink: Arc<Uplink>,
    /// Sign-in: bounded password checks and the failure throttle (`[auth.login]`).
    pub login: citygrid_kit::login::Gate,
    /// Users' token versions as lately read: the revocation check of every request.
    pub versions: citygrid_kit::session::Versions,
    /// Write rates of anonymous callers and staff (`[limits]`).
    pub limits: crate::limits::Limiter,
}

impl AppState {
    pub fn new(tenant: Arc<Tenant>, pool: DbPool) -> AppState {
        let keys = Keys::new(tenant.jwt_secret());
        let media = MediaStore::new(&tenant.data_dir);
        let login = citygrid_kit::login::Gate::new(&tenant.config.auth.login);
        let versions = citygrid_kit::session::Versions::new(tenant.config.auth.version_cache());
        let limits = crate::limits::Limiter::new(&tenant.config.limits);
        AppState {
            tenant,
            pool,
            keys,
            media,
            uplink: Arc::new(Uplink::default()),
            login,
            versions,
            limits,
        }
    }

    /// Tells the relay that a transaction wrote to the outbox.
    pub fn outbox_written(&self) {
        self.uplink.wake.notify_one();
    }
}

/// Migrates the database and brings departments and seed users in line with the file.
/// Blocking: call before the server starts.
pub fn prepare(tenant: &Tenant, pool: &DbPool) -> Result<(usize, usize)> {
    let mut conn = pool.get().map_err(|e| {
        Error::unavailable(format!(
            "cannot reach the database of district {} ({}): {e}",
            tenant.code(),
            tenant.config.database.display_url()
        ))
    })?;
    let migrated = db::migrate(&mut conn)?;
    let seeded = user::sync_reference_data(&mut conn, tenant)?;
    let kept = crate::appraisal::history::backfill(&mut conn, tenant)?;
    if kept > 0 {
        tracing::info!(
            district = tenant.code(),
            cases = kept,
            "case history begun from the cases' current state"
        );
    }
    if let Some(summary) = crate::component::load_sample(&mut conn, tenant)? {
        tracing::info!(
            district = tenant.code(),
            components.created = summary.created,
            components.kept = summary.unchanged,
            "component census loaded"
        );
    }
    Ok((migrated, seeded))
}

/// Says once a day (the first time at once) how far the holiday files reach: a warning
/// from `calendar.missing_year_alarm_days` before a year without one, an error once the
/// current year has none (the instance started in time but the year turned).
pub async fn watch_calendar(tenant: Arc<Tenant>) {
    loop {
        let coverage = tenant.calendar_coverage(chrono::Utc::now());
        if let Some(warning) = &coverage.warning {
            let until = coverage.covers_until.map(|d| d.to_string());
            if until.is_none() {
                tracing::error!(district = tenant.code(), missing_file = %coverage.missing_file, "{warning}");
            } else {
                tracing::warn!(
                    district = tenant.code(),
                    calendar.covers_until = until.as_deref(),
                    calendar.days_left = coverage.days_left,
                    missing_file = %coverage.missing_file,
                    "{warning}"
                );
            }
        }
        tokio::time::sleep(std::time::Duration::from_secs(24 * 60 * 60)).await;
    }
}

/// Builds the server on an already-bound listener (tests bind port 0).
pub fn server(state: AppState, listener: TcpListener, workers: Option<usize>) -> Result<Server> {
    let state = web::Data::new(state);
    let mut server = HttpServer::new(move || {
        App::new()
            .wrap(edge::json_errors())
            .wrap(edge::default_headers())
            .wrap(TracingLogger::default())
            .app_data(state.clone())
            .configure(api::routes::configure)
    })
    .listen(listener)?;
    if let Some(workers) = workers {
        server = server.workers(workers);
    }
    Ok(server.run())
}
