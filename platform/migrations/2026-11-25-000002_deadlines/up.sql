-- Time limits (DESIGN.md §2): each open case runs one timed stage at a time. The limits
-- of the command-manual row a case was filed under are copied onto the case, so a later
-- edit of the manual never moves its deadlines. Light thresholds are precomputed at the
-- start of a stage, so lights and the reminder timer are plain indexed comparisons.
ALTER TABLE cases
    ADD COLUMN manual_version   TEXT,
    ADD COLUMN manual_limits    JSONB,
    ADD COLUMN stage            TEXT,
    ADD COLUMN clock            TEXT,
    ADD COLUMN stage_started_at TIMESTAMPTZ,
    ADD COLUMN stage_limit_minutes INTEGER,
    ADD COLUMN stage_yellow_at  TIMESTAMPTZ,
    ADD COLUMN stage_deadline   TIMESTAMPTZ;

CREATE INDEX cases_stage_deadline_idx ON cases (stage_deadline) WHERE stage IS NOT NULL;
