DROP INDEX cases_category_compared;
DROP TABLE category_map;
ALTER TABLE cases DROP COLUMN category_compared;
ALTER TABLE cases DROP COLUMN category_edition;
