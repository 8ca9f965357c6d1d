DROP TABLE refresh_tokens;
ALTER TABLE city_users DROP COLUMN token_version;
