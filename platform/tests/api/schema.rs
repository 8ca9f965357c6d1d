//! `src/schema.rs` is written by hand: this test holds it, and the migrations, to the
//! database they build.

/// Every migration runs up, down and up again, and `schema.rs` then matches the database
/// column for column: type and nullability included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_run_up_down_and_up_and_schema_rs_matches() {
    tokio::task::block_in_place(|| {
        let database = citygrid_test_support::pg::TestDatabase::new("citygrid_mig");
        citygrid_test_support::schema::check_migrations(
            &database.url,
            || citygrid_platform::db::MIGRATIONS,
            include_str!("../../src/schema.rs"),
        );
    });
}
