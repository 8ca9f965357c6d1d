-- The districts' daily reconciliation digests and how the warehouse compared.
CREATE TABLE digests (
    district TEXT NOT NULL REFERENCES districts (code),
    -- The digest message's own seq.
    seq BIGINT NOT NULL,
    day DATE NOT NULL,
    up_to_seq BIGINT NOT NULL,
    cases BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    received_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- Filled once the warehouse holds everything up to up_to_seq and compared.
    compared_at TIMESTAMPTZ,
    city_cases BIGINT,
    city_sha256 TEXT,
    matches BOOLEAN,
    PRIMARY KEY (district, seq)
);
CREATE INDEX digests_day_idx ON digests (district, day);
