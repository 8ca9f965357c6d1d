//! The district database: embedded migrations, and the one way async code reaches diesel
//! (the kit's pool and blocking helper, typed to the platform's error).

use diesel::prelude::*;
use diesel_migrations::{EmbeddedMigrations, embed_migrations};

pub use citygrid_kit::db::{DbConn, DbPool, pool};

use crate::error::{Error, Result};

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Applies pending migrations; returns how many ran.
pub fn migrate(conn: &mut PgConnection) -> Result<usize> {
    citygrid_kit::db::migrate(conn, MIGRATIONS).map_err(|e| Error::Migration(e.to_string()))
}

/// Runs blocking diesel work on the blocking pool, inside the caller's tracing span.
pub async fn run<T, F>(pool: &DbPool, work: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce(&mut PgConnection) -> Result<T> + Send + 'static,
{
    citygrid_kit::db::run(pool, work).await
}
