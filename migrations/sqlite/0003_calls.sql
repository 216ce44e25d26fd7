-- Sub-processes, incidents, and task rows that say which `for_each` element they work on.

-- A sub-process names the call step (instance and token) that started it.
ALTER TABLE instances ADD COLUMN parent_id TEXT;
ALTER TABLE instances ADD COLUMN parent_token INTEGER;
CREATE INDEX instances_parent ON instances (parent_id);

-- The `for_each` element of a task (its position from 0, and the element as JSON), and the
-- id of the running SLA whose standing the task shows (sla_warn_at / sla_due_at are the
-- instants that clock turns warning / breached; NULL when it does not, e.g. while paused).
ALTER TABLE tasks ADD COLUMN item_index INTEGER;
ALTER TABLE tasks ADD COLUMN item TEXT;
ALTER TABLE tasks ADD COLUMN sla TEXT;

-- The instant a running SLA clock turns breached if nothing else happens (NULL when paused
-- short of its due instant, or stopped); warn_at is likewise the instant it turns warning.
ALTER TABLE slas ADD COLUMN breach_at INTEGER;

-- Call steps whose sub-process could not start (not deployed, input refused) or was
-- cancelled on its own: kept in line with the instance's state, like tasks and timers.
CREATE TABLE incidents (
    instance_id TEXT    NOT NULL REFERENCES instances (id),
    token       INTEGER NOT NULL,
    process     TEXT    NOT NULL,           -- the calling process
    step        TEXT    NOT NULL,
    called      TEXT    NOT NULL,           -- the process the step calls
    message     TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (instance_id, token)
);
CREATE INDEX incidents_called ON incidents (called);
