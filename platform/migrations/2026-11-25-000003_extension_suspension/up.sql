-- Extensions (延期) and suspensions (挂账/缓办): a department's request waits on the case
-- until the dispatcher decides; a suspended case keeps the time it had left.
ALTER TABLE cases
    ADD COLUMN pending_request TEXT,
    ADD COLUMN pending_minutes INTEGER,
    ADD COLUMN suspended_remaining_minutes INTEGER,
    ADD COLUMN extension_minutes INTEGER NOT NULL DEFAULT 0;
