//! The case state machine (闭环流程): which role may take which step from which state.
//!
//! Pure: no I/O, so every (state, action, role) combination is unit-tested here and the
//! store only has to apply the answer. Role is checked before state, so a caller who may
//! never take a step learns that (403) rather than the case's current state (409).

pub use crate::vocab::{Action, Pending, Role, Source, State};

impl Action {
    /// The role whose step this is (a report is a supervisor's, or the public's).
    pub fn role(self) -> Role {
        match self {
            Action::Report => Role::Supervisor,
            Action::RequestVerification
            | Action::File
            | Action::Reject
            | Action::Callback
            | Action::Rehandle
            | Action::Close
            | Action::RequestCancellation => Role::Operator,
            Action::Cancel | Action::RejectCancellation | Action::Refer => Role::ShiftLeader,
            Action::Verify | Action::CheckPass | Action::Rework => Role::Supervisor,
            Action::Dispatch
            | Action::ApproveExtension
            | Action::RejectExtension
            | Action::ApproveSuspension
            | Action::RejectSuspension
            | Action::Resume
            | Action::Urge => Role::Dispatcher,
            Action::Return
            | Action::Handle
            | Action::RequestExtension
            | Action::RequestSuspension
            | Action::AcknowledgeSupervision => Role::Handler,
            // The city's decision, recorded like the city's orders: under the leader role,
            // with no actor; no district user takes it (it has no transition).
            Action::Supervise | Action::ReturnReferral => Role::Leader,
        }
    }
}

/// What the machine needs to know about a case besides its state.
#[derive(Debug, Clone, Copy)]
pub struct Facts {
    pub source: Source,
    /// The supervisor's on-site answer, once there is one.
    pub verified: Option<bool>,
    /// A department's request waiting for the dispatcher.
    pub pending: Option<Pending>,
    /// A supervision order the department has not acknowledged yet.
    pub supervision_pending: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkflowError {
    #[error("{action} is a step for the {role} role", action = .action.as_str(), role = .role.as_str())]
    WrongRole { action: Action, role: Role },
    #[error("{action} is not possible while the case is {state}", action = .action.as_str(), state = .state.as_str())]
    Illegal { action: Action, state: State },
    #[error("a {source} report must be verified on site (核实) before it is filed", source = .reported_by.as_str())]
    VerificationRequired { reported_by: Source },
    #[error("the on-site verification did not confirm the problem: reject the report instead")]
    NotConfirmed,
    #[error("a {source} report needs a call-back (回访) before it is closed", source = .reported_by.as_str())]
    CallbackRequired { reported_by: Source },
    #[error("supervisor reports get no call-back: close the case")]
    NoCallback,
    #[error("a {} request is already waiting for a decision", .0.as_str())]
    RequestPending(Pending),
    #[error("there is no {} request to decide", .0.as_str())]
    NothingToDecide(Pending),
    #[error("there is no supervision order waiting for acknowledgement")]
    NoSupervisionOrder,
    #[error("the case is referred to the city: it waits for the city's decision")]
    Referred,
}

/// Where a transition leads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum To {
    State(State),
    /// The case stays in its state (requests, decisions, urging, supervision).
    Same,
}

/// Every state a case can still change in.
pub const OPEN: &[State] = &[
    State::Reported,
    State::Verifying,
    State::Verified,
    State::Filed,
    State::Dispatched,
    State::Suspended,
    State::Handled,
    State::Checked,
    State::CalledBack,
];

