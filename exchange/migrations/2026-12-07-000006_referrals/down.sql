ALTER TABLE city_problems DROP CONSTRAINT city_problems_referred_both;
ALTER TABLE city_problems DROP COLUMN referred_case;
ALTER TABLE city_problems DROP COLUMN referred_district;
DROP TABLE referrals;
ALTER TABLE records DROP CONSTRAINT records_action_known;
ALTER TABLE records ADD CONSTRAINT records_action_known CHECK (action IN ('report', 'request_verification', 'verify', 'file', 'reject', 'dispatch', 'return', 'handle', 'check_pass', 'rework', 'callback', 'close', 'cancel', 'request_extension', 'approve_extension', 'reject_extension', 'request_suspension', 'approve_suspension', 'reject_suspension', 'resume', 'supervise', 'acknowledge_supervision', 'urge', 'request_cancellation', 'reject_cancellation', 'rehandle'));
