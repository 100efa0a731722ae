"""Fixtures: real servers (a private MariaDB, or a TiDB cluster in TiDB mode) and SQLite.

TiDB mode: when TIDB_HOST is set in the environment, the server tests run
against that cluster (with TIDB_PORT, TIDB_USER, TIDB_PASSWORD, CA_PATH)
instead of a private MariaDB. Under CI (and in every nox session) a skipped
test is reported as a failure: there, every test must run.

Also here, once for every test file: the seed of randomised tests (TEST_SEED)
and the small helpers several files need.
"""

import asyncio
import contextlib
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from subprocess import PIPE

import peewee
import pytest
import trustme
from peewee import PeeweeException

import peewee_example
import tidb_dialect
from tests.kit.fake_tidb import FakeServer
from tests.kit.relay import Relay
from tests.kit.servers import PrivateServer, ServerSettings, find_server_binary, throwaway_database
from tidb_dialect import ConfigError, TiDBDatabase, parse_version
from tidb_dialect.keywords import whole_number
from tidb_dialect.settings import SETTINGS, database_from, meant_setting

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() not in ("", "0", "false")
TIDB_MODE = bool(os.environ.get("TIDB_HOST"))
PEEWEE_4 = int(peewee.__version__.split(".")[0]) >= 4
SERVER_SETTINGS = ("TIDB_HOST", "TIDB_PORT", "TIDB_USER", "TIDB_PASSWORD", "CA_PATH")

#: Each driver's name and the module it imports, written out (not taken from the product).
DRIVER_MODULES = {"pymysql": "pymysql", "mysqlclient": "MySQLdb"}

#: Randomised tests draw from this seed; TEST_SEED=N replays (or varies) a run.
DEFAULT_SEED = 114514


def pytest_configure(config):
    config.addinivalue_line("markers", "tidb: needs a real TiDB cluster; runs in TiDB mode only")
    config.addinivalue_line(
        "markers",
        "mariadb: needs MariaDB (SIGNAL, triggers, status counters); does not run in TiDB mode",
    )
    config.addinivalue_line("markers", "mysqlclient: needs the optional mysqlclient driver")
    config.addinivalue_line(
        "markers",
        "pwasyncio: needs peewee 4's playhouse.pwasyncio; deselected on peewee 3.17, where "
        "tests/test_aio.py checks that asyncio is refused instead",
    )
    try:
        config.test_seed = whole_number(
            "TEST_SEED", os.environ.get("TEST_SEED", str(DEFAULT_SEED)), 0, 2**32 - 1, text=True
        )
    except ConfigError as error:
        raise pytest.UsageError(str(error)) from None


def pytest_report_header(config):
    return "TEST_SEED=%d (randomised tests; set TEST_SEED to replay or vary)" % config.test_seed


@pytest.fixture
def seed(request):
    """The seed for a randomised test: TEST_SEED, else DEFAULT_SEED. A failure prints it."""
    return request.config.test_seed


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Under CI a skip is a failure; a failed randomised test says how to replay it."""
    report = (yield).get_result()
    fail_skip_under_ci(report)
    if report.failed and "seed" in item.fixturenames:
        report.sections.append(
            (
                "replay",
                "TEST_SEED=%d python -m pytest '%s'" % (item.config.test_seed, item.nodeid),
            )
        )


def pytest_sessionstart(session):
    """TiDB mode runs only against TiDB: anything else stops the run with one sentence."""
    if TIDB_MODE:
        problem = not_tidb(ClusterServer(os.environ))
        if problem:
            raise pytest.UsageError(
                problem + "; unset TIDB_HOST to test against a private MariaDB."
            )


def not_tidb(cluster):
    """Why `cluster` cannot be tested in TiDB mode, or None when it is TiDB."""
    where = "TIDB_HOST=%s, TIDB_PORT=%d" % (cluster.host, cluster.port)
    database = database_from(server_environ(cluster, "mysql"))
    try:
        version = database.detect_server_version()
    except PeeweeException as exc:
        return "%s: no connection (%s)" % (where, exc)
    finally:
        database.close()
    return None if version.is_tidb else "%s is %s, not TiDB" % (where, version)


def pytest_collection_modifyitems(config, items):
    """Tests for the other kind of server (or peewee series) are deselected, not skipped."""
    other = ["mariadb" if TIDB_MODE else "tidb"] + ([] if PEEWEE_4 else ["pwasyncio"])
    deselected = [item for item in items if any(map(item.get_closest_marker, other))]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if item not in deselected]


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    fail_skip_under_ci((yield).get_result())


def fail_skip_under_ci(report):
    """Under CI (and in nox sessions) every test must run: a skip is reported as a failure."""
    if IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = "skipped under CI, where every test must run: %s" % reason


def require(condition, reason):
    """Skip when `condition` fails (under CI the skip is reported as a failure)."""
    if not condition:
        pytest.skip(reason)


def poll(read, limit=30.0):
    """The first true value of read(): polls a real condition, for at most `limit` seconds."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        value = read()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError("condition not reached within %.0f s" % limit)


