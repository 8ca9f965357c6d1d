//! The city's supervision orders in the warehouse: issuing one (with its command to the
//! district, in one transaction), the rules' pass over the open cases, acknowledgements
//! from the stream, resolution when the case finishes, and escalation of what is overdue.
//! Blocking (diesel).

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use citygrid_schemas::{self as v1, SupervisionLevel};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Jsonb, Nullable, Text, Timestamptz};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::rules::{self, Escalation, INSTRUCTION};
use crate::error::{Error, Result};
use crate::schema::{cases, supervision_orders};
use crate::warehouse::enqueue_command;

/// An order as the city tracks it.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Serialize, ToSchema)]
#[diesel(table_name = supervision_orders)]
pub struct Order {
    pub order_id: Uuid,
    pub district: String,
    pub case_id: Uuid,
    pub rule: String,
    /// `general` (一般), `key` (重点) or `listed` (挂牌).
    pub level: String,
    pub text: String,
    pub issued_by: String,
    pub issued_at: DateTime<Utc>,
    pub acknowledge_by: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub command_seq: i64,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub acknowledged_department: Option<String>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub overdue_at: Option<DateTime<Utc>>,
    pub escalated_to: Option<Uuid>,
}

impl Order {
    /// `resolved`, `overdue` (and escalated, when `escalated_to` is set), `acknowledged` or
    /// `issued`.
    pub fn status(&self) -> &'static str {
        if self.resolved_at.is_some() {
            "resolved"
        } else if self.overdue_at.is_some() {
            "overdue"
        } else if self.acknowledged_at.is_some() {
            "acknowledged"
        } else {
            "issued"
        }
    }
}

fn level_name(level: SupervisionLevel) -> &'static str {
    match level {
        SupervisionLevel::General => "general",
        SupervisionLevel::Key => "key",
        SupervisionLevel::Listed => "listed",
    }
}

fn parse_level(name: &str) -> Result<SupervisionLevel> {
    match name {
        "general" => Ok(SupervisionLevel::General),
        "key" => Ok(SupervisionLevel::Key),
        "listed" => Ok(SupervisionLevel::Listed),
        other => Err(Error::Internal(format!("an order of level {other:?}"))),
    }
}

/// What one order is to be.
pub struct NewOrder<'a> {
    pub district: &'a str,
    pub case_id: Uuid,
    pub rule: &'a str,
    pub level: SupervisionLevel,
    pub text: String,
    pub issued_by: &'a str,
    pub acknowledge_within: Duration,
    pub due_within: Duration,
}

/// Issues `new` at `now` unless the (case, rule, level) already has its order: the row and
/// the `supervision_order` command to the district commit together, so a pass interrupted
/// anywhere issues it next time, once. `None` when it already existed.
pub fn issue(
    conn: &mut PgConnection,
    new: &NewOrder<'_>,
    now: DateTime<Utc>,
) -> Result<Option<Order>> {
    conn.transaction(|conn| {
        let order_id = Uuid::new_v4();
        let (acknowledge_by, due_at) = (now + new.acknowledge_within, now + new.due_within);
        let inserted = diesel::insert_into(supervision_orders::table)
            .values((
                supervision_orders::order_id.eq(order_id),
                supervision_orders::district.eq(new.district),
                supervision_orders::case_id.eq(new.case_id),
                supervision_orders::rule.eq(new.rule),
                supervision_orders::level.eq(level_name(new.level)),
                supervision_orders::text.eq(&new.text),
                supervision_orders::issued_by.eq(new.issued_by),
                supervision_orders::issued_at.eq(now),
                supervision_orders::acknowledge_by.eq(acknowledge_by),
                supervision_orders::due_at.eq(due_at),
                supervision_orders::command_seq.eq(0),
            ))
            .on_conflict_do_nothing()
            .execute(conn)?;
        if inserted == 0 {
            return Ok(None);
        }
        let seq = enqueue_command(
            conn,
            new.district,
            v1::SupervisionOrder {
                order_id,
                case_id: new.case_id,
                level: new.level,
                text: new.text.clone(),
                due_at,
                issued_at: now,
                issued_by: new.issued_by.to_owned(),
            },
        )?;
        let order = diesel::update(supervision_orders::table.find(order_id))
            .set(supervision_orders::command_seq.eq(seq))
            .returning(Order::as_returning())
            .get_result(conn)?;
        tracing::info!(district = new.district, case = %new.case_id, rule = new.rule,
            level = level_name(new.level), %order_id, "supervision order issued");
        Ok(Some(order))
    })
}

