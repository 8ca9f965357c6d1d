DROP TABLE city_users;
