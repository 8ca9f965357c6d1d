-- Daily reconciliation digests (日对账) sent to the city: one per local day, redone on demand.
CREATE TABLE digests (
    day DATE PRIMARY KEY,
    cases BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    up_to_seq BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
