-- Interchange v1.2: a case snapshot may carry its unit grid cell and community, so the city
-- can rank and escalate below the district. Earlier rows are filled from their snapshots.
ALTER TABLE cases ADD COLUMN community_code text, ADD COLUMN cell_code text;
UPDATE cases SET community_code = snapshot->>'community_code', cell_code = snapshot->>'cell_code'
    WHERE snapshot ? 'cell_code' OR snapshot ? 'community_code';
CREATE INDEX cases_cell_idx ON cases (district, cell_code);
