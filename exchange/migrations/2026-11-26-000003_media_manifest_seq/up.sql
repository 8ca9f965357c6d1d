-- The stream position of the manifest that announced a photo (the first district's), so a
-- refusal of the photo names the message it refuses: its message id and seq.
ALTER TABLE media ADD COLUMN manifest_seq BIGINT;
