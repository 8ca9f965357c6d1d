//! Holding a hand-written `schema.rs` to the database its migrations build, and the
//! migrations themselves to their `down.sql`: the checks every crate with a database runs.

use std::collections::BTreeMap;

use diesel::prelude::*;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness};

/// (table, column) → (PostgreSQL type name as `udt_name`, nullable).
type Columns = BTreeMap<(String, String), (String, bool)>;

/// The columns a `schema.rs` declares, read from its `diesel::table!` blocks.
pub fn declared_columns(schema_rs: &str) -> Columns {
    let mut columns = Columns::new();
    let mut table: Option<String> = None;
    for line in schema_rs.lines().map(str::trim) {
        if let Some(head) = line.strip_suffix('{')
            && let Some((name, _key)) = head.trim().split_once(" (")
        {
            table = Some(name.trim().to_owned());
            continue;
        }
        if line == "}" {
            table = None;
            continue;
        }
        let (Some(table), Some((column, ty))) = (&table, line.split_once(" -> ")) else {
            continue;
        };
        let ty = ty.trim_end_matches(',');
        let (ty, nullable) = match ty.strip_prefix("Nullable<") {
            Some(inner) => (inner.strip_suffix('>').unwrap_or(inner), true),
            None => (ty, false),
        };
        columns.insert(
            (
                table.clone(),
                column.trim().trim_start_matches("r#").to_owned(),
            ),
            (udt_name(ty), nullable),
        );
    }
    columns
}

/// diesel's SQL type name → PostgreSQL's `udt_name`.
fn udt_name(diesel_type: &str) -> String {
    match diesel_type {
        "Text" | "Varchar" => "text".into(),
        "Int2" | "SmallInt" => "int2".into(),
        "Int4" | "Integer" => "int4".into(),
        "Int8" | "BigInt" => "int8".into(),
        "Float4" | "Float" => "float4".into(),
        "Float8" | "Double" => "float8".into(),
        "Bool" => "bool".into(),
        "Uuid" => "uuid".into(),
        "Jsonb" => "jsonb".into(),
        "Bytea" | "Binary" => "bytea".into(),
        "Date" => "date".into(),
        "Timestamptz" => "timestamptz".into(),
        other => match other
            .strip_prefix("Array<")
            .and_then(|t| t.strip_suffix('>'))
        {
            Some(inner) => format!("_{}", udt_name(inner)),
            None => format!("<unknown diesel type {other}>"),
        },
    }
}

#[derive(QueryableByName)]
struct Column {
    #[diesel(sql_type = diesel::sql_types::Text)]
    table_name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    column_name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    udt_name: String,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    nullable: bool,
}

/// The columns of the database's own tables (diesel's bookkeeping left out).
pub fn database_columns(conn: &mut PgConnection) -> Columns {
    diesel::sql_query(
        "SELECT table_name::text, column_name::text, udt_name::text, \
                is_nullable = 'YES' AS nullable \
         FROM information_schema.columns \
         WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations'",
    )
    .load::<Column>(conn)
    .expect("information_schema")
    .into_iter()
    .map(|c| ((c.table_name, c.column_name), (c.udt_name, c.nullable)))
    .collect()
}

/// Every difference between `schema.rs` and the migrated database, one line each.
pub fn schema_differences(conn: &mut PgConnection, schema_rs: &str) -> Vec<String> {
    let declared = declared_columns(schema_rs);
    let actual = database_columns(conn);
    let mut differences = Vec::new();
    for (key, want) in &declared {
        match actual.get(key) {
            None => differences.push(format!(
                "{}.{}: in schema.rs, not in the database",
                key.0, key.1
            )),
            Some(have) if have != want => differences.push(format!(
                "{}.{}: schema.rs says {} (nullable {}), the database {} (nullable {})",
                key.0, key.1, want.0, want.1, have.0, have.1
            )),
            Some(_) => {}
        }
    }
    for key in actual.keys().filter(|k| !declared.contains_key(*k)) {
        differences.push(format!(
            "{}.{}: in the database, not in schema.rs",
            key.0, key.1
        ));
    }
    differences
}

/// Runs every migration up, all of them down, and up again, on an empty database; then
/// `schema.rs` must match what they built. Panics with what went wrong. `migrations` is
/// the crate's `MIGRATIONS` constant behind a closure (`|| MIGRATIONS`): each run takes one.
pub fn check_migrations(url: &str, migrations: impl Fn() -> EmbeddedMigrations, schema_rs: &str) {
    let mut conn = PgConnection::establish(url).expect("test database");
    let up = conn
        .run_pending_migrations(migrations())
        .expect("migrations up")
        .len();
    let down = conn
        .revert_all_migrations(migrations())
        .expect("every migration's down.sql")
        .len();
    assert_eq!(up, down, "every migration that ran up must run down");
    assert!(
        database_columns(&mut conn).is_empty(),
        "tables left after every down.sql ran: {:?}",
        database_columns(&mut conn).keys().collect::<Vec<_>>()
    );
    let again = conn
        .run_pending_migrations(migrations())
        .expect("migrations up again")
        .len();
    assert_eq!(up, again);
    let differences = schema_differences(&mut conn, schema_rs);
    assert!(
        differences.is_empty(),
        "schema.rs differs from the migrated database:\n{}",
        differences.join("\n")
    );
}

#[derive(QueryableByName)]
struct Check {
    #[diesel(sql_type = diesel::sql_types::Text)]
    def: String,
}

/// The words a CHECK constraint on `table` lets `column` hold (the quoted literals of the
/// constraint `CHECK ((column …))`); panics when there is none.
pub fn allowed_values(
    conn: &mut PgConnection,
    table: &str,
    column: &str,
) -> std::collections::BTreeSet<String> {
    let checks: Vec<Check> = diesel::sql_query(
        "SELECT pg_get_constraintdef(c.oid) AS def FROM pg_constraint c \
         JOIN pg_class t ON t.oid = c.conrelid WHERE t.relname = $1 AND c.contype = 'c'",
    )
    .bind::<diesel::sql_types::Text, _>(table)
    .load(conn)
    .expect("constraints");
    let def = checks
        .into_iter()
        .map(|c| c.def)
        .find(|d| d.starts_with(&format!("CHECK (({column} ")))
        .unwrap_or_else(|| panic!("no CHECK constraint on {table}.{column}"));
    def.split('\'')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_tables_columns_types_and_nullability() {
        let columns = declared_columns(
            "diesel::table! {\n    cases (district, case_id) {\n        district -> Text,\n        version -> Int4,\n        closed_at -> Nullable<Timestamptz>,\n        tags -> Array<Text>,\n    }\n}\n",
        );
        let get = |c: &str| columns.get(&("cases".to_owned(), c.to_owned())).cloned();
        assert_eq!(get("district"), Some(("text".into(), false)));
        assert_eq!(get("version"), Some(("int4".into(), false)));
        assert_eq!(get("closed_at"), Some(("timestamptz".into(), true)));
        assert_eq!(get("tags"), Some(("_text".into(), false)));
        assert_eq!(columns.len(), 4);
    }
}
