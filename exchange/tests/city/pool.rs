//! The warehouse pool after PostgreSQL drops its connections (a restart, a failover): at
//! most the one request that finds a dead connection fails; the next ones get live ones,
//! including requests that run outside a transaction (which diesel alone never marks
//! broken, so a dead connection would fail every request it serves).

use citygrid_kit::config::DatabaseSection;
use citygrid_test_support::pg::TestDatabase;
use diesel::{Connection, PgConnection, RunQueryDsl};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_request_at_most_fails_after_the_database_drops_every_connection() {
    let database = tokio::task::block_in_place(|| TestDatabase::new("citygrid_xpool"));
    let settings: DatabaseSection =
        toml::from_str(&format!("url = \"{}\"\npool_size = 3", database.url)).expect("settings");
    let pool = citygrid_kit::db::pool(&settings).expect("pool");
    let select = |pool| async move {
        citygrid_kit::db::run(&pool, |conn| {
            diesel::sql_query("SELECT 1")
                .execute(conn)
                .map_err(citygrid_kit::Error::Database)
        })
        .await
    };
    // Three connections in use at once, so the pool holds three.
    let (a, b, c) = tokio::join!(
        select(pool.clone()),
        select(pool.clone()),
        select(pool.clone())
    );
    assert!(a.is_ok() && b.is_ok() && c.is_ok());
    assert_eq!(pool.state().connections, 3);

    // The server ends every session of the database, as a restart does.
    let mut admin = PgConnection::establish(&database.url).expect("connect");
    diesel::sql_query(format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
          WHERE datname = '{}' AND pid <> pg_backend_pid()",
        database.name
    ))
    .execute(&mut admin)
    .expect("terminate");

    let mut failed = 0;
    for _ in 0..6 {
        if select(pool.clone()).await.is_err() {
            failed += 1;
        }
    }
    assert!(
        failed <= 1,
        "{failed} of 6 requests failed after the restart"
    );
}
