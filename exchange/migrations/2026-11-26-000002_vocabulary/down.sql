ALTER TABLE city_users DROP CONSTRAINT city_users_roles_known;
ALTER TABLE stream DROP CONSTRAINT stream_kind_known;
ALTER TABLE records DROP CONSTRAINT records_action_known;
ALTER TABLE cases DROP CONSTRAINT cases_category_kind_known;
ALTER TABLE cases DROP CONSTRAINT cases_urgency_known;
ALTER TABLE cases DROP CONSTRAINT cases_source_known;
ALTER TABLE cases DROP CONSTRAINT cases_state_known;
