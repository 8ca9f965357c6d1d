-- Refuses to go down while the warehouse holds records of the v1.3 actions (on purpose).
ALTER TABLE records DROP CONSTRAINT records_action_known;
ALTER TABLE records ADD CONSTRAINT records_action_known CHECK (action IN ('report', 'request_verification', 'verify', 'file', 'reject', 'dispatch', 'return', 'handle', 'check_pass', 'rework', 'callback', 'close', 'cancel', 'request_extension', 'approve_extension', 'reject_extension', 'request_suspension', 'approve_suspension', 'reject_suspension', 'resume', 'supervise', 'acknowledge_supervision', 'urge'));
