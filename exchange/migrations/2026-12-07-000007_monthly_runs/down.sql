DROP TABLE monthly_runs;
