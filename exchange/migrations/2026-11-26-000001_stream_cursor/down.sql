ALTER TABLE stream ADD COLUMN applied BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE stream s SET applied = TRUE FROM districts d WHERE d.code = s.district AND s.seq <= d.cursor;
CREATE INDEX stream_waiting_idx ON stream (district, seq) WHERE NOT applied;
