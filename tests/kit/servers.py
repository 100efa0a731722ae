"""Private MariaDB servers, and databases of their own, for the tests and the benchmark.

Private servers: pytest-mysql cannot be used as it is here: it reads the machine's my.cnf
(which may set `user = mysql`, a user that cannot write pytest's temporary
directory) and has no place for TLS certificates made at test time.
So the servers are started with --no-defaults, through mirakuru (the
process manager pytest-mysql itself uses).
"""

import contextlib
import os
import shutil
import socket
import subprocess
import uuid

from mirakuru import TCPExecutor

from tidb_dialect import TiDBDatabase
from tidb_dialect.settings import keywords_from

SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin"])


def find_server_binary():
    return shutil.which("mariadbd", path=SEARCH_PATH) or shutil.which("mysqld", path=SEARCH_PATH)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivateServer:
    """One mariadbd with its own data directory, listening on loopback only."""

    def __init__(self, base_dir, bind=("127.0.0.1",), tls=None):
        self.binary = find_server_binary()
        self.base_dir = base_dir
        self.datadir = os.path.join(base_dir, "data")
        # A temporary directory of its own: servers sharing /tmp have been seen failing
        # their bootstrap ("Error on delete of '/tmp/#sql-temptable-...'").
        self.tmpdir = os.path.join(base_dir, "tmp")
        self.socket = os.path.join(base_dir, "mysqld.sock")
        self.host = bind[0]
        self.port = free_port()
        self.user, self.password = "root", ""
        options = [
            self.binary,
            "--no-defaults",
            "--datadir=" + self.datadir,
            "--tmpdir=" + self.tmpdir,
            "--port=%d" % self.port,
            "--bind-address=" + ",".join(bind),
            "--socket=" + self.socket,
            "--pid-file=" + os.path.join(base_dir, "mysqld.pid"),
            "--log-error=" + os.path.join(base_dir, "error.log"),
            "--user=root",
            "--skip-name-resolve",
            "--character-set-server=utf8mb4",
            "--innodb-buffer-pool-size=64M",
            "--innodb-lock-wait-timeout=10",
        ]
        if tls:
            options += [
                "--ssl-ca=" + tls["ca"],
                "--ssl-cert=" + tls["cert"],
                "--ssl-key=" + tls["key"],
                "--require-secure-transport=ON",
            ]
        self.executor = TCPExecutor(
            options, host=self.host, port=self.port, timeout=60, shell=False
        )

    def install(self):
        os.makedirs(self.tmpdir, exist_ok=True)
        installer = shutil.which("mariadb-install-db", path=SEARCH_PATH) or shutil.which(
            "mysql_install_db", path=SEARCH_PATH
        )
        installed = subprocess.run(
            [
                installer,
                "--no-defaults",
                "--auth-root-authentication-method=normal",
                "--user=root",
                "--datadir=" + self.datadir,
                "--tmpdir=" + self.tmpdir,
                "--skip-test-db",
            ],
            capture_output=True,
            text=True,
        )
        if installed.returncode:
            raise RuntimeError(
                "%s failed (exit status %d): %s"
                % (installer, installed.returncode, (installed.stderr or installed.stdout)[-2000:])
            )
        return self

    def start(self):
        self.executor.start()
        return self

    def stop(self):
        self.executor.stop()

    def kill(self):
        """Stop the server without a clean shutdown, as a crash would."""
        self.executor.kill()


@contextlib.contextmanager
def throwaway_database(admin, prefix):
    """Create a database named `prefix` and a random suffix through `admin`; drop it afterwards."""
    name = prefix + uuid.uuid4().hex[:12]
    admin.execute_sql("CREATE DATABASE `%s`" % name)
    try:
        yield name
    finally:
        admin.execute_sql("DROP DATABASE IF EXISTS `%s`" % name)


class ServerSettings:
    """A database on a test server, from TIDB_* settings as the dialect reads them."""

    def __init__(self, settings):
        self.settings = dict(settings)
        self.database, self.keywords = keywords_from(settings)
        self.host, self.port, self.user = (self.keywords[k] for k in ("host", "port", "user"))
        self.password = self.keywords.get("password", "")
        self.ca_path = self.keywords.get("ssl_ca", "")

    def connect_params(self):
        """Keywords for TiDBDatabase (and its pooled and reconnecting kin)."""
        return dict(self.keywords)

    def build_database(self):
        return TiDBDatabase(self.database, **self.keywords)

    @property
    def uses_tls(self):
        return "ssl" in self.build_database().connect_params

    def replace(self, **settings):
        """The same settings with some TIDB_* ones changed (values as text)."""
        return type(self)(dict(self.settings, **settings))
