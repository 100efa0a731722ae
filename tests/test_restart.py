"""A server restart between or during the walkthrough's steps: reconnect, or fail clearly.

The server here is the module's own private MariaDB (restartable_server),
stopped, killed and started again for real. What must never happen: a
step that reports success for a write the server did not keep.
"""

import threading
import uuid

import pytest
from peewee import InterfaceError, OperationalError

import peewee_example
from peewee_example import Player, trade
from tests.conftest import WAIT_AT_GATE, error_lines, gate, reached_gate, server_environ
from tidb_dialect import ReconnectingTiDBDatabase, TiDBDatabase
from tidb_dialect.settings import database_from, keywords_from

pytestmark = pytest.mark.mariadb  # restarting a server needs a server of our own

# The successful trade's UPDATE, at player 2's row (left with 18 goods), waits at the
# test's gate (conftest: WAIT_AT_GATE).
WAIT_IN_TRADE = (
    "CREATE TRIGGER wait_in_trade BEFORE UPDATE ON player FOR EACH ROW BEGIN "
    "IF NEW.id = '2' AND NEW.goods = 18 THEN %s END IF; END" % WAIT_AT_GATE
)
WALKTHROUGH_END = ["id:1, coins:0, goods:2", "id:2, coins:114614, goods:18"]


@pytest.fixture
def restart_env(restartable_server):
    """TIDB_* settings for a fresh database on the restartable server.

    Not dropped afterwards: the tests restart the server under the admin
    connection, and the server and its data go with the module."""
    name = "r_" + uuid.uuid4().hex[:12]
    admin = database_from(server_environ(restartable_server, "mysql"))
    admin.execute_sql("CREATE DATABASE `%s`" % name)
    admin.close()
    return server_environ(restartable_server, name)


def connect(environ, database_class=TiDBDatabase):
    name, keywords = keywords_from(environ)
    return database_class(name, **keywords)


def balances(database):
    return database.execute_sql(
        "SELECT id, coins, goods FROM player WHERE id IN ('1', '2') ORDER BY id"
    ).fetchall()


def test_next_step_after_a_restart_connects_and_works(run_example, restartable_server, restart_env):
    assert run_example(environ=restart_env).stdout.splitlines()[-2:] == WALKTHROUGH_END
    restartable_server.stop()
    restartable_server.start()
    result = run_example("--trade", "1", "2", "1", "50", environ=restart_env)
    assert (result.returncode, result.stdout, error_lines(result.stderr)) == (
        0,
        "trade success\n",
        "",
    )
    database = connect(restart_env)
    assert balances(database) == (("1", 50, 1), ("2", 114564, 19))
    database.close()


def test_server_killed_during_a_trade_is_no_success(run_example, restartable_server, restart_env):
    database = connect(restart_env)
    with Player.bind_ctx(database):
        database.create_tables([Player])
    database.execute_sql(WAIT_IN_TRADE)
    results = []
    walkthrough = threading.Thread(target=lambda: results.append(run_example(environ=restart_env)))
    try:
        with gate(database):  # leaving lets the walkthrough go on if the server was not killed
            walkthrough.start()
            reached_gate(database)
            restartable_server.kill()  # a crash, in the middle of the trade's transaction
    finally:
        walkthrough.join()
        if not restartable_server.executor.running():
            restartable_server.start()
    result = results[0]
    assert result.returncode == 1
    assert result.stdout.splitlines()[-1] == "buy player 1 coins not enough"
    assert "trade success" not in result.stdout
    assert error_lines(result.stderr).startswith(
        "error: the database failed: (2013, 'Lost connection"
    )
    assert "Traceback" not in result.stderr
    database = connect(restart_env)
    assert balances(database) == (("1", 100, 0), ("2", 114514, 20))  # the trade did not happen
    database.close()


@pytest.fixture
def bound(restart_env):
    """Player bound, in this process, to the restartable server; `bind(cls)` picks the class."""
    databases = []

    def bind(database_class):
        database = connect(restart_env, database_class)
        databases.append(database)
        peewee_example.db.initialize(database)
        database.create_tables([Player])
        Player.insert_many(
            [{"id": "1", "coins": 100, "goods": 0}, {"id": "2", "coins": 500, "goods": 20}]
        ).execute()
        return database

    yield bind
    peewee_example.db.initialize(None)
    for database in databases:
        database.close()


def restart(server):
    server.stop()
    server.start()


def test_lost_connection_fails_the_trade_and_a_new_one_works(bound, restartable_server, capsys):
    database = bound(TiDBDatabase)
    restart(restartable_server)
    with pytest.raises((OperationalError, InterfaceError)):
        trade("2", "1", 1, 10)
    assert capsys.readouterr().out == ""  # no "trade success"
    database.close()
    assert trade("2", "1", 1, 10) == "trade success"  # connects afresh
    assert balances(database) == (("1", 90, 1), ("2", 510, 19))


def test_reconnecting_database_trades_across_a_restart(bound, restartable_server):
    database = bound(ReconnectingTiDBDatabase)
    restart(restartable_server)
    assert trade("2", "1", 1, 10) == "trade success"
    assert balances(database) == (("1", 90, 1), ("2", 510, 19))
