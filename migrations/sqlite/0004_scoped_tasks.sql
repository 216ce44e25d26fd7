-- Tasks for a role within a scope of the organisation (an area, a faculty), or for one person.
ALTER TABLE tasks ADD COLUMN role_scope TEXT;
ALTER TABLE tasks ADD COLUMN assignee TEXT;
CREATE INDEX tasks_assignee ON tasks (assignee, status);
