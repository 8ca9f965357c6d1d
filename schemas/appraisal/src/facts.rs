//! One row per case: what the indicators count, as the case stood at the end of the
//! appraised period. Built from the interchange standard alone (the case's last snapshot
//! before the cut-off and its business records before it), so the city (from its
//! warehouse) and a district (from its own stream) compute the same facts, and a later
//! step of a case never changes an appraised period.

use chrono::{DateTime, Utc};
use citygrid_schemas::{
    Action, BusinessRecord, CaseSnapshot, CaseState, Satisfaction, Source, Stage,
};
use uuid::Uuid;

/// The facts of one case at the cut-off.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseFacts {
    pub district: String,
    pub case_id: Uuid,
    pub source: Source,
    pub state: CaseState,
    /// `kind:majorminor` once filed.
    pub category: Option<String>,
    pub street: Option<String>,
    pub community: Option<String>,
    pub cell: Option<String>,
    /// The department the case is (or was last) dispatched to.
    pub department: Option<String>,
    /// The supervisor who reported it.
    pub reporter: Option<Uuid>,
    /// The on-site verification of a public or hotline report.
    pub verified: Option<bool>,
    pub reported_at: DateTime<Utc>,
    pub filed_at: Option<DateTime<Utc>>,
    /// The first dispatch.
    pub dispatched_at: Option<DateTime<Utc>>,
    /// 处置时限: the deadline in force of the case's last handling stage (extensions and
    /// suspensions included; a rework or a re-handling starts a new stage with its own).
    /// A case is due (应结案) in the period its deadline falls in.
    pub due_at: Option<DateTime<Utc>>,
    /// When that handling stage ended with the department's `handle`; none while it runs.
    pub handled_at: Option<DateTime<Utc>>,
    /// `handled_at <= due_at`: handled by the deadline, the deadline itself included.
    pub on_time: bool,
    /// The working minutes that handling stage used, suspensions excluded, as the
    /// district's calendar counted them (interchange v1.4: only the district knows its
    /// working hours); none while it runs, or from a district before v1.4.
    pub handling_working_minutes: Option<i64>,
    /// Closed, cancelled or rejected.
    pub finished_at: Option<DateTime<Utc>>,
    /// Times a department sent a dispatch back (退回).
    pub returns: u32,
    /// Times the check failed (返工).
    pub reworks: u32,
    /// An extension (延期) was approved.
    pub extended: bool,
    /// A suspension (缓办, 挂账) was approved.
    pub suspended: bool,
    pub satisfaction: Option<Satisfaction>,
}

impl CaseFacts {
    /// The facts of a case from its last snapshot before the cut-off and its records
    /// before it (in any order). Records of other cases are the caller's mistake and are
    /// ignored.
    pub fn of(district: &str, snapshot: &CaseSnapshot, records: &[BusinessRecord]) -> CaseFacts {
        let mut records: Vec<&BusinessRecord> = records
            .iter()
            .filter(|r| r.case_id == snapshot.case_id)
            .collect();
        records.sort_by_key(|r| r.record_id);
        let first = |action: Action| records.iter().find(|r| r.action == action).map(|r| r.at);
        let count = |action: Action| records.iter().filter(|r| r.action == action).count() as u32;
        let last_dispatch = records
            .iter()
            .rev()
            .find(|r| r.action == Action::Dispatch)
            .and_then(|r| r.details.get("department")?.as_str().map(str::to_owned));

        // The handling stage running at the cut-off, else the last one a `handle` ended.
        let running = snapshot
            .current_stage
            .as_ref()
            .filter(|s| s.stage == Stage::Handling);
        let ended = records
            .iter()
            .rev()
            .filter(|r| r.action == Action::Handle)
            .find_map(|r| {
                r.stage_ended
                    .as_ref()
                    .filter(|s| s.stage == Stage::Handling)
            });
        let (due_at, handled_at, on_time, handling_working_minutes) = match (running, ended) {
            (Some(stage), _) => (stage.deadline, None, false, None),
            // Judged here from the two instants rather than taken from the district's flag:
            // the deadline itself is still on time.
            (None, Some(outcome)) => (
                Some(outcome.deadline),
                Some(outcome.ended_at),
                outcome.ended_at <= outcome.deadline,
                outcome.working_minutes,
            ),
            (None, None) => (None, None, false, None),
        };
        let finished = matches!(
            snapshot.state,
            CaseState::Closed | CaseState::Cancelled | CaseState::Rejected
        );

        CaseFacts {
            district: district.to_owned(),
            case_id: snapshot.case_id,
            source: snapshot.source,
            state: snapshot.state,
            category: snapshot.category.as_ref().map(|c| c.label()),
            street: snapshot.street_code.clone(),
            community: snapshot.community_code.clone(),
            cell: snapshot.cell_code.clone(),
            department: snapshot.department_code.clone().or(last_dispatch),
            reporter: snapshot.reporter_id,
            verified: snapshot.verified,
            reported_at: snapshot
                .milestones
                .reported_at
                .unwrap_or(snapshot.created_at),
            filed_at: first(Action::File).or(snapshot.milestones.filed_at),
            dispatched_at: first(Action::Dispatch).or(snapshot.milestones.dispatched_at),
            due_at,
            handled_at,
            on_time,
            handling_working_minutes,
            finished_at: if finished {
                snapshot
                    .milestones
                    .finished_at
                    .or(Some(snapshot.updated_at))
            } else {
                None
            },
            returns: count(Action::Return).max(snapshot.return_count),
            reworks: count(Action::Rework).max(snapshot.rework_count),
            extended: count(Action::ApproveExtension) > 0 || snapshot.extension_minutes > 0,
            suspended: count(Action::ApproveSuspension) > 0,
            satisfaction: snapshot.satisfaction,
        }
    }
}

