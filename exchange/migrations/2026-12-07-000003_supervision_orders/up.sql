-- The city's supervision orders (市级督办单, docs/ESCALATION.md): one per (case, rule,
-- level), however often the rules run; each travels to its district as a
-- `supervision_order` command queued in the same transaction.
CREATE TABLE supervision_orders (
    order_id UUID PRIMARY KEY,
    district TEXT NOT NULL REFERENCES districts(code),
    case_id UUID NOT NULL,
    -- The escalation rule's name, or `instruction` for a city leader's own order.
    rule TEXT NOT NULL,
    level TEXT NOT NULL CHECK (level IN ('general', 'key', 'listed')),
    text TEXT NOT NULL,
    issued_by TEXT NOT NULL,
    issued_at TIMESTAMPTZ NOT NULL,
    -- The district acknowledges by then, and finishes the case by `due_at`, or the order
    -- is overdue and escalated one level.
    acknowledge_by TIMESTAMPTZ NOT NULL,
    due_at TIMESTAMPTZ NOT NULL,
    -- The command that carried it (the city's seq for the district).
    command_seq BIGINT NOT NULL,
    acknowledged_at TIMESTAMPTZ,
    acknowledged_department TEXT,
    -- The case finished in the warehouse.
    resolved_at TIMESTAMPTZ,
    -- Overdue, and superseded by the order one level up (or none above `listed`).
    overdue_at TIMESTAMPTZ,
    escalated_to UUID REFERENCES supervision_orders(order_id),
    UNIQUE (district, case_id, rule, level)
);
CREATE INDEX supervision_orders_open ON supervision_orders (district, case_id)
    WHERE resolved_at IS NULL AND overdue_at IS NULL;
