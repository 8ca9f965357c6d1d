DROP TABLE city_photos;
DROP TABLE city_problems;
ALTER TABLE cases DROP CONSTRAINT cases_source_known;
ALTER TABLE cases ADD CONSTRAINT cases_source_known CHECK (source IN ('supervisor', 'public', 'hotline'));
