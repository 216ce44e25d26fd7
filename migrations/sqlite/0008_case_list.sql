-- The case list over a million cases (the design is in api/src/store/repo/cases.rs).

-- How the case's SLA clocks stand, kept on its row by every transition from the clocks it
-- writes to `slas` (same statement, same transaction): one still running, one stopped in
-- time, one stopped after its due instant. A filter by SLA walks only the cases holding such
-- a clock, newest first, through its partial index.
ALTER TABLE instances ADD COLUMN sla_running BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE instances ADD COLUMN sla_met BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE instances ADD COLUMN sla_late BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE instances SET
    sla_running = EXISTS (SELECT 1 FROM slas s WHERE s.instance_id = instances.id AND s.stopped_at IS NULL),
    sla_met = EXISTS (SELECT 1 FROM slas s WHERE s.instance_id = instances.id AND s.stopped_at < s.due_at),
    sla_late = EXISTS (SELECT 1 FROM slas s WHERE s.instance_id = instances.id AND s.stopped_at >= s.due_at)
WHERE id IN (SELECT instance_id FROM slas);
CREATE INDEX instances_sla_running ON instances (started_at, id) WHERE sla_running;
CREATE INDEX instances_sla_met ON instances (started_at, id) WHERE sla_met;
CREATE INDEX instances_sla_late ON instances (started_at, id) WHERE sla_late;

-- Who may read a case, in the search index beside its words: a second column, `tags`, holds
-- `p` and the hex of its process, and `u` and the hex of who started it. A reader's search
-- asks for their words and any of their tags, so that the index itself skips the cases they
-- may not read (and those of other processes or starters when the list is filtered so).
-- Users' words are matched in `body` only.
DROP TRIGGER instance_search_insert;
DROP TRIGGER instance_search_update;
DROP TRIGGER instance_search_delete;
DROP TABLE instance_search;
CREATE VIRTUAL TABLE instance_search USING fts5 (body, tags, tokenize = 'unicode61 remove_diacritics 2');
INSERT INTO instance_search (rowid, body, tags)
    SELECT n.num, coalesce(i.search_text, ''), 'p' || hex(i.process) || coalesce(' u' || hex(i.started_by), '')
    FROM instance_nums n JOIN instances i ON i.id = n.id;
CREATE TRIGGER instance_search_insert AFTER INSERT ON instances BEGIN
    INSERT INTO instance_nums (id) VALUES (new.id);
    INSERT INTO instance_search (rowid, body, tags)
        SELECT num, coalesce(new.search_text, ''), 'p' || hex(new.process) || coalesce(' u' || hex(new.started_by), '')
        FROM instance_nums WHERE id = new.id;
END;
CREATE TRIGGER instance_search_update AFTER UPDATE OF search_text ON instances
    WHEN old.search_text IS NOT new.search_text BEGIN
    DELETE FROM instance_search WHERE rowid = (SELECT num FROM instance_nums WHERE id = new.id);
    INSERT INTO instance_search (rowid, body, tags)
        SELECT num, coalesce(new.search_text, ''), 'p' || hex(new.process) || coalesce(' u' || hex(new.started_by), '')
        FROM instance_nums WHERE id = new.id;
END;
CREATE TRIGGER instance_search_delete AFTER DELETE ON instances BEGIN
    DELETE FROM instance_search WHERE rowid = (SELECT num FROM instance_nums WHERE id = old.id);
    DELETE FROM instance_nums WHERE id = old.id;
END;
