ALTER TABLE cases DROP COLUMN supervision_pending, DROP COLUMN supervision_level;
DROP TABLE supervision_orders;
