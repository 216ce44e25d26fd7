-- Web sign-in sessions. The cookie holds a random token; only its SHA-256 is stored, with the
-- session's CSRF token. Times are UTC microseconds since the epoch.

CREATE TABLE web_sessions (
    id_hash    TEXT    PRIMARY KEY,
    user_name  TEXT    NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    csrf       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX web_sessions_expiry ON web_sessions (expires_at);

-- The dashboard reads alerts and tasks by time.
CREATE INDEX events_kind_at ON events (kind, at);
CREATE INDEX tasks_created ON tasks (created_at);
CREATE INDEX slas_started ON slas (started_at);
