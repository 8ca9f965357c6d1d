//! The component inventory (部件库): every physical component of the district — manhole
//! covers, street lamps, bins, benches… — with its standard id (部件标识码, 16 digits
//! GB/T 30428.2 or 17 digits GB/T 47678.5) and the standard attributes: competent
//! department, owner and maintainer, cell, street and community, status, dates, data
//! source.
//!
//! It comes from a census (专项普查): a CSV or GeoJSON file checked row by row
//! ([`census`]) and imported with `citygrid district components import` (or, for the
//! tenant's sample census named by `district.components`, added at start). The departments
//! keep their own components up through `PATCH /api/v1/components/{id}` ([`handlers`]);
//! every change, imported or edited, is a change record. A component case names its
//! component, and its department comes first at dispatch.

pub mod attributes;
pub mod census;
pub mod handlers;
pub mod model;
pub mod store;
pub mod synth;

use std::path::PathBuf;

use diesel::PgConnection;

pub use census::{Census, CensusRow, Finding};
pub use citygrid_schemas::component_id::{ComponentId, IdError};
pub use model::{Attributes, Change, Component, DataSource, Status, Via};
pub use store::{Mode, Summary};

use crate::catalogue::CategoryRef;
use crate::config::Tenant;
use crate::error::{Error, Result};

/// The census file the tenant names (`district.components`), resolved against its folder.
pub fn sample_file(tenant: &Tenant) -> Option<PathBuf> {
    let file = tenant.config.district.components.as_ref()?;
    Some(
        tenant
            .file
            .parent()
            .unwrap_or(std::path::Path::new("."))
            .join(file),
    )
}

/// Reads and checks a census file; `Err` names the file when it cannot be read at all.
pub fn read_file(tenant: &Tenant, file: &std::path::Path) -> Result<Census> {
    let name = file.display().to_string();
    let text = std::fs::read_to_string(file)
        .map_err(|e| Error::config(&name, "-", format!("cannot read: {e}")))?;
    census::read(&text, tenant).map_err(|e| Error::config(&name, "-", e))
}

/// Imports a checked census into the inventory (all or nothing, [`store::import`]),
/// updating the components it changes. A census with bad rows is refused whole — 422
/// naming every bad line and why — unless `accept_warnings`, which imports its good rows.
pub fn import(
    conn: &mut PgConnection,
    tenant: &Tenant,
    census: &Census,
    actor: &str,
    accept_warnings: bool,
    progress: &mut dyn FnMut(usize),
) -> Result<Summary> {
    if let Some(first) = census.findings.first()
        && !accept_warnings
    {
        let all: Vec<&str> = census.findings.iter().map(|f| f.message.as_str()).collect();
        return Err(Error::invalid(
            first.at.clone(),
            format!(
                "the census has {} bad row(s) and is not imported: {}",
                all.len(),
                all.join("; ")
            ),
        ));
    }
    store::import(conn, tenant, &census.rows, actor, Mode::Update, progress)
}

/// At start: adds the components of the tenant's census (`district.components`) that the
/// inventory lacks, and leaves the rest alone (the departments' edits stand). A census
/// with a bad row stops the start, naming the file and the first bad rows. `None` when
/// the tenant names no census.
pub fn load_sample(conn: &mut PgConnection, tenant: &Tenant) -> Result<Option<Summary>> {
    let Some(file) = sample_file(tenant) else {
        return Ok(None);
    };
    let census = read_file(tenant, &file)?;
    if let Some(first) = census.findings.first() {
        let shown: Vec<&str> = census
            .findings
            .iter()
            .take(3)
            .map(|f| f.message.as_str())
            .collect();
        return Err(Error::config(
            file.display().to_string(),
            first.at.clone(),
            format!(
                "{} bad row(s), e.g. {}; `citygrid district components check` lists them",
                census.findings.len(),
                shown.join("; ")
            ),
        ));
    }
    let actor = format!("census {}", file.display());
    store::import(
        conn,
        tenant,
        &census.rows,
        &actor,
        Mode::AddOnly,
        &mut |_| {},
    )
    .map(Some)
}

/// A component case is of its component's class: a category of another class (or an
/// event category) is 422 on `field`, at report and again at filing, so the city never
/// gets a manhole-cover component on a rubbish case.
pub fn check_class(id: &ComponentId, category: &CategoryRef, field: &'static str) -> Result<()> {
    if id.is_of(category) {
        return Ok(());
    }
    Err(Error::invalid(
        field,
        format!(
            "component {id} is of class {}, but the case's category is {}: a component case \
             has its component's class",
            id.category().label(),
            category.label()
        ),
    ))
}

/// The component a report names (`component_id`): an id of this district and a component
/// class of its catalogue, in the inventory, and of the report's category when it gives
/// one. Refusals are 422 naming `component_id`. Returns the component and the department
/// its cases go to by default.
pub fn for_case(
    conn: &mut PgConnection,
    tenant: &Tenant,
    text: &str,
    category: Option<&CategoryRef>,
) -> Result<(Component, Option<String>)> {
    const FIELD: &str = "component_id";
    let id = ComponentId::parse(text, tenant.code(), &[&tenant.catalogue])
        .map_err(|e| Error::invalid(FIELD, format!("{text:?}: {e}")))?;
    let component = store::find(conn, id.as_str())?.ok_or_else(|| {
        Error::invalid(
            FIELD,
            format!(
                "no component {id} in the inventory of district {}",
                tenant.code()
            ),
        )
    })?;
    if let Some(category) = category {
        check_class(&id, category, FIELD)?;
    }
    let department = store::case_department(tenant, &component.attributes());
    Ok((component, department))
}