/// The loop as data: each action, the states it may be taken in, and where it leads.
/// What else must hold (verification, call-back, a pending request, a supervision order)
/// is [`guard`]'s. `return_referral` has no row: it is the city's decision, applied from
/// the interchange (`store::take_referral_decision`), never a district user's step.
const TRANSITIONS: &[(Action, &[State], To)] = &[
    (Action::RequestCancellation, OPEN, To::Same),
    (Action::Cancel, OPEN, To::State(State::Cancelled)),
    (Action::RejectCancellation, OPEN, To::Same),
    (
        Action::Refer,
        &[State::Reported, State::Verified, State::Filed],
        To::Same,
    ),
    (
        Action::RequestVerification,
        &[State::Reported],
        To::State(State::Verifying),
    ),
    (
        Action::Verify,
        &[State::Verifying],
        To::State(State::Verified),
    ),
    (
        Action::File,
        &[State::Reported, State::Verified],
        To::State(State::Filed),
    ),
    (
        Action::Reject,
        &[State::Reported, State::Verified],
        To::State(State::Rejected),
    ),
    (
        Action::Dispatch,
        &[State::Filed],
        To::State(State::Dispatched),
    ),
    (
        Action::Return,
        &[State::Dispatched],
        To::State(State::Filed),
    ),
    (
        Action::Handle,
        &[State::Dispatched],
        To::State(State::Handled),
    ),
    (
        Action::CheckPass,
        &[State::Handled],
        To::State(State::Checked),
    ),
    (
        Action::Rework,
        &[State::Handled],
        To::State(State::Dispatched),
    ),
    (
        Action::Callback,
        &[State::Checked],
        To::State(State::CalledBack),
    ),
    (
        Action::Rehandle,
        &[State::Checked],
        To::State(State::Dispatched),
    ),
    (
        Action::Close,
        &[State::Checked, State::CalledBack],
        To::State(State::Closed),
    ),
    (Action::RequestExtension, &[State::Dispatched], To::Same),
    (Action::ApproveExtension, &[State::Dispatched], To::Same),
    (Action::RejectExtension, &[State::Dispatched], To::Same),
    (Action::RequestSuspension, &[State::Dispatched], To::Same),
    (
        Action::ApproveSuspension,
        &[State::Dispatched],
        To::State(State::Suspended),
    ),
    (Action::RejectSuspension, &[State::Dispatched], To::Same),
    (
        Action::Resume,
        &[State::Suspended],
        To::State(State::Dispatched),
    ),
    (Action::Supervise, OPEN, To::Same),
    (Action::Urge, &[State::Dispatched], To::Same),
    (
        Action::AcknowledgeSupervision,
        &[State::Dispatched, State::Suspended],
        To::Same,
    ),
];

/// The conditions beyond the state that a step needs, given the case's facts.
fn guard(state: State, action: Action, facts: Facts) -> Result<(), WorkflowError> {
    let public = facts.source.from_public();
    let decided = |kind: Pending| {
        if facts.pending == Some(kind) {
            Ok(())
        } else {
            Err(WorkflowError::NothingToDecide(kind))
        }
    };
    // A referred case is the city's to decide: the district only supervises it meanwhile.
    if facts.pending == Some(Pending::Referral) && action != Action::Supervise {
        return Err(WorkflowError::Referred);
    }
    match action {
        Action::File if state == State::Reported && public => {
            Err(WorkflowError::VerificationRequired {
                reported_by: facts.source,
            })
        }
        Action::File if state == State::Verified && facts.verified != Some(true) => {
            Err(WorkflowError::NotConfirmed)
        }
        Action::Callback | Action::Rehandle if !public => Err(WorkflowError::NoCallback),
        Action::Close if state == State::Checked && public => {
            Err(WorkflowError::CallbackRequired {
                reported_by: facts.source,
            })
        }
        Action::RequestExtension
        | Action::RequestSuspension
        | Action::RequestCancellation
        | Action::Refer => match facts.pending {
            Some(pending) => Err(WorkflowError::RequestPending(pending)),
            None => Ok(()),
        },
        Action::ApproveExtension | Action::RejectExtension => decided(Pending::Extension),
        Action::ApproveSuspension | Action::RejectSuspension => decided(Pending::Suspension),
        Action::Cancel | Action::RejectCancellation => decided(Pending::Cancellation),
        Action::AcknowledgeSupervision if !facts.supervision_pending => {
            Err(WorkflowError::NoSupervisionOrder)
        }
        _ => Ok(()),
    }
}

