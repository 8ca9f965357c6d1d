ALTER TABLE cases DROP COLUMN community_code, DROP COLUMN cell_code;
