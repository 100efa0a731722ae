"""The walkthrough as a program: re-runs, settings, failures; and trade() as a function."""

import os
import subprocess
import sys

import pytest

from peewee_example import Player, UnknownPlayer, trade
from tests.conftest import ROOT, WAIT_AT_GATE, error_lines, gate, reached_gate, server_environ
from tests.kit.servers import free_port
from tidb_dialect import TiDBDatabase


def test_runs_twice_in_a_row(run_example, server, database_name):
    environ = server_environ(server, database_name)
    first, second = run_example(environ=environ), run_example(environ=environ)
    assert (first.returncode, second.returncode) == (0, 0), second.stderr
    assert first.stdout.splitlines()[:2] == second.stdout.splitlines()[:2]
    assert second.stdout.splitlines()[-2:] == [
        "id:1, coins:0, goods:2",
        "id:2, coins:114614, goods:18",
    ]


def test_env_file_is_read_and_environment_wins(run_example, server, database_name):
    environ = server_environ(server, database_name)
    env_file = "".join("%s=%s\n" % item for item in environ.items())
    from_file = run_example(env_file=env_file.replace("TIDB_PORT=%d" % server.port, "TIDB_PORT=1"))
    assert from_file.returncode == 1 and "127.0.0.1:1" in from_file.stderr
    overridden = run_example(environ={"TIDB_PORT": str(server.port)})
    assert overridden.returncode == 0, overridden.stderr
    assert "number of players: 1920" in overridden.stdout


def test_unreachable_server_is_an_error_not_a_fallback(run_example, tmp_path):
    port = free_port()
    result = run_example(environ={"TIDB_HOST": "127.0.0.1", "TIDB_PORT": str(port)})
    assert result.returncode == 1
    assert "cannot connect to 127.0.0.1:%d as user 'root'" % port in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "player.db").exists()


def test_each_driver_runs_the_walkthrough(run_example, server, database_name, driver):
    result = run_example("--driver", driver, environ=server_environ(server, database_name))
    assert result.returncode == 0, result.stderr
    assert "trade success" in result.stdout


def test_database_url_wins(run_example, tmp_path, server, database_name):
    result = run_example(
        "--url", "sqlite:///other.db", environ=server_environ(server, database_name)
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "other.db").is_file()


def test_verbose_logs_sql_to_stderr(run_example, server, database_name):
    result = run_example("-v", environ=server_environ(server, database_name))
    assert result.returncode == 0
    logged = [line for line in result.stderr.splitlines() if line.startswith("peewee: ")]
    trades = logged[-13:-2]  # the two trades; then the final SELECT, the lock's release
    assert [line.split("'")[1].split()[0] for line in trades] == [
        "INSERT",  # player 2 (player 1 before it)
        "BEGIN",
        "SELECT",  # the locking read
        "ROLLBACK",  # the refused trade
        "BEGIN",  # peewee's txn.rollback() begins anew; the block's end commits that
        "COMMIT",
        "BEGIN",
        "SELECT",
        "UPDATE",
        "UPDATE",
        "COMMIT",
    ], logged[-13:]
    assert trades[2].endswith("FOR UPDATE', ['2', '2', '1'])") and "`coins` = 0" not in trades[2]


@pytest.fixture
def players(player_db):
    Player.create(id="seller", coins=10, goods=5)
    Player.create(id="buyer", coins=50, goods=0)


def balances():
    return {p.id: (p.coins, p.goods) for p in Player.select()}


def test_trade_moves_goods_and_coins(players, capsys):
    assert trade("seller", "buyer", amount=2, price=30) == "trade success"
    assert balances() == {"seller": (40, 3), "buyer": (20, 2)}
    assert capsys.readouterr().out == ""  # the caller prints what trade() returns


@pytest.mark.parametrize(
    "amount, price, message",
    [
        (1, 51, "buy player buyer coins not enough"),
        (6, 1, "sell player seller goods not enough"),
    ],
)
def test_refused_trade_changes_nothing(players, amount, price, message):
    assert trade("seller", "buyer", amount, price) == message
    assert balances() == {"seller": (10, 5), "buyer": (50, 0)}


