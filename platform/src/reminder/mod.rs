//! Reminders (到达提醒, 催办, 超时提醒): the timer that finds cases turning yellow or red,
//! and the notification outbox it writes to.
//!
//! The timer reads `cases.next_reminder_at` through a partial index, claims due cases with
//! `FOR UPDATE SKIP LOCKED`, and writes at most one reminder of each kind per case and
//! stage (a unique index), in the same transaction that moves `next_reminder_at` on. So a
//! restart, downtime (it catches up on the next sweep) or two timers never send one twice.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::{self, DbPool};
use crate::error::Result;

pub mod channel;
use crate::schema::{cases, notifications};
pub use channel::Channels;

/// Kinds of notification.
pub const ARRIVAL: &str = "arrival";
pub const URGE: &str = "urge";
pub const OVERDUE: &str = "overdue";
/// A dispatcher's 催办 by hand: as many as they send.
pub const MANUAL_URGE: &str = "manual_urge";

#[derive(Debug, Insertable)]
#[diesel(table_name = notifications)]
pub struct NewNotification<'a> {
    pub case_id: Uuid,
    pub kind: &'a str,
    pub stage: Option<crate::vocab::Stage>,
    pub stage_started_at: Option<DateTime<Utc>>,
    pub department_code: Option<&'a str>,
    pub message: String,
}

/// Writes a notification unless this case already has one of its kind for this stage.
/// Returns whether it was written.
pub fn notify_once(conn: &mut PgConnection, note: &NewNotification<'_>) -> Result<bool> {
    let written = diesel::insert_into(notifications::table)
        .values(note)
        .on_conflict_do_nothing()
        .execute(conn)?;
    Ok(written == 1)
}

/// What one sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Sweep {
    /// Cases the timer looked at.
    pub due: usize,
    pub urges: usize,
    pub overdues: usize,
}

#[derive(Debug, Queryable)]
struct DueCase {
    id: Uuid,
    number: i64,
    stage: Option<crate::vocab::Stage>,
    stage_started_at: Option<DateTime<Utc>>,
    stage_deadline: Option<DateTime<Utc>>,
    department_code: Option<String>,
}

/// Handles up to `batch` cases whose reminder time has come by `now`: an urge (催办) when
/// a case has turned yellow, an overdue reminder (超时) when it has turned red.
pub fn sweep(conn: &mut PgConnection, now: DateTime<Utc>, batch: i64) -> Result<Sweep> {
    conn.transaction(|conn| {
        let due: Vec<DueCase> = cases::table
            .filter(cases::next_reminder_at.le(now))
            .order(cases::next_reminder_at.asc())
            .limit(batch)
            .select((
                cases::id,
                cases::number,
                cases::stage,
                cases::stage_started_at,
                cases::stage_deadline,
                cases::department_code,
            ))
            .for_update()
            .skip_locked()
            .load(conn)?;
        // One insert and two updates per batch, not per case: the notifications, then
        // `next_reminder_at` moved on to the deadline (urged) or cleared (overdue).
        let mut notes = Vec::with_capacity(due.len());
        let (mut to_deadline, mut cleared) = (Vec::new(), Vec::new());
        for case in &due {
            let Some(deadline) = case.stage_deadline else {
                cleared.push(case.id);
                continue;
            };
            let overdue = now > deadline;
            let (kind, what) = if overdue {
                cleared.push(case.id);
                (OVERDUE, "is overdue (超时)")
            } else {
                to_deadline.push(case.id);
                (URGE, "is close to its deadline (催办)")
            };
            let stage = case.stage;
            notes.push(NewNotification {
                case_id: case.id,
                kind,
                stage,
                stage_started_at: case.stage_started_at,
                department_code: case.department_code.as_deref(),
                message: format!(
                    "case {} {what}: stage {} due {}",
                    case.number,
                    stage.map_or("-", |s| s.as_str()),
                    deadline.to_rfc3339()
                ),
            });
        }
        let written: Vec<String> = if notes.is_empty() {
            Vec::new()
        } else {
            diesel::insert_into(notifications::table)
                .values(&notes)
                .on_conflict_do_nothing()
                .returning(notifications::kind)
                .get_results(conn)?
        };
        diesel::update(cases::table.filter(cases::id.eq_any(&to_deadline)))
            .set(cases::next_reminder_at.eq(cases::stage_deadline))
            .execute(conn)?;
        diesel::update(cases::table.filter(cases::id.eq_any(&cleared)))
            .set(cases::next_reminder_at.eq(None::<DateTime<Utc>>))
            .execute(conn)?;
        let report = Sweep {
            due: due.len(),
            urges: written.iter().filter(|k| *k == URGE).count(),
            overdues: written.iter().filter(|k| *k == OVERDUE).count(),
        };
        Ok(report)
    })
}

