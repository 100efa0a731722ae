"""The walkthrough as a program: re-runs, settings, failures; and trade() as a function."""

import os
import subprocess
import sys

import pytest

from bench.testbed import free_port
from peewee_example import Player, trade
from tests.conftest import ROOT, server_environ


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
    assert "FOR UPDATE" in result.stderr and "peewee:" in result.stderr


@pytest.fixture
def players(player_db):
    Player.create(id="seller", coins=10, goods=5)
    Player.create(id="buyer", coins=50, goods=0)


def balances():
    return {p.id: (p.coins, p.goods) for p in Player.select()}


def test_trade_moves_goods_and_coins(players, capsys):
    assert trade("seller", "buyer", amount=2, price=30) is True
    assert balances() == {"seller": (40, 3), "buyer": (20, 2)}
    assert capsys.readouterr().out == "trade success\n"


@pytest.mark.parametrize(
    "amount, price, message",
    [
        (1, 51, "buy player buyer coins not enough"),
        (6, 1, "sell player seller goods not enough"),
    ],
)
def test_refused_trade_changes_nothing(players, capsys, amount, price, message):
    assert trade("seller", "buyer", amount, price) is False
    assert balances() == {"seller": (10, 5), "buyer": (50, 0)}
    assert capsys.readouterr().out == message + "\n"


@pytest.mark.parametrize(
    "args, message",
    [
        (("seller", "buyer", 0, 1), "amount must be a whole number from 1"),
        (("seller", "buyer", 1, -5), "price must be a whole number from 1"),
        (("seller", "buyer", 1.5, 1), "amount must be a whole number"),
        (("seller", "buyer", True, 1), "amount must be a whole number"),
        (("seller", "buyer", 2**31, 1), "amount must be a whole number from 1 to 2147483647"),
        (("seller", "seller", 1, 1), "cannot trade with itself"),
        (("seller", "nobody", 1, 1), "unknown player id 'nobody'"),
        (("x" * 37, "buyer", 1, 1), "sell_id must be a player id of 1 to 36 characters"),
        (("seller", "", 1, 1), "buy_id must be a player id of 1 to 36 characters"),
    ],
)
def test_nonsense_trades_raise_value_error(players, args, message):
    with pytest.raises(ValueError, match=message):
        trade(*args)
    assert balances() == {"seller": (10, 5), "buyer": (50, 0)}


def test_importing_runs_nothing(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", "import peewee_example"],
        cwd=tmp_path,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        capture_output=True,
        text=True,
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert list(tmp_path.iterdir()) == []