@pytest.mark.parametrize(
    "args, message",
    [
        (("seller", "buyer", 0, 1), "amount must be a whole number from 1 to 2147483647, got 0$"),
        (("seller", "buyer", 1, -5), "price must be a whole number from 1 to 2147483647, got -5$"),
        (("seller", "buyer", 1.5, 1), "amount must be a whole number .*, got 1.5$"),
        (("seller", "buyer", True, 1), "amount must be a whole number .*, got True$"),
        (("seller", "buyer", "2", 1), "amount must be a whole number .*, got '2'$"),
        (("seller", "buyer", 2**31, 1), "amount must be a whole number .*, got 2147483648$"),
        (("seller", "seller", 1, 1), "cannot trade with itself"),
    ],
)
def test_nonsense_trades_raise_value_error(players, args, message):
    with pytest.raises(ValueError, match=message):
        trade(*args)
    assert balances() == {"seller": (10, 5), "buyer": (50, 0)}


@pytest.mark.parametrize(
    "args, unknown",
    [
        (("seller", "nobody", 1, 1), "nobody"),
        (("nobody", "buyer", 1, 1), "nobody"),
        (("x" * 37, "buyer", 1, 1), "x" * 37),  # longer than any id the table can hold
        (("seller", "", 1, 1), ""),
    ],
)
def test_unknown_player_is_a_fact_about_the_data(players, args, unknown):
    with pytest.raises(UnknownPlayer, match="unknown player id '%s'$" % unknown):
        trade(*args)
    assert balances() == {"seller": (10, 5), "buyer": (50, 0)}


@pytest.mark.parametrize(
    "seller, buyer, message",
    [
        ((2147483640, 5), (50, 0), "a balance would pass 2147483647"),
        ((10, 5), (50, 2147483646), "a balance would pass 2147483647"),
    ],
)
def test_trade_that_would_overflow_an_int_is_refused(player_db, seller, buyer, message):
    """INT columns: on MariaDB the UPDATE would fail, on SQLite pass 2**31 - 1 silently."""
    Player.create(id="seller", coins=seller[0], goods=seller[1])
    Player.create(id="buyer", coins=buyer[0], goods=buyer[1])
    assert trade("seller", "buyer", amount=2, price=30) == message
    assert balances() == {"seller": seller, "buyer": buyer}


def test_trade_up_to_int_max_is_done(player_db):
    Player.create(id="seller", coins=2147483647 - 30, goods=5)
    Player.create(id="buyer", coins=50, goods=2147483647 - 2)
    assert trade("seller", "buyer", amount=2, price=30) == "trade success"
    assert balances() == {"seller": (2147483647, 3), "buyer": (20, 2147483647)}


def test_a_reader_that_goes_away_ends_the_run_quietly(
    start_example, server, database_name, mysql_db
):
    """`python3 peewee_example.py | head -3`: no traceback, the status of a broken pipe."""
    with Player.bind_ctx(mysql_db):
        mysql_db.create_tables([Player])
    mysql_db.execute_sql(
        "CREATE TRIGGER wait_at_player_1 BEFORE INSERT ON player FOR EACH ROW "
        "IF NEW.id = '1' THEN %s END IF" % WAIT_AT_GATE
    )
    environ = dict(server_environ(server, database_name), PYTHONUNBUFFERED="1")
    with gate(TiDBDatabase(database_name, **mysql_db.connect_params)):
        walkthrough = start_example(environ=environ)
        assert walkthrough.stdout.readline() == "id:test, coins:1, goods:1\n"
        reached_gate(mysql_db)  # step 4 waits; what it prints next finds no reader
        walkthrough.stdout.close()
    assert walkthrough.wait(timeout=60) == 141
    assert error_lines(walkthrough.stderr.read()) == ""


def test_importing_runs_nothing(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", "import peewee_example"],
        cwd=tmp_path,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        capture_output=True,
        text=True,
    )
    assert (result.returncode, result.stdout, error_lines(result.stderr)) == (0, "", "")
    assert list(tmp_path.iterdir()) == []
