-- Supervision orders (督办): issued by a district leader (later also by the city through
-- the interchange, hence `origin`), acknowledged by the department that holds the case.
CREATE TABLE supervision_orders (
    id              UUID PRIMARY KEY,
    case_id         UUID NOT NULL REFERENCES cases (id),
    origin          TEXT NOT NULL CHECK (origin IN ('district', 'city')),
    level           TEXT NOT NULL,
    text            TEXT NOT NULL,
    due_at          TIMESTAMPTZ NOT NULL,
    issued_by       UUID REFERENCES users (id),
    issued_at       TIMESTAMPTZ NOT NULL,
    acknowledged_by UUID REFERENCES users (id),
    acknowledged_at TIMESTAMPTZ
);
CREATE INDEX supervision_orders_case_idx ON supervision_orders (case_id);

ALTER TABLE cases
    ADD COLUMN supervision_pending BOOLEAN NOT NULL DEFAULT false,
    ADD COLUMN supervision_level TEXT;
