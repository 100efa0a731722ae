"""examples/flask_app.py and examples/fastapi_app.py, each as a server process, over real HTTP, on
a private MariaDB: the contract of examples/README.md, under load, kills and a full pool (checks in
tests/web_kit.py). Each test runs on both apps; what differs between them is in APPS."""

import signal
from dataclasses import dataclass

import pytest

from tests import web_kit
from tests.conftest import PEEWEE_4, SECRET_PASSWORD, server_environ
from tests.kit.servers import free_port
from tests.web_kit import url
from tidb_dialect.settings import database_from


@dataclass(frozen=True)
class App:
    kind: str  # the examples/ file: flask_app.py or fastapi_app.py
    name: str  # as its messages say it
    database: str  # the class its settings give it
    scheme: str  # its pooled URL scheme, and the pool's size and wait parameters
    size: str
    wait: str
    other_scheme: str  # the pooled scheme of the other app, which it refuses
    unavailable: str  # its 503 body when the database cannot be reached


FLASK = App(
    "flask",
    "Flask",
    "PooledTiDBDatabase",
    "tidb+pool",
    "max_connections",
    "timeout",
    "tidb+async",
    "the database is unavailable; try again",
)
FASTAPI = App(
    "fastapi",
    "FastAPI",
    "AsyncTiDBDatabase",
    "tidb+async",
    "pool_size",
    "acquire_timeout",
    "tidb+pool",
    "the database is unavailable or busy; try again",
)
#: FastAPI's app needs peewee 4's playhouse.pwasyncio (on 3.17 tests/test_aio.py checks that
#: asyncio is refused).
APPS = [
    pytest.param(FLASK, id="flask"),
    pytest.param(FASTAPI, id="fastapi", marks=pytest.mark.pwasyncio),
]


@pytest.fixture(params=APPS)
def app(request):
    return request.param


def test_reads_and_trades(app, web_app, web_admin):
    web_kit.check_reads_and_trades(web_app(app.kind), web_admin)


def test_each_bad_input_gets_400_and_changes_nothing(app, web_app, web_admin):
    web_kit.check_bad_inputs(web_app(app.kind), web_admin)


def test_concurrent_clients_trade_exactly(app, web_app, web_admin, seed):
    web_kit.check_concurrent_trades(web_app(app.kind), web_admin, seed)


@pytest.mark.mariadb  # KILL CONNECTION of another session's connections
def test_every_connection_killed_then_every_request_works(app, web_app, web_admin, seed):
    web_kit.check_killed_connections(web_app(app.kind), web_admin, seed)


@pytest.mark.mariadb
@pytest.mark.parametrize("size, wait", [(2, 2), (None, None)], ids=["set", "default"])
def test_full_pool_answers_503_within_its_wait(
    app, size, wait, web_app, web_admin, server, database_name
):
    """A pool of `size` connections held elsewhere: a request waits `wait` seconds, then
    answers 503. The default pool is 8 connections and a 5 s wait."""
    environ = None  # the test database's TIDB_* settings
    if size:
        pool = {app.size: size, app.wait: wait}
        environ = {"DATABASE_URL": url(app.scheme, server, database_name, **pool)}
    holder = database_from(server_environ(server, database_name))
    try:
        service = web_app(app.kind, environ)
        web_kit.check_full_pool(service, web_admin, holder, size=size or 8, wait=wait or 5)
    finally:
        holder.close()


@pytest.mark.mariadb  # the tests' own server, stopped and started again
def test_a_database_restart_then_every_request_works(app, web_app, restartable_server):
    web_kit.check_survives_a_restart(web_app, app.kind, restartable_server)


def test_sigterm_stops_it(app, web_app, web_admin):
    # Flask's development server sets no handler: SIGTERM ends it as it ends any process that
    # has none (a production server, e.g. gunicorn, stops its workers gracefully). uvicorn
    # finishes the requests under way, runs the app's lifespan end (the pool closed), then ends
    # by the signal it was sent, as it says.
    service = web_app(app.kind)
    web_kit.check_stops_on_sigterm(service, web_admin, -signal.SIGTERM)
    if app is FASTAPI:
        assert "Application shutdown complete." in service.output()


