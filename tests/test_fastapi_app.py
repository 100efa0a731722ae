"""examples/fastapi_app.py as a server process, over real HTTP, on a private MariaDB: the
contract of examples/README.md, under load, kills and a full pool (checks in tests/web_kit.py)."""

import signal

import pytest

from tests import web_kit
from tests.conftest import SECRET_PASSWORD, server_environ
from tests.kit.servers import free_port
from tests.web_kit import url
from tidb_dialect.settings import database_from

#: Needs peewee 4's playhouse.pwasyncio (on 3.17 tests/test_aio.py checks that asyncio is refused).
pytestmark = pytest.mark.pwasyncio
KIND = "fastapi"


def test_reads_and_trades(web_app, web_admin):
    web_kit.check_reads_and_trades(web_app(KIND), web_admin)


def test_each_bad_input_gets_400_and_changes_nothing(web_app, web_admin):
    web_kit.check_bad_inputs(web_app(KIND), web_admin)


def test_concurrent_clients_trade_exactly(web_app, web_admin, seed):
    web_kit.check_concurrent_trades(web_app(KIND), web_admin, seed)


@pytest.mark.mariadb  # KILL CONNECTION of another session's connections
def test_every_connection_killed_then_every_request_works(web_app, web_admin, seed):
    web_kit.check_killed_connections(web_app(KIND), web_admin, seed)


@pytest.mark.mariadb
def test_full_pool_answers_503_within_its_wait(web_app, web_admin, server, database_name):
    environ = {
        "DATABASE_URL": url("tidb+async", server, database_name, pool_size=2, acquire_timeout=2)
    }
    holder = database_from(server_environ(server, database_name))
    try:
        web_kit.check_full_pool(web_app(KIND, environ), web_admin, holder, size=2, wait=2)
    finally:
        holder.close()


@pytest.mark.mariadb
def test_default_pool_is_8_connections_and_a_5_s_wait(web_app, web_admin, server, database_name):
    holder = database_from(server_environ(server, database_name))
    try:
        web_kit.check_full_pool(web_app(KIND), web_admin, holder, size=8, wait=5)
    finally:
        holder.close()


@pytest.mark.mariadb  # the tests' own server, stopped and started again
def test_a_database_restart_then_every_request_works(web_app, restartable_server):
    web_kit.check_survives_a_restart(web_app, KIND, restartable_server)


def test_sigterm_stops_it(web_app, web_admin):
    # uvicorn finishes the requests under way, runs the app's lifespan end (the pool closed),
    # then ends by the signal it was sent, as it says.
    service = web_app(KIND)
    web_kit.check_stops_on_sigterm(service, web_admin, -signal.SIGTERM)
    assert "Application shutdown complete." in service.output()


def test_unreachable_database_answers_503_without_the_password(web_app, server, tmp_path):
    nowhere = url(
        "tidb", server, "test", user="someone", password=SECRET_PASSWORD, port=free_port()
    )
    service = web_app(KIND, {"DATABASE_URL": nowhere})
    status, body = service.player("1")
    assert (status, body) == (503, {"error": "the database is unavailable or busy; try again"})
    assert service.trade("1", "2", 1, 1)[0] == 503
    service.stop()
    assert SECRET_PASSWORD not in service.output()
    assert "Can't connect" in service.output()  # the log says why


def test_a_password_never_shows(web_app, server, database_name, password_user, web_admin):
    service = web_app(
        KIND, {"DATABASE_URL": url("tidb", server, database_name, password_user, SECRET_PASSWORD)}
    )
    replies = [
        service.player("1"),
        service.player("9"),
        service.trade("2", "1", 1, 1),
        service.request("POST", "/trade", raw=b"{"),
    ]
    assert [status for status, _ in replies] == [200, 404, 200, 400]
    assert SECRET_PASSWORD not in repr(replies) + service.output()


@pytest.mark.parametrize(
    "environ, line",
    [
        ({"TIDB_PORT": "40o0"}, "TIDB_PORT: must be a whole number from 1 to 65535, got '40o0'"),
        (
            {"TIDB_POST": "4000"},
            "TIDB_POST: not a setting this program reads; did you mean TIDB_PORT?",
        ),
        (
            {
                "DATABASE_URL": "tidb+async://root:%s@127.0.0.1:4000/test?pool_size=0"
                % SECRET_PASSWORD
            },
            "DATABASE_URL: pool_size: must be a whole number from 1 to 10000, got '0'",
        ),
        (
            {"DATABASE_URL": "tidb+pool://root:%s@127.0.0.1:4000/test" % SECRET_PASSWORD},
            "DATABASE_URL: this FastAPI app needs a tidb:// or tidb+async:// URL",
        ),
        (
            {"DATABASE_URL": "sqlite:///player.db"},
            "DATABASE_URL: this FastAPI app needs a tidb:// or tidb+async:// URL",
        ),
    ],
)
def test_a_wrong_setting_stops_it_at_start_naming_it(environ, line, tmp_path):
    status, output = web_kit.start_with(KIND, environ, tmp_path)
    assert status == 2
    assert output.startswith(line) and output.count("\n") == 1, output
    assert SECRET_PASSWORD not in output


@pytest.mark.parametrize(
    "environ, kind",
    [
        ({"TIDB_HOST": "127.0.0.1"}, "AsyncTiDBDatabase"),
        ({"DATABASE_URL": "tidb://root@127.0.0.1:4000/test"}, "AsyncTiDBDatabase"),
        ({"DATABASE_URL": "mysql://root@127.0.0.1:3306/test"}, "AsyncTiDBDatabase"),
        (
            {"DATABASE_URL": "tidb+async://root@127.0.0.1:4000/test?pool_size=3"},
            "AsyncTiDBDatabase",
        ),
    ],
)
def test_settings_give_it_an_asyncio_pool(environ, kind, tmp_path):
    assert web_kit.database_kind(KIND, environ, tmp_path) == kind


def test_a_lost_commit_answers_503_outcome_unknown(
    web_app, web_admin, relay, server, database_name
):
    relayed = relay(server, cut_after=lambda statement: statement == "COMMIT")
    environ = dict(
        server_environ(server, database_name), TIDB_HOST=relayed.host, TIDB_PORT=str(relayed.port)
    )
    web_kit.check_commit_outcome_unknown(web_app(KIND, environ), web_admin)
