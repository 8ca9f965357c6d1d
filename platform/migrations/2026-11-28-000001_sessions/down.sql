DROP TABLE refresh_tokens;
ALTER TABLE users DROP COLUMN token_version;
