-- How often the city has asked a district for a photo's bytes again (the wait doubles with
-- each request), and when it gave up after `[intake] media_requests` requests: a photo
-- given up and still unverified is shown as unrepaired (city status, /metrics).
ALTER TABLE media ADD COLUMN requests INTEGER NOT NULL DEFAULT 0;
ALTER TABLE media ADD COLUMN given_up_at TIMESTAMPTZ;
