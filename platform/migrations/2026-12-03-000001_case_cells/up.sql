-- The unit grid cell (and its community) a case lies in, found from its point when it is
-- reported (crate::grid). Null when the district has no grid or the point is in a gap.
ALTER TABLE cases ADD COLUMN cell_code text, ADD COLUMN community_code text;
CREATE INDEX cases_cell_idx ON cases (cell_code);
