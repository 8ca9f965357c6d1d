//! Separation of duties (职责分离): nobody judges their own work on a case, whatever roles
//! their account holds.
//!
//! The roles of 数字城管 split the loop so that each step is checked by someone else: the
//! supervisor (监督员) reports and checks others' work, the operator (受理员) accepts
//! (files or rejects) and closes, the shift leader (值班长) decides cancellations, the
//! dispatcher (派遣员) dispatches and decides the departments' requests, the department
//! (处置) handles. One account may hold several
//! roles; the rules below keep it from carrying a case through those checks alone. Each
//! says: whoever took one of `earlier` on a case may not take one of `later` on it (for a
//! report, only of the sources named). Pure, so the matrix is tested here and in the
//! docs (docs/API.md, Separation of duties); `store::step` looks up the caller's earlier
//! steps on the case (one indexed read) when the step is one a rule restricts.

use crate::case::workflow::{Action, Source};

/// One rule of the matrix.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// Steps the caller took on the case before.
    pub earlier: &'static [Action],
    /// Steps they may then not take on it.
    pub later: &'static [Action],
    /// The reports the rule applies to.
    pub sources: &'static [Source],
    /// The 403 `own_work` message: the rule in words.
    pub rule: &'static str,
}

const ALL: &[Source] = &[
    Source::Supervisor,
    Source::Public,
    Source::Hotline,
    Source::City,
];

/// The matrix (docs/API.md, Separation of duties).
pub const RULES: &[Rule] = &[
    Rule {
        earlier: &[Action::Report],
        later: &[Action::Verify],
        sources: ALL,
        rule: "a report is verified by someone other than its reporter",
    },
    // A supervisor's report has no on-site verification: accepting it is the only
    // check that it is real (and reports count in a supervisor's results). A public or
    // hotline report is verified on site by someone other than who entered it instead.
    Rule {
        earlier: &[Action::Report],
        later: &[Action::File, Action::Reject],
        sources: &[Source::Supervisor, Source::City],
        rule: "a supervisor's report is accepted or rejected by someone other than its reporter",
    },
    Rule {
        earlier: &[Action::Report],
        later: &[Action::CheckPass, Action::Rework],
        sources: ALL,
        rule: "the work on a case is checked by someone other than its reporter",
    },
    Rule {
        earlier: &[Action::Handle],
        later: &[Action::CheckPass, Action::Rework],
        sources: ALL,
        rule: "the work on a case is checked by someone other than who handled it",
    },
    Rule {
        earlier: &[Action::Handle],
        later: &[
            Action::Callback,
            Action::Rehandle,
            Action::Close,
            Action::RequestCancellation,
            Action::Cancel,
        ],
        sources: ALL,
        rule: "a case is called back, closed or cancelled by someone other than who handled it",
    },
    Rule {
        earlier: &[Action::RequestExtension],
        later: &[Action::ApproveExtension, Action::RejectExtension],
        sources: ALL,
        rule: "an extension is decided by someone other than who asked for it",
    },
    Rule {
        earlier: &[Action::RequestSuspension],
        later: &[Action::ApproveSuspension, Action::RejectSuspension],
        sources: ALL,
        rule: "a suspension is decided by someone other than who asked for it",
    },
    Rule {
        earlier: &[Action::RequestCancellation],
        later: &[Action::Cancel, Action::RejectCancellation],
        sources: ALL,
        rule: "a cancellation is decided by someone other than who asked for it",
    },
];

/// Whether any rule restricts `action` (only then are the caller's earlier steps read).
pub fn restricted(action: Action) -> bool {
    RULES.iter().any(|r| r.later.contains(&action))
}

/// The rule that forbids the caller `action` on a case from `source`, given the steps
/// they took on it before (`mine`), if one does.
pub fn conflict(action: Action, source: Source, mine: &[Action]) -> Option<&'static Rule> {
    RULES.iter().find(|r| {
        r.later.contains(&action)
            && r.sources.contains(&source)
            && r.earlier.iter().any(|a| mine.contains(a))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use Action as A;

    /// The matrix written out independently: for each earlier step, what it excludes, for
    /// a supervisor's report and a public one.
    fn forbidden(earlier: Action, later: Action, public: bool) -> bool {
        matches!(
            (earlier, later),
            (A::Report, A::Verify | A::CheckPass | A::Rework)
                | (
                    A::Handle,
                    A::CheckPass
                        | A::Rework
                        | A::Callback
                        | A::Rehandle
                        | A::Close
                        | A::RequestCancellation
                        | A::Cancel
                )
                | (A::RequestCancellation, A::Cancel | A::RejectCancellation)
                | (
                    A::RequestExtension,
                    A::ApproveExtension | A::RejectExtension
                )
                | (
                    A::RequestSuspension,
                    A::ApproveSuspension | A::RejectSuspension
                )
        ) || (!public && earlier == A::Report && matches!(later, A::File | A::Reject))
    }

    #[test]
    fn every_pair_of_steps_against_the_matrix() {
        for source in Source::ALL {
            for &earlier in Action::ALL {
                for &later in Action::ALL {
                    assert_eq!(
                        conflict(later, *source, &[earlier]).is_some(),
                        forbidden(earlier, later, source.from_public()),
                        "{} then {} on a {} report",
                        earlier.as_str(),
                        later.as_str(),
                        source.as_str()
                    );
                }
            }
        }
    }

    #[test]
    fn one_account_cannot_carry_a_case_through_the_loop() {
        // The attack: one account with every role reports, files, dispatches, handles,
        // checks and closes. It is stopped at filing its own report, and (had someone
        // else filed) at checking its own handling and at closing it.
        let mut mine = vec![A::Report];
        assert!(conflict(A::File, Source::Supervisor, &mine).is_some());
        mine.extend([A::Dispatch, A::Handle]);
        assert!(conflict(A::CheckPass, Source::Supervisor, &mine).is_some());
        assert!(conflict(A::Close, Source::Supervisor, &mine).is_some());
        // Steps of one role stay together: the operator who filed closes; the dispatcher
        // who dispatched urges, resumes and dispatches again.
        assert!(conflict(A::Close, Source::Supervisor, &[A::File]).is_none());
        assert!(conflict(A::Dispatch, Source::Supervisor, &[A::Dispatch, A::File]).is_none());
        // A hotline report entered by an operator is filed by them after someone else
        // verified it on site.
        assert!(conflict(A::File, Source::Hotline, &[A::Report]).is_none());
        assert!(conflict(A::Verify, Source::Hotline, &[A::Report]).is_some());
        assert!(restricted(A::CheckPass) && !restricted(A::Dispatch));
    }
}
