"""trade() on the wire, through the counting relay (bench/relay.py) in front of a real server.

A done trade costs 3 round trips (BEGIN, one UPDATE of both players, COMMIT),
a refused one 4 (BEGIN, the UPDATE, ROLLBACK, one read to say why). A COMMIT
whose reply is lost may have happened: `--trade` says so, with its own exit
status, and does not claim failure.
"""

import signal
import threading

import pytest

import peewee_example
from peewee_example import Player, trade
from tests.conftest import error_lines, poll, server_environ
from tidb_dialect.settings import database_from

START = [("1", 100, 0), ("2", 500, 20)]


def through(relayed, server, database_name, driver):
    """A TiDBDatabase that reaches `server` through the relay."""
    environ = relayed_environ(relayed, server, database_name, driver)
    return database_from(environ)


@pytest.fixture
def players(mysql_db):
    with Player.bind_ctx(mysql_db):
        mysql_db.create_tables([Player])
        Player.insert_many(START, fields=[Player.id, Player.coins, Player.goods]).execute()
    return mysql_db


def balances(database):
    return database.execute_sql(
        "SELECT id, coins, goods FROM player WHERE id IN ('1', '2') ORDER BY id"
    ).fetchall()


@pytest.fixture
def relayed_trade(players, relay, server, database_name, driver):
    """trade() bound to a connection through a fresh relay, counted from zero."""
    relayed = relay(server)
    database = through(relayed, server, database_name, driver)
    peewee_example.db.initialize(database)
    database.connect()
    relayed.reset()
    yield relayed
    peewee_example.db.initialize(None)
    database.close()


def test_a_done_trade_is_five_round_trips(relayed_trade, players):
    """BEGIN, the locking read, one UPDATE each, COMMIT."""
    assert trade("2", "1", amount=2, price=100) == "trade success"
    assert relayed_trade.round_trips == 5
    assert relayed_trade.statements[0] == "BEGIN"
    assert relayed_trade.statements[1].startswith("SELECT ")
    assert relayed_trade.statements[1].endswith(" ORDER BY `t1`.`id` FOR UPDATE")
    assert (
        relayed_trade.statements[2]
        == "UPDATE `player` SET `coins` = 600, `goods` = 18 WHERE (`player`.`id` = '2')"
    )
    assert (
        relayed_trade.statements[3]
        == "UPDATE `player` SET `coins` = 0, `goods` = 2 WHERE (`player`.`id` = '1')"
    )
    assert relayed_trade.statements[4] == "COMMIT"
    assert balances(players) == (("1", 0, 2), ("2", 600, 18))


@pytest.mark.parametrize(
    "args, reason",
    [
        (("2", "1", 10, 500), "buy player 1 coins not enough"),
        (("2", "1", 21, 5), "sell player 2 goods not enough"),
    ],
)
def test_a_refused_trade_is_five_round_trips(relayed_trade, players, args, reason):
    """peewee's txn.rollback() begins a new transaction, which the block's end commits."""
    assert trade(*args) == reason
    assert relayed_trade.round_trips == 5
    assert relayed_trade.statements[0] == "BEGIN"
    assert relayed_trade.statements[1].endswith(" FOR UPDATE")
    assert relayed_trade.statements[2:] == ["ROLLBACK", "BEGIN", "COMMIT"]
    assert balances(players) == tuple(START)


AMBIGUOUS = (
    "error: the connection was lost at COMMIT ({cause}), so {what} may or may not have "
    "happened: {check} before trying again\n"
)
LOST = {
    "pymysql": "(2013, 'Lost connection to MySQL server during query')",
    "mysqlclient": "(2013, 'Lost connection to server during query')",
}


def relayed_environ(relayed, server, database_name, driver):
    return dict(
        server_environ(server, database_name),
        TIDB_HOST=relayed.host,
        TIDB_PORT=str(relayed.port),
        TIDB_DRIVER=driver,
    )


def test_trade_whose_commit_reply_is_lost_may_have_happened(
    run_example, players, relay, server, database_name, driver
):
    relayed = relay(server, cut_after=lambda statement: statement == "COMMIT")
    environ = relayed_environ(relayed, server, database_name, driver)
    result = run_example("--trade", "2", "1", "2", "100", environ=environ)
    message = AMBIGUOUS.format(cause=LOST[driver], what="the trade", check="look at both players")
    assert (result.returncode, result.stdout, error_lines(result.stderr)) == (5, "", message)
    assert balances(players) == (("1", 0, 2), ("2", 600, 18))  # it did happen, once


def nth_commit(n):
    seen = []

    def cut(statement):
        seen.extend([statement] if statement == "COMMIT" else [])
        return len(seen) == n and statement == "COMMIT"

    return cut


def test_walkthrough_whose_reset_commit_reply_is_lost(
    run_example, mysql_db, relay, server, database_name, driver
):
    relayed = relay(server, cut_after=nth_commit(1))
    result = run_example(environ=relayed_environ(relayed, server, database_name, driver))
    message = AMBIGUOUS.format(
        cause=LOST[driver], what="the reset and reload", check="count the players"
    )
    assert (result.returncode, result.stdout, error_lines(result.stderr)) == (5, "", message)
    assert mysql_db.execute_sql("SELECT COUNT(*) FROM player").fetchone()[0] == 1920


def test_walkthrough_whose_trade_commit_reply_is_lost(
    run_example, mysql_db, relay, server, database_name, driver
):
    relayed = relay(server, cut_after=nth_commit(3))  # the refused trade commits nothing
    result = run_example(environ=relayed_environ(relayed, server, database_name, driver))
    message = AMBIGUOUS.format(cause=LOST[driver], what="the trade", check="look at both players")
    assert (result.returncode, error_lines(result.stderr)) == (5, message)
    assert result.stdout.splitlines()[-1] == "buy player 1 coins not enough"
    assert balances(mysql_db) == (("1", 0, 2), ("2", 114614, 18))


def test_ctrl_c_while_commit_is_under_way(
    start_example, players, relay, server, database_name, driver
):
    """The relay holds COMMIT back until the program has been sent SIGINT, then passes it on."""
    reached, go = threading.Event(), threading.Event()

    def hold_commit(statement):
        if statement == "COMMIT":
            reached.set()
            go.wait(30)
        return False  # pass it on, reply included

    relayed = relay(server, cut_after=hold_commit)
    environ = relayed_environ(relayed, server, database_name, driver)
    trading = start_example("--trade", "2", "1", "2", "100", environ=environ)
    try:
        poll(reached.is_set)
        trading.send_signal(signal.SIGINT)
        if driver == "pymysql":  # it stops reading at once; mysqlclient when COMMIT returns
            trading.wait(30)
    finally:
        go.set()
    stdout, stderr = trading.communicate(timeout=30)
    assert (trading.returncode, stdout, error_lines(stderr)) == (
        130,
        "",
        "error: interrupted (Ctrl-C) at COMMIT, so the trade may or may not have happened: "
        "look at both players before trying again\n",
    )
    poll(lambda: balances(players) == (("1", 0, 2), ("2", 600, 18)))  # here it did happen
