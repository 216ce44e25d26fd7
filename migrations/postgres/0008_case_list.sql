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
