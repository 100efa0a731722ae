"""The server under test: a private MariaDB (the shared test kit's), or the cluster at TIDB_HOST."""

import contextlib
import importlib.metadata
import os
import platform
import tempfile

from tests.kit.servers import PrivateServer, ServerSettings, find_server_binary, throwaway_database
from tidb_dialect import ConfigError
from tidb_dialect.settings import read_settings


@contextlib.contextmanager
def bench_settings():
    """Yield (settings of a fresh database of the run's own, where they came from)."""
    with server_settings() as (settings, origin):
        admin = settings.build_database()
        try:
            with throwaway_database(admin, "bench_") as name:
                yield settings.replace(TIDB_DB_NAME=name), origin
        finally:
            admin.close()


@contextlib.contextmanager
def server_settings():
    if os.environ.get("TIDB_HOST"):
        # DATABASE_URL is not used: the run needs a server it may create a database on.
        yield ServerSettings(read_settings()), "TIDB_HOST"
        return
    if not find_server_binary():
        raise ConfigError(
            "no server to measure: set TIDB_HOST (and the other TIDB_* settings), "
            "or install mariadb-server so a private MariaDB can be started"
        )
    with tempfile.TemporaryDirectory(prefix="bench-mariadb-") as base_dir:
        private = PrivateServer(base_dir).install().start()
        try:
            environ = {"TIDB_HOST": private.host, "TIDB_PORT": str(private.port)}
            environ.update(TIDB_USER=private.user, TIDB_PASSWORD="", TIDB_DB_NAME="mysql")
            yield ServerSettings(environ), "private MariaDB"
        finally:
            private.stop()


def describe(settings, origin):
    """The machine, the software and the server, for the results."""
    names = ("peewee", "PyMySQL", "aiomysql", "SQLAlchemy")
    versions = {name: importlib.metadata.version(name) for name in names}
    with open("/proc/loadavg") as loadavg:
        load = loadavg.read().split()[:3]
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "versions": versions,
        "server": origin,
        "tls": bool(settings.ca_path),
        "load_before": load,
    }
