//! Connection pool and the one way async code reaches diesel.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::prelude::*;
use diesel::r2d2::{
    ConnectionManager, CustomizeConnection, Pool, PooledConnection, R2D2Connection,
};
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

/// Until when (milliseconds since the Unix epoch) connections are pinged as they are
/// taken from a pool. Set when a connection is found dead: the database restarted, and
/// its siblings idle in the pool are dead too without knowing it. Outside that window a
/// checkout costs no round trip.
static SUSPECT_UNTIL_MS: AtomicU64 = AtomicU64::new(0);

/// How long checkouts are pinged after a dead connection was found.
const SUSPECT_FOR: Duration = Duration::from_secs(60);

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Marks a connection that no longer answers as broken, so the pool discards it when it
/// comes back instead of handing it out again (a dead connection outside a transaction
/// would otherwise fail every request it serves), and opens the suspect window.
fn discard_if_dead(conn: &mut DbConn) -> bool {
    if conn.ping().is_ok() {
        return false;
    }
    AnsiTransactionManager::transaction_manager_status_mut(&mut **conn).set_in_error();
    SUSPECT_UNTIL_MS.store(now_ms() + SUSPECT_FOR.as_millis() as u64, Ordering::Relaxed);
    tracing::warn!("a database connection was dead (the database restarted?); it is replaced");
    true
}

/// A connection from `pool`. While the pool is suspect, each one is pinged first and a
/// dead one replaced, at most as many times as the pool has connections.
fn checkout(pool: &DbPool) -> Result<DbConn> {
    let get = || {
        pool.get()
            .map_err(|e| Error::Unavailable(format!("no database connection: {e}")))
    };
    let mut conn = get()?;
    if now_ms() < SUSPECT_UNTIL_MS.load(Ordering::Relaxed) {
        for _ in 0..pool.max_size() {
            if !discard_if_dead(&mut conn) {
                break;
            }
            conn = get()?;
        }
    }
    Ok(conn)
}

/// Runs blocking diesel work on the blocking pool, inside the caller's tracing span.
/// The connection is taken there too, so waiting for one never stalls an async worker.
/// Generic over the caller's error type, which must take the kit's (pool timeouts are 503).
/// Work that fails on a connection the database has dropped fails (it cannot be run
/// twice), but the connection is discarded and the next ones are checked first: after a
/// database restart, one request fails rather than one per pooled connection, or every
/// request on a connection no transaction ever marked broken.
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
        let mut conn = checkout(&pool)?;
        let result = work(&mut conn);
        if result.is_err() {
            discard_if_dead(&mut conn);
        }
        result
    })
    .await
    .map_err(Error::from)?
}
