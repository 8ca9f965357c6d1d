ALTER TABLE cases DROP COLUMN cell_code, DROP COLUMN community_code;
