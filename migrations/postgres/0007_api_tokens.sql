-- API tokens of their own: several per user, each expiring (90 days unless told otherwise),
-- revocable, with the time it was last used (written at most hourly). Only the SHA-256 of a
-- token is stored. Times are UTC microseconds since the epoch.
CREATE TABLE api_tokens (
    id           BIGSERIAL PRIMARY KEY,
    user_name    TEXT    NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    token_hash   TEXT    NOT NULL UNIQUE,
    created_at   BIGINT  NOT NULL,
    expires_at   BIGINT  NOT NULL,
    last_used_at BIGINT,
    revoked_at   BIGINT
);
CREATE INDEX api_tokens_user ON api_tokens (user_name);

-- Each user's token so far moves here and expires 90 days after this migration.
INSERT INTO api_tokens (user_name, token_hash, created_at, expires_at)
SELECT name, token_hash, created_at, (EXTRACT(EPOCH FROM now())::BIGINT + 90 * 86400) * 1000000
FROM users WHERE token_hash IS NOT NULL;
ALTER TABLE users DROP COLUMN token_hash;

-- A disabled user cannot sign in, and their sessions and tokens do not work.
ALTER TABLE users ADD COLUMN disabled BOOLEAN NOT NULL DEFAULT FALSE;
