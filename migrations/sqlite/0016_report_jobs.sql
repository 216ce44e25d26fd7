-- Reports to attach to report tasks (`report:` on a task step): a row is written with the task,
-- in the transaction that opens it, and goes in the transaction that attaches the report (or
-- when the task closed first). A node leases a row while it computes the report (`next_at` is
-- the lease's end, or the next try after a failure), so one node makes each report and a node
-- that dies mid-way leaves it to another once the lease ends.
CREATE TABLE report_jobs (
    task_id     TEXT   PRIMARY KEY,
    instance_id TEXT   NOT NULL,
    token       BIGINT NOT NULL,
    process     TEXT   NOT NULL,   -- the process whose indicators the report shows
    opened_at   BIGINT NOT NULL,   -- when the task opened: the report covers the period before
    attempts    BIGINT NOT NULL DEFAULT 0,
    next_at     BIGINT NOT NULL,
    last_error  TEXT
);
CREATE INDEX report_jobs_next ON report_jobs (next_at);