/// The state `action` leads to, if `roles` may take it now: role first (a caller who may
/// never take the step learns that, not the case's state), then the state, then the guard.
pub fn next_state(
    state: State,
    action: Action,
    roles: &[Role],
    facts: Facts,
) -> Result<State, WorkflowError> {
    let role = action.role();
    if !roles.contains(&role) {
        return Err(WorkflowError::WrongRole { action, role });
    }
    let to = TRANSITIONS
        .iter()
        .find(|(a, from, _)| *a == action && from.contains(&state))
        .map(|(_, _, to)| *to)
        .ok_or(WorkflowError::Illegal { action, state })?;
    guard(state, action, facts)?;
    Ok(match to {
        To::State(next) => next,
        To::Same => state,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use State as S;

    /// The legal steps, written out independently of `next_state`, for a supervisor
    /// report (no verification, no call-back) and a public one (both).
    fn legal(
        state: State,
        action: Action,
        source: Source,
        pending: Option<Pending>,
    ) -> Option<State> {
        let public = source.from_public();
        let open = state.is_open();
        if pending == Some(Pending::Referral) {
            return (action == Action::Supervise && open).then_some(state);
        }
        if action == Action::Refer {
            let before_dispatch = matches!(state, S::Reported | S::Verified | S::Filed);
            return (pending.is_none() && before_dispatch).then_some(state);
        }
        match (pending, action) {
            (None, Action::RequestCancellation) => return open.then_some(state),
            (Some(Pending::Cancellation), Action::Cancel) => return open.then_some(S::Cancelled),
            (Some(Pending::Cancellation), Action::RejectCancellation) => {
                return open.then_some(state);
            }
            (_, Action::RequestCancellation | Action::Cancel | Action::RejectCancellation) => {
                return None;
            }
            _ => {}
        }
        let decision = match (pending, action) {
            (None, Action::RequestExtension | Action::RequestSuspension) => Some(S::Dispatched),
            (Some(Pending::Extension), Action::ApproveExtension | Action::RejectExtension) => {
                Some(S::Dispatched)
            }
            (Some(Pending::Suspension), Action::ApproveSuspension) => Some(S::Suspended),
            (Some(Pending::Suspension), Action::RejectSuspension) => Some(S::Dispatched),
            _ => None,
        };
        if decision.is_some() {
            return decision.filter(|_| state == S::Dispatched);
        }
        let table: &[(State, Action, State, Option<bool>)] = &[
            (S::Reported, Action::RequestVerification, S::Verifying, None),
            (S::Verifying, Action::Verify, S::Verified, None),
            (S::Reported, Action::File, S::Filed, Some(false)),
            (S::Verified, Action::File, S::Filed, None),
            (S::Reported, Action::Reject, S::Rejected, None),
            (S::Verified, Action::Reject, S::Rejected, None),
            (S::Filed, Action::Dispatch, S::Dispatched, None),
            (S::Dispatched, Action::Return, S::Filed, None),
            (S::Dispatched, Action::Handle, S::Handled, None),
            (S::Handled, Action::CheckPass, S::Checked, None),
            (S::Handled, Action::Rework, S::Dispatched, None),
            (S::Checked, Action::Callback, S::CalledBack, Some(true)),
            (S::Checked, Action::Rehandle, S::Dispatched, Some(true)),
            (S::Checked, Action::Close, S::Closed, Some(false)),
            (S::CalledBack, Action::Close, S::Closed, None),
            (S::Suspended, Action::Resume, S::Dispatched, None),
            (S::Dispatched, Action::Urge, S::Dispatched, None),
        ];
        if action == Action::Supervise {
            return open.then_some(state);
        }
        table
            .iter()
            .find(|(from, a, _, only_public)| {
                *from == state && *a == action && only_public.is_none_or(|p| p == public)
            })
            .map(|(_, _, to, _)| *to)
    }

    #[test]
    fn every_state_action_role_combination() {
        let mut legal_steps = 0;
        let pendings = [
            None,
            Some(Pending::Extension),
            Some(Pending::Suspension),
            Some(Pending::Cancellation),
            Some(Pending::Referral),
        ];
        for (source, pending) in [
            Source::Supervisor,
            Source::Public,
            Source::Hotline,
            Source::City,
        ]
        .into_iter()
        .flat_map(|s| pendings.map(|p| (s, p)))
        {
            let facts = Facts {
                source,
                verified: Some(true),
                pending,
                supervision_pending: false,
            };
            for &state in State::ALL {
                for &action in Action::ALL {
                    for &role in Role::ALL {
                        let got = next_state(state, action, &[role], facts);
                        let expected_role = action.role();
                        match (role == expected_role, legal(state, action, source, pending)) {
                            (false, _) => assert_eq!(
                                got,
                                Err(WorkflowError::WrongRole {
                                    action,
                                    role: expected_role
                                }),
                                "{state:?} {action:?} {role:?} {source:?}"
                            ),
                            (true, Some(to)) => {
                                legal_steps += 1;
                                assert_eq!(got, Ok(to), "{state:?} {action:?} {source:?}");
                            }
                            (true, None) => assert!(
                                matches!(
                                    got,
                                    Err(WorkflowError::Illegal { .. }
                                        | WorkflowError::VerificationRequired { .. }
                                        | WorkflowError::CallbackRequired { .. }
                                        | WorkflowError::RequestPending(_)
                                        | WorkflowError::NothingToDecide(_)
                                        | WorkflowError::NoSupervisionOrder
                                        | WorkflowError::Referred
                                        | WorkflowError::NoCallback)
                                ),
                                "{state:?} {action:?} {source:?}: {got:?}"
                            ),
                        }
                    }
                }
            }
        }
        // For each of the 4 × 4 (source, pending) pairs without a referral: resume from
        // suspended, a supervision order on any of the 9 open states and a manual urge; 13
        // loop steps for supervisor and city reports (direct filing, close without
        // call-back) and 13 for public and hotline ones (verification, call-back or
        // re-handling). Per source: a cancellation request from the 9 open states when
        // nothing waits, its approval or refusal from them when it waits; 2 request or
        // decision steps per other pending value (extension and suspension asked,
        // approved, refused); a referral from the 3 states before dispatch when nothing
        // waits, and while one waits only a supervision order on the 9 open states.
        assert_eq!(
            legal_steps,
            16 * (1 + 9 + 1)
                + 4 * (13 + 13 + 13 + 13)
                + 4 * (9 + 9 + 9)
                + 4 * 3 * 2
                + 4 * 3
                + 4 * 9
        );
    }

    #[test]
    fn public_report_cannot_skip_verification_or_callback() {
        let public = Facts {
            source: Source::Public,
            verified: None,
            pending: None,
            supervision_pending: false,
        };
        let op = [Role::Operator];
        assert_eq!(
            next_state(S::Reported, Action::File, &op, public),
            Err(WorkflowError::VerificationRequired {
                reported_by: Source::Public
            })
        );
        assert_eq!(
            next_state(S::Checked, Action::Close, &op, public),
            Err(WorkflowError::CallbackRequired {
                reported_by: Source::Public
            })
        );
        assert_eq!(
            next_state(S::CalledBack, Action::Close, &op, public),
            Ok(S::Closed)
        );
    }

    #[test]
    fn unconfirmed_verification_blocks_filing() {
        let facts = Facts {
            source: Source::Hotline,
            verified: Some(false),
            pending: None,
            supervision_pending: false,
        };
        assert_eq!(
            next_state(S::Verified, Action::File, &[Role::Operator], facts),
            Err(WorkflowError::NotConfirmed)
        );
        assert_eq!(
            next_state(S::Verified, Action::Reject, &[Role::Operator], facts),
            Ok(S::Rejected)
        );
    }

    #[test]
    fn a_user_with_several_roles_may_take_each_of_their_steps() {
        let facts = Facts {
            source: Source::Supervisor,
            verified: None,
            pending: None,
            supervision_pending: false,
        };
        let roles = [Role::Operator, Role::Dispatcher];
        assert_eq!(
            next_state(S::Reported, Action::File, &roles, facts),
            Ok(S::Filed)
        );
        assert_eq!(
            next_state(S::Filed, Action::Dispatch, &roles, facts),
            Ok(S::Dispatched)
        );
    }

    #[test]
    fn a_supervision_order_is_acknowledged_by_the_department_once() {
        let mut facts = Facts {
            source: Source::Supervisor,
            verified: None,
            pending: None,
            supervision_pending: false,
        };
        let handler = [Role::Handler];
        assert_eq!(
            next_state(
                S::Dispatched,
                Action::AcknowledgeSupervision,
                &handler,
                facts
            ),
            Err(WorkflowError::NoSupervisionOrder)
        );
        facts.supervision_pending = true;
        assert_eq!(
            next_state(
                S::Dispatched,
                Action::AcknowledgeSupervision,
                &handler,
                facts
            ),
            Ok(S::Dispatched)
        );
        assert_eq!(
            next_state(
                S::Suspended,
                Action::AcknowledgeSupervision,
                &handler,
                facts
            ),
            Ok(S::Suspended)
        );
        assert_eq!(
            next_state(S::Closed, Action::Supervise, &[Role::Leader], facts),
            Err(WorkflowError::Illegal {
                action: Action::Supervise,
                state: S::Closed
            })
        );
    }

    #[test]
    fn the_table_knows_every_action_and_the_open_states() {
        let open: Vec<State> = State::ALL.iter().copied().filter(|s| s.is_open()).collect();
        assert_eq!(OPEN, open.as_slice());
        // Every action but the report (which opens a case) and the city's return of a
        // referral (which no district user takes) has a row.
        for &action in Action::ALL {
            let rows = TRANSITIONS.iter().filter(|(a, _, _)| *a == action).count();
            let has_row = !matches!(action, Action::Report | Action::ReturnReferral);
            assert_eq!(rows, usize::from(has_row), "{action:?}");
        }
    }

    /// The words in backticks of a cell.
    fn quoted(cell: &str) -> Vec<&str> {
        cell.split('`').skip(1).step_by(2).collect()
    }

    /// What the standard's page says of each step is what this machine and the stage
    /// clock do: the states it is taken in, where it leads, the role, the stage it starts.
    #[test]
    fn the_standards_steps_table_is_this_machine() {
        use crate::deadline::{StageChange, stage_after};
        let rows = citygrid_schemas::details::steps_table();
        assert_eq!(rows.len(), Action::ALL.len(), "one row per action");
        for row in rows {
            let [action, _, from, to, role, _, starts, _] = row.as_slice() else {
                panic!("8 cells: {row:?}");
            };
            let action = Action::parse(action.trim_matches('`')).expect("an action");
            let to_same = to == "same";
            let to = quoted(to).first().and_then(|s| State::parse(s));
            let started = stage_after(action);
            let says_starts = quoted(starts).first().copied();
            assert_eq!(
                says_starts,
                match started {
                    StageChange::Start(stage) => Some(stage.as_str()),
                    _ => None,
                },
                "{action:?} starts"
            );
            assert_eq!(
                quoted(role).first().copied(),
                Some(action.role().as_str()),
                "{action:?} role"
            );
            if action == Action::Report {
                assert_eq!(to, Some(S::Reported));
                continue;
            }
            let from: Vec<State> = if from.contains("any open state") {
                OPEN.to_vec()
            } else {
                quoted(from).into_iter().filter_map(State::parse).collect()
            };
            for &state in State::ALL {
                // Legal for some facts (source, pending request, supervision order)?
                let outcomes: Vec<State> = [Source::Supervisor, Source::Public]
                    .into_iter()
                    .flat_map(|source| {
                        [
                            None,
                            Some(Pending::Extension),
                            Some(Pending::Suspension),
                            Some(Pending::Cancellation),
                            Some(Pending::Referral),
                        ]
                        .map(|pending| Facts {
                            source,
                            verified: Some(true),
                            pending,
                            supervision_pending: true,
                        })
                    })
                    .filter_map(|facts| next_state(state, action, &[action.role()], facts).ok())
                    .collect();
                assert_eq!(
                    !outcomes.is_empty(),
                    from.contains(&state),
                    "{action:?} from {state:?}"
                );
                for got in outcomes {
                    let want = if to_same { Some(state) } else { to };
                    assert_eq!(Some(got), want, "{action:?} from {state:?}");
                }
            }
        }
    }
}
