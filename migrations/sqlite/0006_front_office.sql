-- The front office: case numbers, the case list and its search, and the inbox in pages.

-- Folios (`start.folio`): the last number each process gave within a scope (its pattern with
-- the date placeholders filled in, e.g. `COR-2026-{seq}`).
CREATE TABLE folio_counters (
    process TEXT    NOT NULL,
    scope   TEXT    NOT NULL,
    last    INTEGER NOT NULL,
    PRIMARY KEY (process, scope)
);

-- The case list: newest first, by process, status or who started it, one page after another
-- (keyset on started_at, id).
DROP INDEX instances_process;
CREATE INDEX instances_started ON instances (started_at, id);
CREATE INDEX instances_process_started ON instances (process, started_at, id);
CREATE INDEX instances_status_started ON instances (status, started_at, id);
CREATE INDEX instances_starter ON instances (started_by, started_at, id);
CREATE INDEX instances_folio ON instances (folio);

-- Search by folio or any text of the case: the words of its folio and text fields, folded to
-- lower case without accents (written by the server with every transition that changes them),
-- indexed with FTS5. The index is keyed by a stable integer per instance (`instance_nums`;
-- the implicit rowid of `instances` may change on VACUUM), kept by triggers.
ALTER TABLE instances ADD COLUMN search_text TEXT;
UPDATE instances SET search_text = lower(coalesce(folio, '') || ' ' || id);
CREATE TABLE instance_nums (
    num INTEGER PRIMARY KEY,
    id  TEXT    NOT NULL UNIQUE
);
CREATE VIRTUAL TABLE instance_search USING fts5 (body, tokenize = 'unicode61 remove_diacritics 2');
INSERT INTO instance_nums (id) SELECT id FROM instances ORDER BY started_at, id;
INSERT INTO instance_search (rowid, body)
    SELECT n.num, coalesce(i.search_text, '') FROM instance_nums n JOIN instances i ON i.id = n.id;
CREATE TRIGGER instance_search_insert AFTER INSERT ON instances BEGIN
    INSERT INTO instance_nums (id) VALUES (new.id);
    INSERT INTO instance_search (rowid, body)
        SELECT num, coalesce(new.search_text, '') FROM instance_nums WHERE id = new.id;
END;
CREATE TRIGGER instance_search_update AFTER UPDATE OF search_text ON instances
    WHEN old.search_text IS NOT new.search_text BEGIN
    DELETE FROM instance_search WHERE rowid = (SELECT num FROM instance_nums WHERE id = new.id);
    INSERT INTO instance_search (rowid, body)
        SELECT num, coalesce(new.search_text, '') FROM instance_nums WHERE id = new.id;
END;
CREATE TRIGGER instance_search_delete AFTER DELETE ON instances BEGIN
    DELETE FROM instance_search WHERE rowid = (SELECT num FROM instance_nums WHERE id = old.id);
    DELETE FROM instance_nums WHERE id = old.id;
END;

-- The inbox in pages, soonest first: the earlier of a task's own deadline and its SLA's
-- breach (the largest integer when it has neither, so that such tasks come last).
ALTER TABLE tasks ADD COLUMN urgent_at INTEGER NOT NULL DEFAULT 9223372036854775807;
UPDATE tasks SET urgent_at = CASE
    WHEN due_at IS NULL AND sla_due_at IS NULL THEN 9223372036854775807
    WHEN due_at IS NULL THEN sla_due_at
    WHEN sla_due_at IS NULL THEN due_at
    ELSE min(due_at, sla_due_at) END;
CREATE INDEX tasks_urgent ON tasks (status, role, urgent_at, id);
