-- The monthly job (docs/MONTHLY.md): one row per month run, committed with the month's
-- ledger postings, so a month is run exactly once.
CREATE TABLE monthly_runs (
    month TEXT PRIMARY KEY CHECK (month ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
    ran_at TIMESTAMPTZ NOT NULL,
    -- Districts not reconciled past the month's end when the grace ran out.
    incomplete TEXT[] NOT NULL,
    -- Ledger postings the run made (those already there are not counted).
    postings INTEGER NOT NULL CHECK (postings >= 0)
);
