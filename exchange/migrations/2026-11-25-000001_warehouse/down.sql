DROP TABLE commands;
DROP TABLE rejections;
DROP TABLE media;
DROP TABLE media_chunks;
DROP TABLE records;
DROP TABLE cases;
DROP TABLE stream;
DROP TABLE districts;
