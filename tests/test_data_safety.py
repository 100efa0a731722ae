"""The walkthrough never destroys what it cannot put back, and `--trade` reports every outcome.

Each case runs peewee_example.py as a user would, against a real MariaDB (or
a SQLite file) holding data the program did not write: a table of another
shape, a user who may delete but not insert, the tutorial's own table with a
NULL balance, another walkthrough at the same time. Afterwards the table must
be exactly as it was.
"""

import signal

import pytest

from peewee_example import Player
from tests.conftest import (
    SECRET_PASSWORD,
    WAIT_AT_GATE,
    error_lines,
    gate,
    reached_gate,
    server_environ,
)
from tests.test_expected_output import expected, normalised
from tidb_dialect import TiDBDatabase

pytestmark = pytest.mark.mariadb  # triggers, user locks, privileges of a private server

EARLIER_ROWS = [("a", 3, 4), ("b", 5, 6)]
NO_GOODS = "CREATE TABLE player (id VARCHAR(36) PRIMARY KEY, coins INT NOT NULL)"
# The original TiDB tutorial's player_init.sql: nullable columns, no CHECKs.
TUTORIAL = "CREATE TABLE player (id VARCHAR(36), coins INTEGER, goods INTEGER, PRIMARY KEY (id))"
TEXT_COINS = (
    "CREATE TABLE player (id VARCHAR(36) NOT NULL PRIMARY KEY, coins VARCHAR(20) NOT NULL, "
    "goods INT NOT NULL)"
)
WAY_OUT = (
    "Nothing was changed: use another database, or drop the table (DROP TABLE player) and run again"
)


def rows(database):
    return database.execute_sql("SELECT * FROM player ORDER BY id").fetchall()


def make_table(database, create, rows=EARLIER_ROWS):
    if create:
        database.execute_sql(create)
    else:
        with Player.bind_ctx(database):
            database.create_tables([Player])
    for row in rows:
        placeholders = ", ".join(["%s"] * len(row))
        database.execute_sql("INSERT INTO player VALUES (%s)" % placeholders, row)


@pytest.mark.parametrize(
    "create, earlier, difference",
    [
        (NO_GOODS, [("a", 3), ("b", 5)], "it has no column goods"),
        (TUTORIAL, EARLIER_ROWS, "column coins allows NULL; column goods allows NULL"),
        (TEXT_COINS, [("a", "3", 4)], "column coins is varchar, not INT"),
        (
            "CREATE TABLE player (id VARCHAR(36) NOT NULL, coins INT NOT NULL, "
            "goods INT NOT NULL, note TEXT, PRIMARY KEY (id, coins))",
            [("a", 3, 4, "x")],
            "it has a column note that the model lacks; its primary key is (id, coins), not (id)",
        ),
    ],
    ids=["no goods", "tutorial", "text coins", "extra column and key"],
)
def test_table_of_another_shape_is_refused_untouched(
    run_example, server, database_name, mysql_db, create, earlier, difference
):
    make_table(mysql_db, create, earlier)
    before = rows(mysql_db)
    result = run_example(environ=server_environ(server, database_name))
    assert (result.returncode, result.stdout) == (1, "")
    assert error_lines(result.stderr).startswith(
        "error: the player table does not match the Player model: "
    )
    assert difference in result.stderr and error_lines(result.stderr).endswith(WAY_OUT + "\n")
    assert rows(mysql_db) == before


def test_user_who_may_delete_but_not_insert_loses_nothing(
    run_example, server, database_name, mysql_db, password_user
):
    make_table(mysql_db, None, [("a", 3, 4), ("b", 5, 6), ("c", 7, 8)])
    mysql_db.execute_sql("REVOKE ALL ON `%s`.* FROM '%s'@'%%%%'" % (database_name, password_user))
    mysql_db.execute_sql(
        "GRANT SELECT, DELETE ON `%s`.* TO '%s'@'%%%%'" % (database_name, password_user)
    )
    environ = dict(
        server_environ(server, database_name),
        TIDB_USER=password_user,
        TIDB_PASSWORD=SECRET_PASSWORD,
    )
    result = run_example(environ=environ)
    assert (result.returncode, result.stdout) == (1, "")
    assert error_lines(result.stderr).startswith(
        'error: the database failed: (1142, "INSERT command denied'
    )
    assert error_lines(result.stderr).endswith("; the player table is as it was before the run\n")
    assert rows(mysql_db) == (("a", 3, 4), ("b", 5, 6), ("c", 7, 8))


