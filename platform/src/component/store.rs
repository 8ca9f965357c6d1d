//! The inventory in PostgreSQL: importing a census (idempotent: an unchanged row writes
//! nothing, a changed one writes its change record), reading, and one edit at a version.
//! Functions take a connection and know nothing of HTTP.

use std::collections::HashMap;

use chrono::Utc;
use diesel::prelude::*;
use uuid::Uuid;

use super::census::CensusRow;
use super::model::{Attributes, Change, Component, NewChange, Via, diff};
use crate::config::Tenant;
use crate::error::{Error, Result};
use crate::schema::{cases, component_changes, components};
use crate::vocab::{CategoryKind, State};

/// Rows written in one statement batch (and one progress step).
pub const CHUNK: usize = 500;

/// What an import does with a row whose id is already in the inventory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Bring it in line with the file (a change record for what differs).
    Update,
    /// Leave it: the tenant's sample census at start adds what is missing and never undoes
    /// the departments' edits.
    AddOnly,
}

/// What an import did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    pub created: usize,
    pub changed: usize,
    pub unchanged: usize,
}

/// Writes the rows of a census in one transaction: all or nothing. `actor` names the
/// source in the change records (the file); `progress` hears of every chunk done.
pub fn import(
    conn: &mut PgConnection,
    tenant: &Tenant,
    rows: &[CensusRow],
    actor: &str,
    mode: Mode,
    progress: &mut dyn FnMut(usize),
) -> Result<Summary> {
    conn.transaction(|conn| {
        let mut summary = Summary::default();
        for chunk in rows.chunks(CHUNK) {
            let ids: Vec<&str> = chunk.iter().map(|r| r.id.as_str()).collect();
            let existing: HashMap<String, Component> = components::table
                .filter(components::id.eq_any(&ids))
                .select(Component::as_select())
                .for_update()
                .load(conn)?
                .into_iter()
                .map(|c| (c.id.clone(), c))
                .collect();
            let now = Utc::now();
            for row in chunk {
                let old = existing.get(row.id.as_str());
                let (version, changes) = match old {
                    Some(_) if mode == Mode::AddOnly => {
                        summary.unchanged += 1;
                        continue;
                    }
                    Some(old) => {
                        let changes = diff(Some(&old.attributes()), &row.attributes);
                        if changes.is_empty() {
                            summary.unchanged += 1;
                            continue;
                        }
                        diesel::update(components::table.find(row.id.as_str()))
                            .set((
                                &row.attributes,
                                components::version.eq(old.version + 1),
                                components::updated_at.eq(now),
                            ))
                            .execute(conn)?;
                        refresh_cases(conn, tenant, row.id.as_str(), &row.attributes)?;
                        summary.changed += 1;
                        (old.version + 1, changes)
                    }
                    None => {
                        let category = row.id.category();
                        diesel::insert_into(components::table)
                            .values((
                                components::id.eq(row.id.as_str()),
                                components::category_kind.eq(CategoryKind::Component),
                                components::category_major.eq(&category.major),
                                components::category_minor.eq(&category.minor),
                                components::edition.eq(row.id.edition().as_str()),
                                &row.attributes,
                                components::version.eq(1),
                                components::created_at.eq(now),
                                components::updated_at.eq(now),
                            ))
                            .execute(conn)?;
                        summary.created += 1;
                        (1, diff(None, &row.attributes))
                    }
                };
                diesel::insert_into(component_changes::table)
                    .values(NewChange {
                        component_id: row.id.as_str(),
                        component_version: version,
                        via: Via::Import,
                        actor_id: None,
                        actor,
                        changes: serde_json::Value::Object(changes),
                        reason: Some(if old.is_some() {
                            "census"
                        } else {
                            "census: new"
                        }),
                        at: now,
                    })
                    .execute(conn)?;
            }
            progress(chunk.len());
        }
        Ok(summary)
    })
}

/// What the list may be narrowed to.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub cell: Option<String>,
    pub major: Option<String>,
    pub minor: Option<String>,
    pub status: Option<super::model::Status>,
    /// The competent department.
    pub department: Option<String>,
    /// The owner unit's code.
    pub owner: Option<String>,
    /// Only ids after this one (paging).
    pub after: Option<String>,
}