impl CaseFacts {
    /// Whether any count of `[start, end)` can include the case: one of the instants the
    /// indicators count by falls in it. A month's input is the cases that touch it, so a
    /// case long closed neither weighs on nor changes the digest of a later month.
    pub fn touches(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> bool {
        [
            Some(self.reported_at),
            self.filed_at,
            self.dispatched_at,
            self.due_at,
            self.finished_at,
        ]
        .into_iter()
        .flatten()
        .any(|t| start <= t && t < end)
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;
    use citygrid_schemas::json::example_snapshot;
    use citygrid_schemas::{Clock, Role, StageOutcome};
    use serde_json::json;

    use super::*;

    fn record(
        id: i64,
        action: Action,
        at: DateTime<Utc>,
        details: serde_json::Value,
    ) -> BusinessRecord {
        BusinessRecord {
            record_id: id,
            case_id: example_snapshot().case_id,
            case_version: id as u32,
            action,
            from_state: None,
            to_state: CaseState::Dispatched,
            actor_id: None,
            actor_role: Role::Dispatcher,
            comment: None,
            media: vec![],
            details,
            stage_ended: None,
            at,
        }
    }

    fn handled(id: i64, deadline: DateTime<Utc>, ended_at: DateTime<Utc>) -> BusinessRecord {
        let mut r = record(id, Action::Handle, ended_at, json!({}));
        r.stage_ended = Some(StageOutcome {
            stage: Stage::Handling,
            clock: Clock::Working,
            started_at: deadline - Duration::hours(4),
            deadline,
            ended_at,
            // The city judges the instants itself; a district's wrong flag changes nothing.
            on_time: true,
            working_minutes: None,
        });
        r
    }

    #[test]
    fn a_handling_that_ends_at_its_deadline_is_on_time_and_a_second_later_is_not() {
        let mut snapshot = example_snapshot();
        (snapshot.state, snapshot.current_stage) = (CaseState::Handled, None);
        let deadline = snapshot.created_at + Duration::hours(8);
        let dispatched = record(
            2,
            Action::Dispatch,
            snapshot.created_at,
            json!({ "department": "shizheng" }),
        );
        for (ended, on_time) in [(deadline, true), (deadline + Duration::seconds(1), false)] {
            let facts = CaseFacts::of(
                "330102",
                &snapshot,
                &[handled(3, deadline, ended), dispatched.clone()],
            );
            assert_eq!(
                (facts.due_at, facts.handled_at, facts.on_time),
                (Some(deadline), Some(ended), on_time)
            );
            assert_eq!(facts.dispatched_at, Some(snapshot.created_at));
        }
    }

    #[test]
    fn the_working_minutes_are_those_of_the_handling_stage_that_ended() {
        let mut snapshot = example_snapshot();
        (snapshot.state, snapshot.current_stage) = (CaseState::Handled, None);
        let deadline = snapshot.created_at + Duration::hours(8);
        // A first handling reworked, then a second one: the last one is the case's.
        let mut first = handled(2, deadline, deadline - Duration::hours(6));
        first.stage_ended.as_mut().unwrap().working_minutes = Some(30);
        let mut last = handled(
            4,
            deadline + Duration::hours(24),
            deadline + Duration::hours(2),
        );
        last.stage_ended.as_mut().unwrap().working_minutes = Some(95);
        let facts = CaseFacts::of("330102", &snapshot, &[last.clone(), first]);
        assert_eq!(facts.handling_working_minutes, Some(95));
        // From a district before v1.4: unknown, not zero.
        last.stage_ended.as_mut().unwrap().working_minutes = None;
        assert_eq!(
            CaseFacts::of("330102", &snapshot, &[last]).handling_working_minutes,
            None
        );
    }

    #[test]
    fn a_running_handling_stage_is_due_at_its_deadline_and_counts_come_from_records() {
        // The example is dispatched, handling due at 05:40Z, and was returned once before.
        let snapshot = example_snapshot();
        let t0 = snapshot.created_at;
        let records = [
            record(1, Action::Dispatch, t0, json!({ "department": "yuanlin" })),
            record(
                2,
                Action::Return,
                t0 + Duration::minutes(5),
                json!({ "department": "yuanlin" }),
            ),
            record(
                3,
                Action::Dispatch,
                t0 + Duration::minutes(9),
                json!({ "department": "huanwei" }),
            ),
            record(
                4,
                Action::ApproveSuspension,
                t0 + Duration::minutes(20),
                json!({}),
            ),
        ];
        let facts = CaseFacts::of("330102", &snapshot, &records);
        let running = snapshot.current_stage.as_ref().unwrap();
        assert_eq!((facts.due_at, facts.handled_at), (running.deadline, None));
        assert_eq!(facts.dispatched_at, Some(t0), "the first dispatch");
        assert_eq!(
            (facts.returns, facts.suspended, facts.extended),
            (1, true, false)
        );
        assert_eq!(facts.department.as_deref(), Some("huanwei"));
        assert_eq!(facts.finished_at, None);
    }
}