class ClusterServer(ServerSettings):
    """The TiDB cluster named in the environment (TiDB mode)."""

    def __init__(self, environ):
        super().__init__({k: environ[k] for k in SERVER_SETTINGS if k in environ})


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """The MySQL-compatible server under test, started once for the session."""
    if TIDB_MODE:
        yield ClusterServer(os.environ)
        return
    yield from private_server(tmp_path_factory.mktemp("mariadb"))


@pytest.fixture(scope="module")
def restartable_server(tmp_path_factory):
    """A private MariaDB of the module's own, which its tests stop, kill and start again."""
    yield from private_server(tmp_path_factory.mktemp("mariadb-restart"))


def private_server(base, **options):
    require(find_server_binary(), "no mariadbd or mysqld binary found (install mariadb-server)")
    private = PrivateServer(str(base), **options).install().start()
    yield private
    private.stop()


@pytest.fixture(scope="session")
def tls_server(tmp_path_factory):
    """A private MariaDB that refuses plain connections, certified for 127.0.0.1 only.

    It listens on `other_host` (127.0.0.2) too, an address its certificate
    does not name, so host-name verification can be seen failing.
    """
    other_host = "127.0.0.2"
    require(can_listen_on(other_host), "%s is not a loopback address here" % other_host)
    base = tmp_path_factory.mktemp("mariadb-tls")
    ca = trustme.CA()
    issued = ca.issue_cert("127.0.0.1")
    tls = {
        "ca": str(base / "ca.pem"),
        "cert": str(base / "server.pem"),
        "key": str(base / "server-key.pem"),
    }
    ca.cert_pem.write_to_path(tls["ca"])
    issued.cert_chain_pems[0].write_to_path(tls["cert"])
    issued.private_key_pem.write_to_path(tls["key"])
    for private in private_server(base, bind=("127.0.0.1", other_host), tls=tls):
        private.ca_path, private.other_host = tls["ca"], other_host
        yield private


# What each driver says when the CA does not match (OpenSSL's reason; 1.1 omits the hyphen)...
UNTRUSTED = r"self[- ]signed certificate in certificate chain"
# ...and when the certificate does not name the host (aiomysql: PyMySQL's words).
HOST_MISMATCH = {
    "pymysql": "certificate verify failed: IP address mismatch, "
    "certificate is not valid for '127.0.0.2'",
    "mysqlclient": "TLS/SSL error: Validation of SSL server certificate failed",
}


@pytest.fixture
def untrusted_ca_path(tmp_path):
    """A CA that did not sign the TLS server's certificate."""
    path = str(tmp_path / "untrusted-ca.pem")
    trustme.CA().cert_pem.write_to_path(path)
    return path


def can_listen_on(host):
    try:
        with socket.socket() as probe:
            probe.bind((host, 0))
    except OSError:
        return False
    return True


@pytest.fixture
def fake_server():
    """fake_server(**kwargs): a started FakeServer (tests/kit/fake_tidb.py), stopped at teardown."""
    started = []

    def start(**kwargs):
        started.append(FakeServer(**kwargs).start())
        return started[-1]

    yield start
    for fake in started:
        fake.stop()


@pytest.fixture
def relay():
    """relay(server or (host, port), **kwargs): a started Relay (tests/kit/relay.py), stopped
    after."""
    started = []

    def start(target, **kwargs):
        host, port = (target.host, target.port) if hasattr(target, "port") else target
        started.append(Relay(host, port, **kwargs).start())
        return started[-1]

    yield start
    for relayed in started:
        relayed.stop()


def relayed_database(relayed, server, database_name, driver="pymysql"):
    """A TiDBDatabase on `database_name` of `server`, reached through the relay `relayed`."""
    environ = dict(
        server_environ(server, database_name),
        TIDB_HOST=relayed.host,
        TIDB_PORT=str(relayed.port),
        TIDB_DRIVER=driver,
    )
    return database_from(environ)


def server_environ(server, database):
    """The TIDB_* settings that point at `server` and `database`."""
    environ = {
        "TIDB_HOST": server.host,
        "TIDB_PORT": str(server.port),
        "TIDB_USER": server.user,
        "TIDB_PASSWORD": server.password,
        "TIDB_DB_NAME": database,
    }
    if getattr(server, "ca_path", ""):
        environ["CA_PATH"] = server.ca_path
    return environ


#: The optional driver as a test parameter: marked, so it runs only where mysqlclient is installed.
MYSQLCLIENT = pytest.param("mysqlclient", marks=pytest.mark.mysqlclient)


