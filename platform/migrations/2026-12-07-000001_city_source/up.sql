-- Interchange v1.5: problems the city found (上级发现) open cases of source `city`.
ALTER TABLE cases DROP CONSTRAINT cases_source_known;
ALTER TABLE cases ADD CONSTRAINT cases_source_known CHECK (source IN ('supervisor', 'public', 'hotline', 'city'));
