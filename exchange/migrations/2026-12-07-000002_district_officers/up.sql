-- A district's own people at the city (区级联络员): they read their district's ledger
-- statement and nothing else of the city's (docs/CITY-API.md, "Roles").
ALTER TABLE city_users ADD COLUMN district TEXT REFERENCES districts(code);
ALTER TABLE city_users DROP CONSTRAINT city_users_roles_known;
ALTER TABLE city_users ADD CONSTRAINT city_users_roles_known
    CHECK (roles <@ ARRAY['city_supervisor', 'city_leader', 'district_officer']);
ALTER TABLE city_users ADD CONSTRAINT city_users_district_officer
    CHECK ((district IS NOT NULL) = (roles = ARRAY['district_officer']));
