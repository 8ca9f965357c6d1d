//! `src/schema.rs` is written by hand: this test holds it, and the migrations, to the
//! database they build.

use std::collections::BTreeSet;

use crate::helpers::TestApp;

/// Every migration runs up, down and up again, and `schema.rs` then matches the database
/// column for column: type and nullability included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_run_up_down_and_up_and_schema_rs_matches() {
    tokio::task::block_in_place(|| {
        let database = citygrid_test_support::pg::TestDatabase::new("citygrid_mig");
        citygrid_test_support::schema::check_migrations(
            &database.url,
            || citygrid_platform::db::MIGRATIONS,
            // The sessions table is the kit's, the same on both sides.
            &[
                include_str!("../../src/schema.rs"),
                citygrid_kit::session::SCHEMA_RS,
            ]
            .concat(),
        );
    });
}

fn names<T: Copy>(all: &[T], as_str: fn(T) -> &'static str) -> BTreeSet<String> {
    all.iter().map(|v| as_str(*v).to_owned()).collect()
}

/// Every column that stores a word of the vocabulary accepts exactly the words the code
/// knows: a value the code cannot read never gets in, and every value it writes does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_knows_exactly_the_vocabulary() {
    use citygrid_platform::component;
    use citygrid_platform::vocab::*;
    use diesel::RunQueryDsl;
    let app = TestApp::spawn().await;
    let case = app.filed_case().await;
    let mut conn = app.pool.get().expect("conn");
    let expected = [
        ("cases", "state", names(State::ALL, State::as_str)),
        ("cases", "source", names(Source::ALL, Source::as_str)),
        ("cases", "urgency", names(Urgency::ALL, Urgency::as_str)),
        (
            "cases",
            "category_kind",
            names(CategoryKind::ALL, CategoryKind::as_str),
        ),
        (
            "cases",
            "satisfaction",
            names(Satisfaction::ALL, Satisfaction::as_str),
        ),
        ("cases", "stage", names(Stage::ALL, Stage::as_str)),
        ("cases", "clock", names(Clock::ALL, Clock::as_str)),
        (
            "cases",
            "pending_request",
            names(Pending::ALL, Pending::as_str),
        ),
        (
            "cases",
            "supervision_level",
            names(SupervisionLevel::ALL, SupervisionLevel::as_str),
        ),
        ("case_records", "action", names(Action::ALL, Action::as_str)),
        (
            "case_records",
            "from_state",
            names(State::ALL, State::as_str),
        ),
        ("case_records", "to_state", names(State::ALL, State::as_str)),
        (
            "case_records",
            "actor_role",
            names(ActorRole::ALL, ActorRole::as_str),
        ),
        (
            "supervision_orders",
            "origin",
            names(SupervisionOrigin::ALL, SupervisionOrigin::as_str),
        ),
        (
            "supervision_orders",
            "level",
            names(SupervisionLevel::ALL, SupervisionLevel::as_str),
        ),
        ("notifications", "stage", names(Stage::ALL, Stage::as_str)),
        (
            "departments",
            "kind",
            names(DepartmentKind::ALL, DepartmentKind::as_str),
        ),
        ("users", "roles", names(Role::ALL, Role::as_str)),
        (
            "components",
            "status",
            names(component::Status::ALL, component::Status::as_str),
        ),
        (
            "components",
            "data_source",
            names(component::DataSource::ALL, component::DataSource::as_str),
        ),
        (
            "component_changes",
            "via",
            names(component::Via::ALL, component::Via::as_str),
        ),
    ];
    for (table, column, words) in expected {
        assert_eq!(
            citygrid_test_support::schema::allowed_values(&mut conn, table, column),
            words,
            "{table}.{column}"
        );
    }
    let refused = diesel::sql_query("UPDATE cases SET state = 'archived' WHERE id = $1")
        .bind::<diesel::sql_types::Uuid, _>(
            uuid::Uuid::parse_str(case["id"].as_str().expect("id")).expect("uuid"),
        )
        .execute(&mut conn);
    assert!(
        matches!(
            refused,
            Err(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::CheckViolation,
                _
            ))
        ),
        "{refused:?}"
    );
}
