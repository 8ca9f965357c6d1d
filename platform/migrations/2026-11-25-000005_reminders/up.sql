-- Reminders (到达提醒, 催办, 超时提醒). `next_reminder_at` is when the timer must next look
-- at a case (its yellow instant, then its deadline); the timer reads it through a partial
-- index, never by scanning open cases. Notifications are an outbox: written in the same
-- transaction as their cause, delivered later with retries; automatic ones are unique per
-- case, kind and stage instance, so a restart or a second timer cannot send one twice.
ALTER TABLE cases ADD COLUMN next_reminder_at TIMESTAMPTZ;
UPDATE cases SET next_reminder_at = stage_yellow_at WHERE stage IS NOT NULL AND stage_deadline IS NOT NULL;
CREATE INDEX cases_next_reminder_idx ON cases (next_reminder_at) WHERE next_reminder_at IS NOT NULL;

CREATE TABLE notifications (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id          UUID NOT NULL REFERENCES cases (id),
    kind             TEXT NOT NULL CHECK (kind IN ('arrival', 'urge', 'overdue', 'manual_urge')),
    stage            TEXT,
    stage_started_at TIMESTAMPTZ,
    department_code  TEXT,
    message          TEXT NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    sent_at          TIMESTAMPTZ,
    last_error       TEXT
);
CREATE UNIQUE INDEX notifications_once ON notifications (case_id, kind, stage, stage_started_at)
    WHERE kind <> 'manual_urge';
CREATE INDEX notifications_due_idx ON notifications (next_attempt_at) WHERE sent_at IS NULL;