/// An undelivered notification, claimed for delivery.
#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize, utoipa::ToSchema)]
#[diesel(table_name = notifications)]
pub struct Notification {
    pub id: i64,
    pub case_id: Uuid,
    pub kind: String,
    pub stage: Option<String>,
    pub department_code: Option<String>,
    pub message: String,
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// How long a claimed notification stays reserved for its deliverer.
const LEASE_SECONDS: i64 = 60;

/// Claims up to `batch` notifications due for delivery at `now`: each is leased for a
/// minute, so a deliverer that dies mid-way leaves it to be retried, not lost.
pub fn claim(conn: &mut PgConnection, now: DateTime<Utc>, batch: i64) -> Result<Vec<Notification>> {
    conn.transaction(|conn| {
        let ids: Vec<i64> = notifications::table
            .filter(notifications::sent_at.is_null())
            .filter(notifications::next_attempt_at.le(now))
            .order(notifications::id.asc())
            .limit(batch)
            .select(notifications::id)
            .for_update()
            .skip_locked()
            .load(conn)?;
        Ok(
            diesel::update(notifications::table.filter(notifications::id.eq_any(&ids)))
                .set((
                    notifications::attempts.eq(notifications::attempts + 1),
                    notifications::next_attempt_at.eq(now + Duration::seconds(LEASE_SECONDS)),
                ))
                .returning(Notification::as_returning())
                .get_results(conn)?,
        )
    })
}

/// Retry delay after `attempts` failed deliveries: 30 s doubling, at most an hour.
pub fn backoff(attempts: i32) -> Duration {
    let exponent = attempts.clamp(1, 8) as u32 - 1;
    Duration::seconds((30 * 2i64.pow(exponent)).min(3600))
}

/// Records the outcome of a delivery attempt.
pub fn settle(
    conn: &mut PgConnection,
    id: i64,
    outcome: std::result::Result<(), String>,
    attempts: i32,
    now: DateTime<Utc>,
) -> Result<()> {
    match outcome {
        Ok(()) => diesel::update(notifications::table.find(id))
            .set((
                notifications::sent_at.eq(now),
                notifications::last_error.eq(None::<String>),
            ))
            .execute(conn)?,
        Err(error) => diesel::update(notifications::table.find(id))
            .set((
                notifications::last_error.eq(error),
                notifications::next_attempt_at.eq(now + backoff(attempts)),
            ))
            .execute(conn)?,
    };
    Ok(())
}

/// Notifications of a case, oldest first.
pub fn of_case(conn: &mut PgConnection, case_id: Uuid) -> Result<Vec<Notification>> {
    Ok(notifications::table
        .filter(notifications::case_id.eq(case_id))
        .order(notifications::id.asc())
        .select(Notification::as_select())
        .load(conn)?)
}

/// Sweeps every due case at `now`, in batches. Blocking: run it off the async threads.
pub fn sweep_all(conn: &mut PgConnection, now: DateTime<Utc>) -> Result<Sweep> {
    const BATCH: i64 = 500;
    let mut total = Sweep::default();
    loop {
        let round = sweep(conn, now, BATCH)?;
        total.due += round.due;
        total.urges += round.urges;
        total.overdues += round.overdues;
        if (round.due as i64) < BATCH {
            return Ok(total);
        }
    }
}

/// Delivers what is due at `now`; a failed delivery is retried after a backoff, never
/// dropped. Returns how many were delivered.
pub async fn deliver(pool: &DbPool, channels: &Channels, now: DateTime<Utc>) -> Result<usize> {
    const BATCH: i64 = 200;
    let mut delivered = 0;
    loop {
        let claimed = db::run(pool, move |conn| claim(conn, now, BATCH)).await?;
        for note in &claimed {
            let outcome = channels.send(note).await;
            if let Err(error) = &outcome {
                tracing::warn!(notification.id = note.id, attempts = note.attempts, %error, "reminder delivery failed; will retry");
            } else {
                delivered += 1;
            }
            let (id, attempts) = (note.id, note.attempts);
            db::run(pool, move |conn| settle(conn, id, outcome, attempts, now)).await?;
        }
        if (claimed.len() as i64) < BATCH {
            return Ok(delivered);
        }
    }
}

/// The timer of a district instance: sweep and deliver every `period`, the first time at
/// start-up so reminders missed while the instance was down go out at once.
pub async fn run_timer(pool: DbPool, channels: Channels, period: std::time::Duration) {
    let mut interval = tokio::time::interval(period);
    loop {
        interval.tick().await;
        let now = Utc::now();
        let swept = db::run(&pool, move |conn| sweep_all(conn, now)).await;
        let delivered = deliver(&pool, &channels, now).await;
        match (swept, delivered) {
            (Ok(sweep), Ok(delivered)) if sweep.due > 0 || delivered > 0 => {
                tracing::info!(
                    due = sweep.due,
                    urges = sweep.urges,
                    overdues = sweep.overdues,
                    delivered,
                    "reminder tick"
                );
            }
            (Err(e), _) | (_, Err(e)) => {
                tracing::warn!(error = %e, "reminder tick failed; retrying next period")
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        let secs: Vec<i64> = (1..=9).map(|a| backoff(a).num_seconds()).collect();
        assert_eq!(secs, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]);
    }
}
