//! `/api/v1/components`: the inventory for district staff (list with filters, one with its
//! change history), and the departments' edits of their own components.

use actix_web::{HttpResponse, web};
use chrono::{NaiveDate, Utc};
use citygrid_kit::http::{Path, Query, page};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;
use utoipa::{IntoParams, ToSchema};

use super::attributes;
use super::model::{Attributes, Change, Component, DataSource, Status};
use super::store::{self, Editor, Filter};
use crate::api::json::Json;
use crate::app::AppState;
use crate::auth::Caller;
use crate::case::workflow::Role;
use crate::db;
use crate::error::{Error, ErrorBody, Result};
use crate::grid::CELL_CODE_LEN;
use citygrid_schemas::component_id::ComponentId;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// 15-digit unit grid cell code.
    pub cell: Option<String>,
    /// The class: major (`01`) or major and minor (`0101`, GB/T 47678.5 `01001`).
    pub category: Option<String>,
    /// intact, damaged, missing, abandoned or removed.
    pub status: Option<String>,
    /// The competent department's code.
    pub department: Option<String>,
    /// The owner unit's code (权属单位).
    pub owner: Option<String>,
    /// `next` of the previous page.
    pub after: Option<String>,
    /// Page size, 1 to 500 (default 100).
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ComponentPage {
    #[schema(value_type = Vec<Component>)]
    pub items: Vec<Box<RawValue>>,
    /// Pass as `after` for the next page; absent on the last one.
    pub next: Option<String>,
    /// The page stopped early to stay under `[limits] page_kib`.
    pub truncated: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ComponentDetail {
    pub component: Component,
    /// Every change, oldest first: the census that created it, later censuses, edits.
    pub history: Vec<Change>,
}

fn filter(q: &ListQuery) -> Result<Filter> {
    let mut filter = Filter::default();
    if let Some(cell) = &q.cell {
        if !crate::config::digits(cell, CELL_CODE_LEN) {
            return Err(Error::invalid("cell", "a cell code is 15 digits"));
        }
        filter.cell = Some(cell.clone());
    }
    if let Some(category) = &q.category {
        let category = category.strip_prefix("component:").unwrap_or(category);
        if !category.bytes().all(|b| b.is_ascii_digit()) || !(2..=5).contains(&category.len()) {
            return Err(Error::invalid(
                "category",
                "a major class (01) or a class (0101, or 01001 in GB/T 47678.5)",
            ));
        }
        filter.major = Some(category[..2].to_owned());
        filter.minor = Some(category[2..].to_owned()).filter(|m| !m.is_empty());
    }
    if let Some(status) = &q.status {
        filter.status = Some(
            Status::read(status)
                .ok_or_else(|| Error::invalid("status", format!("unknown status {status:?}")))?,
        );
    }
    filter.department = q.department.clone();
    filter.owner = q.owner.clone();
    filter.after = q.after.clone();
    Ok(filter)
}

/// 部件库: components by id, with filters and paging.
#[utoipa::path(get, path = "/api/v1/components", tag = "components", params(ListQuery),
    responses((status = 200, body = ComponentPage), (status = 400, body = ErrorBody, description = "unknown parameter"), (status = 422, body = ErrorBody)))]
pub async fn list_components(
    state: web::Data<AppState>,
    _caller: Caller,
    query: Query<ListQuery>,
) -> Result<HttpResponse> {
    let filter = filter(&query)?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(Error::invalid("limit", "must be between 1 and 500"));
    }
    let items = db::run(&state.pool, move |conn| store::list(conn, &filter, limit)).await?;
    let ids: Vec<String> = items.iter().map(|c| c.id.clone()).collect();
    let fitted = page::fit(&items, state.tenant.config.limits.page_bytes())?;
    let next = if fitted.truncated || ids.len() as i64 == limit {
        fitted
            .items
            .len()
            .checked_sub(1)
            .and_then(|last| ids.get(last).cloned())
    } else {
        None
    };
    Ok(HttpResponse::Ok().json(ComponentPage {
        items: fitted.items,
        next,
        truncated: fitted.truncated,
    }))
}

/// A component id of this district from the path: 422 naming `id` with the reason.
fn path_id(state: &AppState, text: &str) -> Result<ComponentId> {
    ComponentId::parse(text, state.tenant.code(), &[&state.tenant.catalogue])
        .map_err(|e| Error::invalid("id", e.to_string()))
}

/// One component with its change history.
#[utoipa::path(get, path = "/api/v1/components/{id}", tag = "components",
    params(("id" = String, Path, description = "16- or 17-digit component id")),
    responses((status = 200, body = ComponentDetail), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "not a component id of this district")))]
pub async fn get_component(
    state: web::Data<AppState>,
    _caller: Caller,
    id: Path<String>,
) -> Result<HttpResponse> {
    let id = path_id(&state, &id.into_inner())?;
    let detail = db::run(&state.pool, move |conn| {
        Ok(ComponentDetail {
            component: store::get(conn, id.as_str())?,
            history: store::history(conn, id.as_str())?,
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(detail))
}

/// `null` clears a field, absence leaves it: `Some(None)` and `None`.
fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> std::result::Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// An edit: the version seen, and the attributes to change (absent: unchanged; `null`:
/// cleared, where a field may be empty).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateComponent {
    /// The component version you saw; a newer one makes the edit fail with 409 `stale_version`.
    pub version: i32,
    pub name: Option<String>,
    pub status: Option<Status>,
    /// Hand it to another department (主管部门): admins only.
    pub department: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub owner_code: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub owner_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub maintainer_code: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub maintainer_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub remarks: Option<Option<String>>,
    pub data_source: Option<DataSource>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<NaiveDate>)]
    pub initial_date: Option<Option<NaiveDate>>,
    /// 变更日期; when the status changes without one, today (the district's date).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<NaiveDate>)]
    pub changed_date: Option<Option<NaiveDate>>,
    /// A new point (with `lat`): the cell, street and community follow from the grid.
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    /// Why (kept in the change record), at most 500 characters.
    pub reason: Option<String>,
}

