//! The city's monthly appraisal reports as they reach this district (interchange v1.7
//! `report_notice`, docs/MONTHLY.md): kept as the first notice of each month brought
//! them, and read by the command centre in this instance — the district never calls the
//! city for them.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use citygrid_kit::http::Path;
use citygrid_schemas as v1;
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use super::CENTRE;
use crate::app::AppState;
use crate::auth::Caller;
use crate::db;
use crate::error::{Error, Result};
use crate::schema::{city_report_files, city_reports};

/// What taking a notice did.
#[derive(Debug, PartialEq, Eq)]
pub enum Kept {
    Stored,
    /// That month's report was taken before: nothing changed.
    Again,
    /// A file does not match its hash, or the month is not one: the notice is refused.
    Invalid(String),
}

/// Keeps `notice` (once per month), its files checked against their hashes first.
pub fn take(
    conn: &mut PgConnection,
    notice: &v1::ReportNotice,
    now: DateTime<Utc>,
) -> Result<Kept> {
    if !matches!(
        notice.month.parse::<citygrid_appraisal::Period>(),
        Ok(citygrid_appraisal::Period::Month { .. })
    ) {
        return Ok(Kept::Invalid(format!("{:?} is not a month", notice.month)));
    }
    let mut files = Vec::with_capacity(notice.files.len());
    for file in &notice.files {
        match file.decode() {
            Ok(bytes) => files.push((file, bytes)),
            Err(why) => return Ok(Kept::Invalid(why)),
        }
    }
    conn.transaction(|conn| {
        let inserted = diesel::insert_into(city_reports::table)
            .values((
                city_reports::month.eq(&notice.month),
                city_reports::published_at.eq(notice.published_at),
                city_reports::rank.eq(notice.rank.map(|r| r as i32)),
                city_reports::ranked.eq(notice.ranked as i32),
                city_reports::composite.eq(notice.composite),
                city_reports::grade.eq(&notice.grade),
                city_reports::complete.eq(notice.complete),
                city_reports::omitted.eq(&notice.omitted),
                city_reports::received_at.eq(now),
            ))
            .on_conflict_do_nothing()
            .execute(conn)?;
        if inserted == 0 {
            return Ok(Kept::Again);
        }
        for (file, bytes) in &files {
            diesel::insert_into(city_report_files::table)
                .values((
                    city_report_files::month.eq(&notice.month),
                    city_report_files::name.eq(&file.name),
                    city_report_files::content_type.eq(&file.content_type),
                    city_report_files::bytes.eq(bytes),
                    city_report_files::sha256.eq(&file.sha256),
                ))
                .on_conflict_do_nothing()
                .execute(conn)?;
        }
        Ok(Kept::Stored)
    })
}

/// One file, without its bytes.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportFileEntry {
    pub name: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
}

/// A month's report as this district has it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CityReport {
    /// `2026-10`.
    pub month: String,
    pub published_at: DateTime<Utc>,
    /// This district's rank among `ranked` districts; absent when not ranked.
    pub rank: Option<i32>,
    pub ranked: i32,
    /// 综合指标值 in hundredths of a point.
    pub composite: Option<i64>,
    pub grade: Option<String>,
    /// Whether the city counted this district's month complete.
    pub complete: bool,
    pub files: Vec<ReportFileEntry>,
    /// Files of the section kept only at the city.
    pub omitted: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CityReportList {
    items: Vec<CityReport>,
}

type ReportRow = (
    String,
    DateTime<Utc>,
    Option<i32>,
    i32,
    Option<i64>,
    Option<String>,
    bool,
    Vec<String>,
);

fn list(conn: &mut PgConnection) -> Result<Vec<CityReport>> {
    let reports: Vec<ReportRow> = city_reports::table
        .order(city_reports::month.desc())
        .select((
            city_reports::month,
            city_reports::published_at,
            city_reports::rank,
            city_reports::ranked,
            city_reports::composite,
            city_reports::grade,
            city_reports::complete,
            city_reports::omitted,
        ))
        .load(conn)?;
    let files: Vec<(String, String, String, i64, String)> = city_report_files::table
        .order((city_report_files::month, city_report_files::name))
        .select((
            city_report_files::month,
            city_report_files::name,
            city_report_files::content_type,
            diesel::dsl::sql::<diesel::sql_types::BigInt>("octet_length(bytes)::bigint"),
            city_report_files::sha256,
        ))
        .load(conn)?;
    Ok(reports
        .into_iter()
        .map(
            |(month, published_at, rank, ranked, composite, grade, complete, omitted)| CityReport {
                files: files
                    .iter()
                    .filter(|f| f.0 == month)
                    .map(
                        |(_, name, content_type, size_bytes, sha256)| ReportFileEntry {
                            name: name.clone(),
                            content_type: content_type.clone(),
                            size_bytes: *size_bytes,
                            sha256: sha256.clone(),
                        },
                    )
                    .collect(),
                month,
                published_at,
                rank,
                ranked,
                composite,
                grade,
                complete,
                omitted,
            },
        )
        .collect())
}

/// The city's reports are the command centre's to read.
fn centre_only(caller: &Caller) -> Result<()> {
    if CENTRE.iter().any(|r| caller.0.roles.contains(r)) {
        Ok(())
    } else {
        Err(Error::forbidden(
            "wrong_role",
            "the city's appraisal reports are the command centre's to read",
        ))
    }
}

/// The city's monthly appraisal reports of this district, newest first: its rank,
/// composite and grade, and the section's files (the command centre).
#[utoipa::path(get, path = "/api/v1/city-reports", tag = "appraisal",
    responses((status = 200, body = CityReportList)))]
pub async fn list_reports(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse> {
    centre_only(&caller)?;
    let items = db::run(&state.pool, list).await?;
    Ok(HttpResponse::Ok().json(CityReportList { items }))
}

/// One file of a month's section: the page and its PDF open in the browser, the rest
/// download (the command centre).
#[utoipa::path(get, path = "/api/v1/city-reports/{month}/{file}", tag = "appraisal",
    params(("month" = String, Path, description = "`2026-10`"), ("file" = String, Path)),
    responses((status = 200, description = "the file", content_type = "application/octet-stream")))]
pub async fn download_report(
    state: web::Data<AppState>,
    caller: Caller,
    path: Path<(String, String)>,
) -> Result<HttpResponse> {
    centre_only(&caller)?;
    let (month, name) = path.into_inner();
    let found = {
        let (month, name) = (month.clone(), name.clone());
        db::run(&state.pool, move |conn| {
            Ok(city_report_files::table
                .find((&month, &name))
                .select((city_report_files::content_type, city_report_files::bytes))
                .first::<(String, Vec<u8>)>(conn)
                .optional()?)
        })
        .await?
    };
    let Some((content_type, bytes)) = found else {
        return Err(Error::not_found(format!(
            "{name} of the city's {month} report"
        )));
    };
    Ok(citygrid_kit::http::document(
        content_type,
        bytes,
        format!("city-report-{month}-{name}"),
    ))
}
