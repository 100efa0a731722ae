"""The command line as a newcomer meets it: what each first mistake says, and what a run that
cannot print does (player_cli/command.py). Real servers and real processes throughout."""

import os
import subprocess
import sys

import pytest

from peewee_example import Player
from tests.conftest import ROOT, error_lines, example_command, server_environ


def test_help_says_the_walkthrough_empties_the_table(run_example):
    result = run_example("--help")
    assert "The walkthrough empties the player table first" in " ".join(result.stdout.split())


def test_a_wrong_user_is_told_which_settings_to_check(run_example, server, database_name):
    environ = dict(server_environ(server, database_name), TIDB_USER="nobody_by_that_name")
    result = run_example(environ=environ)
    assert result.returncode == 1
    assert "(1045, " in result.stderr
    assert "Check TIDB_USER and TIDB_PASSWORD (on TiDB Cloud the user has the cluster's" in (
        result.stderr
    )


def test_a_missing_database_is_told_to_be_created(run_example, server):
    result = run_example(environ=server_environ(server, "no_such_database_here"))
    assert result.returncode == 1
    assert "(1049, " in result.stderr
    assert "Create the database TIDB_DB_NAME names (CREATE DATABASE), or name another" in (
        result.stderr
    )


def test_another_service_on_the_port_is_explained(run_example, fake_server):
    """It accepts and never greets, as an HTTP server would: 2013 once connect_timeout ends."""
    other = fake_server(silent=True)
    url = "tidb://root@127.0.0.1:%d/test?connect_timeout=1" % other.port
    result = run_example("--url", url)
    assert result.returncode == 1
    assert "(2013, " in result.stderr
    assert "but not as a MySQL-protocol server does: check TIDB_PORT" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.pwasyncio  # on peewee 3.17 the URL names what asyncio needs instead
def test_an_asyncio_url_is_refused_in_one_line(run_example, fake_server):
    listening = fake_server()
    url = "tidb+async://root@127.0.0.1:%d/test" % listening.port
    result = run_example(environ={"DATABASE_URL": url})
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        "error: DATABASE_URL: a tidb+async:// URL is for asyncio applications; the "
        "walkthrough is synchronous: use tidb://\n"
    )
    assert listening.accepted == 0


def test_the_server_version_is_shown_on_one_line(run_example, fake_server):
    odd = fake_server(version="8.0.11-TiDB-v8.5.3\r\nConnected to evil")
    result = run_example("--url", "tidb://root@127.0.0.1:%d/test" % odd.port)
    connected = [line for line in result.stderr.splitlines() if line.startswith("Connected")]
    assert len(connected) == 1, result.stderr
    assert connected[0].startswith("Connected to TiDB v8.5.3 at 127.0.0.1:")
    assert not any(line.startswith("Connected to evil") for line in result.stderr.splitlines())


def test_the_model_before_connect_says_to_connect(tmp_path):
    code = "import peewee_example as lesson; lesson.Player.select().count()"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        "AttributeError: call connect() first: it binds db to the TIDB_* settings' server"
    )


@pytest.fixture
def two_players(mysql_db):
    with Player.bind_ctx(mysql_db):
        mysql_db.create_tables([Player])
        Player.insert_many([("1", 100, 0), ("2", 114514, 20)]).execute()
    return mysql_db


def test_a_trade_done_with_its_output_closed_is_not_a_database_failure(
    two_players, server, database_name
):
    """The trade commits, then printing "trade success" finds no reader: status 141 (the
    documented one for closed output), no traceback, never 1 ("the database failed")."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    command, env = example_command(
        ["--trade", "2", "1", "2", "100"], server_environ(server, database_name)
    )
    with os.fdopen(write_end, "w") as closed_output:
        result = subprocess.run(
            command, env=env, stdout=closed_output, stderr=subprocess.PIPE, text=True, timeout=60
        )
    assert (result.returncode, error_lines(result.stderr)) == (141, "")
    rows = two_players.execute_sql("SELECT id, coins, goods FROM player ORDER BY id").fetchall()
    assert tuple(map(tuple, rows)) == (("1", 0, 2), ("2", 114614, 18))
