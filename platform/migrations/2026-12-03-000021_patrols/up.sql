-- Grid-based acceptance (巡查责任区): the on-site task of a case (核实 while verifying,
-- 核查 while handled) goes to the supervisor answering for its cell's patrol area.
-- `cases.task_assignee` is who holds the current task (NULL: any supervisor);
-- `case_assignments` keeps every assignment, by the patrol areas or by hand.
ALTER TABLE cases ADD COLUMN task_assignee UUID REFERENCES users (id);
CREATE INDEX cases_task_assignee ON cases (task_assignee) WHERE task_assignee IS NOT NULL;

CREATE TABLE case_assignments (
    id BIGSERIAL PRIMARY KEY,
    case_id UUID NOT NULL REFERENCES cases (id),
    task TEXT NOT NULL CONSTRAINT case_assignments_task_known CHECK (task IN ('verify', 'check')),
    -- NULL: nobody answers for the cell; any supervisor may take the task.
    assignee UUID REFERENCES users (id),
    -- The patrol area that decided it; NULL when assigned by hand.
    patrol TEXT,
    -- Who reassigned it by hand; NULL when the patrol areas decided.
    assigned_by UUID REFERENCES users (id),
    reason TEXT,
    at TIMESTAMPTZ NOT NULL
);
CREATE INDEX case_assignments_case ON case_assignments (case_id, id);
