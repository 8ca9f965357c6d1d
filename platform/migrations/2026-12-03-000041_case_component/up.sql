-- A component case names its component (crate::component): `component_id` from the
-- inventory, and `component_department`, the department the component's maintainer or
-- competent department resolves to, which the dispatch suggestion prefers to the manual's
-- (kept up when the component's departments change while the case is open).
ALTER TABLE cases ADD COLUMN component_id TEXT REFERENCES components (id),
    ADD COLUMN component_department TEXT;
CREATE INDEX cases_component ON cases (component_id) WHERE component_id IS NOT NULL;