impl UpdateComponent {
    /// The stored attributes with this edit applied (not yet checked).
    fn apply(&self, current: &Attributes, today: NaiveDate) -> Result<Attributes> {
        let mut a = current.clone();
        let set = |target: &mut Option<String>, value: &Option<Option<String>>| {
            if let Some(value) = value {
                *target = value.clone().filter(|v| !v.trim().is_empty());
            }
        };
        if let Some(name) = &self.name {
            a.name = name.clone();
        }
        if let Some(status) = self.status {
            a.status = status;
        }
        if let Some(department) = &self.department {
            a.department_code = department.clone();
        }
        set(&mut a.owner_code, &self.owner_code);
        set(&mut a.owner_name, &self.owner_name);
        set(&mut a.maintainer_code, &self.maintainer_code);
        set(&mut a.maintainer_name, &self.maintainer_name);
        set(&mut a.remarks, &self.remarks);
        if let Some(source) = self.data_source {
            a.data_source = source;
        }
        if let Some(date) = self.initial_date {
            a.initial_date = date;
        }
        match (self.changed_date, a.status != current.status) {
            (Some(date), _) => a.changed_date = date,
            (None, true) => a.changed_date = Some(today),
            (None, false) => {}
        }
        match (self.lon, self.lat) {
            (Some(lon), Some(lat)) => {
                a.lon = Some(lon);
                a.lat = Some(lat);
                // The grid says where the new point is.
                a.cell_code = None;
                a.street_code = None;
                a.community_code = None;
            }
            (None, None) => {}
            (Some(_), None) => return Err(Error::invalid("lat", "a new lon needs its lat")),
            (None, Some(_)) => return Err(Error::invalid("lon", "a new lat needs its lon")),
        }
        Ok(a)
    }
}

/// May the caller edit this component? Admins any; a handler those of their department
/// (the competent department, or the maintainer when that is their department).
fn may_edit(caller: &Caller, component: &Component, body: &UpdateComponent) -> Result<()> {
    if caller.has(Role::Admin) {
        return Ok(());
    }
    caller.require(Role::Handler)?;
    let mine = caller.0.department.as_deref().is_some_and(|d| {
        d == component.department_code || component.maintainer_code.as_deref() == Some(d)
    });
    if !mine {
        return Err(Error::forbidden(
            "not_your_component",
            format!(
                "component {} is department {}'s: a department maintains only its own components",
                component.id, component.department_code
            ),
        ));
    }
    if body
        .department
        .as_ref()
        .is_some_and(|d| *d != component.department_code)
    {
        return Err(Error::forbidden(
            "wrong_role",
            "only an admin hands a component to another department",
        ));
    }
    Ok(())
}

/// A department keeps its component up: status, owner and maintainer, point, dates,
/// remarks. The caller quotes the version they saw; every change is a change record.
#[utoipa::path(patch, path = "/api/v1/components/{id}", tag = "components",
    params(("id" = String, Path, description = "16- or 17-digit component id")),
    request_body = UpdateComponent,
    responses((status = 200, body = Component), (status = 404, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "not a handler of the component's department, nor an admin"),
        (status = 409, body = ErrorBody, description = "stale_version"),
        (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody, description = "over a write limit; see Retry-After")))]
pub async fn update_component(
    state: web::Data<AppState>,
    caller: Caller,
    id: Path<String>,
    body: Json<UpdateComponent>,
) -> Result<HttpResponse> {
    if !(caller.has(Role::Admin) || caller.has(Role::Handler)) {
        return Err(Error::forbidden(
            "wrong_role",
            "this needs the handler or the admin role",
        ));
    }
    state.limits.staff_write(caller.0.sub)?;
    let id = path_id(&state, &id.into_inner())?;
    let body = body.0;
    if let Some(reason) = &body.reason {
        attributes::text("reason", reason, attributes::REMARKS_CHARS)
            .map_err(|(field, message)| Error::invalid(field, message))?;
    }
    let tenant = state.tenant.clone();
    let today = Utc::now().with_timezone(&tenant.time_zone).date_naive();
    let editor = Editor {
        id: caller.0.sub,
        username: caller.0.username.clone(),
    };
    let updated = db::run(&state.pool, move |conn| {
        store::update(
            conn,
            &tenant,
            id.as_str(),
            body.version,
            &editor,
            body.reason.as_deref(),
            |current| {
                may_edit(&caller, current, &body)?;
                let edited = body.apply(&current.attributes(), today)?;
                attributes::check(&tenant, edited)
                    .map_err(|(field, message)| Error::invalid(field, message))
            },
        )
    })
    .await?;
    tracing::info!(component.id = %updated.id, component.version = updated.version, "component updated");
    Ok(HttpResponse::Ok().json(updated))
}
