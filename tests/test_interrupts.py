"""Ctrl-C at any moment of a real run is one line and exit status 130 (player_cli/outcomes.py).

Each test starts peewee_example.py, waits for a real event that puts the run
at the moment it names (never a sleep), sends SIGINT, and checks: exit status
130, one line on standard error besides the "Connected to" line, saying what
became of the data, no traceback, no "Exception ignored", and the data as
that line says. Both drivers each time.

Which test covers which moment (and the event it waits for):

    moment                             test                                       waits for
    connecting, to a silent server     test_ctrl_c_while_connecting               accepted
    the bulk load (reset and reload)   test_bulk_load.py::test_ctrl_c_in_the_...  trigger at a lock
    creating player 1, outside any     test_data_safety.py::test_ctrl_c_outside_  trigger at a lock
      transaction                        the_transactions
    a trade's UPDATE (walkthrough      test_ctrl_c_during_a_trades_update         trigger at a lock
      and --trade)
    a trade's COMMIT                   test_trade_wire.py::test_ctrl_c_while_...  relay holds COMMIT
    --trade printing its outcome       test_ctrl_c_printing_the_trades_outcome    blocked on a full
                                                                                  pipe (wchan)
    the final flush of stdout          test_ctrl_c_in_the_final_flush             blocked on a full
                                                                                  pipe (wchan)

Not covered: closing the connection (`db.close()` sends COM_QUIT and never waits, so
no event holds the run there) and the interpreter's exit after the flush; both run
under the same handler as the final flush (outcomes.finishing()).
"""

import fcntl
import os
import signal

import pytest

from peewee_example import Player
from tests.conftest import WAIT_AT_GATE, error_lines, gate, poll, reached_gate, server_environ
from tidb_dialect import TiDBDatabase


def assert_one_line(process, stderr, line):
    """Exit 130 and, besides the line saying where the run went, exactly `line`."""
    assert (process.returncode, error_lines(stderr)) == (130, line + "\n"), stderr
    assert "Traceback" not in stderr and "Exception ignored" not in stderr


def test_ctrl_c_while_connecting(start_example, fake_server, driver):
    """PyMySQL stops waiting for the greeting at once; mysqlclient when its connect_timeout
    (10 s) ends: the outcome is the same."""
    silent = fake_server(silent=True)
    connecting = start_example(
        "--url", "tidb://root@127.0.0.1:%d/test" % silent.port, "--driver", driver
    )
    poll(lambda: silent.accepted)
    connecting.send_signal(signal.SIGINT)
    stdout, stderr = connecting.communicate(timeout=30)
    assert_one_line(
        connecting, stderr, "error: interrupted (Ctrl-C) while connecting: nothing was changed"
    )
    assert stdout == "" and "Connected to" not in stderr


#: Players 1 and 2 as step 4 creates them, and as the walkthrough leaves them (step 5).
START = (("1", 100, 0), ("2", 114514, 20))
FINAL = (("1", 0, 2), ("2", 114614, 18))


def balances(database):
    """Players 1 and 2, as (id, coins, goods) rows in id order."""
    query = "SELECT * FROM player WHERE id IN ('1', '2') ORDER BY id"
    return database.execute_sql(query).fetchall()


@pytest.fixture
def players(mysql_db):
    """The model's table holding START."""
    with Player.bind_ctx(mysql_db):
        mysql_db.create_tables([Player])
    mysql_db.execute_sql("INSERT INTO player VALUES ('1', 100, 0), ('2', 114514, 20)")
    return mysql_db


