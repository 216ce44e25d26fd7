-- Fewer B-trees written per transition (docs/scaling.md, "What saturates first"):
-- * events and measures are keyed tables (WITHOUT ROWID): the primary key is the table, so an
--   event or an indicator value is one B-tree insert instead of two (the table and its key);
-- * the dashboard's index of alerts holds the alerts alone (two events in thirteen of a C.4.5
--   case), not every event by kind.
CREATE TABLE events_keyed (
    instance_id TEXT    NOT NULL REFERENCES instances (id),
    seq         INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    actor       TEXT,
    kind        TEXT    NOT NULL,
    body        TEXT    NOT NULL,           -- JSON of the engine's Record
    PRIMARY KEY (instance_id, seq)
) WITHOUT ROWID;
INSERT INTO events_keyed (instance_id, seq, at, actor, kind, body)
    SELECT instance_id, seq, at, actor, kind, body FROM events;
DROP TABLE events;
ALTER TABLE events_keyed RENAME TO events;
CREATE INDEX events_alerts ON events (at) WHERE kind = 'alerted';

CREATE TABLE measures_keyed (
    indicator   TEXT    NOT NULL,
    instance_id TEXT    NOT NULL,
    item        BIGINT  NOT NULL,
    period      TEXT    NOT NULL,
    grp         TEXT    NOT NULL,
    value       REAL,
    PRIMARY KEY (indicator, instance_id, item)
) WITHOUT ROWID;
INSERT INTO measures_keyed SELECT indicator, instance_id, item, period, grp, value FROM measures;
DROP TABLE measures;
ALTER TABLE measures_keyed RENAME TO measures;
CREATE INDEX measures_values ON measures (indicator, period, grp, value);
