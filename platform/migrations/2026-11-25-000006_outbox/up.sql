-- The interchange outbox (schemas/AMQP.md): every case change writes its messages here in
-- the same transaction, numbered by a gap-free per-district seq. A plain sequence would
-- leave gaps on rollback and could hand out numbers in a different order than commits;
-- the single counter row below is updated last in each writing transaction, so its row
-- lock orders commits and a rollback returns the numbers.
CREATE TABLE outbox_counter (
    id BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (id),
    last_seq BIGINT NOT NULL CHECK (last_seq >= 0)
);
INSERT INTO outbox_counter (id, last_seq) VALUES (TRUE, 0);

CREATE TABLE outbox (
    seq BIGINT PRIMARY KEY CHECK (seq > 0),
    kind TEXT NOT NULL,
    -- The whole envelope as published (JSON text, so a replay sends the same bytes).
    message TEXT NOT NULL,
    -- For media manifests: the photo whose chunks go out before it.
    media_sha256 TEXT REFERENCES media (sha256),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- Set when the broker confirmed the publish.
    sent_at TIMESTAMPTZ
);
-- The relay reads what is unsent, in order.
CREATE INDEX outbox_unsent_idx ON outbox (seq) WHERE sent_at IS NULL;

-- A photo's manifest goes out once, with the first record that references it.
ALTER TABLE media ADD COLUMN announced_seq BIGINT;

-- What the city refused (拒收通知), for people to see and fix.
CREATE TABLE exchange_rejections (
    id BIGSERIAL PRIMARY KEY,
    received_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    message_id TEXT,
    kind TEXT,
    seq BIGINT,
    code TEXT NOT NULL,
    message TEXT NOT NULL,
    field TEXT,
    -- The rejection's own message id, so a redelivered rejection is stored once.
    rejection_id TEXT NOT NULL UNIQUE
);
