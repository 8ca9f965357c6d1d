-- Interchange v1.3: the shift leader (值班长) decides an operator's cancellation request,
-- and an unsatisfied call-back sends the case back for re-handling (重办).
ALTER TABLE users DROP CONSTRAINT users_roles_known;
ALTER TABLE users ADD CONSTRAINT users_roles_known CHECK (roles <@ ARRAY['supervisor', 'operator', 'dispatcher', 'handler', 'shift_leader', 'leader', 'admin']);
ALTER TABLE cases DROP CONSTRAINT cases_pending_request_known;
ALTER TABLE cases ADD CONSTRAINT cases_pending_request_known CHECK (pending_request IN ('extension', 'suspension', 'cancellation'));
ALTER TABLE case_records DROP CONSTRAINT case_records_action_known;
ALTER TABLE case_records ADD CONSTRAINT case_records_action_known CHECK (action IN ('report', 'request_verification', 'verify', 'file', 'reject', 'dispatch', 'return', 'handle', 'check_pass', 'rework', 'callback', 'close', 'cancel', 'request_extension', 'approve_extension', 'reject_extension', 'request_suspension', 'approve_suspension', 'reject_suspension', 'resume', 'supervise', 'acknowledge_supervision', 'urge', 'request_cancellation', 'reject_cancellation', 'rehandle'));
ALTER TABLE case_records DROP CONSTRAINT case_records_actor_role_known;
ALTER TABLE case_records ADD CONSTRAINT case_records_actor_role_known CHECK (actor_role IN ('supervisor', 'operator', 'dispatcher', 'handler', 'shift_leader', 'leader', 'admin', 'public'));
