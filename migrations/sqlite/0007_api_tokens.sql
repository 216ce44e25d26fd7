-- API tokens of their own: several per user, each expiring (90 days unless told otherwise),
-- revocable, with the time it was last used (written at most hourly). Only the SHA-256 of a
-- token is stored. Times are UTC microseconds since the epoch.
CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_name    TEXT    NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    token_hash   TEXT    NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER
);
CREATE INDEX api_tokens_user ON api_tokens (user_name);

-- Each user's token so far moves here and expires 90 days after this migration. SQLite cannot
-- drop the UNIQUE column `users.token_hash`; it stays, always NULL.
INSERT INTO api_tokens (user_name, token_hash, created_at, expires_at)
SELECT name, token_hash, created_at, (CAST(strftime('%s', 'now') AS INTEGER) + 90 * 86400) * 1000000
FROM users WHERE token_hash IS NOT NULL;
UPDATE users SET token_hash = NULL;

-- A disabled user cannot sign in, and their sessions and tokens do not work.
ALTER TABLE users ADD COLUMN disabled BOOLEAN NOT NULL DEFAULT FALSE;
