//! Reading cases: one case with its records and supervision orders, the filtered and
//! paged list, the role queues (待办), and the counts behind the summary and the lights.

use chrono::{DateTime, Utc};
use diesel::dsl::count_star;
use diesel::prelude::*;
use uuid::Uuid;

use crate::auth::Claims;
use crate::case::model::{Case, Record, SupervisionOrder};
use crate::case::workflow::{Role, State};
use crate::error::{Error, Result};
use crate::schema::{case_records, cases, supervision_orders};
use crate::vocab::{CategoryKind, Pending};

pub fn get(conn: &mut PgConnection, id: Uuid) -> Result<Case> {
    cases::table
        .find(id)
        .select(Case::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found(format!("case {id}")))
}

/// The case, locked until the transaction ends (a change that is not a user's step and
/// does not check the version, so no step commits between its read and its write).
pub(super) fn get_for_update(conn: &mut PgConnection, id: Uuid) -> Result<Option<Case>> {
    Ok(cases::table
        .find(id)
        .select(Case::as_select())
        .for_update()
        .first(conn)
        .optional()?)
}

pub fn supervision_orders(conn: &mut PgConnection, id: Uuid) -> Result<Vec<SupervisionOrder>> {
    Ok(supervision_orders::table
        .filter(supervision_orders::case_id.eq(id))
        .order(supervision_orders::issued_at.asc())
        .select(SupervisionOrder::as_select())
        .load(conn)?)
}

pub fn records(conn: &mut PgConnection, id: Uuid) -> Result<Vec<Record>> {
    Ok(case_records::table
        .filter(case_records::case_id.eq(id))
        .order(case_records::case_version.asc())
        .select(Record::as_select())
        .load(conn)?)
}

/// Filters of the case list; all optional, combined with AND.
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    pub states: Vec<State>,
    pub category_kind: Option<CategoryKind>,
    pub category_major: Option<String>,
    pub category_minor: Option<String>,
    pub department: Option<String>,
    pub street: Option<String>,
    pub community: Option<String>,
    pub cell: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub text: Option<String>,
}

/// A page of cases, newest first; `next_cursor` continues after the last one.
#[derive(Debug)]
pub struct Page {
    pub items: Vec<Case>,
    pub next_cursor: Option<i64>,
}

pub fn list(
    conn: &mut PgConnection,
    filter: &CaseFilter,
    cursor: Option<i64>,
    limit: i64,
) -> Result<Page> {
    let mut query = cases::table.select(Case::as_select()).into_boxed();
    if !filter.states.is_empty() {
        query = query.filter(cases::state.eq_any(filter.states.iter().copied()));
    }
    if let Some(kind) = filter.category_kind {
        query = query.filter(cases::category_kind.eq(kind));
    }
    if let Some(major) = &filter.category_major {
        query = query.filter(cases::category_major.eq(major.clone()));
    }
    if let Some(minor) = &filter.category_minor {
        query = query.filter(cases::category_minor.eq(minor.clone()));
    }
    if let Some(department) = &filter.department {
        query = query.filter(cases::department_code.eq(department.clone()));
    }
    if let Some(street) = &filter.street {
        query = query.filter(cases::street_code.eq(street.clone()));
    }
    if let Some(community) = &filter.community {
        query = query.filter(cases::community_code.eq(community.clone()));
    }
    if let Some(cell) = &filter.cell {
        query = query.filter(cases::cell_code.eq(cell.clone()));
    }
    if let Some(from) = filter.from {
        query = query.filter(cases::created_at.ge(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(cases::created_at.lt(to));
    }
    if let Some(text) = &filter.text {
        let escaped = text
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        let pattern = format!("%{escaped}%");
        query = query.filter(
            cases::description
                .ilike(pattern.clone())
                .or(cases::address.ilike(pattern)),
        );
    }
    if let Some(cursor) = cursor {
        query = query.filter(cases::number.lt(cursor));
    }
    let mut items: Vec<Case> = query
        .order(cases::number.desc())
        .limit(limit + 1)
        .load(conn)?;
    let next_cursor = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items.last().map(|c| c.number)
    } else {
        None
    };
    Ok(Page { items, next_cursor })
}

/// The states in which a role has work to do (待办).
pub fn queue_states(role: Role) -> &'static [State] {
    match role {
        Role::Operator => &[
            State::Reported,
            State::Verified,
            State::Checked,
            State::CalledBack,
        ],
        Role::Supervisor => &[State::Verifying, State::Handled],
        Role::Dispatcher => &[State::Filed, State::Suspended],
        Role::Handler => &[State::Dispatched],
        Role::Leader => crate::case::workflow::OPEN,
        // Cancellation requests wait in any open state: see `queue`.
        Role::ShiftLeader | Role::Admin => &[],
    }
}

