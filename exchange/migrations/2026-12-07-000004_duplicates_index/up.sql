-- The public's repeated reports of a case (escalation's `reported_again`, docs/ESCALATION.md).
CREATE INDEX cases_duplicate_of ON cases (district, (snapshot->>'duplicate_of'))
    WHERE snapshot->>'duplicate_of' IS NOT NULL;
