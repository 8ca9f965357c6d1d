//! `GET /api/v1/manual`: the command manual as staff read it. The operator picks a filing
//! condition (立案条件) when filing and the dispatcher sees whose case it is and how long
//! each stage may take; both need the rows the server will apply, not a copy on paper.

use actix_web::{HttpResponse, web};
use citygrid_kit::http::Query;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{Manual, ManualRow, Stage, parse_category};
use crate::app::AppState;
use crate::auth::Caller;
use crate::catalogue::{Catalogue, CategoryRef};
use crate::error::{Error, ErrorBody, Result};
use crate::vocab::{Clock, Urgency};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ManualQuery {
    /// One category's rows: `kind:majorminor`, e.g. `event:0102` or `component:0101`.
    pub category: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ManualView {
    pub version: String,
    /// The standard the manual follows, e.g. GB/T 30428.8.
    pub standard: String,
    /// Working minutes to file a report that has no category yet.
    pub filing_limit_minutes: i64,
    pub rows: Vec<ManualRowView>,
}

/// One filing-condition row. Limits are in minutes of the row's clock.
#[derive(Debug, Serialize, ToSchema)]
pub struct ManualRowView {
    /// `kind:majorminor`, as the `category` filter takes it.
    pub category: String,
    pub category_name: String,
    /// Two digits, unique within the category: `condition` when filing.
    pub condition: String,
    pub filing_condition: String,
    pub closing_condition: String,
    pub urgency: Urgency,
    pub department: String,
    /// The case goes to the street office of its street; `department` when it has none.
    pub by_street: bool,
    pub clock: Clock,
    pub filing_minutes: i64,
    pub dispatch_minutes: i64,
    pub handling_minutes: i64,
    pub check_minutes: i64,
}

impl ManualRowView {
    fn new(row: &ManualRow, catalogue: &Catalogue) -> Self {
        let minutes = |stage| row.limits.of(stage).num_minutes();
        ManualRowView {
            category: row.category.label(),
            category_name: catalogue
                .get(&row.category)
                .map(|c| c.name.clone())
                .unwrap_or_default(),
            condition: row.condition.clone(),
            filing_condition: row.filing_condition.clone(),
            closing_condition: row.closing_condition.clone(),
            urgency: row.urgency,
            department: row.department.clone(),
            by_street: row.by_street,
            clock: row.clock,
            filing_minutes: minutes(Stage::Filing),
            dispatch_minutes: minutes(Stage::Dispatch),
            handling_minutes: minutes(Stage::Handling),
            check_minutes: minutes(Stage::Check),
        }
    }
}

/// The rows of `category` (all rows without one), in category then condition order.
pub fn view(manual: &Manual, catalogue: &Catalogue, category: Option<&CategoryRef>) -> ManualView {
    let rows: Vec<&ManualRow> = match category {
        Some(category) => manual.conditions(category).collect(),
        None => manual.rows().collect(),
    };
    ManualView {
        version: manual.version.clone(),
        standard: manual.standard.clone(),
        filing_limit_minutes: manual.filing_limit.num_minutes(),
        rows: rows
            .into_iter()
            .map(|row| ManualRowView::new(row, catalogue))
            .collect(),
    }
}

/// The command manual (指挥手册) in force: every filing-condition row, or one category's.
/// A category the catalogue lacks is 422 `category`.
#[utoipa::path(get, path = "/api/v1/manual", tag = "cases", params(ManualQuery),
    responses((status = 200, body = ManualView), (status = 422, body = ErrorBody)))]
pub async fn read_manual(
    state: web::Data<AppState>,
    _caller: Caller,
    query: Query<ManualQuery>,
) -> Result<HttpResponse> {
    let tenant = &state.tenant;
    let category = match &query.category {
        None => None,
        Some(text) => {
            let category = parse_category(text)
                .filter(|c| tenant.catalogue.get(c).is_some())
                .ok_or_else(|| {
                    Error::invalid(
                        "category",
                        format!(
                            "{text:?} is not a category of catalogue {}: use kind:majorminor, \
                             e.g. event:0102",
                            tenant.catalogue.version
                        ),
                    )
                })?;
            Some(category)
        }
    };
    Ok(HttpResponse::Ok().json(view(&tenant.manual, &tenant.catalogue, category.as_ref())))
}