def pytest_runtest_setup(item):
    """A test marked `mysqlclient` needs the driver installed (always so under CI)."""
    if item.get_closest_marker("mysqlclient"):
        require(
            importlib.util.find_spec(DRIVER_MODULES["mysqlclient"]) is not None,
            "mysqlclient is not installed (pip install -r requirements-mysqlclient.txt)",
        )


@pytest.fixture(params=["pymysql", MYSQLCLIENT])
def driver(request):
    """Each driver in turn; mysqlclient only where it is installed (always under CI)."""
    return request.param


@pytest.fixture
def database_name(server):
    """A database of its own for each test, dropped afterwards."""
    yield from database_on(server)


@pytest.fixture
def tls_database_name(tls_server):
    """A database of its own on the TLS server, dropped afterwards."""
    yield from database_on(tls_server)


def database_on(server, prefix="t_"):
    admin = database_from(server_environ(server, "mysql"))
    try:
        with throwaway_database(admin, prefix) as name:
            yield name
    finally:
        admin.close()


@pytest.fixture
def server_settings(server, database_name):
    return ServerSettings(server_environ(server, database_name))


@pytest.fixture
def mysql_db(server_settings):
    """A TiDBDatabase (PyMySQL) on the test's own database."""
    database = server_settings.build_database()
    yield database
    database.close()


#: A password that no output, log line or message may ever show.
SECRET_PASSWORD = "Pw-9tq4-recognisable-xyzzy"


@pytest.fixture
def make_user(mysql_db, database_name):
    """make_user(password, name=the database's): a user allowed into the test's database."""
    made = []

    def make(password, name=database_name):
        mysql_db.execute_sql("CREATE USER '%s'@'%%%%' IDENTIFIED BY %%s" % name, (password,))
        made.append(name)
        mysql_db.execute_sql("GRANT ALL ON `%s`.* TO '%s'@'%%%%'" % (database_name, name))
        return name

    yield make
    for name in made:
        mysql_db.execute_sql("DROP USER '%s'@'%%%%'" % name)


@pytest.fixture
def password_user(make_user):
    """A user named like the test's database, with SECRET_PASSWORD, allowed into that database."""
    return make_user(SECRET_PASSWORD)


@pytest.fixture
def driver_db(server, database_name, driver):
    """A TiDBDatabase on the test's own database, through each driver in turn."""
    database = database_from(dict(server_environ(server, database_name), TIDB_DRIVER=driver))
    yield database
    database.close()


@pytest.fixture
def sqlite_db(tmp_path):
    """A SQLite file whose writers wait for the lock up to 60 s (sqlite3's default: 5 s):
    the concurrency tests queue 32 of them, and before Python 3.11 a busy error carries
    no code, so run_transaction() cannot tell it is safe to retry."""
    from peewee import SqliteDatabase

    database = SqliteDatabase(str(tmp_path / "player.db"), timeout=60)
    yield database
    database.close()


@pytest.fixture
def embedded_db(tmp_path):
    """The walkthrough's SQLite file (BEGIN IMMEDIATE, no FOR UPDATE), waiting for its lock
    as sqlite_db does."""
    from player_cli.command import EmbeddedDatabase

    database = EmbeddedDatabase(str(tmp_path / "player.db"), timeout=60)
    yield database
    database.close()


@pytest.fixture(params=["mysql", "sqlite"])
def player_db(request):
    """The walkthrough's Player model bound to a real server, then to its SQLite file."""
    database = request.getfixturevalue(
        {"mysql": "mysql_db", "sqlite": "embedded_db"}[request.param]
    )
    peewee_example.db.initialize(database)
    database.create_tables([peewee_example.Player])
    yield database
    peewee_example.db.initialize(None)


@pytest.fixture
def run_example(tmp_path):
    """Run peewee_example.py as a user would, in an empty directory, with `environ` only.

    The environment is cleared of every setting so that the machine's own
    variables cannot leak in; pass the ones the test means. `wrap` is a
    command prefix (e.g. one that maps a host name for this process only).
    """

    def run(*args, environ=None, env_file=None, wrap=()):
        if env_file is not None:
            (tmp_path / ".env").write_text(env_file)
        command, env = example_command(args, environ)
        return subprocess.run(
            [*wrap, *command], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300
        )

    return run


# Started in the background of a non-interactive shell, pytest ignores SIGINT, and so would the
# programs it starts (an ignored signal stays ignored across exec): the Ctrl-C tests need Python's
# own handler there, which a handled (not ignored) SIGINT here gives them.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture
def start_example(tmp_path):
    """Start peewee_example.py as run_example does, without waiting: returns the Popen.
    `stdout` is where its standard output goes (a pipe the test reads, unless it says)."""
    started = []

    def start(*args, environ=None, stdout=PIPE):
        command, env = example_command(args, environ)
        started.append(
            subprocess.Popen(command, env=env, cwd=tmp_path, stdout=stdout, stderr=PIPE, text=True)
        )
        return started[-1]

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.communicate()


