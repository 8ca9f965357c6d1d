-- Photos whose bytes did not follow their manifest are asked for again.
ALTER TABLE media ADD COLUMN announced_at TIMESTAMPTZ NOT NULL DEFAULT now();
ALTER TABLE media ADD COLUMN requested_at TIMESTAMPTZ;
CREATE INDEX media_unverified_idx ON media (announced_at) WHERE verified_at IS NULL;