@pytest.mark.parametrize(
    "create, earlier, message",
    [
        (
            TUTORIAL,
            [("1", None, 0), ("2", 500, 20)],
            "error: player 1 has coins = NULL, not a whole number: the model allows none "
            "(nothing was changed)",
        ),
        (
            TUTORIAL,
            [("1", 100, 0), ("2", 500, None)],
            "error: player 2 has goods = NULL, not a whole number: the model allows none "
            "(nothing was changed)",
        ),
        (
            TEXT_COINS,
            [("1", "100", 0), ("2", "500", 20)],
            "error: the player table does not match the Player model: column coins is varchar, "
            "not INT. " + WAY_OUT,
        ),
    ],
    ids=["NULL coins", "NULL goods", "text coins"],
)
def test_trade_on_data_the_model_does_not_expect(
    run_example, server, database_name, mysql_db, create, earlier, message
):
    make_table(mysql_db, create, earlier)
    before = rows(mysql_db)
    result = run_example(
        "--trade", "2", "1", "1", "50", environ=server_environ(server, database_name)
    )
    assert (result.returncode, result.stdout, error_lines(result.stderr)) == (1, "", message + "\n")
    assert rows(mysql_db) == before


def test_trade_on_the_tutorial_table_works(run_example, server, database_name, mysql_db):
    make_table(mysql_db, TUTORIAL, [("1", 100, 0), ("2", 500, 20)])
    result = run_example(
        "--trade", "2", "1", "1", "50", environ=server_environ(server, database_name)
    )
    assert (result.returncode, result.stdout, error_lines(result.stderr)) == (
        0,
        "trade success\n",
        "",
    )
    assert rows(mysql_db) == (("1", 50, 1), ("2", 550, 19))


def test_refused_trade_has_its_own_exit_status(run_example, server, database_name, mysql_db):
    make_table(mysql_db, None, [("1", 100, 0), ("2", 500, 20)])
    result = run_example(
        "--trade", "2", "1", "1", "101", environ=server_environ(server, database_name)
    )
    assert (result.returncode, result.stdout, error_lines(result.stderr)) == (
        3,
        "buy player 1 coins not enough\n",
        "",
    )
    assert rows(mysql_db) == (("1", 100, 0), ("2", 500, 20))


NO_TABLE = (
    "error: there is no player table in this database: run the walkthrough once "
    "(python3 peewee_example.py) or create it with player_init.sql\n"
)


def test_trade_without_a_table_creates_nothing(run_example, server, database_name, mysql_db):
    result = run_example(
        "--trade", "2", "1", "1", "50", environ=server_environ(server, database_name)
    )
    assert (result.returncode, result.stdout, error_lines(result.stderr)) == (1, "", NO_TABLE)
    assert mysql_db.get_tables() == []


@pytest.mark.parametrize("url", ["sqlite:///player.db", "sqlite:///sub/player.db"])
def test_trade_without_a_sqlite_file_creates_none(run_example, tmp_path, url):
    result = run_example("--url", url, "--trade", "2", "1", "1", "50")
    assert (result.returncode, result.stdout, error_lines(result.stderr)) == (1, "", NO_TABLE)
    assert list(tmp_path.iterdir()) == []


def test_trade_on_an_empty_sqlite_file_creates_no_table(run_example, tmp_path):
    (tmp_path / "player.db").write_bytes(b"")
    result = run_example("--url", "sqlite:///player.db", "--trade", "2", "1", "1", "50")
    assert (result.returncode, error_lines(result.stderr)) == (1, NO_TABLE)
    assert (tmp_path / "player.db").read_bytes() == b""


ANOTHER_RUN = (
    "error: another run of the walkthrough is using this database; nothing was changed: "
    "try again when it has finished\n"
)
LOCK = "CONCAT('peewee_example walkthrough ', MD5(DATABASE()))"


def test_walkthrough_stops_while_another_one_runs(run_example, server, database_name, mysql_db):
    make_table(mysql_db, None)
    assert mysql_db.execute_sql("SELECT GET_LOCK(%s, 0)" % LOCK).fetchone()[0] == 1
    result = run_example(environ=server_environ(server, database_name))
    assert (result.returncode, result.stdout, error_lines(result.stderr)) == (1, "", ANOTHER_RUN)
    assert rows(mysql_db) == tuple(EARLIER_ROWS)


