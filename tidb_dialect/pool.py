"""Connection pooling and reconnection for TiDBDatabase, from playhouse.

PooledTiDBDatabase keeps connections open between requests, so a web app
does not pay a TCP and TLS handshake (several round trips to a TiDB Cloud
region) for every request, and a checkout costs no round trip unless the
connection sat idle. ReconnectingTiDBDatabase replaces a lost connection
outside a transaction, and never sends a write twice.
"""

from __future__ import annotations

import contextlib
import re
import select
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

from peewee import OperationalError, PeeweeException
from playhouse.pool import PooledMySQLDatabase

from ._private import set_stale_timeout, socket_of, stale_timeout
from .connection import number, ranges
from .database import TiDBDatabase
from .errors import AmbiguousCommitError
from .tls import tls_required
from .transactions import CONNECTION_LOST, error_code

#: The pool's own keywords: keyword -> (lowest, highest), from connection.KEYWORDS.
POOL_KEYWORDS = ranges("pool")

#: Seconds after which a pool connection to TiDB Cloud's gateway (tidbcloud.com) is replaced
#: by default: the gateway "might terminate connections open >30 minutes", and its docs
#: suggest recycling at about 5 (pingcap/docs tidb-cloud/serverless-limitations.md).
GATEWAY_STALE_TIMEOUT = 300

#: AsyncTiDBDatabase's pool keywords (playhouse.pwasyncio's, and stale_timeout as
#: PooledTiDBDatabase's), from connection.KEYWORDS.
ASYNC_POOL_KEYWORDS = ranges("async")


def default_stale_timeout(host: str) -> int | None:
    """Seconds after which a pooled connection to `host` (normalised) is replaced when no
    stale_timeout is given: GATEWAY_STALE_TIMEOUT to TiDB Cloud's gateway, else never."""
    return GATEWAY_STALE_TIMEOUT if tls_required(host) else None


#: The MySQL protocol's server status flag "a transaction is open" (SERVER_STATUS_IN_TRANS).
SERVER_STATUS_IN_TRANS = 0x0001


class PooledTiDBDatabase(PooledMySQLDatabase, TiDBDatabase):
    """TiDBDatabase whose close() returns the connection to a pool (max_connections,
    stale_timeout, timeout: see playhouse.pool; ping_after: seconds of idleness after
    which a connection is pinged before it is handed out, 0 to ping every time).
    To TiDB Cloud's gateway, stale_timeout defaults to GATEWAY_STALE_TIMEOUT."""

    #: Long enough that a busy app never pings, short enough to catch a connection that a
    #: load balancer or NAT dropped without a word (they wait minutes, not seconds).
    ping_after = 30

    def __init__(self, database: str | None, *args: Any, **kwargs: Any) -> None:
        # connection -> time.monotonic()
        self._returned_at: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()
        self.untouched = threading.local()  # .conn: this thread's checkout, no statement sent
        # playhouse's __init__ reads its keywords itself, without calling init() for them.
        super().__init__(database, *args, **checked_pool_keywords(kwargs))

    # Keywords only, as peewee's Database.__init__ passes them (see TiDBDatabase.init).
    def init(self, database: str | None, **kwargs: Any) -> None:  # type: ignore[override]
        kwargs = checked_pool_keywords(kwargs)
        ping_after = kwargs.pop("ping_after", None)
        if ping_after is not None:
            self.ping_after = ping_after
        super().init(database, **kwargs)
        if stale_timeout(self) is None:  # a stale_timeout given stays
            set_stale_timeout(self, default_stale_timeout(self.connect_params["host"]))

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


def checked_pool_keywords(given: dict[str, Any]) -> dict[str, Any]:
    """`given` with each pool keyword a whole number in its range (ConfigError naming it);
    None, which init() reads as "unchanged", passes."""
    return {
        name: value
        if name not in POOL_KEYWORDS or value is None
        else number(name, value, text=True)
        for name, value in given.items()
    }


def is_open(conn: Any) -> bool:
    """False when the driver knows its connection is closed (PyMySQL's `open`)."""
    return bool(getattr(conn, "open", True))


