-- 案件历史: every interchange snapshot the district wrote for a case, one row per version,
-- kept for good. Appraisal of a closed period (docs/APPRAISAL.md) must see each case as it
-- stood at the period's end, not as later steps left it; the outbox holds the same
-- snapshots but is pruned after `exchange.retention_days`, and `cases` holds only the
-- newest. Written in the same transaction as the case change and its outbox messages
-- (crate::uplink::outbox::write_change).
CREATE TABLE case_history (
    case_id UUID NOT NULL REFERENCES cases (id),
    version INTEGER NOT NULL CHECK (version > 0),
    -- The snapshot's `updated_at`: when the change that made this version was taken.
    updated_at TIMESTAMPTZ NOT NULL,
    -- The interchange `case_snapshot` body, exactly as sent to the city.
    snapshot JSONB NOT NULL,
    PRIMARY KEY (case_id, version)
);
-- Reading as of a cut-off: each case's versions before it, newest first.
CREATE INDEX case_history_as_of ON case_history (case_id, updated_at DESC, version DESC);

-- What the outbox still holds. A case none of whose snapshots survived the pruning gets
-- its current state written at start-up (crate::appraisal::history::backfill).
INSERT INTO case_history (case_id, version, updated_at, snapshot)
SELECT (body->>'case_id')::uuid, (body->>'version')::int, (body->>'updated_at')::timestamptz, body
  FROM (SELECT message::jsonb->'body' AS body FROM outbox WHERE kind = 'case_snapshot') AS s
 WHERE EXISTS (SELECT 1 FROM cases c WHERE c.id = (s.body->>'case_id')::uuid)
ON CONFLICT (case_id, version) DO NOTHING;
