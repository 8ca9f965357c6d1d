-- Interchange v1.6: cases a district referred up to the city (上报市级, a `refer` record)
-- and the city's decision on each: sent back, or reassigned to another district as a
-- `city_problem` with `referred_from` (docs/ESCALATION.md).
ALTER TABLE records DROP CONSTRAINT records_action_known;
ALTER TABLE records ADD CONSTRAINT records_action_known CHECK (action IN ('report', 'request_verification', 'verify', 'file', 'reject', 'dispatch', 'return', 'handle', 'check_pass', 'rework', 'callback', 'close', 'cancel', 'request_extension', 'approve_extension', 'reject_extension', 'request_suspension', 'approve_suspension', 'reject_suspension', 'resume', 'supervise', 'acknowledge_supervision', 'urge', 'request_cancellation', 'reject_cancellation', 'rehandle', 'refer', 'return_referral'));

CREATE TABLE referrals (
    district TEXT NOT NULL REFERENCES districts(code),
    -- The `refer` record's id: a case referred again after a return is a new referral.
    record_id BIGINT NOT NULL,
    case_id UUID NOT NULL,
    reason TEXT NOT NULL,
    referred_by TEXT,
    referred_at TIMESTAMPTZ NOT NULL,
    outcome TEXT CHECK (outcome IN ('returned', 'reassigned')),
    decision_reason TEXT,
    decider UUID REFERENCES city_users(id),
    decided_by TEXT,
    decided_at TIMESTAMPTZ,
    -- The case that replaces it, when reassigned (a row of city_problems).
    reassigned_case UUID,
    -- The `referral_decision` command that carried the decision.
    command_seq BIGINT,
    PRIMARY KEY (district, record_id),
    CHECK ((outcome IS NULL) = (decided_at IS NULL) AND (outcome IS NULL) = (command_seq IS NULL)),
    CHECK ((outcome IS NOT DISTINCT FROM 'reassigned') = (reassigned_case IS NOT NULL))
);
CREATE INDEX referrals_waiting ON referrals (referred_at) WHERE outcome IS NULL;

-- A reassigned referral travels as a city problem of its new district; it is not 上级发现.
ALTER TABLE city_problems ADD COLUMN referred_district TEXT REFERENCES districts(code);
ALTER TABLE city_problems ADD COLUMN referred_case UUID;
ALTER TABLE city_problems ADD CONSTRAINT city_problems_referred_both CHECK ((referred_district IS NULL) = (referred_case IS NULL));
