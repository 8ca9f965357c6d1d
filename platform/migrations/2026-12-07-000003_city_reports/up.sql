-- The city's monthly appraisal reports as they concern this district (interchange v1.7
-- `report_notice`): its standing, and its section's files, read in this instance.
CREATE TABLE city_reports (
    month TEXT PRIMARY KEY CHECK (month ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
    published_at TIMESTAMPTZ NOT NULL,
    rank INTEGER CHECK (rank >= 1),
    ranked INTEGER NOT NULL CHECK (ranked >= 0),
    -- 综合指标值 in hundredths of a point.
    composite BIGINT CHECK (composite BETWEEN 0 AND 10000),
    grade TEXT,
    complete BOOLEAN NOT NULL,
    -- Files of the section that stayed at the city (too large for one message).
    omitted TEXT[] NOT NULL,
    received_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE city_report_files (
    month TEXT NOT NULL REFERENCES city_reports (month),
    name TEXT NOT NULL CHECK (name ~ '^[a-z0-9_]+\.(html|pdf|xlsx|csv|json)$'),
    content_type TEXT NOT NULL,
    bytes BYTEA NOT NULL,
    sha256 TEXT NOT NULL,
    PRIMARY KEY (month, name)
);
