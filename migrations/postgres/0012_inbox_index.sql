-- The inbox reads each way a task reaches a user in index order, soonest due first, and stops
-- at the page: a role's tasks (tasks_urgent), every open task (an administrator's inbox), and
-- a user's own tasks (this index replaces tasks_assignee, its prefix). tasks_inbox goes: read
-- for a deadline filter, it made the database sort every task of the role.
CREATE INDEX tasks_open_urgent ON tasks (status, urgent_at, id);
CREATE INDEX tasks_assignee_urgent ON tasks (assignee, status, urgent_at, id);
DROP INDEX tasks_assignee;
DROP INDEX tasks_inbox;
