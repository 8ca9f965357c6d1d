-- Uploaded photos that no record references expire ([limits] orphan_media_hours; the
-- district's expiry task, media::expire_orphans): it looks for the oldest photos not yet
-- announced, and checks that no business record names them.
CREATE INDEX media_unannounced_idx ON media (created_at) WHERE announced_seq IS NULL;
CREATE INDEX case_records_media_idx ON case_records USING gin (media);
