//! `src/schema.rs` is written by hand: this test holds it to the migrated database.

use std::collections::BTreeSet;

use citygrid_platform::schema::{
    case_records, cases, departments, digests, exchange_rejections, media, notifications, outbox,
    outbox_counter, supervision_orders, users,
};
use diesel::pg::Pg;
use diesel::prelude::*;

use crate::helpers::TestApp;

/// Column names diesel will use for a table, read from the SQL it generates.
fn diesel_columns<Q: diesel::query_builder::QueryFragment<Pg>>(
    table: &str,
    query: Q,
) -> BTreeSet<String> {
    let sql = diesel::debug_query::<Pg, _>(&query).to_string();
    let prefix = format!("\"{table}\".\"");
    sql.split(&prefix)
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_owned)
        .collect()
}

#[derive(QueryableByName)]
struct Column {
    #[diesel(sql_type = diesel::sql_types::Text)]
    column_name: String,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema_rs_matches_the_migrated_database() {
    let app = TestApp::spawn().await;
    let mut conn = app.pool.get().expect("conn");
    let tables = [
        (
            "departments",
            diesel_columns(
                "departments",
                departments::table.select(departments::all_columns),
            ),
        ),
        (
            "users",
            diesel_columns("users", users::table.select(users::all_columns)),
        ),
        (
            "media",
            diesel_columns("media", media::table.select(media::all_columns)),
        ),
        (
            "cases",
            diesel_columns("cases", cases::table.select(cases::all_columns)),
        ),
        (
            "case_records",
            diesel_columns(
                "case_records",
                case_records::table.select(case_records::all_columns),
            ),
        ),
        (
            "supervision_orders",
            diesel_columns(
                "supervision_orders",
                supervision_orders::table.select(supervision_orders::all_columns),
            ),
        ),
        (
            "notifications",
            diesel_columns(
                "notifications",
                notifications::table.select(notifications::all_columns),
            ),
        ),
        (
            "outbox",
            diesel_columns("outbox", outbox::table.select(outbox::all_columns)),
        ),
        (
            "outbox_counter",
            diesel_columns(
                "outbox_counter",
                outbox_counter::table.select(outbox_counter::all_columns),
            ),
        ),
        (
            "digests",
            diesel_columns("digests", digests::table.select(digests::all_columns)),
        ),
        (
            "exchange_rejections",
            diesel_columns(
                "exchange_rejections",
                exchange_rejections::table.select(exchange_rejections::all_columns),
            ),
        ),
    ];
    for (table, expected) in tables {
        let actual: BTreeSet<String> = diesel::sql_query(format!(
            "SELECT column_name::text FROM information_schema.columns WHERE table_schema = 'public' AND table_name = '{table}'"
        ))
        .load::<Column>(&mut conn)
        .expect("columns")
        .into_iter()
        .map(|c| c.column_name)
        .collect();
        assert!(!expected.is_empty(), "parsed diesel's SQL for {table}");
        assert_eq!(actual, expected, "columns of {table}");
    }
}
