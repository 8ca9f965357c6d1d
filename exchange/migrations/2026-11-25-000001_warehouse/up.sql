-- The city warehouse: what the exchange has received from every district.

-- One row per district: its stream cursor (every seq up to here is applied) and its
-- command stream (sync requests, rejections, supervision orders) counter.
CREATE TABLE districts (
    code TEXT PRIMARY KEY CHECK (code ~ '^[0-9]{6}$'),
    name TEXT NOT NULL,
    broker_user TEXT NOT NULL UNIQUE,
    cursor BIGINT NOT NULL DEFAULT 0,
    last_received_at TIMESTAMPTZ,
    last_sync_request_at TIMESTAMPTZ,
    command_seq BIGINT NOT NULL DEFAULT 0
);

-- Every stream message as received, keyed by district and seq: the dedupe key, and where
-- messages that arrive ahead of a gap wait (applied = false) until the gap is filled.
CREATE TABLE stream (
    district TEXT NOT NULL REFERENCES districts (code),
    seq BIGINT NOT NULL CHECK (seq > 0),
    kind TEXT NOT NULL,
    message_id TEXT,
    envelope JSONB NOT NULL,
    received_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    applied BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (district, seq)
);
CREATE INDEX stream_waiting_idx ON stream (district, seq) WHERE NOT applied;

-- The newest snapshot of every case (highest version wins).
CREATE TABLE cases (
    district TEXT NOT NULL REFERENCES districts (code),
    case_id UUID NOT NULL,
    version INTEGER NOT NULL,
    state TEXT NOT NULL,
    source TEXT NOT NULL,
    urgency TEXT NOT NULL,
    category_kind TEXT,
    category_major TEXT,
    category_minor TEXT,
    street_code TEXT,
    department_code TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    snapshot JSONB NOT NULL,
    PRIMARY KEY (district, case_id)
);
CREATE INDEX cases_state_idx ON cases (district, state);

-- Business records (办理记录), append-only.
CREATE TABLE records (
    district TEXT NOT NULL REFERENCES districts (code),
    seq BIGINT NOT NULL,
    record_id BIGINT NOT NULL,
    case_id UUID NOT NULL,
    action TEXT NOT NULL,
    at TIMESTAMPTZ NOT NULL,
    record JSONB NOT NULL,
    PRIMARY KEY (district, seq),
    UNIQUE (district, record_id)
);
CREATE INDEX records_case_idx ON records (district, case_id);

-- Photos: chunks wait here until their manifest arrives and the hash checks out.
CREATE TABLE media_chunks (
    sha256 TEXT NOT NULL,
    index INTEGER NOT NULL,
    data BYTEA NOT NULL,
    received_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (sha256, index)
);
CREATE TABLE media (
    sha256 TEXT PRIMARY KEY,
    content_type TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    -- Null until every chunk arrived and the SHA-256 verified.
    bytes BYTEA,
    first_district TEXT NOT NULL REFERENCES districts (code),
    verified_at TIMESTAMPTZ
);

-- What the exchange refused, and why (a rejection command went back to the district).
CREATE TABLE rejections (
    id BIGSERIAL PRIMARY KEY,
    district TEXT,
    message_id TEXT,
    kind TEXT,
    seq BIGINT,
    code TEXT NOT NULL,
    message TEXT NOT NULL,
    field TEXT,
    at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Commands to districts, written in the transaction that decided them and published
-- with confirms afterwards (an outbox, like the districts').
CREATE TABLE commands (
    district TEXT NOT NULL REFERENCES districts (code),
    seq BIGINT NOT NULL,
    kind TEXT NOT NULL,
    message TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    sent_at TIMESTAMPTZ,
    PRIMARY KEY (district, seq)
);
CREATE INDEX commands_unsent_idx ON commands (created_at) WHERE sent_at IS NULL;
