-- Back to the six kinds: a department of a kind that no longer exists becomes 'other'
-- (departments are never deleted: cases refer to them).
ALTER TABLE departments DROP CONSTRAINT departments_kind_known;
UPDATE departments SET kind = 'other' WHERE kind IN ('utility', 'public_safety', 'bureau');
ALTER TABLE departments ADD CONSTRAINT departments_kind_known CHECK (kind IN ('municipal', 'landscaping', 'sanitation', 'enforcement', 'street_office', 'other'));
