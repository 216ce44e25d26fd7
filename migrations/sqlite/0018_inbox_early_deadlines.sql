-- The inbox filtered to the SLA standings `ok` and `warning` reads a role's tasks due after now
-- (their `urgent_at`, in tasks_urgent) and, from this index, the open tasks whose deadline
-- comes before their SLA's breach (or that have a deadline and no SLA): the only ones that can
-- be due by now and still not breached. Only such tasks are in it, so it costs the tasks
-- without a deadline nothing.
CREATE INDEX tasks_open_early_deadline ON tasks (due_at, id)
    WHERE status = 'open' AND due_at IS NOT NULL AND (sla_due_at IS NULL OR due_at < sla_due_at);
