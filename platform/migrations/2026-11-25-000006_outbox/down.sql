DROP TABLE exchange_rejections;
ALTER TABLE media DROP COLUMN announced_seq;
DROP TABLE outbox;
DROP TABLE outbox_counter;
