-- Sessions of the city API (docs/CITY-API.md): every city user's token version, which each
-- access token carries as `ver` and every request is held to (a bump revokes them all),
-- and the refresh tokens of each session, kept only as SHA-256 digests. The same
-- refresh_tokens table as the districts' (the kit's `session::schema`).
ALTER TABLE city_users ADD COLUMN token_version INTEGER NOT NULL DEFAULT 1;

CREATE TABLE refresh_tokens (
    id            UUID PRIMARY KEY,
    user_id       UUID NOT NULL REFERENCES city_users (id) ON DELETE CASCADE,
    -- The session: every token rotated from one sign-in.
    family        UUID NOT NULL,
    token_hash    TEXT NOT NULL UNIQUE CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    token_version INTEGER NOT NULL,
    issued_at     TIMESTAMPTZ NOT NULL,
    -- The session's end, the same for the whole family.
    expires_at    TIMESTAMPTZ NOT NULL,
    -- Rotated: presenting it again revokes the family.
    used_at       TIMESTAMPTZ,
    revoked_at    TIMESTAMPTZ
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family);
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id, expires_at);
