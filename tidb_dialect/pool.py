"""PooledTiDBDatabase: playhouse's connection pool for TiDBDatabase, so that a web request pays
no TCP and TLS handshake, and a checkout no round trip unless the connection sat idle."""

from __future__ import annotations

import time
import weakref
from typing import Any

from playhouse.pool import PooledMySQLDatabase

from ._private import PoolHooks, default_stale_timeout
from .database import TiDBDatabase, found_closed
from .keywords import checked_numbers
from .tls import tls_required

#: Seconds after which a pool connection to TiDB Cloud's gateway (tidbcloud.com) is replaced
#: by default: the gateway "might terminate connections open >30 minutes", and its docs
#: suggest recycling at about 5 (pingcap/docs tidb-cloud/serverless-limitations.md).
GATEWAY_STALE_TIMEOUT = 300

SERVER_STATUS_IN_TRANS = 0x0001  # the MySQL protocol's status flag "a transaction is open"


def stale_timeout_for(host: str) -> int | None:
    return GATEWAY_STALE_TIMEOUT if tls_required(host) else None


class PooledTiDBDatabase(PoolHooks, PooledMySQLDatabase, TiDBDatabase):
    """playhouse's pool; to TiDB Cloud, stale_timeout defaults to GATEWAY_STALE_TIMEOUT."""

    #: A busy app never pings; one a load balancer or NAT dropped (after minutes) is caught.
    ping_after = 30

    def __init__(self, database: str | None, *args: Any, **kwargs: Any) -> None:
        self.returned_at: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()
        super().__init__(database, *args, **checked_numbers(kwargs, "PooledTiDBDatabase"))

    # Keywords only, as peewee's Database.__init__ passes them (see TiDBDatabase.init).
    def init(self, database: str | None, **kwargs: Any) -> None:  # type: ignore[override]
        kwargs = checked_numbers(kwargs, "PooledTiDBDatabase")
        ping_after = kwargs.pop("ping_after", None)
        if ping_after is not None:
            self.ping_after = ping_after
        super().init(database, **kwargs)
        default_stale_timeout(self, stale_timeout_for(self.connect_params["host"]))

    def unusable(self, conn: Any) -> bool:
        """At checkout: closed (found_closed), or idle past ping_after and not answering a ping."""
        returned_at = self.returned_at.pop(conn, None)
        if found_closed(conn):
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

    def reusable(self, conn: Any) -> bool:
        """An open transaction is rolled back (mysqlclient cannot tell: always ROLLBACK)."""
        try:
            if found_closed(conn):
                return False
            if getattr(conn, "server_status", SERVER_STATUS_IN_TRANS) & SERVER_STATUS_IN_TRANS:
                conn.rollback()
        except Exception:
            return False
        self.returned_at[conn] = time.monotonic()
        return True
