-- Back to v1.5's words. Records of the new actions cannot be expressed in them: the
-- migration refuses to go down while any exist (the CHECK fails), on purpose.
UPDATE cases SET pending_request = NULL WHERE pending_request = 'referral';
ALTER TABLE cases DROP CONSTRAINT cases_pending_request_known;
ALTER TABLE cases ADD CONSTRAINT cases_pending_request_known CHECK (pending_request IN ('extension', 'suspension', 'cancellation'));
ALTER TABLE case_records DROP CONSTRAINT case_records_action_known;
ALTER TABLE case_records ADD CONSTRAINT case_records_action_known CHECK (action IN ('report', 'request_verification', 'verify', 'file', 'reject', 'dispatch', 'return', 'handle', 'check_pass', 'rework', 'callback', 'close', 'cancel', 'request_extension', 'approve_extension', 'reject_extension', 'request_suspension', 'approve_suspension', 'reject_suspension', 'resume', 'supervise', 'acknowledge_supervision', 'urge', 'request_cancellation', 'reject_cancellation', 'rehandle'));
