//! Connection pool and the one way async code reaches diesel.

use std::time::Duration;

use diesel::prelude::*;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool, PooledConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness};
use secrecy::ExposeSecret;

use crate::config::DatabaseSection;
use crate::error::{Error, Result};

pub type DbPool = Pool<ConnectionManager<PgConnection>>;
pub type DbConn = PooledConnection<ConnectionManager<PgConnection>>;

/// Sets `statement_timeout` on every new connection, so a runaway query frees its
/// worker instead of holding it.
#[derive(Debug)]
struct SessionSettings {
    statement_timeout_ms: u64,
}

impl CustomizeConnection<PgConnection, diesel::r2d2::Error> for SessionSettings {
    fn on_acquire(&self, conn: &mut PgConnection) -> Result<(), diesel::r2d2::Error> {
        diesel::sql_query(format!(
            "SET statement_timeout = {}",
            self.statement_timeout_ms
        ))
        .execute(conn)
        .map(|_| ())
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

pub fn pool(settings: &DatabaseSection) -> Result<DbPool> {
    Pool::builder()
        .max_size(settings.pool_size)
        .connection_timeout(Duration::from_secs(settings.connection_timeout_secs))
        // No `SELECT 1` on every checkout (a round trip per request); a broken
        // connection is detected by its failed query and dropped by `has_broken`.
        .test_on_check_out(false)
        .connection_customizer(Box::new(SessionSettings {
            statement_timeout_ms: settings.statement_timeout_ms,
        }))
        .build(ConnectionManager::new(settings.url.expose_secret()))
        .map_err(|e| Error::Unavailable(format!("cannot open the database pool: {e}")))
}

/// Applies pending migrations; returns how many ran.
pub fn migrate(conn: &mut PgConnection, migrations: EmbeddedMigrations) -> Result<usize> {
    conn.run_pending_migrations(migrations)
        .map(|done| done.len())
        .map_err(|e| Error::Internal(format!("migration failed: {e}")))
}

/// Runs blocking diesel work on the blocking pool, inside the caller's tracing span.
/// The connection is taken there too, so waiting for one never stalls an async worker.
/// Generic over the caller's error type, which must take the kit's (pool timeouts are 503).
pub async fn run<T, E, F>(pool: &DbPool, work: F) -> Result<T, E>
where
    T: Send + 'static,
    E: From<Error> + Send + 'static,
    F: FnOnce(&mut PgConnection) -> Result<T, E> + Send + 'static,
{
    let pool = pool.clone();
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || {
        let _entered = span.enter();
        let mut conn = pool
            .get()
            .map_err(|e| Error::Unavailable(format!("no database connection: {e}")))?;
        work(&mut conn)
    })
    .await
    .map_err(Error::from)?
}
