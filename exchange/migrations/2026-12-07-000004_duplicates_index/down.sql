DROP INDEX cases_duplicate_of;