def error_lines(stderr):
    """A run's standard error without the line that says where it went (printed once connected)."""
    return "".join(
        line
        for line in stderr.splitlines(keepends=True)
        if not line.startswith(("Connected to ", "No TiDB configured"))
    )


def example_command(args, environ):
    """The command line and environment of a run: the machine's own settings left out."""
    env = scrubbed_environ()
    env.update(environ or {})
    env["PYTHONPATH"] = str(ROOT)
    return [sys.executable, str(ROOT / "peewee_example.py"), *args], env


def scrubbed_environ():
    """This process's environment without any connection setting, or a name the dialect would
    refuse as a misspelling of one, so none can leak into a run."""
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("TIDB_") and k not in SETTINGS and not meant_setting(k)
    }


def tidb_at(raw_version="8.0.11-TiDB-v7.5.1"):
    """A TiDBDatabase that knows its server's version without connecting (SQL text only)."""
    database = TiDBDatabase("test")
    database.version = parse_version(raw_version)
    return database


def create_sql(model):
    """The CREATE TABLE statement peewee would send for `model`."""
    return model._schema._create_table(safe=False).query()[0]


def player_init_statement():
    """player_init.sql as one statement a driver can send: no comment lines, no final `;`."""
    script = (ROOT / "player_init.sql").read_text()
    statement = "\n".join(line for line in script.splitlines() if not line.startswith("--"))
    return statement.strip().rstrip(";")


#: Trigger body for a fault at a chosen moment (MariaDB): the connection that reaches it takes
#: the user lock 'reached' (so IS_USED_LOCK names it) and then waits for 'gate', which the test
#: holds (see `gate`). User locks, not tables: a trigger keeps every table it uses locked until
#: its statement ends.
WAIT_AT_GATE = "DO GET_LOCK('reached', 0); DO GET_LOCK('gate', 60);"


@contextlib.contextmanager
def gate(holder):
    """Hold the user lock 'gate' through `holder`; leaving the block closes `holder`, opening it.
    It starts once no earlier test's connection (KILLed, still ending) holds 'reached', so that
    reached_gate() names this test's."""
    poll(lambda: holder.execute_sql("SELECT IS_FREE_LOCK('reached')").fetchone()[0] == 1)
    holder.execute_sql("DO GET_LOCK('gate', 0)")
    try:
        yield
    finally:
        holder.close()


def reached_gate(database):
    """The id of the connection waiting at the gate, once one is (polled through `database`)."""
    return poll(lambda: database.execute_sql("SELECT IS_USED_LOCK('reached')").fetchone()[0])


def fake_tidb(fake_server, release, **kwargs):
    """A started fake server answering as TiDB `release` (e.g. "v5.1.0") in VERSION() and
    TIDB_VERSION(); other keywords as for FakeServer."""
    return fake_server(
        version="8.0.11-TiDB-%s" % release, tidb_version="Release Version: %s" % release, **kwargs
    )


def fake_db(fake, driver="pymysql", database_class=TiDBDatabase, **kwargs):
    """A `database_class` on the fake server `fake`, as root, through `driver`."""
    return database_class(
        "test", host=fake.host, port=fake.port, user="root", driver=driver, **kwargs
    )


def make_async_db(server, database="mysql", **keywords):
    """An AsyncTiDBDatabase on `server` (the fake and the relay have no user: root)."""
    given = dict(host=server.host, port=server.port, user=getattr(server, "user", "root"))
    given.update(password=getattr(server, "password", ""), **keywords)
    return tidb_dialect.AsyncTiDBDatabase(database, **given)  # peewee 4 only


def run_on(db, work):
    """asyncio.run(work()), then the pool closed."""

    async def scenario():
        try:
            return await work()
        finally:
            await db.aclose()
            await db.close_pool()

    return asyncio.run(scenario())


@pytest.fixture
def web_admin(server, database_name):
    """The test's own session on its database, with the players of tests/web_kit.py."""
    from tests.web_kit import Admin

    admin = Admin(server, database_name)
    admin.fill()
    yield admin
    admin.close()


@pytest.fixture
def web_app(tmp_path, server, database_name):
    """web_app(kind, environ=None): examples/<kind>_app.py serving the test's database (its
    TIDB_* settings unless `environ` says), started as a server process; killed after."""
    from tests.web_kit import Service

    started = []

    def start(kind, environ=None):
        settings = server_environ(server, database_name) if environ is None else environ
        started.append(Service(kind, settings, tmp_path))
        return started[-1]

    yield start
    for service in started:
        if service.process.poll() is None:
            service.process.kill()
            service.process.wait()
        assert "Traceback" not in service.output(), service.output()
