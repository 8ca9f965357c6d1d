DROP INDEX case_records_media_idx;
DROP INDEX media_unannounced_idx;
