-- Trámite storage, SQLite. Times are UTC microseconds since the epoch; JSON is TEXT.

CREATE TABLE definitions (
    process     TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    hash        TEXT    NOT NULL,
    bundle      TEXT    NOT NULL,           -- JSON: the process file and the forms it names
    file        TEXT    NOT NULL,
    deployed_at INTEGER NOT NULL,
    PRIMARY KEY (process, version)
);

CREATE TABLE instances (
    id              TEXT    PRIMARY KEY,
    process         TEXT    NOT NULL,
    version         INTEGER NOT NULL,
    status          TEXT    NOT NULL,       -- running | ended | cancelled
    outcome         TEXT,
    folio           TEXT,
    state           TEXT    NOT NULL,       -- JSON of the engine's Instance
    seq             INTEGER NOT NULL,       -- events applied; optimistic concurrency
    started_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    ended_at        INTEGER,
    started_by      TEXT,
    idempotency_key TEXT    UNIQUE
);
CREATE INDEX instances_process ON instances (process, started_at);

CREATE TABLE events (
    instance_id TEXT    NOT NULL REFERENCES instances (id),
    seq         INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    actor       TEXT,
    kind        TEXT    NOT NULL,
    body        TEXT    NOT NULL,           -- JSON of the engine's Record
    PRIMARY KEY (instance_id, seq)
);

CREATE TABLE tasks (
    id          TEXT    PRIMARY KEY,        -- <instance>.<token>
    instance_id TEXT    NOT NULL REFERENCES instances (id),
    token       INTEGER NOT NULL,
    process     TEXT    NOT NULL,
    step        TEXT    NOT NULL,
    title       TEXT    NOT NULL,
    role        TEXT    NOT NULL,
    kind        TEXT    NOT NULL,           -- task | approval
    folio       TEXT,
    status      TEXT    NOT NULL,           -- open | done
    due_at      INTEGER,
    claimed_by  TEXT,
    sla_warn_at INTEGER,                     -- the instance's most urgent running SLA
    sla_due_at  INTEGER,
    created_at  INTEGER NOT NULL,
    closed_at   INTEGER,
    closed_by   TEXT
);
CREATE INDEX tasks_inbox ON tasks (status, role, due_at);
CREATE INDEX tasks_instance ON tasks (instance_id);

CREATE TABLE timers (
    instance_id TEXT    NOT NULL REFERENCES instances (id),
    timer       TEXT    NOT NULL,           -- JSON of the engine's TimerKey
    due_at      INTEGER NOT NULL,
    PRIMARY KEY (instance_id, timer)
);
CREATE INDEX timers_due ON timers (due_at);

-- One row per SLA clock of an instance, kept in line with the state on every transition.
CREATE TABLE slas (
    instance_id TEXT    NOT NULL REFERENCES instances (id),
    sla         TEXT    NOT NULL,
    process     TEXT    NOT NULL,
    title       TEXT    NOT NULL,
    folio       TEXT,
    started_at  INTEGER NOT NULL,
    warn_at     INTEGER,
    due_at      INTEGER NOT NULL,
    stopped_at  INTEGER,
    PRIMARY KEY (instance_id, sla)
);
CREATE INDEX slas_due ON slas (stopped_at, due_at);

CREATE TABLE schedules (
    process     TEXT    NOT NULL,
    schedule    TEXT    NOT NULL,
    next_run_at INTEGER NOT NULL,
    PRIMARY KEY (process, schedule)
);

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id     TEXT,
    kind            TEXT    NOT NULL,
    recipient       TEXT    NOT NULL,
    subject         TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    sent_at         INTEGER,
    last_error      TEXT
);
CREATE INDEX outbox_pending ON outbox (sent_at, next_attempt_at);

CREATE TABLE users (
    name          TEXT PRIMARY KEY,
    email         TEXT,
    roles         TEXT    NOT NULL,         -- JSON array
    admin         BOOLEAN NOT NULL DEFAULT FALSE,
    token_hash    TEXT    UNIQUE,
    password_hash TEXT,
    created_at    INTEGER NOT NULL
);
