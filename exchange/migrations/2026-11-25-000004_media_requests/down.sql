DROP INDEX media_unverified_idx;
ALTER TABLE media DROP COLUMN requested_at;
ALTER TABLE media DROP COLUMN announced_at;
