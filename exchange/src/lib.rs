//! CityGrid city exchange: takes in every district's interchange stream (schemas/,
//! `citygrid.interchange/v1`) into the city warehouse — exactly once, in each district's
//! order, refusing and answering what is invalid or spoofed.

pub mod api;
pub mod config;
pub mod error;
pub mod intake;
pub mod reconcile;
pub mod schema;
pub mod warehouse;

use std::sync::Arc;

use citygrid_platform::db::DbPool;
use diesel::PgConnection;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

pub use error::{Error, Result};

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Runs blocking warehouse work off the async threads.
pub async fn blocking<T, F>(pool: &DbPool, work: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce(&mut PgConnection) -> Result<T> + Send + 'static,
{
    let pool = pool.clone();
    tokio::task::spawn_blocking(move || {
        let mut conn = pool
            .get()
            .map_err(|e| Error::Internal(format!("no warehouse connection: {e}")))?;
        work(&mut conn)
    })
    .await
    .map_err(|e| Error::Internal(format!("blocking task failed: {e}")))?
}

/// Migrates the warehouse, registers the city's districts and seeds its users. Blocking.
pub fn prepare(pool: &DbPool, city: &config::City) -> Result<usize> {
    let mut conn = pool
        .get()
        .map_err(|e| Error::Internal(format!("cannot reach the warehouse: {e}")))?;
    let migrated = conn
        .run_pending_migrations(MIGRATIONS)
        .map_err(|e| Error::Internal(format!("warehouse migrations: {e}")))?
        .len();
    let list: Vec<(String, String, String)> = city
        .districts
        .iter()
        .filter_map(|t| {
            t.config.exchange.as_ref().map(|e| {
                (
                    t.code().to_owned(),
                    t.config.district.name.clone(),
                    e.user.clone(),
                )
            })
        })
        .collect();
    warehouse::register_districts(&mut conn, &list)?;
    api::sync_users(&mut conn, city)?;
    Ok(migrated)
}

/// The intake for a loaded city.
pub fn intake(pool: DbPool, city: config::City) -> intake::Intake {
    intake::Intake {
        pool,
        uri: city.amqp_uri(),
        city_user: city.file.broker.city_user.clone(),
        settings: city.file.intake.clone(),
        directory: Arc::new(intake::validate::Directory::new(city.districts)),
    }
}
