DROP TABLE case_assignments;
DROP INDEX cases_task_assignee;
ALTER TABLE cases DROP COLUMN task_assignee;
