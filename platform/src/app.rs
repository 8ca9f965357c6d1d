//! Wiring: the shared state of one district instance and the HTTP server around it.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::{App, HttpServer, dev::Server, web};
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
}

impl AppState {
    pub fn new(tenant: Arc<Tenant>, pool: DbPool) -> AppState {
        let keys = Keys::new(tenant.jwt_secret());
        let media = MediaStore::new(&tenant.data_dir);
        AppState {
            tenant,
            pool,
            keys,
            media,
            uplink: Arc::new(Uplink::default()),
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
    Ok((migrated, seeded))
}

/// Builds the server on an already-bound listener (tests bind port 0).
pub fn server(state: AppState, listener: TcpListener, workers: Option<usize>) -> Result<Server> {
    let state = web::Data::new(state);
    let mut server = HttpServer::new(move || {
        App::new()
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
