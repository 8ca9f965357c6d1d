ALTER TABLE media DROP COLUMN manifest_seq;
