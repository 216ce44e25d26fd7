-- The front office: case numbers, the case list and its search, and the inbox in pages.

-- Folios (`start.folio`): the last number each process gave within a scope (its pattern with
-- the date placeholders filled in, e.g. `COR-2026-{seq}`). Starts lock the row, so numbers
-- stay unique with several nodes.
CREATE TABLE folio_counters (
    process TEXT   NOT NULL,
    scope   TEXT   NOT NULL,
    last    BIGINT NOT NULL,
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
-- lower case without accents (written by the server with every transition that changes them).
ALTER TABLE instances ADD COLUMN search_text TEXT;
UPDATE instances SET search_text = lower(coalesce(folio, '') || ' ' || id);
CREATE INDEX instances_search ON instances USING GIN (to_tsvector('simple', coalesce(search_text, '')));

-- The inbox in pages, soonest first: the earlier of a task's own deadline and its SLA's
-- breach (the largest integer when it has neither, so that such tasks come last).
ALTER TABLE tasks ADD COLUMN urgent_at BIGINT NOT NULL DEFAULT 9223372036854775807;
UPDATE tasks SET urgent_at = coalesce(least(due_at, sla_due_at), 9223372036854775807);
CREATE INDEX tasks_urgent ON tasks (status, role, urgent_at, id);