def test_unreachable_database_answers_503_without_the_password(app, web_app, server):
    nowhere = url(
        "tidb", server, "test", user="someone", password=SECRET_PASSWORD, port=free_port()
    )
    service = web_app(app.kind, {"DATABASE_URL": nowhere})
    status, body = service.player("1")
    assert (status, body) == (503, {"error": app.unavailable})
    assert service.trade("1", "2", 1, 1)[0] == 503
    service.stop()
    assert SECRET_PASSWORD not in service.output()
    assert "Can't connect" in service.output()  # the log says why


def test_a_password_never_shows(app, web_app, server, database_name, password_user, web_admin):
    service = web_app(
        app.kind,
        {"DATABASE_URL": url("tidb", server, database_name, password_user, SECRET_PASSWORD)},
    )
    replies = [
        service.player("1"),
        service.player("9"),
        service.trade("2", "1", 1, 1),
        service.request("POST", "/trade", raw=b"{"),
    ]
    assert [status for status, _ in replies] == [200, 404, 200, 400]
    assert SECRET_PASSWORD not in repr(replies) + service.output()


def wrong_settings(app):
    """(environ, the one line it stops with) pairs."""
    needs = "DATABASE_URL: this %s app needs a tidb:// or %s:// URL" % (app.name, app.scheme)
    other = "%s://root:%s@127.0.0.1:4000/test" % (app.other_scheme, SECRET_PASSWORD)
    return [
        ({"TIDB_PORT": "40o0"}, "TIDB_PORT: must be a whole number from 1 to 65535, got '40o0'"),
        (
            {"TIDB_POST": "4000"},
            "TIDB_POST: not a setting this program reads; did you mean TIDB_PORT?",
        ),
        (
            {
                "DATABASE_URL": "%s://root:%s@127.0.0.1:4000/test?%s=0"
                % (app.scheme, SECRET_PASSWORD, app.size)
            },
            "DATABASE_URL: %s: must be a whole number from 1 to 10000, got '0'" % app.size,
        ),
        (
            {"DATABASE_URL": other},
            needs
            if PEEWEE_4 or app is FASTAPI
            else "DATABASE_URL: peewee: AsyncTiDBDatabase and arun_transaction need peewee 4.x",
        ),
        ({"DATABASE_URL": "sqlite:///player.db"}, needs),
    ]


def test_a_wrong_setting_stops_it_at_start_naming_it(app, tmp_path):
    for environ, line in wrong_settings(app):
        status, output = web_kit.start_with(app.kind, environ, tmp_path)
        assert status == 2, (environ, output)
        assert output.startswith(line) and output.count("\n") == 1, output
        assert SECRET_PASSWORD not in output


@pytest.mark.parametrize(
    "environ",
    [
        {"TIDB_HOST": "127.0.0.1"},
        {"DATABASE_URL": "tidb://root@127.0.0.1:4000/test"},
        {"DATABASE_URL": "mysql://root@127.0.0.1:3306/test"},
        "its own pooled URL",
    ],
)
def test_settings_give_it_its_pool(app, environ, tmp_path):
    if environ == "its own pooled URL":
        environ = {"DATABASE_URL": "%s://root@127.0.0.1:4000/test?%s=3" % (app.scheme, app.size)}
    assert web_kit.database_kind(app.kind, environ, tmp_path) == app.database


def test_a_lost_commit_answers_503_outcome_unknown(
    app, web_app, web_admin, relay, server, database_name
):
    relayed = relay(server, cut_after=lambda statement: statement == "COMMIT")
    environ = dict(
        server_environ(server, database_name), TIDB_HOST=relayed.host, TIDB_PORT=str(relayed.port)
    )
    web_kit.check_commit_outcome_unknown(web_app(app.kind, environ), web_admin)
