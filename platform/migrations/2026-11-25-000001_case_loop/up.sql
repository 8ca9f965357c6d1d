-- District database: reference data (departments, users), media, cases and the
-- append-only business records (办理记录) that are the truth behind every case.

CREATE TABLE departments (
    code        TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL,
    street_code TEXT
);

CREATE TABLE users (
    id              UUID PRIMARY KEY,
    username        TEXT NOT NULL UNIQUE,
    display_name    TEXT NOT NULL,
    password_hash   TEXT NOT NULL,
    roles           TEXT[] NOT NULL,
    department_code TEXT REFERENCES departments (code),
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT users_roles_nonempty CHECK (cardinality(roles) > 0)
);

CREATE TABLE media (
    sha256       TEXT PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    content_type TEXT NOT NULL,
    size_bytes   BIGINT NOT NULL CHECK (size_bytes > 0),
    uploaded_by  UUID REFERENCES users (id),
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE cases (
    id                UUID PRIMARY KEY,
    number            BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
    state             TEXT NOT NULL,
    version           INTEGER NOT NULL DEFAULT 1,
    source            TEXT NOT NULL,
    urgency           TEXT NOT NULL DEFAULT 'normal',
    category_kind     TEXT,
    category_major    TEXT,
    category_minor    TEXT,
    description       TEXT NOT NULL,
    address           TEXT,
    lon               DOUBLE PRECISION NOT NULL,
    lat               DOUBLE PRECISION NOT NULL,
    street_code       TEXT,
    department_code   TEXT REFERENCES departments (code),
    reporter_id       UUID REFERENCES users (id),
    reporter_name     TEXT,
    reporter_phone    TEXT,
    verified          BOOLEAN,
    rework_count      INTEGER NOT NULL DEFAULT 0,
    satisfaction      TEXT,
    duplicate_of      UUID REFERENCES cases (id),
    idempotency_scope TEXT,
    idempotency_key   TEXT,
    request_hash      TEXT,
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT cases_idempotency UNIQUE (idempotency_scope, idempotency_key)
);
CREATE INDEX cases_state_idx ON cases (state, number);
CREATE INDEX cases_department_idx ON cases (department_code, state);
CREATE INDEX cases_created_idx ON cases (created_at);

CREATE TABLE case_records (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id     UUID NOT NULL REFERENCES cases (id),
    case_version INTEGER NOT NULL,
    action      TEXT NOT NULL,
    from_state  TEXT,
    to_state    TEXT NOT NULL,
    actor_id    UUID REFERENCES users (id),
    actor_role  TEXT NOT NULL,
    comment     TEXT,
    media       TEXT[] NOT NULL DEFAULT '{}',
    details     JSONB NOT NULL DEFAULT '{}',
    at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT case_records_one_per_version UNIQUE (case_id, case_version)
);

-- Business records are evidence: the database refuses to change or remove them,
-- whoever asks (the application's own user included).
CREATE FUNCTION case_records_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'case_records is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER case_records_no_update_delete
    BEFORE UPDATE OR DELETE ON case_records
    FOR EACH ROW EXECUTE FUNCTION case_records_append_only();
CREATE TRIGGER case_records_no_truncate
    BEFORE TRUNCATE ON case_records
    FOR EACH STATEMENT EXECUTE FUNCTION case_records_append_only();
