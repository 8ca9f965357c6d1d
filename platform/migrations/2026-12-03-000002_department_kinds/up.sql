-- Department kinds for the owner units a district dispatches to besides its own 城管
-- centres (platform/src/vocab.rs, DepartmentKind): utility (公用事业企业), public_safety
-- (公安、交警、消防救援), bureau (政府职能部门).
ALTER TABLE departments DROP CONSTRAINT departments_kind_known;
ALTER TABLE departments ADD CONSTRAINT departments_kind_known CHECK (kind IN ('municipal', 'landscaping', 'sanitation', 'enforcement', 'street_office', 'utility', 'public_safety', 'bureau', 'other'));
