//! CityGrid city exchange: takes in every district's interchange stream (schemas/,
//! `citygrid.interchange/v1`) into the city warehouse — exactly once, in each district's
//! order, refusing and answering what is invalid or spoofed.

pub mod api;
pub mod appraisal;
pub mod config;
pub mod error;
pub mod escalation;
pub mod intake;
pub mod ledger;
pub mod monthly;
pub mod problems;
pub mod reconcile;
pub mod referrals;
pub mod registry;
pub mod report;
pub mod schema;
pub mod users;
pub mod warehouse;

use std::sync::Arc;

use citygrid_kit::db::DbPool;
use diesel::PgConnection;
use diesel_migrations::{EmbeddedMigrations, embed_migrations};

pub use error::{Error, Result};

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Runs blocking warehouse work off the async threads (the kit's helper, typed to this
/// crate's error so closures infer it).
pub async fn blocking<T, F>(pool: &DbPool, work: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce(&mut PgConnection) -> Result<T> + Send + 'static,
{
    citygrid_kit::db::run(pool, work).await
}

/// Migrates the warehouse, registers the city's districts and seeds its users. Blocking.
pub fn prepare(pool: &DbPool, city: &config::City) -> Result<usize> {
    let mut conn = pool.get().map_err(|e| {
        Error::Internal(format!(
            "cannot reach the warehouse {}: {e}",
            city.file.warehouse.display_url()
        ))
    })?;
    let migrated = citygrid_kit::db::migrate(&mut conn, MIGRATIONS)?;
    warehouse::register_districts(&mut conn, &city.registry)?;
    warehouse::register_catalogues(&mut conn, &city.catalogues, &city.mappings)?;
    api::sync_users(&mut conn, city)?;
    Ok(migrated)
}

/// The intake for a loaded city.
pub fn intake(pool: DbPool, city: &config::City) -> intake::Intake {
    intake::Intake {
        pool,
        uri: city.amqp_uri(),
        city_user: city.file.broker.city_user.clone(),
        settings: city.file.intake.clone(),
        registry: Arc::new(city.registry.clone()),
    }
}
