DROP TABLE notifications;
DROP INDEX cases_next_reminder_idx;
ALTER TABLE cases DROP COLUMN next_reminder_at;
