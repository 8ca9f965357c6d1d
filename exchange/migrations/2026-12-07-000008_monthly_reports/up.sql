-- The monthly report's files (docs/MONTHLY.md), stored with the run that made them: the
-- city's (`scope` 'city') and each district's section (`scope` its code).
CREATE TABLE monthly_reports (
    month TEXT NOT NULL REFERENCES monthly_runs (month),
    scope TEXT NOT NULL CHECK (scope = 'city' OR scope ~ '^[0-9]{6}$'),
    name TEXT NOT NULL CHECK (name ~ '^[a-z0-9_]+\.(html|pdf|xlsx|csv|json)$'),
    content_type TEXT NOT NULL,
    bytes BYTEA NOT NULL,
    sha256 TEXT NOT NULL,
    PRIMARY KEY (month, scope, name)
);