/// Components by id, at most `limit`, after `filter.after`.
pub fn list(conn: &mut PgConnection, filter: &Filter, limit: i64) -> Result<Vec<Component>> {
    let mut query = components::table
        .select(Component::as_select())
        .order(components::id)
        .limit(limit)
        .into_boxed();
    if let Some(cell) = &filter.cell {
        query = query.filter(components::cell_code.eq(cell));
    }
    if let Some(major) = &filter.major {
        query = query.filter(components::category_major.eq(major));
    }
    if let Some(minor) = &filter.minor {
        query = query.filter(components::category_minor.eq(minor));
    }
    if let Some(status) = filter.status {
        query = query.filter(components::status.eq(status));
    }
    if let Some(department) = &filter.department {
        query = query.filter(components::department_code.eq(department));
    }
    if let Some(owner) = &filter.owner {
        query = query.filter(components::owner_code.eq(owner));
    }
    if let Some(after) = &filter.after {
        query = query.filter(components::id.gt(after));
    }
    Ok(query.load(conn)?)
}

/// Every component, by id (export).
pub fn all(conn: &mut PgConnection) -> Result<Vec<Component>> {
    Ok(components::table
        .select(Component::as_select())
        .order(components::id)
        .load(conn)?)
}

pub fn find(conn: &mut PgConnection, id: &str) -> Result<Option<Component>> {
    Ok(components::table
        .find(id)
        .select(Component::as_select())
        .first(conn)
        .optional()?)
}

pub fn get(conn: &mut PgConnection, id: &str) -> Result<Component> {
    find(conn, id)?.ok_or_else(|| Error::not_found(format!("no component {id}")))
}

/// A component's change records, oldest first.
pub fn history(conn: &mut PgConnection, id: &str) -> Result<Vec<Change>> {
    Ok(component_changes::table
        .filter(component_changes::component_id.eq(id))
        .order(component_changes::id)
        .select(Change::as_select())
        .load(conn)?)
}

/// Who edits, for the change record.
#[derive(Debug, Clone)]
pub struct Editor {
    pub id: Uuid,
    pub username: String,
}

/// One edit of a component at the version the editor saw: `decide` gets the stored
/// component and returns the new attributes (or refuses: a department that is not the
/// component's, a bad value). Nothing changes on a refusal or a stale version (409
/// `stale_version`); an edit that changes nothing writes nothing.
pub fn update(
    conn: &mut PgConnection,
    tenant: &Tenant,
    id: &str,
    version: i32,
    editor: &Editor,
    reason: Option<&str>,
    decide: impl FnOnce(&Component) -> Result<Attributes>,
) -> Result<Component> {
    conn.transaction(|conn| {
        let current: Component = components::table
            .find(id)
            .select(Component::as_select())
            .for_update()
            .first(conn)
            .optional()?
            .ok_or_else(|| Error::not_found(format!("no component {id}")))?;
        let attributes = decide(&current)?;
        if current.version != version {
            return Err(Error::conflict(
                "stale_version",
                format!(
                    "component {id} changed since you read it: it is now version {}",
                    current.version
                ),
            ));
        }
        let changes = diff(Some(&current.attributes()), &attributes);
        if changes.is_empty() {
            return Ok(current);
        }
        let now = Utc::now();
        let updated = diesel::update(components::table.find(id))
            .set((
                &attributes,
                components::version.eq(current.version + 1),
                components::updated_at.eq(now),
            ))
            .returning(Component::as_returning())
            .get_result(conn)?;
        diesel::insert_into(component_changes::table)
            .values(NewChange {
                component_id: id,
                component_version: updated.version,
                via: Via::Api,
                actor_id: Some(editor.id),
                actor: &editor.username,
                changes: serde_json::Value::Object(changes),
                reason,
                at: now,
            })
            .execute(conn)?;
        refresh_cases(conn, tenant, id, &attributes)?;
        Ok(updated)
    })
}

/// The department a case of this component is dispatched to by default: its maintainer
/// when that is a department of the district, else its competent department.
pub fn case_department(tenant: &Tenant, attributes: &Attributes) -> Option<String> {
    attributes
        .maintainer_code
        .iter()
        .chain(std::iter::once(&attributes.department_code))
        .find(|code| tenant.department(code).is_some())
        .cloned()
}

/// Keeps the open cases of a component on its departments after a change (the dispatch
/// suggestion reads `cases.component_department`). Derived data: no case version, no record.
fn refresh_cases(
    conn: &mut PgConnection,
    tenant: &Tenant,
    id: &str,
    attributes: &Attributes,
) -> Result<()> {
    let closed: Vec<State> = State::ALL
        .iter()
        .copied()
        .filter(|s| !s.is_open())
        .collect();
    diesel::update(
        cases::table
            .filter(cases::component_id.eq(id))
            .filter(cases::state.ne_all(closed)),
    )
    .set(cases::component_department.eq(case_department(tenant, attributes)))
    .execute(conn)?;
    Ok(())
}
