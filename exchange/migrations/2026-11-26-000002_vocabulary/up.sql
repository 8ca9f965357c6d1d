-- The words of the interchange standard the warehouse stores, and nothing else: a value the
-- standard (schemas/json/v1) does not define is refused by the database too. Constraints
-- are named <table>_<column>_known; a test holds each list to the published schema.
ALTER TABLE cases ADD CONSTRAINT cases_state_known CHECK (state IN ('reported', 'verifying', 'verified', 'filed', 'rejected', 'dispatched', 'suspended', 'handled', 'checked', 'called_back', 'closed', 'cancelled'));
ALTER TABLE cases ADD CONSTRAINT cases_source_known CHECK (source IN ('supervisor', 'public', 'hotline'));
ALTER TABLE cases ADD CONSTRAINT cases_urgency_known CHECK (urgency IN ('normal', 'urgent'));
ALTER TABLE cases ADD CONSTRAINT cases_category_kind_known CHECK (category_kind IN ('component', 'event'));
ALTER TABLE records ADD CONSTRAINT records_action_known CHECK (action IN ('report', 'request_verification', 'verify', 'file', 'reject', 'dispatch', 'return', 'handle', 'check_pass', 'rework', 'callback', 'close', 'cancel', 'request_extension', 'approve_extension', 'reject_extension', 'request_suspension', 'approve_suspension', 'reject_suspension', 'resume', 'supervise', 'acknowledge_supervision', 'urge'));
ALTER TABLE stream ADD CONSTRAINT stream_kind_known CHECK (kind IN ('case_snapshot', 'business_record', 'media_manifest', 'supervision_ack', 'reconciliation_digest'));
ALTER TABLE city_users ADD CONSTRAINT city_users_roles_known CHECK (roles <@ ARRAY['city_supervisor', 'city_leader']);
