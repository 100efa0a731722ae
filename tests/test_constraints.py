"""The server itself refuses a negative balance, whoever writes it: defence in depth behind trade().

Both ways of creating the table are checked: the Player model's
create_tables() and player_init.sql. Writes go straight to the table, as
another program or a hand-typed UPDATE would, bypassing trade()'s checks.
"""

import pytest
from peewee import DatabaseError

from peewee_example import Player
from tests.conftest import player_init_statement

# TiDB enforces CHECK only from v7.2 with tidb_enable_check_constraint=ON (off by default).
pytestmark = pytest.mark.mariadb

# MariaDB: 4025 "CONSTRAINT ... failed"; MySQL >= 8.0.16: 3819; SQLite: "CHECK constraint failed".
CHECK_FAILED = (4025, 3819)


def create_from_model(database):
    with Player.bind_ctx(database):
        database.create_tables([Player])


def create_from_script(database):
    database.execute_sql(player_init_statement())


@pytest.fixture(params=["mysql", "sqlite"])
def database(request):
    return request.getfixturevalue(request.param + "_db")


@pytest.mark.parametrize(
    "create", [create_from_model, create_from_script], ids=["model", "player_init.sql"]
)
@pytest.mark.parametrize(
    "write",
    [
        "INSERT INTO player (id, coins, goods) VALUES ('new', -1, 5)",
        "INSERT INTO player (id, coins, goods) VALUES ('new', 5, -1)",
        "UPDATE player SET coins = coins - 11 WHERE id = 'p'",
        "UPDATE player SET goods = -1 WHERE id = 'p'",
    ],
)
def test_negative_balance_is_refused_by_the_database(database, create, write):
    create(database)
    database.execute_sql("INSERT INTO player (id, coins, goods) VALUES ('p', 10, 3)")
    with pytest.raises(DatabaseError) as refused:
        database.execute_sql(write)
    error = refused.value
    assert (error.args and error.args[0] in CHECK_FAILED) or "CHECK constraint failed" in str(error)
    rows = database.execute_sql("SELECT id, coins, goods FROM player").fetchall()
    assert [tuple(row) for row in rows] == [("p", 10, 3)]


def test_zero_is_allowed(database):
    create_from_script(database)
    database.execute_sql("INSERT INTO player (id, coins, goods) VALUES ('p', 0, 0)")
    assert database.execute_sql("SELECT coins, goods FROM player").fetchone() == (0, 0)