/// What one pass of the rules did.
#[derive(Debug, Default)]
pub struct Pass {
    /// New orders, first-level and escalated.
    pub issued: Vec<Order>,
    /// Orders found overdue (each escalated when a level is left above it).
    pub overdue: Vec<Order>,
    /// Orders whose case finished.
    pub resolved: usize,
}

/// One pass at `now`: orders whose case finished are resolved; overdue ones (not
/// acknowledged by `acknowledge_by`, or not resolved by `due_at`) are marked and escalated
/// one level with the same time allowances; then every rule issues its order for every
/// open case it applies to. Any number of passes, before and after restarts, issue each
/// (case, rule, level) once.
pub fn run(conn: &mut PgConnection, escalation: &Escalation, now: DateTime<Utc>) -> Result<Pass> {
    let mut pass = Pass {
        resolved: resolve(conn)?,
        ..Pass::default()
    };
    let due: Vec<Order> = supervision_orders::table
        .filter(supervision_orders::resolved_at.is_null())
        .filter(supervision_orders::overdue_at.is_null())
        .filter(
            supervision_orders::due_at
                .le(now)
                .or(supervision_orders::acknowledged_at
                    .is_null()
                    .and(supervision_orders::acknowledge_by.le(now))),
        )
        .order(supervision_orders::issued_at)
        .select(Order::as_select())
        .load(conn)?;
    for order in due {
        let (overdue, next) = escalate(conn, &order, now)?;
        pass.overdue.push(overdue);
        pass.issued.extend(next);
    }
    let open = candidates(conn, escalation, now)?;
    for Candidate {
        district,
        snapshot,
        reported_again,
    } in open
    {
        let case: v1::CaseSnapshot = serde_json::from_value(snapshot)?;
        let again = u32::try_from(reported_again).unwrap_or(u32::MAX);
        for rule in escalation
            .rules
            .iter()
            .filter(|r| r.applies(&case, again, now, escalation.working.as_ref()))
        {
            let new = NewOrder {
                district: &district,
                case_id: case.case_id,
                rule: &rule.name,
                level: rule.level,
                text: format!("{}(案件 {})", rule.text, case.number),
                issued_by: &escalation.issued_by,
                acknowledge_within: Duration::hours(i64::from(rule.acknowledge_hours)),
                due_within: Duration::hours(i64::from(rule.due_hours)),
            };
            pass.issued.extend(issue(conn, &new, now)?);
        }
    }
    Ok(pass)
}

#[derive(QueryableByName)]
struct Candidate {
    #[diesel(sql_type = Text)]
    district: String,
    #[diesel(sql_type = Jsonb)]
    snapshot: serde_json::Value,
    /// Public reports rejected as duplicates of it.
    #[diesel(sql_type = BigInt)]
    reported_again: i64,
}

