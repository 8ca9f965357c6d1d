ALTER TABLE cases DROP COLUMN component_department, DROP COLUMN component_id;
