-- Catalogue editions (interchange v1.1): a case's category is of an edition (GB/T 30428.2 or
-- GB/T 47678.5), and the city compares districts in one edition through the catalogues'
-- mapping. category_map is reference data rewritten from the city file at every start.
ALTER TABLE cases ADD COLUMN category_edition TEXT
    CONSTRAINT cases_category_edition_known
    CHECK (category_edition IN ('GB/T 30428.2-2013', 'GB/T 47678.5-2026'));
ALTER TABLE cases ADD COLUMN category_compared TEXT;
UPDATE cases
   SET category_edition = COALESCE(snapshot->'category'->>'edition', 'GB/T 30428.2-2013')
 WHERE category_kind IS NOT NULL;

CREATE TABLE category_map (
    edition TEXT NOT NULL CHECK (edition IN ('GB/T 30428.2-2013', 'GB/T 47678.5-2026')),
    kind TEXT NOT NULL CHECK (kind IN ('component', 'event')),
    -- major + minor: 4 digits in GB/T 30428.2, 5 in GB/T 47678.5
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    -- `kind:code` in the city's compare edition; null when the category has no counterpart
    compared TEXT,
    PRIMARY KEY (edition, kind, code)
);
CREATE INDEX cases_category_compared ON cases (category_compared);
