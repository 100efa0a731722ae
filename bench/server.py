"""The server under test: a private MariaDB, or the TiDB cluster named by TIDB_HOST."""

import contextlib
import importlib.metadata
import importlib.util
import os
import platform
import sys
import tempfile

from tests.kit.servers import PrivateServer, ServerSettings, find_server_binary, throwaway_database
from tidb_dialect import ConfigError
from tidb_dialect.connection import DRIVERS
from tidb_dialect.settings import read_settings

#: Distribution name of each driver, for its version.
DISTRIBUTIONS = {"pymysql": "PyMySQL", "mysqlclient": "mysqlclient"}


def installed_drivers():
    return [name for name, module in DRIVERS.items() if importlib.util.find_spec(module)]


@contextlib.contextmanager
def bench_settings():
    """Yield (settings of a fresh database of the run's own, where they came from).

    The database is dropped afterwards.
    """
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
            yield (
                ServerSettings(
                    {
                        "TIDB_HOST": private.host,
                        "TIDB_PORT": str(private.port),
                        "TIDB_USER": private.user,
                        "TIDB_PASSWORD": private.password,
                        "TIDB_DB_NAME": "mysql",
                    }
                ),
                "private MariaDB",
            )
        finally:
            private.stop()


def database_for(settings, driver, **changes):
    """A TiDBDatabase on the run's database over `driver` (TLS settings follow the driver)."""
    changed = {"TIDB_%s" % name.upper(): str(value) for name, value in changes.items()}
    return settings.replace(TIDB_DRIVER=driver, **changed).build_database()


def describe(db, origin, drivers):
    """The machine, the software and the server, for the results."""
    versions = {"python": platform.python_version(), "peewee": importlib.metadata.version("peewee")}
    versions.update((name, importlib.metadata.version(DISTRIBUTIONS[name])) for name in drivers)
    return {
        "machine": {
            "cpus": os.cpu_count(),
            "cpu_model": cpu_model(),
            "platform": platform.platform(),
        },
        "versions": versions,
        "server": {"version": db.detect_server_version().raw, "origin": origin},
    }


def cpu_model():
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or sys.platform
