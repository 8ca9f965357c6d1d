DROP TABLE city_report_files;
DROP TABLE city_reports;
