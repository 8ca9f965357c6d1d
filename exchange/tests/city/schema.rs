//! The warehouse's migrations and its hand-written `schema.rs`.

/// Every migration runs up, down and up again, and `schema.rs` then matches the database
/// column for column: type and nullability included.
#[test]
fn migrations_run_up_down_and_up_and_schema_rs_matches() {
    let database = citygrid_test_support::pg::TestDatabase::new("citygrid_xmig");
    citygrid_test_support::schema::check_migrations(
        &database.url,
        || citygrid_exchange::MIGRATIONS,
        include_str!("../../src/schema.rs"),
    );
}