/// The open cases some rule may apply to, found in SQL so that a pass does not read every
/// open case's snapshot: red since the smallest `overdue_hours` of the rules, reworked at
/// least the smallest `reworked`, or reported again by the public at least the smallest
/// `reported_again`. The rules then decide on each.
fn candidates(
    conn: &mut PgConnection,
    escalation: &Escalation,
    now: DateTime<Utc>,
) -> Result<Vec<Candidate>> {
    // A working hour takes at least an hour: red for N natural hours bounds both.
    let hours = escalation
        .rules
        .iter()
        .filter_map(|r| r.overdue_hours.or(r.overdue_working_hours))
        .min();
    let reworked = escalation.rules.iter().filter_map(|r| r.reworked).min();
    let again = escalation
        .rules
        .iter()
        .filter_map(|r| r.reported_again)
        .min();
    if hours.is_none() && reworked.is_none() && again.is_none() {
        return Ok(Vec::new());
    }
    let red_since = hours.map(|h| now - Duration::hours(i64::from(h)));
    Ok(diesel::sql_query(
        "SELECT * FROM ( \
           SELECT c.district, c.case_id, c.snapshot, \
                  (SELECT count(*) FROM cases d \
                    WHERE d.district = c.district AND d.source = 'public' \
                      AND d.snapshot->>'duplicate_of' = c.case_id::text) AS reported_again \
             FROM cases c \
            WHERE c.state NOT IN ('closed', 'rejected', 'cancelled')) open \
          WHERE (snapshot->'current_stage'->>'deadline')::timestamptz <= $1 \
             OR (snapshot->>'rework_count')::int >= $2 \
             OR reported_again >= $3 \
          ORDER BY district, case_id",
    )
    .bind::<Nullable<Timestamptz>, _>(red_since)
    .bind::<Nullable<Integer>, _>(reworked.map(|n| n as i32))
    .bind::<Nullable<BigInt>, _>(again.map(i64::from))
    .load(conn)?)
}

/// Marks `order` overdue and issues its successor one level up (none above 挂牌), with
/// the order's own time allowances; both or neither.
fn escalate(
    conn: &mut PgConnection,
    order: &Order,
    now: DateTime<Utc>,
) -> Result<(Order, Option<Order>)> {
    conn.transaction(|conn| {
        let next = match rules::next_level(parse_level(&order.level)?) {
            None => None,
            Some(level) => {
                let new = NewOrder {
                    district: &order.district,
                    case_id: order.case_id,
                    rule: &order.rule,
                    level,
                    text: format!("升级督办: {}", order.text.trim_start_matches("升级督办: ")),
                    issued_by: &order.issued_by,
                    acknowledge_within: order.acknowledge_by - order.issued_at,
                    due_within: order.due_at - order.issued_at,
                };
                issue(conn, &new, now)?
            }
        };
        let overdue = diesel::update(supervision_orders::table.find(order.order_id))
            .set((
                supervision_orders::overdue_at.eq(now),
                supervision_orders::escalated_to.eq(next.as_ref().map(|n| n.order_id)),
            ))
            .returning(Order::as_returning())
            .get_result(conn)?;
        tracing::warn!(district = %order.district, case = %order.case_id, order = %order.order_id,
            escalated_to = ?overdue.escalated_to, "supervision order overdue");
        Ok((overdue, next))
    })
}

/// Resolves the open orders whose case is finished in the warehouse, at the case's end.
fn resolve(conn: &mut PgConnection) -> Result<usize> {
    Ok(diesel::sql_query(
        "UPDATE supervision_orders o \
            SET resolved_at = COALESCE((c.snapshot->'milestones'->>'finished_at')::timestamptz, c.updated_at) \
           FROM cases c \
          WHERE c.district = o.district AND c.case_id = o.case_id AND o.resolved_at IS NULL \
            AND c.state IN ('closed', 'rejected', 'cancelled')",
    )
    .execute(conn)?)
}

/// Applies a district's `supervision_ack` (from its stream, in seq order): the order is
/// acknowledged once, by the district it was sent to; an ack of an unknown order or of
/// another district's is ignored.
pub fn acknowledge(
    conn: &mut PgConnection,
    district: &str,
    ack: &v1::SupervisionAck,
) -> Result<()> {
    let updated = diesel::update(supervision_orders::table.find(ack.order_id))
        .filter(supervision_orders::district.eq(district))
        .filter(supervision_orders::acknowledged_at.is_null())
        .set((
            supervision_orders::acknowledged_at.eq(ack.acknowledged_at),
            supervision_orders::acknowledged_department.eq(&ack.department_code),
        ))
        .execute(conn)?;
    if updated == 0 {
        tracing::info!(district, order = %ack.order_id, "acknowledgement of no open order of this district; kept in the stream only");
    }
    Ok(())
}