def test_the_lock_is_per_database_however_long_the_names(run_example, server, mysql_db):
    """Lock names have at most 64 characters; two database names sharing their first 60 do not
    share a lock (they did while the lock held the name itself, cut to 64)."""
    names = ["t_" + "x" * 58 + end for end in ("_one", "_two")]
    for name in names:
        mysql_db.execute_sql("CREATE DATABASE `%s`" % name)
    held = TiDBDatabase(names[0], **mysql_db.connect_params)
    try:
        assert held.execute_sql("SELECT GET_LOCK(%s, 0)" % LOCK).fetchone()[0] == 1
        result = run_example(environ=server_environ(server, names[1]))
        assert (result.returncode, error_lines(result.stderr)) == (0, ""), result.stderr
        result = run_example(environ=server_environ(server, names[0]))
        assert (result.returncode, error_lines(result.stderr)) == (1, ANOTHER_RUN)
    finally:
        held.close()
        for name in names:
            mysql_db.execute_sql("DROP DATABASE `%s`" % name)


def test_two_walkthroughs_started_together(start_example, server, database_name, mysql_db):
    environ = server_environ(server, database_name)
    runs = [start_example(environ=environ) for _ in range(2)]
    results = [(*run.communicate(timeout=120), run.returncode) for run in runs]
    for stdout, stderr, status in results:
        assert (status, normalised(stdout), error_lines(stderr)) == (0, expected("text"), "") or (
            status,
            stdout,
            error_lines(stderr),
        ) == (1, "", ANOTHER_RUN), stderr
    assert 0 in [status for _, _, status in results]
    count = mysql_db.execute_sql("SELECT COUNT(*) FROM player").fetchone()[0]
    assert count == 1922


def test_deadlock_on_the_delete_is_retried(run_example, server, database_name, mysql_db):
    """TiDB (and InnoDB) ask for the whole transaction to run again after a deadlock."""
    make_table(mysql_db, None)
    mysql_db.execute_sql("CREATE TABLE deadlocks (left_to_raise INT NOT NULL) ENGINE=MEMORY")
    mysql_db.execute_sql("INSERT INTO deadlocks VALUES (1)")
    mysql_db.execute_sql(
        "CREATE TRIGGER deadlock_once BEFORE DELETE ON player FOR EACH ROW BEGIN "
        "IF (SELECT left_to_raise FROM deadlocks) > 0 THEN "
        "UPDATE deadlocks SET left_to_raise = left_to_raise - 1; "
        "SIGNAL SQLSTATE '40001' SET MYSQL_ERRNO = 1213, "
        "MESSAGE_TEXT = 'Deadlock found when trying to get lock; try restarting transaction'; "
        "END IF; END"
    )
    result = run_example(environ=server_environ(server, database_name))
    assert (result.returncode, normalised(result.stdout)) == (0, expected("text")), result.stderr
    assert mysql_db.execute_sql("SELECT left_to_raise FROM deadlocks").fetchone()[0] == 0


def test_exit_statuses_are_in_the_help(run_example):
    result = run_example("--help")
    assert result.returncode == 0
    help_text = " ".join(result.stdout.split())
    for line in [
        "0 done",
        "1 the database failed or refused, or holds what the model does not expect",
        "2 a wrong argument or setting",
        "3 --trade: the trade was refused",
        "4 --trade: no player has that id",
        "5 the connection was lost at COMMIT: the change may or may not have happened",
        "130 interrupted (Ctrl-C)",
        "141 standard output was closed",
    ]:
        assert line in help_text


def test_ctrl_c_outside_the_transactions(start_example, server, database_name, mysql_db, driver):
    """SIGINT while step 4 creates player 1 (a statement of its own, not in a transaction)."""
    make_table(mysql_db, None)
    mysql_db.execute_sql(
        "CREATE TRIGGER wait_at_player_1 BEFORE INSERT ON player FOR EACH ROW "
        "IF NEW.id = '1' THEN %s END IF" % WAIT_AT_GATE
    )
    with gate(TiDBDatabase(database_name, **mysql_db.connect_params)):
        walkthrough = start_example(
            "--driver", driver, environ=server_environ(server, database_name)
        )
        reached_gate(mysql_db)
        walkthrough.send_signal(signal.SIGINT)
    stdout, stderr = walkthrough.communicate(timeout=60)
    assert walkthrough.returncode == 130
    assert error_lines(stderr) == (
        "error: interrupted (Ctrl-C) outside the transactions: what was committed so far stays\n"
    )
    assert stdout.splitlines()[:2] == ["id:test, coins:1, goods:1", "number of players: 1920"]
    assert "trade success" not in stdout
