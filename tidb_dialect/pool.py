"""PooledTiDBDatabase: playhouse's connection pool for TiDBDatabase, so that a web request pays
no TCP and TLS handshake, and a checkout no round trip unless the connection sat idle."""

from __future__ import annotations

import threading
import time
import weakref
from typing import Any

from peewee import OperationalError
from playhouse.pool import PooledMySQLDatabase

from ._private import default_stale_timeout
from .database import TiDBDatabase, has_data_waiting, is_open
from .errors import CONNECTION_LOST, error_code
from .keywords import checked_numbers
from .tls import tls_required

#: Seconds after which a pool connection to TiDB Cloud's gateway (tidbcloud.com) is replaced
#: by default: the gateway "might terminate connections open >30 minutes", and its docs
#: suggest recycling at about 5 (pingcap/docs tidb-cloud/serverless-limitations.md).
GATEWAY_STALE_TIMEOUT = 300

SERVER_STATUS_IN_TRANS = 0x0001  # the MySQL protocol's status flag "a transaction is open"


def stale_timeout_for(host: str) -> int | None:
    return GATEWAY_STALE_TIMEOUT if tls_required(host) else None


class PooledTiDBDatabase(PooledMySQLDatabase, TiDBDatabase):
    """TiDBDatabase whose close() returns the connection to a pool (max_connections,
    stale_timeout, timeout: see playhouse.pool; ping_after: seconds of idleness after
    which a connection is pinged before it is handed out, 0 to ping every time).
    To TiDB Cloud's gateway, stale_timeout defaults to GATEWAY_STALE_TIMEOUT."""

    #: Long enough that a busy app never pings, short enough to catch a connection that a
    #: load balancer or NAT dropped without a word (they wait minutes, not seconds).
    ping_after = 30

    def __init__(self, database: str | None, *args: Any, **kwargs: Any) -> None:
        self._returned_at: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()
        self.untouched = threading.local()  # .conn: this thread's checkout, no statement sent
        super().__init__(database, *args, **checked_numbers(kwargs, "PooledTiDBDatabase"))

    # Keywords only, as peewee's Database.__init__ passes them (see TiDBDatabase.init).
    def init(self, database: str | None, **kwargs: Any) -> None:  # type: ignore[override]
        kwargs = checked_numbers(kwargs, "PooledTiDBDatabase")
        ping_after = kwargs.pop("ping_after", None)
        if ping_after is not None:
            self.ping_after = ping_after
        super().init(database, **kwargs)
        default_stale_timeout(self, stale_timeout_for(self.connect_params["host"]))

    def _connect(self) -> Any:
        conn = super()._connect()  # from the pool (see _is_closed) or new
        self.untouched.conn = conn  # no statement on it yet in this checkout
        return conn

    def cursor(self, *args: Any, **kwargs: Any) -> Any:
        # every statement goes through cursor() (untyped in peewee)
        cursor = super().cursor(*args, **kwargs)  # type: ignore[no-untyped-call]
        self.untouched.conn = None
        return cursor

    def begin(self, *args: Any, **kwargs: Any) -> None:
        """BEGIN; if it is the checkout's first statement and the connection turns out to
        be lost, a new one: nothing was done on the old one, so nothing is lost."""
        conn = None if self.is_closed() else self.connection()  # type: ignore[no-untyped-call]
        untouched = conn is not None and getattr(self.untouched, "conn", None) is conn
        try:
            return super().begin(*args, **kwargs)
        except OperationalError as exc:
            if not untouched or error_code(exc) not in CONNECTION_LOST:
                raise
        self.close()  # the pool drops it (_can_reuse)
        self.connect()
        return super().begin(*args, **kwargs)

    def _is_closed(self, conn: Any) -> bool:
        """On checkout: a connection the server closed has its goodbye (or EOF) waiting on
        the socket, seen without a round trip; one idle past ping_after is pinged too."""
        returned_at = self._returned_at.pop(conn, None)
        if not is_open(conn) or has_data_waiting(conn):
            return True
        if returned_at is not None and time.monotonic() - returned_at < self.ping_after:
            return False
        try:
            if self.driver == "pymysql":
                try:
                    conn.ping(False)  # its default is to reconnect, silently losing the session
                except TypeError:  # a ping() that takes no argument, as playhouse's pool allows
                    conn.ping()
            else:
                conn.ping()
        except Exception:
            return True
        return False

    def _can_reuse(self, conn: Any) -> bool:
        """On return: roll back a transaction left open; PyMySQL says whether one is,
        mysqlclient cannot, so there the ROLLBACK is always sent."""
        try:
            if not is_open(conn):
                return False
            if getattr(conn, "server_status", SERVER_STATUS_IN_TRANS) & SERVER_STATUS_IN_TRANS:
                conn.rollback()
        except Exception:
            return False
        self._returned_at[conn] = time.monotonic()
        return True
