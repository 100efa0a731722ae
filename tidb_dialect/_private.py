"""Every private name of another library the dialect uses, each for correctness, security or 1.3x
on a figure users see; tests/test_private.py (run on peewee 3.17 and 4.x) fails when one changes."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
import types
from collections.abc import Iterator
from typing import Any


@contextlib.contextmanager
def pymysql_read_timeout(conn: Any, seconds: int) -> Iterator[None]:
    """PyMySQL reads the greeting with read_timeout (none by default): `seconds` for the handshake,
    so that a server that accepts and never speaks cannot hang the program."""
    read_timeout = conn._read_timeout  # read by PyMySQL on every packet
    conn._read_timeout = min(seconds, read_timeout or seconds)
    try:
        yield
    finally:
        conn._read_timeout = read_timeout


def socket_of(conn: Any) -> Any:
    """PyMySQL's `_sock`, mysqlclient's connection: its fileno() shows a connection the server
    closed before a write is sent on it, not after, when its outcome would be unknown."""
    sock = getattr(conn, "_sock", None)
    return conn if sock is None else sock


class ConnectionHooks:
    """peewee's hooks on a new connection -> new_connection() and first_connected()."""

    def _connect(self) -> Any:  # correctness: the handshake bounded by connect_timeout
        return self.new_connection()  # type: ignore[attr-defined]

    def _set_server_version(self, conn: Any) -> None:  # the first connection's: TiDB's release
        super()._set_server_version(conn)  # type: ignore[misc]  # MySQLDatabase's, for peewee
        self.first_connected(conn)  # type: ignore[attr-defined]


class PoolHooks:
    """playhouse's pool hooks -> unusable(), reusable(): playhouse 3.17 pings TiDB with PyMySQL's
    reconnecting ping() (losing the session) and pools a connection with its transaction open."""

    def _is_closed(self, conn: Any) -> bool:  # at checkout; speed: a round trip only if idle
        return bool(self.unusable(conn))  # type: ignore[attr-defined]

    def _can_reuse(self, conn: Any) -> bool:  # at return; speed: a ROLLBACK only if needed
        return bool(self.reusable(conn))  # type: ignore[attr-defined]


def default_stale_timeout(pool: Any, seconds: int | None) -> None:
    """playhouse keeps stale_timeout in `_stale_timeout`, which init() can only replace: `seconds`
    unless one was given (TiDB Cloud's gateway drops connections open too long)."""
    if pool._stale_timeout is None:
        pool._stale_timeout = seconds


def closed_by_server(conn: Any) -> bool:
    """aiomysql's test of a free pooled connection (Pool._fill_free_pool): the server's goodbye or
    end of stream arrived unasked, so a statement would fail with 2013 on it."""
    reader = conn._reader
    return reader is not None and bool(reader.at_eof() or reader.exception() or reader.eof_received)


class PwasyncioPool:
    """pwasyncio's hook and pool sizes, to fill its pool with aiomysql_connection()'s (security:
    aiomysql.create_pool() takes no connection class)."""

    async def _create_pool_async(self) -> Any:
        return aiomysql_pool()(
            minsize=self._pool_min_size,  # type: ignore[attr-defined]
            maxsize=self._pool_size,  # type: ignore[attr-defined]
            echo=False,
            pool_recycle=-1,
            loop=asyncio.get_running_loop(),
            db=self.database,  # type: ignore[attr-defined]
            autocommit=True,
            **self.connect_params,  # type: ignore[attr-defined]
        )


#: MySQL client errors: TLS could not be set up; a connection lost (here: before the greeting).
CR_SSL_CONNECTION_ERROR, CR_SERVER_LOST = 2026, 2013
CLIENT_SSL = 0x800  # the server's capability flag "I speak TLS"


@functools.cache
def aiomysql_connection() -> Any:
    """aiomysql's Connection keeping TLS: aiomysql goes on in clear (password and all) when the
    server does not offer the TLS it was given a context for (security)."""
    import aiomysql

    class TiDBConnection(aiomysql.Connection):  # type: ignore[misc]  # aiomysql has no stubs
        opened_at = 0.0  # time.monotonic() when its handshake ended

        async def _request_authentication(self) -> None:
            if self._ssl_context and not self.server_capabilities & CLIENT_SSL:
                raise aiomysql.OperationalError(
                    CR_SSL_CONNECTION_ERROR,
                    "TLS was asked for, but the server at %s:%d offers none; the password "
                    "was not sent" % (self._host, self._port),
                )
            await super()._request_authentication()

    return TiDBConnection


@functools.cache
def aiomysql_pool() -> Any:
    """aiomysql's Pool of aiomysql_connection()'s, the greeting bounded by connect_timeout (aiomysql
    bounds only the TCP connection) and a failure naming its cause (aiomysql's does not)."""
    import aiomysql

    async def connect(**kwargs: Any) -> Any:
        conn = aiomysql_connection()(**kwargs)
        try:
            await asyncio.wait_for(conn._connect(), conn.connect_timeout)
        except asyncio.TimeoutError:
            conn.close()
            raise aiomysql.OperationalError(
                CR_SERVER_LOST,
                "Lost connection to MySQL server at 'reading initial communication packet' "
                "(no greeting within connect_timeout=%d s)" % conn.connect_timeout,
            ) from None
        except aiomysql.OperationalError as exc:
            if exc.__cause__ is None:
                raise
            code, message = exc.args
            raise type(exc)(code, "%s (%s)" % (message, exc.__cause__)) from exc.__cause__
        conn.opened_at = time.monotonic()
        return conn

    fill = aiomysql.Pool._fill_free_pool
    namespace = dict(fill.__globals__, connect=connect)
    code = (fill.__code__, namespace, fill.__name__, fill.__defaults__, fill.__closure__)
    return type("TiDBPool", (aiomysql.Pool,), {"_fill_free_pool": types.FunctionType(*code)})
