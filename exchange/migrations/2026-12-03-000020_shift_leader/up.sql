-- Interchange v1.3: three actions of the shift leader's cancellation decision and of
-- re-handling after an unsatisfied call-back (schemas/AMQP.md, change log).
ALTER TABLE records DROP CONSTRAINT records_action_known;
ALTER TABLE records ADD CONSTRAINT records_action_known CHECK (action IN ('report', 'request_verification', 'verify', 'file', 'reject', 'dispatch', 'return', 'handle', 'check_pass', 'rework', 'callback', 'close', 'cancel', 'request_extension', 'approve_extension', 'reject_extension', 'request_suspension', 'approve_suspension', 'reject_suspension', 'resume', 'supervise', 'acknowledge_supervision', 'urge', 'request_cancellation', 'reject_cancellation', 'rehandle'));
