//! A report's files in the warehouse, written in the transaction of the month's run: a
//! month that ran has its report, and one that did not has none.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Bytea, Text};
use serde::Serialize;
use utoipa::ToSchema;

use super::File;
use crate::error::Result;
use crate::schema::{monthly_reports, monthly_runs};

/// The scope of the city's own report; a district's section is under its code.
pub const CITY: &str = "city";

/// Stores `files` of `month` under `scope` (the SHA-256 is PostgreSQL's, of the bytes
/// stored).
pub fn save(conn: &mut PgConnection, month: &str, scope: &str, files: &[File]) -> Result<()> {
    for file in files {
        diesel::sql_query(
            "INSERT INTO monthly_reports (month, scope, name, content_type, bytes, sha256) \
             VALUES ($1, $2, $3, $4, $5, encode(sha256($5), 'hex'))",
        )
        .bind::<Text, _>(month)
        .bind::<Text, _>(scope)
        .bind::<Text, _>(&file.name)
        .bind::<Text, _>(&file.content_type)
        .bind::<Bytea, _>(&file.bytes)
        .execute(conn)?;
    }
    Ok(())
}

/// One stored file, without its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Serialize, ToSchema)]
pub struct Entry {
    pub name: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
}

/// A month's report as listed: when it ran, whom it went without, its files.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Listed {
    /// `2026-10`.
    pub month: String,
    pub ran_at: DateTime<Utc>,
    /// Districts not reconciled past the month's end: named in the report, not ranked.
    pub incomplete: Vec<String>,
    pub files: Vec<Entry>,
}

/// The reports of `scope`, newest month first.
pub fn list(conn: &mut PgConnection, scope: &str, limit: i64) -> Result<Vec<Listed>> {
    let runs: Vec<(String, DateTime<Utc>, Vec<String>)> = monthly_runs::table
        .order(monthly_runs::month.desc())
        .limit(limit)
        .select((
            monthly_runs::month,
            monthly_runs::ran_at,
            monthly_runs::incomplete,
        ))
        .load(conn)?;
    let months: Vec<&String> = runs.iter().map(|(m, _, _)| m).collect();
    let files: Vec<(String, Entry)> = monthly_reports::table
        .filter(monthly_reports::scope.eq(scope))
        .filter(monthly_reports::month.eq_any(months))
        .order((monthly_reports::month, monthly_reports::name))
        .select((
            monthly_reports::month,
            (
                monthly_reports::name,
                monthly_reports::content_type,
                diesel::dsl::sql::<diesel::sql_types::BigInt>("octet_length(bytes)::bigint"),
                monthly_reports::sha256,
            ),
        ))
        .load(conn)?;
    Ok(runs
        .into_iter()
        .map(|(month, ran_at, incomplete)| Listed {
            files: files
                .iter()
                .filter(|(m, _)| *m == month)
                .map(|(_, e)| e.clone())
                .collect(),
            month,
            ran_at,
            incomplete,
        })
        .collect())
}

/// One file: its content type and bytes.
pub fn get(
    conn: &mut PgConnection,
    month: &str,
    scope: &str,
    name: &str,
) -> Result<Option<(String, Vec<u8>)>> {
    Ok(monthly_reports::table
        .find((month, scope, name))
        .select((monthly_reports::content_type, monthly_reports::bytes))
        .first(conn)
        .optional()?)
}

/// Every file of `month` under `scope`.
pub fn files(conn: &mut PgConnection, month: &str, scope: &str) -> Result<Vec<File>> {
    let rows: Vec<(String, String, Vec<u8>)> = monthly_reports::table
        .filter(monthly_reports::month.eq(month))
        .filter(monthly_reports::scope.eq(scope))
        .order(monthly_reports::name)
        .select((
            monthly_reports::name,
            monthly_reports::content_type,
            monthly_reports::bytes,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(name, content_type, bytes)| File {
            name,
            content_type,
            bytes,
        })
        .collect())
}