/// An instruction's time to acknowledge and to finish, when its giver names none.
pub const INSTRUCTION_HOURS: (u32, u32) = (4, 48);

/// A city leader's own order (领导批示) on an open case of `district`: rule `instruction`,
/// at `level`. Refused without a text or with allowances out of order (fields named as
/// the API's), for a case the warehouse does not hold or that is finished, and when the
/// case already has an instruction at that level.
pub fn instruct(conn: &mut PgConnection, new: &NewOrder<'_>, now: DateTime<Utc>) -> Result<Order> {
    let invalid =
        |field: &str, message: &str| Error::Kit(citygrid_kit::Error::invalid(field, message));
    if new.text.trim().is_empty() {
        return Err(invalid("text", "say what the department must do"));
    }
    if new.acknowledge_within <= Duration::zero() {
        return Err(invalid("acknowledge_hours", "1 or more"));
    }
    if new.due_within < new.acknowledge_within {
        return Err(invalid("due_hours", "at least acknowledge_hours"));
    }
    let snapshot: Option<serde_json::Value> = cases::table
        .find((new.district, new.case_id))
        .select(cases::snapshot)
        .first(conn)
        .optional()?;
    let case: v1::CaseSnapshot = match snapshot {
        None => {
            return Err(Error::Kit(citygrid_kit::Error::NotFound(format!(
                "case {} of district {}",
                new.case_id, new.district
            ))));
        }
        Some(s) => serde_json::from_value(s)?,
    };
    if !rules::is_open(&case) {
        return Err(Error::Kit(citygrid_kit::Error::conflict(
            "case_finished",
            format!("case {} is finished: nothing to supervise", case.number),
        )));
    }
    debug_assert_eq!(new.rule, INSTRUCTION);
    issue(conn, new, now)?.ok_or_else(|| {
        Error::Kit(citygrid_kit::Error::conflict(
            "already_ordered",
            format!(
                "case {} already has a city instruction at level {}",
                case.number,
                level_name(new.level)
            ),
        ))
    })
}

/// Orders newest first, of one district or all, open ones only (neither resolved nor
/// overdue) or every one.
pub fn list(
    conn: &mut PgConnection,
    district: Option<&str>,
    open_only: bool,
) -> Result<Vec<Order>> {
    let mut query = supervision_orders::table.into_boxed();
    if let Some(d) = district {
        query = query.filter(supervision_orders::district.eq(d.to_owned()));
    }
    if open_only {
        query = query
            .filter(supervision_orders::resolved_at.is_null())
            .filter(supervision_orders::overdue_at.is_null());
    }
    Ok(query
        .order((
            supervision_orders::issued_at.desc(),
            supervision_orders::order_id,
        ))
        .select(Order::as_select())
        .load(conn)?)
}

/// The orders that went overdue in `[start, end)`, per district, oldest first: what the
/// ledger charges a month for.
pub fn overdue_between(
    conn: &mut PgConnection,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<BTreeMap<String, Vec<Uuid>>> {
    let rows: Vec<(String, Uuid)> = supervision_orders::table
        .filter(supervision_orders::overdue_at.ge(start))
        .filter(supervision_orders::overdue_at.lt(end))
        .order((supervision_orders::overdue_at, supervision_orders::order_id))
        .select((supervision_orders::district, supervision_orders::order_id))
        .load(conn)?;
    let mut by_district: BTreeMap<String, Vec<Uuid>> = BTreeMap::new();
    for (district, order) in rows {
        by_district.entry(district).or_default().push(order);
    }
    Ok(by_district)
}
