-- The vocabulary (platform/src/vocab.rs) in the database: every column that stores one of
-- its names refuses a name the code does not know. Constraints are named
-- <table>_<column>_known; a test holds each list to its Rust enum.
ALTER TABLE cases ADD CONSTRAINT cases_state_known CHECK (state IN ('reported', 'verifying', 'verified', 'filed', 'rejected', 'dispatched', 'suspended', 'handled', 'checked', 'called_back', 'closed', 'cancelled'));
ALTER TABLE cases ADD CONSTRAINT cases_source_known CHECK (source IN ('supervisor', 'public', 'hotline'));
ALTER TABLE cases ADD CONSTRAINT cases_urgency_known CHECK (urgency IN ('normal', 'urgent'));
ALTER TABLE cases ADD CONSTRAINT cases_category_kind_known CHECK (category_kind IN ('component', 'event'));
ALTER TABLE cases ADD CONSTRAINT cases_satisfaction_known CHECK (satisfaction IN ('satisfied', 'unsatisfied'));
ALTER TABLE cases ADD CONSTRAINT cases_stage_known CHECK (stage IN ('filing', 'dispatch', 'handling', 'check'));
ALTER TABLE cases ADD CONSTRAINT cases_clock_known CHECK (clock IN ('working', 'natural'));
ALTER TABLE cases ADD CONSTRAINT cases_pending_request_known CHECK (pending_request IN ('extension', 'suspension'));
ALTER TABLE cases ADD CONSTRAINT cases_supervision_level_known CHECK (supervision_level IN ('general', 'key', 'listed'));
ALTER TABLE case_records ADD CONSTRAINT case_records_action_known CHECK (action IN ('report', 'request_verification', 'verify', 'file', 'reject', 'dispatch', 'return', 'handle', 'check_pass', 'rework', 'callback', 'close', 'cancel', 'request_extension', 'approve_extension', 'reject_extension', 'request_suspension', 'approve_suspension', 'reject_suspension', 'resume', 'supervise', 'acknowledge_supervision', 'urge'));
ALTER TABLE case_records ADD CONSTRAINT case_records_from_state_known CHECK (from_state IN ('reported', 'verifying', 'verified', 'filed', 'rejected', 'dispatched', 'suspended', 'handled', 'checked', 'called_back', 'closed', 'cancelled'));
ALTER TABLE case_records ADD CONSTRAINT case_records_to_state_known CHECK (to_state IN ('reported', 'verifying', 'verified', 'filed', 'rejected', 'dispatched', 'suspended', 'handled', 'checked', 'called_back', 'closed', 'cancelled'));
ALTER TABLE case_records ADD CONSTRAINT case_records_actor_role_known CHECK (actor_role IN ('supervisor', 'operator', 'dispatcher', 'handler', 'leader', 'admin', 'public'));
ALTER TABLE supervision_orders ADD CONSTRAINT supervision_orders_level_known CHECK (level IN ('general', 'key', 'listed'));
ALTER TABLE notifications ADD CONSTRAINT notifications_stage_known CHECK (stage IN ('filing', 'dispatch', 'handling', 'check'));
ALTER TABLE departments ADD CONSTRAINT departments_kind_known CHECK (kind IN ('municipal', 'landscaping', 'sanitation', 'enforcement', 'street_office', 'other'));
ALTER TABLE users ADD CONSTRAINT users_roles_known CHECK (roles <@ ARRAY['supervisor', 'operator', 'dispatcher', 'handler', 'leader', 'admin']);
