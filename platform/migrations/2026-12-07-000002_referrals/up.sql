-- Interchange v1.6: the shift leader refers a case up to the city (上报市级), which sends it
-- back (return_referral) or reassigns it to another district (the case is cancelled here).
ALTER TABLE cases DROP CONSTRAINT cases_pending_request_known;
ALTER TABLE cases ADD CONSTRAINT cases_pending_request_known CHECK (pending_request IN ('extension', 'suspension', 'cancellation', 'referral'));
ALTER TABLE case_records DROP CONSTRAINT case_records_action_known;
ALTER TABLE case_records ADD CONSTRAINT case_records_action_known CHECK (action IN ('report', 'request_verification', 'verify', 'file', 'reject', 'dispatch', 'return', 'handle', 'check_pass', 'rework', 'callback', 'close', 'cancel', 'request_extension', 'approve_extension', 'reject_extension', 'request_suspension', 'approve_suspension', 'reject_suspension', 'resume', 'supervise', 'acknowledge_supervision', 'urge', 'request_cancellation', 'reject_cancellation', 'rehandle', 'refer', 'return_referral'));