def has_data_waiting(conn: Any) -> bool:
    """True when an idle connection's socket is readable: the server closed it (KILL,
    restart, wait_timeout) and sent its error packet or end of stream unasked."""
    fileno = getattr(socket_of(conn), "fileno", None)
    if fileno is None:
        return False  # a connection that shows no socket: the ping decides
    fd = fileno()
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        return bool(poller.poll(0))
    return bool(select.select([fd], [], [], 0)[0])


#: Statements that running twice cannot change: reads, and a transaction's start...
CHANGES_NOTHING = re.compile(
    r"[\s(]*(SELECT|SHOW|DESCRIBE|DESC|EXPLAIN|BEGIN|START\s+TRANSACTION)\b", re.IGNORECASE
)
#: ...unless they hold one of these: a lock, a write to a file or a variable, a user lock,
#: a sequence, EXPLAIN ANALYZE (which runs its statement). Any match, even in a string, counts.
NOT_A_READ = re.compile(
    r"\b(FOR\s+UPDATE|FOR\s+SHARE|LOCK\s+IN\s+SHARE\s+MODE|INTO|ANALYZE"
    r"|GET_LOCK|RELEASE_LOCK|RELEASE_ALL_LOCKS|NEXTVAL|SETVAL|NEXT\s+VALUE)\b",
    re.IGNORECASE,
)
FIRST_WORD = re.compile(r"[\s(]*([A-Za-z]+)")


def changes_nothing(sql: str) -> bool:
    """True for a plain SELECT, SHOW, DESCRIBE, EXPLAIN, BEGIN or START TRANSACTION.

    A stored function that writes, called from a SELECT, is not seen: call it in a transaction.
    """
    return bool(CHANGES_NOTHING.match(sql)) and not NOT_A_READ.search(sql)


def first_word(sql: str) -> str:
    """The statement's kind, as in "the outcome of UPDATE is unknown" (never its values)."""
    first = FIRST_WORD.match(sql)
    return first.group(1).upper() if first else "the statement"


class ReconnectingTiDBDatabase(TiDBDatabase):
    """TiDBDatabase that replaces a lost connection outside a transaction, never running a
    write twice.

    Before a statement, a connection the server closed (its goodbye or end of stream waits on
    the socket) is replaced: the statement has not been sent, so nothing is lost. A statement
    whose reply is lost (2006, 2013, 2055) may have run: a read or BEGIN (changes_nothing) is sent
    again on a new connection, any other raises AmbiguousCommitError, as a lost COMMIT does
    (TiDB closes the connection when a commit's result is undetermined, an autocommit
    write's too). Inside a transaction the error reaches the caller: its work went with the
    connection.
    """

    def execute_sql(self, sql: str, *args: Any, **kwargs: Any) -> Any:
        rerun = changes_nothing(sql)
        return self._sent_once(rerun, sql, super().execute_sql, sql, *args, **kwargs)

    def begin(self, *args: Any, **kwargs: Any) -> None:
        # peewee sends BEGIN itself, not through execute_sql()
        self._sent_once(True, "BEGIN", super().begin, *args, **kwargs)

    def _sent_once(
        self, rerun: bool, sql: str, send: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> Any:
        if self.in_transaction():
            return send(*args, **kwargs)
        if not self.is_closed():
            conn = self.connection()  # type: ignore[no-untyped-call]  # untyped in peewee
            if not is_open(conn) or has_data_waiting(conn):
                self._drop_connection()  # found closed: the statement goes on a new one
        try:
            return send(*args, **kwargs)
        except OperationalError as exc:
            if error_code(exc) not in CONNECTION_LOST:
                raise
            self._drop_connection()
            if not rerun:
                raise AmbiguousCommitError(exc, first_word(sql)) from exc
        return send(*args, **kwargs)

    def _drop_connection(self) -> None:
        """Forget a dead connection; the next statement connects afresh."""
        # Closing a dead socket can fail too; peewee has forgotten the connection all the same.
        with contextlib.suppress(PeeweeException):
            self.close()
