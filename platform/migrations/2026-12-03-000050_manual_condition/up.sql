-- The filing condition (立案条件) of the command manual the case was filed under: the
-- two-digit condition code of its category's row (crate::manual), whose limits
-- `manual_limits` holds. Null before filing, and for cases filed before manuals had
-- conditions.
ALTER TABLE cases ADD COLUMN manual_condition TEXT
    CHECK (manual_condition ~ '^[0-9]{2}$');
