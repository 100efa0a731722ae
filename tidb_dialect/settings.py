"""Connection settings from the environment and `.env`, named as in the TiDB docs.

Real environment variables win over `.env`, so a deployment can override a
developer's file. Every value is checked here, before any connection is
tried, and a wrong one raises ConfigError naming the setting.
"""

import os
import socket
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from dotenv import dotenv_values

from .database import DRIVERS, TiDBDatabase
from .errors import ConfigError
from .tls import check_ca_file, tls_required

DEFAULTS = {
    "TIDB_HOST": "127.0.0.1",
    "TIDB_PORT": "4000",
    "TIDB_USER": "root",
    "TIDB_PASSWORD": "",
    "TIDB_DB_NAME": "test",
    "CA_PATH": "",
    "TIDB_DRIVER": "pymysql",
    "DATABASE_URL": "",
}
SETTING_NAMES = tuple(DEFAULTS)


def load_settings(env_file=".env", environ=None, **overrides):
    """Settings from `env_file` (if present), then `environ`, then `overrides`."""
    environ = os.environ if environ is None else environ
    given = {}
    if env_file and os.path.isfile(env_file):
        given.update(
            (k, v) for k, v in dotenv_values(env_file).items() if k in DEFAULTS and v is not None
        )
    given.update((k, v) for k, v in environ.items() if k in DEFAULTS)
    given.update((k, v) for k, v in overrides.items() if v is not None)
    return Settings.from_mapping(given)


@dataclass(frozen=True)
class Settings:
    host: str
    port: int
    user: str
    password: str = field(repr=False, default="")
    database: str = "test"
    ca_path: str = ""
    driver: str = "pymysql"
    url: str = field(repr=False, default="")
    configured: bool = False

    @classmethod
    def from_mapping(cls, given):
        values = dict(DEFAULTS, **given)
        driver = values["TIDB_DRIVER"].strip().lower()
        if driver not in DRIVERS:
            raise ConfigError(
                "TIDB_DRIVER: unknown driver %r (use pymysql or mysqlclient)"
                % values["TIDB_DRIVER"]
            )
        for name in ("TIDB_HOST", "TIDB_USER", "TIDB_DB_NAME"):
            if not values[name].strip():
                raise ConfigError("%s: must not be empty" % name)
        ca_path = values["CA_PATH"]
        if ca_path:
            check_ca_file(os.path.expanduser(ca_path))
        url = values["DATABASE_URL"].strip()
        if url:
            check_url(url)
        return cls(
            host=values["TIDB_HOST"].strip(),
            port=parse_port(values["TIDB_PORT"]),
            user=values["TIDB_USER"],
            password=values["TIDB_PASSWORD"],
            database=values["TIDB_DB_NAME"].strip(),
            ca_path=os.path.expanduser(ca_path),
            driver=driver,
            url=url,
            configured=bool(given),
        )

    @property
    def address(self):
        return "%s:%d" % (self.host, self.port)

    @property
    def uses_tls(self):
        return bool(self.ca_path) or tls_required(self.host)

    def connect_params(self):
        """Keywords for TiDBDatabase, which turns `ssl_ca` into the driver's TLS settings."""
        # mysqlclient takes "localhost" to mean its Unix socket: another server, or none.
        host = "127.0.0.1" if self.host == "localhost" else self.host
        params = {
            "host": host,
            "port": self.port,
            "user": self.user,
            "password": self.password,
            "driver": self.driver,
        }
        if self.ca_path:
            params["ssl_ca"] = self.ca_path
        return params

    def build_database(self):
        """The database these settings name (not yet connected)."""
        if self.url:
            from playhouse.db_url import connect

            return connect(self.url, unquote_password=True)
        return TiDBDatabase(self.database, **self.connect_params())

    def should_embed(self):
        """Nothing configured and no local TiDB: the walkthrough runs on SQLite."""
        return not self.configured and not port_open(self.host, self.port)

    def scrub(self, text):
        """`text` with the password blanked out, for messages that echo server input."""
        text = str(text)
        return text.replace(self.password, "***") if self.password else text


def parse_port(text):
    try:
        port = int(str(text).strip())
    except ValueError:
        port = 0
    if not 1 <= port <= 65535:
        raise ConfigError("TIDB_PORT: must be a whole number from 1 to 65535, got %r" % text)
    return port


def check_url(url):
    from playhouse.db_url import schemes

    scheme = urlsplit(url).scheme
    if not scheme or "://" not in url:
        raise ConfigError(
            "DATABASE_URL: not a database URL: expected scheme://..., "
            "e.g. tidb://root@127.0.0.1:4000/test or sqlite:///player.db"
        )
    if scheme not in schemes:
        raise ConfigError(
            "DATABASE_URL: unknown scheme %r (known: %s)" % (scheme, ", ".join(sorted(schemes)))
        )


def port_open(host, port, timeout=0.5):
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False
