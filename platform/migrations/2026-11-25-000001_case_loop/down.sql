DROP TABLE case_records;
DROP FUNCTION case_records_append_only();
DROP TABLE cases;
DROP TABLE media;
DROP TABLE users;
DROP TABLE departments;
