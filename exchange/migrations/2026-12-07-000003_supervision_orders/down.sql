DROP TABLE supervision_orders;
