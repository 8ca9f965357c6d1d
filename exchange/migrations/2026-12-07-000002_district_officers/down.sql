-- Refuses to go down while a district officer exists (on purpose).
ALTER TABLE city_users DROP CONSTRAINT city_users_district_officer;
ALTER TABLE city_users DROP CONSTRAINT city_users_roles_known;
ALTER TABLE city_users ADD CONSTRAINT city_users_roles_known
    CHECK (roles <@ ARRAY['city_supervisor', 'city_leader']);
ALTER TABLE city_users DROP COLUMN district;
