-- Problems the city's supervisors found (上级发现, docs/ESCALATION.md): each is sent to the
-- district whose boundary holds its point as a `city_problem` command queued in the same
-- transaction, and comes back as that district's case of source `city` under the same id.
ALTER TABLE cases DROP CONSTRAINT cases_source_known;
ALTER TABLE cases ADD CONSTRAINT cases_source_known CHECK (source IN ('supervisor', 'public', 'hotline', 'city'));

CREATE TABLE city_problems (
    case_id UUID PRIMARY KEY,
    district TEXT NOT NULL REFERENCES districts(code),
    -- `component:0101`, in the district's edition (`edition`).
    category TEXT NOT NULL,
    edition TEXT NOT NULL,
    urgency TEXT NOT NULL CHECK (urgency IN ('normal', 'urgent')),
    description TEXT NOT NULL,
    address TEXT,
    lon DOUBLE PRECISION NOT NULL,
    lat DOUBLE PRECISION NOT NULL,
    -- SHA-256 of each photo; the bytes are in `media`.
    photos TEXT[] NOT NULL,
    reported_by TEXT NOT NULL,
    reporter UUID NOT NULL REFERENCES city_users(id),
    reported_at TIMESTAMPTZ NOT NULL,
    -- The command that carried it (the city's seq for the district).
    command_seq BIGINT NOT NULL,
    -- A retry with the same Idempotency-Key (per reporter) returns this problem.
    idempotency_key TEXT,
    request_hash TEXT NOT NULL,
    UNIQUE (reporter, idempotency_key)
);
CREATE INDEX city_problems_by_district ON city_problems (district, reported_at);

-- Photos city supervisors upload for their problems, before reporting them. A problem's
-- photos travel inside its `city_problem` message; the district sends them back with its
-- case like any photo (they land in `media` then).
CREATE TABLE city_photos (
    sha256 TEXT PRIMARY KEY,
    content_type TEXT NOT NULL,
    bytes BYTEA NOT NULL,
    uploaded_by UUID NOT NULL REFERENCES city_users(id),
    uploaded_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
