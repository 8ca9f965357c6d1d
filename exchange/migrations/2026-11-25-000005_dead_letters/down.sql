ALTER TABLE rejections DROP COLUMN dead_lettered;
