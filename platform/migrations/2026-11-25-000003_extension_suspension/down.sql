ALTER TABLE cases
    DROP COLUMN pending_request,
    DROP COLUMN pending_minutes,
    DROP COLUMN suspended_remaining_minutes,
    DROP COLUMN extension_minutes;
