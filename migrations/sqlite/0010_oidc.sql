-- Users who sign in through the institution's OpenID provider (`serve --oidc`): the provider's
-- issuer and its subject identifier for the user. Such a user has no password here; their
-- roles are replaced from the provider's groups at each sign-in. One user per provider account.
ALTER TABLE users ADD COLUMN oidc_issuer TEXT;
ALTER TABLE users ADD COLUMN oidc_subject TEXT;
CREATE UNIQUE INDEX users_oidc ON users (oidc_issuer, oidc_subject);

-- Sign-ins under way at the provider, by the SHA-256 of their `state`: the nonce the ID token
-- must carry, the PKCE verifier, and where to go afterwards. Each is taken once, within ten
-- minutes. Times are UTC microseconds since the epoch.
CREATE TABLE oidc_logins (
    state_hash    TEXT    PRIMARY KEY,
    nonce         TEXT    NOT NULL,
    pkce_verifier TEXT    NOT NULL,
    next          TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL
);
CREATE INDEX oidc_logins_expiry ON oidc_logins (expires_at);