@pytest.mark.mariadb  # the moment is placed by a trigger
@pytest.mark.parametrize(
    "args, count",
    # the walkthrough's first trade (refused: the UPDATE matches the seller only), or --trade
    [((), 1922), (("--trade", "2", "1", "2", "100"), 2)],
    ids=["walkthrough", "--trade"],
)
def test_ctrl_c_during_a_trades_update(
    start_example, players, server, database_name, driver, args, count
):
    """PyMySQL stops reading at once; mysqlclient when the UPDATE returns (the gate opens as
    the test leaves it): the trade's transaction is rolled back either way."""
    players.execute_sql(
        "CREATE TRIGGER wait_in_update BEFORE UPDATE ON player FOR EACH ROW BEGIN %s END"
        % WAIT_AT_GATE
    )
    with gate(TiDBDatabase(database_name, **players.connect_params)):
        trading = start_example(
            "--driver", driver, *args, environ=server_environ(server, database_name)
        )
        reached_gate(players)
        trading.send_signal(signal.SIGINT)
    stdout, stderr = trading.communicate(timeout=60)
    assert_one_line(trading, stderr, "error: interrupted (Ctrl-C): the trade did not happen")
    assert "trade success" not in stdout
    assert balances(players) == START
    assert players.execute_sql("SELECT COUNT(*) FROM player").fetchone()[0] == count


def full_pipe():
    """(read end, write end) of a pipe already filled to capacity; the write end blocks."""
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    filler = b"x" * fcntl.fcntl(write_end, fcntl.F_GETPIPE_SZ)
    written = 0
    try:
        while True:
            written += os.write(write_end, filler)
    except BlockingIOError:
        pass
    os.set_blocking(write_end, True)
    return read_end, write_end, written


def drain(read_end):
    data = b""
    while chunk := os.read(read_end, 1 << 16):
        data += chunk
    os.close(read_end)
    return data


def blocked_writing_a_pipe(pid):
    """Whether process `pid` waits in the kernel's pipe write (`pipe_write`, or
    `anon_pipe_write` on newer kernels), as /proc/PID/wchan names it."""
    with open("/proc/%d/wchan" % pid) as file:
        return file.read().endswith("pipe_write")


def interrupted_writing(start_example, database, args, environ):
    """The run of `args` interrupted once it blocks writing its output to a full pipe, by
    which time its work is committed (balances FINAL); returns (process, stderr). None of
    its output gets through."""
    read_end, write_end, filled = full_pipe()
    try:
        run = start_example(*args, environ=environ, stdout=write_end)
    finally:
        os.close(write_end)
    try:
        poll(lambda: blocked_writing_a_pipe(run.pid))
        assert balances(database) == FINAL
        run.send_signal(signal.SIGINT)
        run.wait(30)
    finally:
        written = drain(read_end)
    assert written == b"x" * filled
    return run, run.stderr.read()


@pytest.mark.mariadb  # the work is read back from the server
def test_ctrl_c_printing_the_trades_outcome(start_example, players, server, database_name, driver):
    """--trade with unbuffered output: "trade success" blocks on the full pipe after the
    trade committed; the line says the trade happened, not that it may not have."""
    environ = dict(server_environ(server, database_name), PYTHONUNBUFFERED="1")
    args = ("--driver", driver, "--trade", "2", "1", "2", "100")
    trading, stderr = interrupted_writing(start_example, players, args, environ)
    assert_one_line(
        trading, stderr, "error: interrupted (Ctrl-C) after the trade, which ended: trade success"
    )
    assert balances(players) == FINAL


@pytest.mark.mariadb  # the work is read back from the server
def test_ctrl_c_in_the_final_flush(start_example, mysql_db, server, database_name, driver):
    """Its whole output waits in its buffer until the final flush, which blocks on the full
    pipe: by then the run's work is committed, and the line says so."""
    # block-buffered, as standard output to a pipe is by default
    environ = dict(server_environ(server, database_name), PYTHONUNBUFFERED="")
    walkthrough, stderr = interrupted_writing(
        start_example, mysql_db, ("--driver", driver), environ
    )
    assert_one_line(
        walkthrough,
        stderr,
        "error: interrupted (Ctrl-C) while finishing: the run itself was over",
    )
    assert mysql_db.execute_sql("SELECT COUNT(*) FROM player").fetchone()[0] == 1922
