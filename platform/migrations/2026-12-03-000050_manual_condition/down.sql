ALTER TABLE cases DROP COLUMN manual_condition;
