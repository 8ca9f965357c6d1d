-- Whether the refused delivery itself went to the dead-letter queue (a bad message inside
-- an accepted sync batch, or a photo whose bytes do not match, did not).
ALTER TABLE rejections ADD COLUMN dead_lettered BOOLEAN NOT NULL DEFAULT TRUE;
