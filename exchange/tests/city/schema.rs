//! The warehouse's migrations, its hand-written `schema.rs` and the standard's words it
//! stores.

use std::collections::BTreeSet;

use citygrid_exchange::api::CityRole;
use citygrid_schemas::Kind;
use citygrid_test_support::pg::TestDatabase;
use citygrid_test_support::schema::allowed_values;
use diesel::{Connection, PgConnection};
use serde_json::Value;

/// Every migration runs up, down and up again, and `schema.rs` then matches the database
/// column for column: type and nullability included.
#[test]
fn migrations_run_up_down_and_up_and_schema_rs_matches() {
    let database = TestDatabase::new("citygrid_xmig");
    citygrid_test_support::schema::check_migrations(
        &database.url,
        || citygrid_exchange::MIGRATIONS,
        // The sessions table is the kit's, the same on both sides.
        &[
            include_str!("../../src/schema.rs"),
            citygrid_kit::session::SCHEMA_RS,
        ]
        .concat(),
    );
}

/// The constants a published JSON Schema (schemas/json/v1) allows for one of its types.
fn standard_words(file: &str, definition: &str) -> BTreeSet<String> {
    let path = citygrid_test_support::repo().join(format!("schemas/json/v1/{file}.json"));
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("schema")).expect("JSON");
    schema["$defs"][definition]["oneOf"]
        .as_array()
        .expect("an enumeration")
        .iter()
        .map(|v| v["const"].as_str().expect("const").to_owned())
        .collect()
}

/// The warehouse stores the standard's words and refuses any other: its CHECK constraints
/// list exactly what the published schemas define.
#[test]
fn the_warehouse_knows_exactly_the_standards_words() {
    let database = TestDatabase::new("citygrid_xvocab");
    let mut conn = PgConnection::establish(&database.url).expect("connect");
    citygrid_kit::db::migrate(&mut conn, citygrid_exchange::MIGRATIONS).expect("migrate");
    let stream_kinds: BTreeSet<String> = [
        Kind::CaseSnapshot,
        Kind::BusinessRecord,
        Kind::MediaManifest,
        Kind::SupervisionAck,
        Kind::ReconciliationDigest,
    ]
    .iter()
    .map(|k| k.as_str().to_owned())
    .collect();
    let expected = [
        (
            "cases",
            "state",
            standard_words("case_snapshot", "CaseState"),
        ),
        ("cases", "source", standard_words("case_snapshot", "Source")),
        (
            "cases",
            "urgency",
            standard_words("case_snapshot", "Urgency"),
        ),
        (
            "cases",
            "category_kind",
            standard_words("case_snapshot", "CategoryKind"),
        ),
        (
            "records",
            "action",
            standard_words("business_record", "Action"),
        ),
        ("stream", "kind", stream_kinds),
        (
            "supervision_orders",
            "level",
            standard_words("case_snapshot", "SupervisionLevel"),
        ),
        (
            "city_users",
            "roles",
            CityRole::ALL
                .iter()
                .map(|r| r.as_str().to_owned())
                .collect(),
        ),
    ];
    for (table, column, words) in expected {
        assert_eq!(
            allowed_values(&mut conn, table, column),
            words,
            "{table}.{column}"
        );
    }
}
