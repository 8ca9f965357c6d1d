DROP TABLE case_history;
