-- The walkthrough's table, for creating it by hand:
--   mysql -h 127.0.0.1 -P 4000 -u root test < player_init.sql
-- peewee_example.py creates the same table itself when it is missing.
CREATE TABLE IF NOT EXISTS player (
    id VARCHAR(36) NOT NULL,
    coins INTEGER NOT NULL,
    goods INTEGER NOT NULL,
    PRIMARY KEY (id),
    CHECK (coins >= 0),
    CHECK (goods >= 0)
);
