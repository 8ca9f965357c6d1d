ALTER TABLE media DROP COLUMN given_up_at;
ALTER TABLE media DROP COLUMN requests;
