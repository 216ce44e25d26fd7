-- Indicators: what each case (item 0) or completed task (its token) contributes to an
-- indicator of its process ("<process>/<indicator>"), in a period and a group, as the engine
-- works it out when the case changes. NULL value: it does not count (its condition does not
-- hold, its SLA still runs). Aggregated in SQL through the covering index.
CREATE TABLE measures (
    indicator   TEXT    NOT NULL,
    instance_id TEXT    NOT NULL,
    item        BIGINT  NOT NULL,
    period      TEXT    NOT NULL,
    grp         TEXT    NOT NULL,
    value       REAL,
    PRIMARY KEY (indicator, instance_id, item)
);
CREATE INDEX measures_values ON measures (indicator, period, grp, value);