/// The caller's work queue: the union over their roles, nearest deadline first; handlers see only
/// their department's cases, dispatchers also the requests waiting for their decision, shift
/// leaders the cancellation requests; supervisors the on-site tasks assigned to them or to
/// nobody (巡查责任区), not those of another supervisor's area.
/// Cases with an unacknowledged supervision order come first. `offset` cases are skipped
/// (the next page; the order ends on the case number, so it is total).
pub fn queue(
    conn: &mut PgConnection,
    caller: &Claims,
    offset: i64,
    limit: i64,
) -> Result<Vec<Case>> {
    let mut states: Vec<&str> = Vec::new();
    let mut handler_only = true;
    for role in &caller.roles {
        states.extend(queue_states(*role).iter().map(|s| s.as_str()));
        if *role != Role::Handler && !queue_states(*role).is_empty() {
            handler_only = false;
        }
    }
    let mut query = cases::table.select(Case::as_select()).into_boxed();
    let mut pending = Vec::new();
    if caller.roles.contains(&Role::Dispatcher) {
        // Requests for extension or suspension wait on dispatched cases.
        pending.extend([Pending::Extension, Pending::Suspension]);
    }
    if caller.roles.contains(&Role::ShiftLeader) {
        pending.push(Pending::Cancellation);
        handler_only = false;
    }
    query = query.filter(
        cases::state
            .eq_any(states)
            .or(cases::pending_request.eq_any(pending)),
    );
    if caller.roles.contains(&Role::Supervisor) {
        // Another supervisor's on-site task is not in this one's queue.
        query = query.filter(
            cases::task_assignee
                .is_null()
                .or(cases::task_assignee.eq(caller.sub)),
        );
    }
    if handler_only {
        query =
            query.filter(cases::department_code.eq(caller.department.clone().unwrap_or_default()));
    }
    Ok(query
        .order((
            cases::supervision_pending.desc(),
            cases::stage_deadline.asc().nulls_last(),
            cases::number.asc(),
        ))
        .offset(offset)
        .limit(limit)
        .load(conn)?)
}

/// Cases per state, for the summary line of the demo and the big screen.
pub fn count_by_state(conn: &mut PgConnection) -> Result<Vec<(String, i64)>> {
    Ok(cases::table
        .group_by(cases::state)
        .select((cases::state, count_star()))
        .order(cases::state.asc())
        .load(conn)?)
}

/// Open timed cases per light for one group (a department or a street).
#[derive(Debug, Clone, QueryableByName, serde::Serialize, utoipa::ToSchema)]
pub struct LightCount {
    /// Department or street code; empty for cases without one (not yet dispatched, no street).
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub key: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub green: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub yellow: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub red: i64,
}

/// Which column `light_counts` groups by.
#[derive(Debug, Clone, Copy)]
pub enum LightGroup {
    Department,
    Street,
}

/// Light counts at `now`, straight from the precomputed yellow and red instants.
pub fn light_counts(
    conn: &mut PgConnection,
    group: LightGroup,
    now: DateTime<Utc>,
) -> Result<Vec<LightCount>> {
    let column = match group {
        LightGroup::Department => "department_code",
        LightGroup::Street => "street_code",
    };
    Ok(diesel::sql_query(format!(
        "SELECT COALESCE({column}, '') AS key, \
                count(*) FILTER (WHERE stage_yellow_at > $1) AS green, \
                count(*) FILTER (WHERE stage_yellow_at <= $1 AND stage_deadline >= $1) AS yellow, \
                count(*) FILTER (WHERE stage_deadline < $1) AS red \
         FROM cases WHERE stage IS NOT NULL GROUP BY 1 ORDER BY 1"
    ))
    .bind::<diesel::sql_types::Timestamptz, _>(now)
    .load(conn)?)
}
