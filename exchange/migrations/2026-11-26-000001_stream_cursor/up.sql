-- A stream message is applied exactly when its seq is at or below its district's cursor:
-- the cursor only moves over contiguous applied messages, and a replay below it is applied
-- as it arrives. The flag said the same thing twice and cost every message a second write
-- (and a partial-index entry); messages waiting behind a gap are now those above the
-- cursor, found through the primary key.
DROP INDEX stream_waiting_idx;
ALTER TABLE stream DROP COLUMN applied;
